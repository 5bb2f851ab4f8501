#pragma once
// `co_await weft::shield(handle)`: the awaiter that lets the caller go on a
// cancel while the shielded task runs on.

#include <atomic>
#include <coroutine>
#include <cstdint>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/atomic.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/promise.hpp>
#include <weft/detail/task_result.hpp>

namespace weft::detail {

/// The shielded awaiter's wake-up, shared by the task's waiter list and the
/// awaiter (the last owner frees it). The task's end and the caller's
/// cancel race to resume the caller; `state_` makes exactly one win and
/// keeps both from resuming it while its await_suspend still runs (that
/// code reads the caller's frame):
///   k_suspending: inside await_suspend; a wake only records itself
///   k_suspended:  committed; the first wake schedules the caller
///   k_resumed:    claimed; later wakes do nothing
class shield_node final : public waiter, public cancel_target {
 public:
  static constexpr std::uint32_t k_suspending = 0, k_suspended = 1, k_resumed = 2;

  shield_node(std::coroutine_handle<> h, scheduler_base* s) noexcept : handle_(h), sched_(s) {
    wake = &wake_from_task;
  }

  /// The caller was cancelled: resume it now; the task goes on.
  void on_cancel(const cancel_reason&) noexcept override { resume_once(); }

  /// End of await_suspend: true if the caller is now suspended (a wake will
  /// resume it), false if a wake came first (resume it at once).
  bool commit_suspend() noexcept {
#ifdef WEFT_WEAKEN_shield_commit
    // Deliberately broken, in a model test's build only: it must be caught.
    state_.store(k_suspended, std::memory_order_release);
    return true;
#else
    std::uint32_t expected = k_suspending;
    // acq_rel: pairs with the CAS in resume_once().
    return state_.compare_exchange_strong(expected, k_suspended, std::memory_order_acq_rel,
                                          std::memory_order_acquire);
#endif
  }
  /// await_suspend gives up waiting: nobody else resumes the caller.
  void abandon_suspend() noexcept { state_.store(k_resumed, std::memory_order_relaxed); }

  void release() noexcept {
    // acq_rel: the last owner sees the other's use of the node.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 private:
  static void wake_from_task(waiter* w) noexcept {
    auto* self = static_cast<shield_node*>(w);
    self->resume_once();
    self->release();  // the waiter list's reference
  }
  void resume_once() noexcept {
    std::uint32_t s = state_.load(std::memory_order_acquire);
    while (s != k_resumed) {
      // From k_suspending only record the wake: await_suspend sees it and
      // resumes the caller itself.
      if (state_.compare_exchange_weak(s, k_resumed, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        if (s == k_suspended) schedule(sched_, as_work(handle_), node_);
        return;
      }
    }
  }

  std::coroutine_handle<> handle_;
  scheduler_base* sched_;
  work_node node_;
  atomic<std::uint32_t> refs_{2};  // the waiter list and the awaiter
  atomic<std::uint32_t> state_{k_suspending};
};

/// Trivially destructible (see task_awaiter); the handle's reference was
/// moved in and is released in await_resume.
template <class T>
struct shield_awaiter {
  promise<T>* target;
  task_state* root;
  shield_node* node = nullptr;
  bool foreign = false;  // registered with note_foreign_wait()

  bool await_ready() const {
    return target->state_.done() || root->cancellation_point();
  }
  bool await_suspend(std::coroutine_handle<> awaiting) {
    node = new shield_node(awaiting, root->sched_);
    // Shutdown of our scheduler would not reach a task of another one.
    foreign = target->state_.sched_ != root->sched_;
    if (foreign) root->sched_->note_foreign_wait(root);
    root->arm_cancel_target(node, wait_kind::shield);
    // After arming (Dekker pair with request_cancel). Until commit_suspend()
    // no wake resumes us, so this frame may still be read here.
    if (!root->cancellation_point()) {
      if (target->state_.add_waiter(node)) return node->commit_suspend();
      node->release();  // the waiter list's reference: never registered
    } else {
      node->release();
    }
    node->abandon_suspend();
    return false;
  }
  T await_resume() {
    enter(root);
    root->disarm_cancel_target();
    if (foreign) root->sched_->forget_foreign_wait(root);
    if (node != nullptr) node->release();
    struct release_on_exit {
      promise<T>* p;
      ~release_on_exit() { p->state_.release(); }
    } guard{target};
    if (root->cancellation_point()) root->throw_cancelled();
    return take_result(*target, "co_await weft::shield");
  }
};

template <class T>
struct awaitable_traits<shield_awaitable<T>> {
  static shield_awaiter<T> transform(task_state* root, shield_awaitable<T>& a) {
    if (root == nullptr) {
      throw invalid_state_error(
          "co_await weft::shield outside a task running on a weft scheduler; use wait() from "
          "a plain thread");
    }
    promise<T>* p = access::detach(a.handle);
    if (p == nullptr) {
      throw invalid_state_error(
          "weft::shield of an empty task_handle; shield the handle returned by spawn()");
    }
    if (&p->state_ == root) {
      p->state_.release();  // the operand's reference, taken above
      throw invalid_state_error(
          "a task cannot shield its own handle (it would wait for itself forever); await "
          "another task's handle");
    }
    return shield_awaiter<T>{p, root};
  }
  static shield_awaiter<T> transform(task_state* root, shield_awaitable<T>&& a) {
    return transform(root, a);
  }
};

}  // namespace weft::detail
