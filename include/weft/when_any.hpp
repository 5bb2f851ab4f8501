#pragma once
/// \file
/// weft::when_any: run tasks in parallel and take the first to finish.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <weft/errors.hpp>
#include <weft/task.hpp>
#include <weft/when_all.hpp>
#include <weft/detail/join.hpp>

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

namespace detail {

template <class T>
struct when_any_awaiter : join_base {
  when_any_awaiter(task_state* root, std::vector<task<T>>& tasks) : join_base(mode::any, root) {
    adopt(tasks, "when_any");
  }

  bool await_ready() { return ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
    return start(parent);
  }
  std::pair<std::size_t, when_all_value_t<T>> await_resume() {
    leave();
    owned_children guard{children_, count_};
    if (!decided()) {
      // The parent was cancelled before any child started.
      throw_if_parent_cancelled();
    }
    task_state& first = children_[decided_index()]->state_;
    // As in when_all: a failure is never masked, then the caller's own
    // cancellation (its reason, not the parent_cancelled its children got
    // from it), then a child that ended cancelled.
    if (first.outcome() == k_failed) rethrow_child(first);
    throw_if_parent_cancelled();
    if (first.outcome() != k_succeeded) rethrow_child(first);
    auto& winner = *static_cast<promise<T>*>(children_[decided_index()]);
    return {decided_index(), take_child_value(winner)};
  }
};

template <class T>
struct awaitable_traits<when_any_awaitable<T>> {
  static when_any_awaiter<T> transform(task_state* root, when_any_awaitable<T>& a) {
    return when_any_awaiter<T>(root, a.tasks);
  }
  static when_any_awaiter<T> transform(task_state* root, when_any_awaitable<T>&& a) {
    return when_any_awaiter<T>(root, a.tasks);
  }
};

}  // namespace detail
}  // namespace weft
