#pragma once
/// \file
/// weft::when_all: run tasks in parallel on the pool and wait for all
/// (fork-join; asyncio.gather with TaskGroup's failure rules).

#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include <weft/task.hpp>
#include <weft/detail/join.hpp>
#include <weft/detail/when_all_awaiter.hpp>

namespace weft {

/// The value a task<T> contributes to when_all: T, or std::monostate for void.
template <class T>
using when_all_value_t = detail::child_value_t<T>;

/// The operand of `co_await when_all(a, b, ...)`.
template <class... Ts>
struct when_all_awaitable {
  std::tuple<task<Ts>...> tasks;  ///< the tasks to run
};

/// The operand of `co_await when_all(std::vector<task<T>>)`.
template <class T>
struct when_all_vector_awaitable {
  std::vector<task<T>> tasks;  ///< the tasks to run
};

/// `co_await weft::when_all(a(), b(), ...)` inside a task: runs the tasks
/// in parallel on the pool and returns std::tuple of their values (void as
/// std::monostate). The first failure (an exception other than
/// cancelled_error) cancels the other children (reason sibling_failed); all
/// are awaited, then it is rethrown. Cancelling the caller cancels every
/// child (parent_cancelled). A child that ends cancelled is not a failure:
/// when_all throws its cancelled_error after all children have ended.
template <class... Ts>
when_all_awaitable<Ts...> when_all(task<Ts>... tasks) {
  return {std::tuple<task<Ts>...>(std::move(tasks)...)};
}

/// As above for a vector of tasks; returns std::vector<T> in order (void
/// for task<void>).
template <class T>
when_all_vector_awaitable<T> when_all(std::vector<task<T>> tasks) {
  return {std::move(tasks)};
}

}  // namespace weft
