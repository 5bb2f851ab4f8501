#pragma once
// `co_await weft::uncancellable(child[, grace])`: a solo join
// (solo_join.hpp) that the parent's cancel and the scheduler's shutdown do
// not reach, with an optional timer as the grace limit.

#include <weft/detail/fwd.hpp>
#include <weft/detail/solo_join.hpp>

namespace weft::detail {

template <class T>
struct awaitable_traits<uncancellable_awaitable<T>> {
  static solo_join_awaiter<T> transform(task_state* root, uncancellable_awaitable<T>& a) {
    return solo_join_awaiter<T>(root, a.child, {a.grace, false, true}, "weft::uncancellable");
  }
  static solo_join_awaiter<T> transform(task_state* root, uncancellable_awaitable<T>&& a) {
    return transform(root, a);
  }
};

}  // namespace weft::detail
