#pragma once
// `co_await f` and `co_await weft::shield(f)` on a weft::future inside a
// task. A future belongs to no scheduler, so the wait is registered with
// the awaiting task's scheduler (arm_foreign_wait) for its shutdown to
// cancel.

#include <coroutine>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/future_state.hpp>
#include <weft/detail/shield_awaiter.hpp>
#include <weft/detail/task_result.hpp>

namespace weft::detail {

/// The end of either await: throws cancelled_error if the awaiting task
/// was cancelled, else returns the future's value (or rethrows). Drops the
/// awaiter's reference to the state in any case.
template <class T>
T end_future_wait(task_state* root, future_state<T>* target, const char* what) {
  struct release_on_exit {
    future_state<T>* s;
    ~release_on_exit() { s->release(); }
  } guard{target};
  if (root->cancellation_point()) root->throw_cancelled();
  return take_value<T>(*target, *target, what);
}

/// Holds one reference to the state, released in await_resume, which every
/// path reaches. Trivially destructible (see task_awaiter).
template <class T>
struct future_awaiter {
  future_state<T>* target;
  task_state* root;
  coroutine_waiter node{};

  bool await_ready() const noexcept { return target->done(); }

  bool await_suspend(std::coroutine_handle<> awaiting) {
    node.handle = awaiting;
    node.sched = root->sched_;
    // Cancelling the awaiter cancels the future (asyncio's Future).
    root->arm_foreign_wait(target, wait_kind::future);
    // Read the flag after arming (Dekker pair with request_cancel): a
    // cancel recorded before the target was armed is passed on here.
    if (root->cancellation_point()) {
      target->cancel(cancel_kind::parent_cancelled, task_state::reason_in(root->load()).message);
    }
    // Already done: resume at once (await_resume disarms).
    if (!target->waiters().add(&node)) return false;
    return true;  // from here on the awaiter may already be resumed elsewhere
  }

  T await_resume() {
    enter(root);
    if (node.handle) root->disarm_foreign_wait();  // await_suspend ran
    return end_future_wait(root, target, "co_await on a weft::future");
  }
};

/// As future_awaiter, except that a cancel of the awaiter resumes it at once
/// and leaves the future pending (the shield_node decides the race).
template <class T>
struct future_shield_awaiter {
  future_state<T>* target;
  task_state* root;
  shield_node* node = nullptr;

  bool await_ready() const { return target->done() || root->cancellation_point(); }

  bool await_suspend(std::coroutine_handle<> awaiting) {
    node = new shield_node(awaiting, root->sched_);
    root->arm_foreign_wait(node, wait_kind::shield);
    // After arming (Dekker pair with request_cancel). Until commit_suspend()
    // no wake resumes us, so this frame may still be read here.
    if (!root->cancellation_point()) {
      if (target->waiters().add(node)) return node->commit_suspend();
    }
    node->release();  // the waiter list's reference: never registered
    node->abandon_suspend();
    return false;
  }

  T await_resume() {
    enter(root);
    if (node != nullptr) {
      root->disarm_foreign_wait();
      node->release();  // after the disarm: no canceller is in on_cancel()
    }
    return end_future_wait(root, target, "co_await weft::shield on a weft::future");
  }
};

/// The state behind a future operand, with one reference for the awaiter:
/// taken over from an rvalue (leaving it empty, so that g++ 12's second
/// destruction of the operand is harmless), added for an lvalue.
template <class T>
future_state<T>* awaited_future(task_state* root, future_state<T>* s, bool owned,
                                const char* what) {
  if (s == nullptr) {
    throw invalid_state_error(std::string(what) +
                              " on an empty weft::future (moved from); await a future that was "
                              "constructed or copied");
  }
  if (root == nullptr) {
    if (owned) s->release();
    throw invalid_state_error(std::string(what) +
                              " outside a task running on a weft scheduler; use wait() or "
                              "add_done_callback() from a plain thread");
  }
  if (!owned) s->add_ref();
  return s;
}

template <class T>
struct awaitable_traits<future<T>> {
  static future_awaiter<T> transform(task_state* root, future<T>&& f) {
    return {awaited_future(root, access::detach(f), true, "co_await"), root};
  }
  static future_awaiter<T> transform(task_state* root, const future<T>& f) {
    return {awaited_future(root, access::state_of(f), false, "co_await"), root};
  }
};

template <class T>
struct awaitable_traits<future_shield_awaitable<T>> {
  static future_shield_awaiter<T> transform(task_state* root, future_shield_awaitable<T>&& a) {
    return {awaited_future(root, access::detach(a.future), true, "co_await weft::shield"), root};
  }
  static future_shield_awaiter<T> transform(task_state* root, future_shield_awaitable<T>& a) {
    return transform(root, std::move(a));
  }
};

}  // namespace weft::detail
