#pragma once
/// \file
/// weft::event: a flag that tasks wait for (asyncio.Event).

#include <weft/detail/access.hpp>
#include <weft/detail/event_state.hpp>

namespace weft {

/// A flag, clear at first, that tasks wait to be set. set() wakes every
/// task waiting at that moment (a clear() after it does not un-wake them);
/// wait() on a set event returns without suspending.
///
/// Thread safety: every member may be called from any thread; wait() is
/// awaited inside tasks. The event belongs to no scheduler: tasks of
/// several may wait on it, and each resumes on its own. A waiting task
/// holds no worker. Destroying the event while a task waits on it, or is
/// still waking from a set(), prints a diagnostic and calls std::terminate:
/// keep it alive until its waiters have resumed.
class event {
 public:
  /// The operand of `co_await ev.wait()`.
  struct [[nodiscard]] wait_awaitable {
    event* ev;  ///< the event to wait for
  };

  event() noexcept = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  /// Sets the flag and wakes every task waiting now.
  void set() noexcept { state_.set(); }
  /// Clears the flag: later wait()s suspend until the next set().
  void clear() noexcept { state_.clear(); }
  /// True while set. One atomic load.
  bool is_set() const noexcept { return state_.is_set(); }

  /// `co_await ev.wait()` inside a task: returns once the event is set. A
  /// cancellation point: a pending cancel throws cancelled_error before it
  /// waits (even on a set event), and a cancel wakes it at once. Throws
  /// invalid_state_error outside a task.
  wait_awaitable wait() noexcept { return {this}; }

 private:
  friend struct detail::access;
  detail::event_state state_;
};

}  // namespace weft

// After the operand: its awaitable_traits is not a template.
#include <weft/detail/event_awaiter.hpp>
