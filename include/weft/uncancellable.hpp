#pragma once
/// \file
/// weft::uncancellable: cleanup that must suspend (flush, close, notify).

#include <chrono>
#include <optional>

#include <weft/task.hpp>
#include <weft/detail/solo_join.hpp>

namespace weft {

/// The operand of `co_await weft::uncancellable(t)`.
template <class T>
struct uncancellable_awaitable {
  task<T> child;  ///< the cleanup task
  std::optional<std::chrono::steady_clock::duration> grace;  ///< the time limit, if any
};

/// `co_await weft::uncancellable(cleanup())` inside a task: runs the child
/// to completion with cancellation masked. Neither entry nor return throws
/// because of the caller's cancellation, the child's own awaits do not
/// throw because of it (nor because of the scheduler's shutdown), and the
/// caller's pending cancellation fires at its next suspension point after.
/// Returns the child's value or rethrows its exception.
///
/// C++ forbids co_await in a catch block: catch cancelled_error into an
/// exception_ptr, run the cleanup after the handler, then rethrow (the
/// idiom is in docs/guide.md, "Cancellation and cleanup").
template <class T>
uncancellable_awaitable<T> uncancellable(task<T> child) {
  return {std::move(child), std::nullopt};
}

/// As above, but the cleanup is cancelled (reason timeout) if it runs longer
/// than `grace`, so a stuck cleanup cannot hang shutdown; if it then ends
/// cancelled, timeout_error is thrown.
template <class Rep, class Period, class T>
uncancellable_awaitable<T> uncancellable(task<T> child, std::chrono::duration<Rep, Period> grace) {
  return {std::move(child), std::chrono::duration_cast<std::chrono::steady_clock::duration>(grace)};
}

}  // namespace weft
