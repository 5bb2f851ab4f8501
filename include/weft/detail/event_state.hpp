#pragma once
// The state of a weft::event: the flag, and the tasks waiting for it.
// set() wakes every task queued at that moment; a waiter checks the flag
// under the same lock before it queues, so none misses a set().

#include <atomic>

#include <weft/detail/sync_waiter.hpp>

namespace weft::detail {

class event_state final : public sync_object {
 public:
  event_state() noexcept : sync_object("weft::event") {}

  /// acquire: pairs with the release store in set(); what the setter wrote
  /// is visible to whoever sees the flag.
  bool is_set() const noexcept { return set_.load(std::memory_order_acquire); }

  void set() noexcept;
  void clear() noexcept { set_.store(false, std::memory_order_relaxed); }

  /// From await_suspend: queues `w` unless the event is set or `w` was
  /// withdrawn by a cancel that came first; true if it waits.
  bool enqueue_unless_set(sync_waiter& w) noexcept;

 private:
  // Written by set() under the lock and by clear(); read by anyone.
  std::atomic<bool> set_{false};
  wait_list waiters_;  // under mutex_
};

/// `co_await ev.wait()`. Trivially destructible (see task_awaiter).
struct event_awaiter : sync_wait {
  event_state* ev;
  node_type waiter{};

  bool await_ready() { return root->cancellation_point() || ev->is_set(); }
  bool await_suspend(std::coroutine_handle<> h) {
    return arm(waiter, *ev, h, wait_kind::event) && ev->enqueue_unless_set(waiter);
  }
  void await_resume() {
    disarm(waiter);
    leave(waiter);
    if (root->cancellation_point()) root->throw_cancelled();
  }
};

}  // namespace weft::detail
