// The injection queue: how threads that are not workers (plain threads,
// timers, cancellers, other schedulers' workers) hand work to the pool. A
// lock-free stack: any thread pushes one node; a worker takes the whole
// stack at once, so there is no ABA, into a FIFO list from which workers
// take one node at a time, oldest first.

#include <mutex>

#include <weft/detail/runtime.hpp>

#include "scheduler_core.hpp"

namespace weft::detail {

void scheduler_base::inject(work_node& node) noexcept {
  // A thread that is not a worker (another scheduler's worker, a timer, a
  // canceller) may wake the last task of this scheduler: once the node is
  // published, that task can finish and the destructor return while this
  // thread still notifies. Counting this thread as live keeps the scheduler
  // alive until retire_live(), its last touch.
  live_.fetch_add(1, std::memory_order_relaxed);
  work_node* head = injection_.load(std::memory_order_relaxed);
  do {
    node.next = head;
    // release: pairs with the acquire exchange in take_injected(); the node
    // and the frame it names are visible to the worker that takes it.
  } while (!injection_.compare_exchange_weak(head, &node, std::memory_order_release,
                                             std::memory_order_relaxed));
  idle_.notify_work_available();
  retire_live();
}

work_item scheduler_core::take_injected(worker_context& w) {
  if (!has_injected()) return k_no_work;
  work_item item = k_no_work;
  bool more = false;
  {
    // One node per take, oldest first. Taking the whole stack and pushing
    // the rest onto this worker's deque (as before) buried those wake-ups
    // under whatever tree the first one started: a busy service answered
    // them only once that tree was done, and fairness checks, which look
    // here, no longer saw them.
    std::lock_guard lock(ready_mutex_);
    if (ready_head_ == nullptr) {
      // acquire: pairs with the release CAS in inject(); nodes are visible.
      work_node* node = injection_.exchange(nullptr, std::memory_order_acquire);
      if (node == nullptr) return k_no_work;
      chaos_[w.index].perturb();
      // The stack is newest-first: reverse it.
      std::uint32_t n = 0;
      for (; node != nullptr; ++n) {
        work_node* next = node->next;
        node->next = ready_head_;
        ready_head_ = node;
        node = next;
      }
      injected_ready_.store(n, std::memory_order_relaxed);
    }
    work_node* node = ready_head_;
    ready_head_ = node->next;  // read before the item can run and free the node
    item = node->item;
    const std::uint32_t left = injected_ready_.load(std::memory_order_relaxed) - 1;
    injected_ready_.store(left, std::memory_order_relaxed);
    more = left != 0;
  }
  // Another worker may take the rest (a parked one must be woken for it).
  if (more) idle_.notify_work_available();
  return item;
}

void scheduler_base::enqueue(work_node& node) noexcept {
  // Called on a worker of this scheduler (schedule_enqueued): the scheduler
  // outlives the call, as it outlives the task that spawns.
  node.next = nullptr;
  {
    std::lock_guard lock(enqueued_mutex_);
    (enqueued_tail_ != nullptr ? enqueued_tail_->next : enqueued_head_) = &node;
    enqueued_tail_ = &node;
    enqueued_count_.store(enqueued_count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  idle_.notify_work_available();
}

work_item scheduler_core::take_enqueued() {
  if (enqueued_count_.load(std::memory_order_relaxed) == 0) return k_no_work;
  std::lock_guard lock(enqueued_mutex_);
  work_node* node = enqueued_head_;
  if (node == nullptr) return k_no_work;
  enqueued_head_ = node->next;  // read before the item can run and free the node
  if (enqueued_head_ == nullptr) enqueued_tail_ = nullptr;
  enqueued_count_.store(enqueued_count_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  return node->item;
}

void scheduler_core::drop_list(work_node* node) noexcept {
  while (node != nullptr) {
    work_node* next = node->next;
    drop_unstarted(node->item);
    node = next;
  }
}

void scheduler_core::drop_injected() noexcept {
  {
    std::lock_guard lock(enqueued_mutex_);
    drop_list(enqueued_head_);
    enqueued_head_ = enqueued_tail_ = nullptr;
    enqueued_count_.store(0, std::memory_order_relaxed);
  }
  std::lock_guard lock(ready_mutex_);
  drop_list(ready_head_);
  ready_head_ = nullptr;
  injected_ready_.store(0, std::memory_order_relaxed);
  // acquire: as in take_injected().
  drop_list(injection_.exchange(nullptr, std::memory_order_acquire));
}

}  // namespace weft::detail
