#pragma once
// `co_await weft::when_any(tasks)`: the first child to finish decides; the
// join protocol (join.hpp) cancels and awaits the others.

#include <coroutine>
#include <cstddef>
#include <utility>
#include <vector>

#include <weft/detail/fwd.hpp>
#include <weft/detail/join.hpp>
#include <weft/detail/promise.hpp>

namespace weft::detail {

template <class T>
struct when_any_awaiter : join_base {
  when_any_awaiter(task_state* root, std::vector<task<T>>& tasks) : join_base(mode::any, root) {
    adopt(tasks, "when_any");
  }

  bool await_ready() { return ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
    return start(parent);
  }
  std::pair<std::size_t, child_value_t<T>> await_resume() {
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

}  // namespace weft::detail
