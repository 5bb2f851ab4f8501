#pragma once
/// \file
/// weft::queue<T>: a FIFO queue between tasks (asyncio.Queue, with Python
/// 3.13's shutdown as close()).

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/queue_awaiter.hpp>
#include <weft/detail/queue_state.hpp>

namespace weft {

/// The operand of `co_await q.push(v)`: refers to `v`, so co_await it in
/// the expression that makes it.
template <class T>
struct [[nodiscard]] queue_push_awaitable {
  queue<T>* q;  ///< the queue
  T* value;     ///< the value to push (moved from only once it is queued)
  bool copy;    ///< pushed from an lvalue: copied, not moved
};

/// The operand of `co_await q.pop()`.
template <class T>
struct [[nodiscard]] queue_pop_awaitable {
  queue<T>* q;  ///< the queue
};

/// A first-in, first-out queue of T (T may be move-only) with an optional
/// capacity. push() waits while it is full, pop() while it is empty, each
/// without holding a worker; waiters are served first come, first served.
/// close() ends it: pushes fail, pops drain what is queued, then fail.
///
/// Thread safety: every member may be called from any thread; push() and
/// pop() are awaited inside tasks, plain threads use try_push()/try_pop().
/// The queue belongs to no scheduler. Destroying it while a task waits on
/// it prints a diagnostic and calls std::terminate; queued items are
/// destroyed with it.
template <class T>
class queue {
 public:
  using value_type = T;  ///< the item type

  /// A queue holding at most `capacity` items; 0 (the default): unbounded.
  explicit queue(std::size_t capacity = 0) noexcept : state_(capacity) {}
  queue(const queue&) = delete;
  queue& operator=(const queue&) = delete;

  /// `co_await q.push(std::move(v))` inside a task: queues `v`, waiting
  /// while the queue is full (never, if unbounded). A cancellation point: a
  /// cancel before or during the wait throws cancelled_error and queues
  /// nothing (`v` is left as it was). Throws queue_closed_error once the
  /// queue is closed (also to a task waiting in push() when it closes).
  queue_push_awaitable<T> push(T&& value) noexcept { return {this, &value, false}; }
  /// As above, copying `value`.
  queue_push_awaitable<T> push(const T& value) noexcept
    requires std::is_copy_constructible_v<T>
  {
    return {this, const_cast<T*>(&value), true};
  }

  /// `co_await q.pop()` inside a task: takes the oldest item, waiting while
  /// the queue is empty. A cancellation point: a cancelled pop takes
  /// nothing (the item stays for the next popper). Once the queue is
  /// closed, returns the items still queued, then throws
  /// queue_closed_error.
  queue_pop_awaitable<T> pop() noexcept { return {this}; }

  /// Queues `value` if there is room and the queue is open; false
  /// otherwise, and then `value` is left untouched. Never waits.
  bool try_push(T&& value) { return state_.try_push(std::move(value)); }
  /// As above, copying `value`.
  bool try_push(const T& value)
    requires std::is_copy_constructible_v<T>
  {
    return state_.try_push(value);
  }

  /// The oldest item, or nullopt if the queue is empty. Never waits.
  std::optional<T> try_pop() { return state_.try_pop(); }

  /// No more pushes: push() throws queue_closed_error and try_push()
  /// returns false, tasks waiting in push() wake with that error (their
  /// values not queued), and once the queue is empty so do pops. Twice is
  /// harmless.
  void close() noexcept { state_.close(); }

  /// The number of items queued (a snapshot).
  std::size_t size() const noexcept { return state_.size(); }
  /// size() == 0 (a snapshot).
  bool empty() const noexcept { return size() == 0; }
  /// True if a push would wait now: every slot holds an item or is
  /// promised to a pusher that is waking (a snapshot; never, if unbounded).
  bool full() const noexcept { return state_.full(); }
  /// The capacity given at construction (0: unbounded).
  std::size_t capacity() const noexcept { return state_.capacity(); }
  /// True once close() was called.
  bool closed() const noexcept { return state_.closed(); }

 private:
  friend struct detail::access;
  detail::queue_state<T> state_;
};

}  // namespace weft
