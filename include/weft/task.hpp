#pragma once
/// \file
/// weft::task<T>: a lazy coroutine that runs on a weft::scheduler.

#include <coroutine>
#include <type_traits>
#include <utility>

#include <weft/errors.hpp>
#include <weft/detail/promise.hpp>

namespace weft {

/// A lazy, move-only coroutine returning T (T may be void or move-only).
///
/// A task does nothing until it is spawned (scheduler::spawn) or awaited
/// (`co_await some_task()` inside another task). Awaiting runs it inline on
/// the same worker, sharing the awaiting task's cancellation; the chain does
/// not grow the stack however deep it is. A task that is never spawned or
/// awaited is destroyed without running. Each task can be started once:
/// spawning or awaiting consumes it.
///
/// Thread safety: a task object is not shared; move it to where it starts.
template <class T = void>
class [[nodiscard]] task {
 public:
  using promise_type = detail::promise<T>;  ///< the coroutine machinery (internal)
  using value_type = T;                     ///< what co_await on the task returns

  task() noexcept = default;
  /// Takes over `other`'s coroutine, leaving `other` empty.
  task(task&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  /// Destroys this task's coroutine, if any, and takes over `other`'s.
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      reset();
      frame_ = std::exchange(other.frame_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { reset(); }

  /// True if this task still owns a coroutine that has not started.
  bool valid() const noexcept { return static_cast<bool>(frame_); }

  /// Takes the coroutine out (for spawn and await). Throws
  /// invalid_state_error if the task was moved from or already started.
  typename promise_type::handle_type release(const char* what) {
    if (!frame_) [[unlikely]] detail::throw_empty_task(what);
    return std::exchange(frame_, {});
  }

 private:
  friend promise_type;
  explicit task(typename promise_type::handle_type frame) noexcept : frame_(frame) {}
  void reset() noexcept {
    if (frame_) std::exchange(frame_, {}).destroy();
  }

  typename promise_type::handle_type frame_;
};

namespace detail {

template <class T>
task<T> promise<T>::get_return_object() noexcept {
  auto frame = handle_type::from_promise(*this);
  frame_ = frame;
  return task<T>(frame);
}

inline task<void> promise<void>::get_return_object() noexcept {
  auto frame = handle_type::from_promise(*this);
  frame_ = frame;
  return task<void>(frame);
}

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

/// `co_await child` inside a task: runs the child inline, sharing the
/// awaiting task's cancellation.
///
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

  bool await_ready() {
    // The cancellation check before suspending: a cancelled task does not
    // start its child.
    return root != nullptr && root->cancellation_point();
  }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
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
    if (!started || p.end_.error || (root != nullptr && root->cancellation_point()))
        [[unlikely]] {
      end_unsuccessfully(p, child, root, started);
    }
    struct destroy_on_exit {
      typename promise<T>::handle_type h;
      ~destroy_on_exit() { h.destroy(); }
    } guard{child};
    return p.take_value();
  }
};

template <class T>
struct awaitable_traits<task<T>> {
  static task_awaiter<T> transform(task_state* root, task<T>&& t) {
    return task_awaiter<T>{t.release("co_await"), root};
  }
  static task_awaiter<T> transform(task_state* root, task<T>& t) {
    return task_awaiter<T>{t.release("co_await"), root};
  }
};

}  // namespace detail
}  // namespace weft
