#pragma once
/// \file
/// weft::when_any: run tasks in parallel and take the first to finish.

#include <utility>
#include <vector>

#include <weft/errors.hpp>
#include <weft/task.hpp>
#include <weft/detail/when_any_awaiter.hpp>

namespace weft {

/// The operand of `co_await when_any(std::vector<task<T>>)`.
template <class T>
struct when_any_awaitable {
  std::vector<task<T>> tasks;  ///< the tasks to race
};

/// `co_await weft::when_any(std::move(tasks))` inside a task: runs the
/// tasks in parallel and returns {index, value} of the first to finish
/// (value std::monostate for void). The others are cancelled and awaited
/// before it returns, so none outlives it. If the first to finish failed,
/// its exception is rethrown (cancelled_error if it ended cancelled).
/// Throws invalid_argument_error for an empty vector.
template <class T>
when_any_awaitable<T> when_any(std::vector<task<T>> tasks) {
  if (tasks.empty()) {
    throw invalid_argument_error(
        "weft::when_any() of no tasks would never finish; pass at least one task");
  }
  return {std::move(tasks)};
}

}  // namespace weft
