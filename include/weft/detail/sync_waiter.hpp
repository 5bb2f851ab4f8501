#pragma once
// What every primitive a task can wait on shares (event, semaphore, mutex,
// queue): a FIFO list of waiting tasks under the primitive's lock, the
// waiter node in the awaiter (no allocation per wait), and the rule that
// decides each race between a grant and a cancel.
//
// A waiter's status, written only under the primitive's lock:
//   fresh      armed as the task's cancel target, not in a list yet
//   queued     in the primitive's list, waiting
//   granted    taken off the list by a grant (a permit, the lock, an item,
//              a free slot, the event): the granter resumes the task
//   withdrawn  taken off (or kept out of) the list by a cancel: the
//              canceller resumes the task, which throws
//   refused    kept out by the primitive's state (a closed queue)
// A cancel that finds the waiter granted does nothing: the task resumes
// with what it was given, sees its cancellation at once and gives it back
// (a cancelled wait takes nothing). Exactly one of granter and canceller
// resumes a queued waiter, and only after leaving the lock.
//
// Lifetime: the node lives in the awaiter, in the waiting coroutine's
// frame. Whoever resumes the task touches the node no more after
// schedule(); the canceller is waited for by the task's disarm (cancel_slot).

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <mutex>

#include <weft/errors.hpp>
#include <weft/detail/atomic.hpp>
#include <weft/detail/cancel_slot.hpp>
#include <weft/detail/promise.hpp>
#include <weft/detail/runtime.hpp>
#include <weft/detail/task_state.hpp>

namespace weft::detail {

class sync_object;
class wait_list;

enum class wait_status : std::uint8_t { fresh, queued, granted, withdrawn, refused };

/// A task waiting in a primitive. Trivially destructible (it lives in an
/// awaiter: see task_awaiter).
class sync_waiter : public cancel_target {
 public:
  /// The task was cancelled: withdraw it from its primitive's list.
  void on_cancel(const cancel_reason&) noexcept override;

  /// Makes the task runnable on its own scheduler. The last touch of the
  /// node by whoever calls it.
  void resume() noexcept { schedule(sched, as_work(handle), node); }

  // Set by the awaiter before it arms this node; read-only afterwards.
  std::coroutine_handle<> handle;
  scheduler_base* sched = nullptr;
  task_state* task = nullptr;  // the waiting task's root
  sync_object* owner = nullptr;
  // Under owner's lock.
  wait_status status = wait_status::fresh;
  wait_list* list = nullptr;  // the list it is queued in
  bool entered = false;       // it was queued: the awaiter must leave()
  sync_waiter* prev = nullptr;
  sync_waiter* next = nullptr;
  // Carries the resumption from a thread that is not a worker of `sched`.
  work_node node;

 protected:
  ~sync_waiter() = default;
};

/// An intrusive FIFO of waiters, under its primitive's lock.
class wait_list {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  sync_waiter* front() const noexcept { return head_; }

  void push_back(sync_waiter& w) noexcept {
    w.status = wait_status::queued;
    w.list = this;
    w.next = nullptr;
    w.prev = tail_;
    (tail_ != nullptr ? tail_->next : head_) = &w;
    tail_ = &w;
  }
  /// Unlinks `w` (queued in this list) and marks it `status`.
  void remove(sync_waiter& w, wait_status status) noexcept {
    (w.prev != nullptr ? w.prev->next : head_) = w.next;
    (w.next != nullptr ? w.next->prev : tail_) = w.prev;
    w.prev = w.next = nullptr;
    w.list = nullptr;
    w.status = status;
  }
  /// Unlinks every waiter, oldest first, into a chain through `next`,
  /// each marked `status`; the caller resumes them after the lock.
  sync_waiter* take_all(wait_status status) noexcept {
    sync_waiter* all = head_;
    for (sync_waiter* w = head_; w != nullptr; w = w->next) {
      w->status = status;
      w->list = nullptr;
    }
    head_ = tail_ = nullptr;
    return all;
  }

