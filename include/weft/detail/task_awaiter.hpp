#pragma once
// `co_await child_task` inside a task: the child runs inline on the same
// worker and shares the awaiting task's cancellation.

#include <coroutine>
#include <exception>

#include <weft/detail/access.hpp>
#include <weft/detail/drop.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/promise.hpp>

namespace weft::detail {

/// The cold end of an inline await: the child did not start (the awaiting
/// task is cancelled), failed, or the awaiting task was cancelled while it
/// ran. Destroys the child and throws. A failure is never masked by a
/// pending cancellation: it is rethrown, and the next suspension point
/// throws cancelled_error.
[[noreturn, gnu::noinline, gnu::cold]] inline void end_unsuccessfully(
    promise_base& p, std::coroutine_handle<> child, task_state* root, bool started) {
  std::exception_ptr error = started ? std::move(p.end_.error) : nullptr;
  child.destroy();
  if (error) std::rethrow_exception(error);
  root->throw_cancelled();
}

/// The awaiter owns the child's frame and destroys it in await_resume, which
/// every path reaches. It holds no object with a destructor: g++ 12 destroys
/// a temporary awaiter (and the awaited operand) twice when await_resume
/// throws, so transform() empties the operand task and the awaiter stays
/// trivially destructible.
template <class T>
struct task_awaiter {
  typename promise<T>::handle_type child;
  task_state* root;
  bool started = false;
  bool drop = false;  // a cancel seen in a drop_on_cancel region

  // A cancelled task does not start its child.
  bool await_ready() { return cancel_before_suspending(root, drop); }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> parent) noexcept {
    if (drop) [[unlikely]] {
      child.destroy();  // never started
      return transfer_to(drop_frame(parent.promise()));
    }
    started = true;
    promise<T>& p = child.promise();
    p.root_ = root;
    p.continuation_ = parent;
    return transfer_to(child);
  }
  // No enter(root) here, unlike other awaiters: the child's end transfers
  // straight back on the worker that ran it, whose current task is already
  // `root` (the child shares it, and its own awaits re-entered it).
  T await_resume() {
    promise<T>& p = child.promise();
    if (!started || p.end_.error || cancelled_after_child()) [[unlikely]] {
      end_unsuccessfully(p, child, root, started);
    }
    struct destroy_on_exit {
      typename promise<T>::handle_type h;
      ~destroy_on_exit() { h.destroy(); }
    } guard{child};
    return p.take_value();
  }

 private:
  // A cancel that came while the child ran throws here; in a
  // drop_on_cancel region it is met at the next suspension point instead.
  bool cancelled_after_child() {
    return root != nullptr && root->cancellation_point() && !root->drops_on_cancel_;
  }
};

template <class T>
struct awaitable_traits<task<T>> {
  static task_awaiter<T> transform(task_state* root, task<T>&& t) {
    return task_awaiter<T>{access::release(t, "co_await"), root};
  }
  static task_awaiter<T> transform(task_state* root, task<T>& t) {
    return task_awaiter<T>{access::release(t, "co_await"), root};
  }
};

}  // namespace weft::detail
