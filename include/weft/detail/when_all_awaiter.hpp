#pragma once
// `co_await weft::when_all(...)`: the fork-join awaiters over a fixed list
// of tasks and over a vector (join.hpp holds the protocol they share with
// when_any and timeout).

#include <array>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/detail/access.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/join.hpp>
#include <weft/detail/promise.hpp>

namespace weft::detail {

/// Rethrows a failure, the parent's cancellation, or a child's
/// cancellation, in that order (a failure is never masked).
inline void check_all(join_base& join, promise_base* const* children, std::size_t n) {
  if (join.decided()) join_base::rethrow_child(children[join.decided_index()]->state_);
  join.throw_if_parent_cancelled();
  for (std::size_t i = 0; i < n; ++i) {
    if (children[i]->end_.outcome != k_succeeded) join_base::rethrow_child(children[i]->state_);
  }
}

/// when_all over a fixed list. Trivially destructible (see task_awaiter):
/// the children's frames are destroyed in await_resume.
template <class... Ts>
struct when_all_awaiter : join_base {
  static constexpr std::size_t k_count = sizeof...(Ts);

  when_all_awaiter(task_state* root, std::tuple<task<Ts>...>& tasks)
      : join_base(mode::all, root), frames(release_all(tasks)) {
    std::apply([this](auto... f) { slots = {&f.promise()...}; }, frames);
    children_ = slots.data();
    count_ = static_cast<std::uint32_t>(k_count);
  }

  bool await_ready() { return ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
    return start_fixed<k_count>(parent);
  }
  // Every task is checked before any is released: releasing some and then
  // throwing for an empty one would leak the frames already released.
  static std::tuple<typename promise<Ts>::handle_type...> release_all(
      std::tuple<task<Ts>...>& tasks) {
    std::apply(
        [](auto&... t) {
          ((t.valid() ? void() : static_cast<void>(access::release(t, "when_all"))), ...);  // throws
        },
        tasks);
    return std::apply([](auto&... t) { return std::tuple(access::release(t, "when_all")...); }, tasks);
  }

  std::tuple<child_value_t<Ts>...> await_resume() {
    leave();
    struct destroy_on_exit {
      std::tuple<typename promise<Ts>::handle_type...>& frames;
      ~destroy_on_exit() {
        std::apply([](auto... f) { (f.destroy(), ...); }, frames);
      }
    } guard{frames};
    check_all(*this, slots.data(), k_count);
    return std::apply(
        [](auto... f) { return std::tuple<child_value_t<Ts>...>(take_child_value(f.promise())...); },
        frames);
  }

  std::tuple<typename promise<Ts>::handle_type...> frames;
  std::array<promise_base*, k_count> slots{};
};

/// when_all over a vector: the frames' promises are kept in an array
/// allocated here and freed in await_resume (raw, so the awaiter stays
/// trivially destructible).
template <class T>
struct when_all_vector_awaiter : join_base {
  when_all_vector_awaiter(task_state* root, std::vector<task<T>>& tasks)
      : join_base(mode::all, root) {
    adopt(tasks, "when_all");
  }

  bool await_ready() { return ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
    return start(parent);
  }
  auto await_resume() {
    leave();
    owned_children guard{children_, count_};
    check_all(*this, children_, count_);
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      std::vector<T> values;
      values.reserve(count_);
      for (std::uint32_t i = 0; i < count_; ++i) {
        values.push_back(static_cast<promise<T>*>(children_[i])->take_value());
      }
      return values;
    }
  }
};

template <class... Ts>
struct awaitable_traits<when_all_awaitable<Ts...>> {
  static when_all_awaiter<Ts...> transform(task_state* root, when_all_awaitable<Ts...>& a) {
    return when_all_awaiter<Ts...>(root, a.tasks);
  }
  static when_all_awaiter<Ts...> transform(task_state* root, when_all_awaitable<Ts...>&& a) {
    return when_all_awaiter<Ts...>(root, a.tasks);
  }
};

template <class T>
struct awaitable_traits<when_all_vector_awaitable<T>> {
  static when_all_vector_awaiter<T> transform(task_state* root, when_all_vector_awaitable<T>& a) {
    return when_all_vector_awaiter<T>(root, a.tasks);
  }
  static when_all_vector_awaiter<T> transform(task_state* root,
                                              when_all_vector_awaitable<T>&& a) {
    return when_all_vector_awaiter<T>(root, a.tasks);
  }
};

}  // namespace weft::detail
