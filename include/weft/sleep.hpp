#pragma once
/// \file
/// weft::sleep_for / weft::sleep_until: asyncio.sleep for tasks.

#include <chrono>

namespace weft {

/// The operand of `co_await weft::sleep_until(t)` / `sleep_for(d)`.
struct sleep_awaitable {
  std::chrono::steady_clock::time_point when;  ///< when the sleeper wakes
};

/// `co_await weft::sleep_until(t)` inside a task: suspends until `t`
/// without holding a worker (one timer thread per scheduler serves every
/// sleeper). A cancellation point: a cancel wakes the task at once and it
/// resumes with cancelled_error.
inline sleep_awaitable sleep_until(std::chrono::steady_clock::time_point when) noexcept {
  return {when};
}

/// `co_await weft::sleep_for(d)`: sleep_until(now + d).
template <class Rep, class Period>
sleep_awaitable sleep_for(std::chrono::duration<Rep, Period> duration) {
  return {std::chrono::steady_clock::now() +
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(duration)};
}

}  // namespace weft

// The awaiter comes after sleep_awaitable: its awaitable_traits
// specialization is not a template, so it needs the operand complete.
#include <weft/detail/sleep_awaiter.hpp>
