#pragma once
// `co_await q.push(v)` and `co_await q.pop()` on a weft::queue<T>. The fast
// path (an item or a slot is there) takes the queue's lock once and does
// not suspend; else the task queues as a waiter.

#include <coroutine>
#include <type_traits>
#include <utility>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/queue_state.hpp>
#include <weft/detail/sync_waiter.hpp>

namespace weft::detail {

[[noreturn]] inline void throw_closed_on_push() {
  throw queue_closed_error(
      "push() on a closed weft::queue: it takes no more items; stop producing once close() "
      "was called (try_push() returns false instead of throwing)");
}
[[noreturn]] inline void throw_closed_on_pop() {
  throw queue_closed_error(
      "pop() on a weft::queue that is closed and empty: every item was taken; end the "
      "consumer here (try_pop() returns nullopt instead of throwing)");
}

/// Trivially destructible (see task_awaiter): the value is the operand's,
/// which outlives the co_await expression, and is moved (or copied) only
/// into the queue.
template <class T>
struct push_awaiter : sync_wait {
  queue_state<T>* q;
  T* value;
  bool copy;  // pushed from an lvalue: copy, do not move
  push_waiter waiter{};

  bool push(bool queue_it) {
    if constexpr (std::is_copy_constructible_v<T>) {
      if (copy) return q->push_or_wait(waiter, std::as_const(*value), queue_it);
    }
    return q->push_or_wait(waiter, std::move(*value), queue_it);
  }
  bool push_reserved() {
    if constexpr (std::is_copy_constructible_v<T>) {
      if (copy) return q->push_reserved(std::as_const(*value));
    }
    return q->push_reserved(std::move(*value));
  }

  bool await_ready() {
    if (root->cancellation_point()) return true;  // await_resume throws
    static_cast<void>(push(false));
    return waiter.pushed || waiter.status != wait_status::fresh;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    return arm(waiter, *q, h, wait_kind::queue_push) && push(true);
  }
  void await_resume() {
    disarm(waiter);
    // The value was queued without waiting: done, whatever came after
    // (the next suspension point sees a cancel).
    if (waiter.pushed) return;
    struct leave_on_exit {
      sync_waiter& w;
      ~leave_on_exit() { leave(w); }
    } guard{waiter};
    const bool reserved = waiter.status == wait_status::granted;
    if (root->cancellation_point()) {
      if (reserved) q->release_reserved();
      root->throw_cancelled();
    }
    if (!reserved) throw_closed_on_push();  // refused: closed while it waited
    if (!push_reserved()) throw_closed_on_push();
  }
};

/// Trivially destructible (see task_awaiter): the item handed over lives in
/// the waiter's raw storage until await_resume moves it out.
template <class T>
struct pop_awaiter : sync_wait {
  queue_state<T>* q;
  pop_waiter<T> waiter{};

  bool await_ready() {
    if (root->cancellation_point()) return true;  // await_resume throws
    static_cast<void>(q->pop_or_wait(waiter, false));
    return waiter.status != wait_status::fresh;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    return arm(waiter, *q, h, wait_kind::queue_pop) && q->pop_or_wait(waiter, true);
  }
  T await_resume() {
    disarm(waiter);
    struct leave_on_exit {
      sync_waiter& w;
      ~leave_on_exit() { leave(w); }
    } guard{waiter};
    if (root->cancellation_point()) {
      if (waiter.has_item) q->give_back(waiter);  // a cancelled pop takes nothing
      root->throw_cancelled();
    }
    if (!waiter.has_item) throw_closed_on_pop();
    return waiter.take();
  }
};

template <class T>
struct awaitable_traits<queue_push_awaitable<T>> {
  static push_awaiter<T> transform(task_state* root, queue_push_awaitable<T> a) {
    return {{sync_wait::checked_root(root, "weft::queue::push()")},
            &access::state(*a.q), a.value, a.copy};
  }
};
template <class T>
struct awaitable_traits<queue_pop_awaitable<T>> {
  static pop_awaiter<T> transform(task_state* root, queue_pop_awaitable<T> a) {
    return {{sync_wait::checked_root(root, "weft::queue::pop()")}, &access::state(*a.q)};
  }
};

}  // namespace weft::detail
