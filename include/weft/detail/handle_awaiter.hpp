#pragma once
// `co_await handle` inside a task: waits for a spawned task, then returns
// its result or rethrows. Cancelling the awaiting task passes the
// cancellation on to the awaited one; the awaiter resumes when that one is
// terminal.

#include <coroutine>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/promise.hpp>
#include <weft/detail/task_result.hpp>

namespace weft::detail {

/// Trivially destructible (see task_awaiter): a handle operand that is an
/// rvalue has its reference moved into the awaiter (owns_ref) and released
/// in await_resume, which every path reaches.
template <class T>
struct handle_awaiter {
  promise<T>* target;
  task_state* root;
  bool owns_ref;
  bool foreign = false;  // registered with note_foreign_wait()
  coroutine_waiter node{};

  bool await_ready() const noexcept { return target->state_.done(); }

  bool await_suspend(std::coroutine_handle<> awaiting) {
    task_state& awaited = target->state_;
    node.handle = awaiting;
    node.sched = root->sched_;
    // Shutdown of our scheduler would not reach a task of another one.
    foreign = awaited.sched_ != root->sched_;
    if (foreign) root->sched_->note_foreign_wait(root);
    root->arm_cancel_target(&awaited, wait_kind::task);
    // Read the flag after arming (Dekker pair with request_cancel): a
    // cancel recorded before the target was armed is passed on here.
    if (root->cancellation_point()) {
      awaited.request_cancel(cancel_kind::parent_cancelled,
                             task_state::reason_in(root->load()).message);
    }
    if (!awaited.add_waiter(&node)) {
      root->disarm_cancel_target();
      if (foreign) root->sched_->forget_foreign_wait(root);
      foreign = false;
      return false;  // already terminal: resume at once
    }
    return true;  // from here on the awaiter may already be resumed elsewhere
  }

  T await_resume() {
    enter(root);
    root->disarm_cancel_target();
    if (foreign) root->sched_->forget_foreign_wait(root);
    struct release_on_exit {
      promise<T>* p;
      bool owns;
      ~release_on_exit() {
        if (owns) p->state_.release();
      }
    } guard{target, owns_ref};
    if (root->cancellation_point()) root->throw_cancelled();
    return take_result(*target, "co_await on a task_handle");
  }
};

template <class T>
struct awaitable_traits<task_handle<T>> {
  static handle_awaiter<T> make(task_state* root, promise<T>* target, bool owns_ref) {
    if (target == nullptr) {
      throw invalid_state_error(
          "co_await on an empty weft::task_handle; await the handle returned by spawn()");
    }
    if (root == nullptr) {
      throw invalid_state_error(
          "co_await on a task_handle outside a task running on a weft scheduler; use wait() "
          "from a plain thread");
    }
    if (&target->state_ == root) {
      if (owns_ref) target->state_.release();
      throw invalid_state_error(
          "a task cannot await its own handle (it would wait for itself forever); await "
          "another task's handle");
    }
    return handle_awaiter<T>{target, root, owns_ref};
  }
  static handle_awaiter<T> transform(task_state* root, task_handle<T>&& h) {
    // Take the operand's reference, leaving it empty: g++ 12 may run its
    // destructor twice, which is then harmless.
    promise<T>* p = access::detach(h);
    return make(root, p, p != nullptr);
  }
  static handle_awaiter<T> transform(task_state* root, const task_handle<T>& h) {
    return make(root, access::promise_of(h), false);
  }
};

}  // namespace weft::detail
