#pragma once
// `co_await weft::timeout(limit, child)`: a solo join (solo_join.hpp) whose
// timer cancels the child, and which the parent's cancel reaches.

#include <weft/detail/fwd.hpp>
#include <weft/detail/solo_join.hpp>

namespace weft::detail {

template <class T>
struct awaitable_traits<timeout_awaitable<T>> {
  static solo_join_awaiter<T> transform(task_state* root, timeout_awaitable<T>& a) {
    return solo_join_awaiter<T>(root, a.child, {a.limit, true, false}, "weft::timeout");
  }
  static solo_join_awaiter<T> transform(task_state* root, timeout_awaitable<T>&& a) {
    return transform(root, a);
  }
};

}  // namespace weft::detail
