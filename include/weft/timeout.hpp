#pragma once
/// \file
/// weft::timeout: asyncio.wait_for / asyncio.timeout.

#include <chrono>

#include <weft/task.hpp>
#include <weft/detail/solo_join.hpp>

namespace weft {

/// The operand of `co_await weft::timeout(d, t)`.
template <class T>
struct timeout_awaitable {
  std::chrono::steady_clock::duration limit;  ///< how long the child may run
  task<T> child;                              ///< the task run under the limit
};

/// `co_await weft::timeout(d, child())` inside a task: runs the child; if it
/// has not finished after `d` it is cancelled (reason timeout) and awaited
/// to its end. Then, as in asyncio: a child that ends with a value returns
/// it (never discarded), a failure is rethrown, and only a child that ends
/// cancelled by the timeout gives weft::timeout_error. If the caller is
/// cancelled, it gets cancelled_error (the child is cancelled too, reason
/// parent_cancelled). A zero or negative `d` still starts the child: it is
/// cancelled at its first suspension point. Inside the child,
/// this_task::deadline() tells when the time runs out.
template <class Rep, class Period, class T>
timeout_awaitable<T> timeout(std::chrono::duration<Rep, Period> limit, task<T> child) {
  using std::chrono::steady_clock;
  steady_clock::duration d =
      limit > std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(
                  steady_clock::duration::max())
          ? steady_clock::duration::max()
          : std::chrono::duration_cast<steady_clock::duration>(limit);
  return {d, std::move(child)};
}

}  // namespace weft
