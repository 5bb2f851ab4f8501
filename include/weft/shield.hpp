#pragma once
/// \file
/// weft::shield: await a task without passing the caller's cancellation on.

#include <utility>

#include <weft/scheduler.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>
#include <weft/detail/shield_awaiter.hpp>

namespace weft {

/// The operand of `co_await weft::shield(...)`.
template <class T>
struct shield_awaitable {
  task_handle<T> handle;  ///< the shielded task
};

/// `co_await weft::shield(handle)` inside a task: waits for the task and
/// returns its result (or rethrows), like `co_await handle`, except that
/// cancelling the caller does not cancel the shielded task: the caller gets
/// cancelled_error at once and the task goes on (asyncio.shield).
template <class T>
shield_awaitable<T> shield(task_handle<T> handle) {
  return {std::move(handle)};
}

/// As above for a task: spawns it on the current scheduler first. Throws
/// invalid_state_error outside a task.
template <class T>
shield_awaitable<T> shield(task<T> t) {
  return {weft::spawn(std::move(t))};
}

}  // namespace weft
