// The injection queue: how threads that are not workers (plain threads,
// timers, cancellers, other schedulers' workers) hand work to the pool. A
// lock-free stack: any thread pushes one node; a worker takes the whole
// stack at once, so there is no ABA.

#include <algorithm>
#include <vector>

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
  if (injection_.load(std::memory_order_relaxed) == nullptr) return k_no_work;
  // acquire: pairs with the release CAS in inject(); nodes are visible.
  work_node* node = injection_.exchange(nullptr, std::memory_order_acquire);
  if (node == nullptr) return k_no_work;
  chaos_[w.index].perturb();
  // The stack is newest-first: keep the oldest to run now and push the rest
  // so that older ones are popped first.
  work_item first = k_no_work;
  std::vector<work_item>& batch = w.injected_batch;
  batch.clear();
  for (; node != nullptr;) {
    work_node* next = node->next;  // read before the item can run and free the node
    batch.push_back(node->item);
    node = next;
  }
  first = batch.back();
  batch.pop_back();
  for (work_item item : batch) w.deque.push(item);
  if (!batch.empty()) idle_.notify_work_available();
  return first;
}

void scheduler_core::drop_injected() noexcept {
  // acquire: as in take_injected().
  work_node* node = injection_.exchange(nullptr, std::memory_order_acquire);
  while (node != nullptr) {
    work_node* next = node->next;
    drop_unstarted(node->item);
    node = next;
  }
}

}  // namespace weft::detail
