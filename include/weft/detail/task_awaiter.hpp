#pragma once
// `co_await child_task` inside a task: the child runs inline on the same
// worker and shares the awaiting task's cancellation.

#include <coroutine>
#include <exception>
#include <utility>

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

  // A cancelled task does not start its child. In a drop_on_cancel region
  // the child is destroyed here and `child` left empty, which tells
  // await_suspend to drop the parent (no flag: the awaiter's size and
  // layout stay those of the inline path, which is sensitive to both).
  bool await_ready() {
    if (root != nullptr && root->cancellation_point()) [[unlikely]] return ready_cancelled();
    return false;
  }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> parent) noexcept {
    if (!child) [[unlikely]] return transfer_to(drop_frame(parent.promise()));
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
    // The child's end made the cancellation check (promise_base's
    // final_awaiter): a cancel found there marked it cancelled.
    if (!started || p.end_.outcome != k_succeeded) [[unlikely]] {
      end_unsuccessfully(p, child, root, started);
    }
    struct destroy_on_exit {
      typename promise<T>::handle_type h;
      ~destroy_on_exit() { h.destroy(); }
    } guard{child};
    return p.take_value();
  }

 private:
  // The cancel is requested before the child started: true (await_resume
  // throws), or, in a drop_on_cancel region, false with the child
  // destroyed. Out of line: the inline path stays as short as it was.
  [[gnu::noinline, gnu::cold]] bool ready_cancelled() noexcept {
    if (!root->drops_on_cancel_) return true;
    std::exchange(child, {}).destroy();
    return false;
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
