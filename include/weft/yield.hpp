#pragma once
/// \file
/// weft::yield(): a suspension point that lets other tasks run.

namespace weft {

/// The operand of `co_await weft::yield()`.
struct yield_awaitable {};

/// `co_await weft::yield()` inside a task: reschedules the task behind the
/// work its worker has queued (asyncio.sleep(0)). A cancellation point:
/// throws cancelled_error before suspending and on resuming if the task's
/// cancellation was requested.
constexpr yield_awaitable yield() noexcept { return {}; }

}  // namespace weft

// The awaiter comes after yield_awaitable: its awaitable_traits
// specialization is not a template, so it needs the operand complete.
#include <weft/detail/yield_awaiter.hpp>