 private:
  sync_waiter* head_ = nullptr;
  sync_waiter* tail_ = nullptr;
};

/// Resumes a chain from take_all(), reading each link before the resume
/// that may free its node.
inline void resume_chain(sync_waiter* w) noexcept {
  while (w != nullptr) {
    sync_waiter* next = w->next;
    w->resume();
    w = next;
  }
}

/// The part of a primitive that its waits share: the lock over its state
/// and lists, and the count of tasks inside a wait on it (queued, or
/// resumed from the list and not yet out of the awaiter), which must be
/// zero when it is destroyed.
class sync_object {
 public:
  sync_object(const sync_object&) = delete;
  sync_object& operator=(const sync_object&) = delete;

  /// A cancel reached `w`: if it is still waiting, takes it off its list
  /// and resumes it; if it is not queued yet, marks it so that it never
  /// is; if it was granted, does nothing. Any thread.
  void withdraw(sync_waiter& w) noexcept;

  /// A waiter that was queued is out of the awaiter: its last touch of
  /// this object.
  void leave() noexcept {
    // release: pairs with the acquire in the destructor's check.
    in_wait_.fetch_sub(1, std::memory_order_release);
  }

 protected:
  /// `name` names the primitive in the diagnostic of its misuse.
  explicit sync_object(const char* name) noexcept : name_(name) {}
  /// Ends the process with a diagnostic if a task still waits here.
  ~sync_object();

  /// Under the lock: queues `w` in `list` (counted until leave()).
  void enqueue(wait_list& list, sync_waiter& w) noexcept {
    in_wait_.fetch_add(1, std::memory_order_relaxed);
    w.entered = true;
    list.push_back(w);
  }
  /// Under the lock, after a withdrawal emptied `list`.
  virtual void on_list_emptied(wait_list& list) noexcept { static_cast<void>(list); }

  protocol_mutex mutex_;

 private:
  const char* const name_;
  atomic<std::uint32_t> in_wait_{0};
};

/// The protocol of a wait on a primitive, shared by every awaiter: the
/// checks before waiting, the arming of the node as the task's cancel
/// target, and the disarming after it.
struct sync_wait {
  task_state* root;
  // A bare waiter (no payload): the awaiters of the queue derive their own.
  struct node_type final : sync_waiter {};

  /// Throws invalid_state_error unless awaited inside a task on a
  /// scheduler; `what` names the call.
  static task_state* checked_root(task_state* root, const char* what) {
    if (root == nullptr) {
      throw invalid_state_error(std::string("co_await ") + what +
                                " outside a task running on a weft scheduler; wait only inside "
                                "a spawned task (plain threads use the try_ calls)");
    }
    return root;
  }

  /// Before queueing `w` in `owner`: true unless the task is cancelled
  /// (then it resumes at once and throws).
  bool arm(sync_waiter& w, sync_object& owner, std::coroutine_handle<> h, wait_kind kind) {
    w.handle = h;
    w.sched = root->sched_;
    w.task = root;
    w.owner = &owner;
    // No worker of this scheduler drives the primitive: its shutdown must
    // cancel the wait itself.
    root->arm_foreign_wait(&w, kind);
    // After arming (Dekker pair with request_cancel): a cancel from here on
    // reaches withdraw(), which keeps the node out of the list.
    return !root->cancellation_point();
  }

  /// First in await_resume: from here on no canceller touches the node
  /// (if the wait reached arm()).
  void disarm(sync_waiter& w) noexcept {
    enter(root);
    if (w.handle) root->disarm_foreign_wait();
  }
  /// Last in await_resume, after any give-back: the task is out of the
  /// primitive and touches it no more.
  static void leave(sync_waiter& w) noexcept {
    if (w.entered) w.owner->leave();
  }
};

}  // namespace weft::detail
