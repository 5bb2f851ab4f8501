#pragma once
/// \file
/// weft::task<T>: a lazy coroutine that runs on a weft::scheduler.

#include <utility>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/promise.hpp>
#include <weft/detail/task_awaiter.hpp>

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
  task(task&& other) noexcept : frame_(take_frame(other)) {}
  /// Destroys this task's coroutine, if any, and takes over `other`'s.
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      reset();
      frame_ = take_frame(other);
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { reset(); }

  /// True if this task still owns a coroutine that has not started.
  bool valid() const noexcept { return static_cast<bool>(frame_); }

 private:
  friend struct detail::access;
  explicit task(typename promise_type::handle_type frame) noexcept : frame_(frame) {}
  typename promise_type::handle_type release(const char* what) {
    if (!frame_) [[unlikely]] detail::throw_empty_task(what);
    return take_frame(*this);
  }
  // Empties `from` and returns its handle, passed through a register. Without
  // that, g++ 12's SLP vectorizer builds the next 16-byte object holding the
  // handle (the awaiter {child, root} of an inline await, a moved task in a
  // combinator's operand) from a 16-byte load that straddles the 8-byte
  // handle the child's ramp has just stored: a load the CPU cannot forward
  // from the store, which stalls every fork and inline await (fib(30) serial
  // coroutine 56 -> 37 ms, AMD EPYC). An empty asm: no instruction; GCC and
  // clang only.
  static typename promise_type::handle_type take_frame(task& from) noexcept {
    void* address = std::exchange(from.frame_, {}).address();
    asm("" : "+r"(address));
    return promise_type::handle_type::from_address(address);
  }
  void reset() noexcept {
    if (frame_) std::exchange(frame_, {}).destroy();
  }

  typename promise_type::handle_type frame_;
};

}  // namespace weft
