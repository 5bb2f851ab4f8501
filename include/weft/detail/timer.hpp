#pragma once
// A timer entry: an intrusive node of a scheduler's timer heap, living in
// the frame of the coroutine that waits (no allocation per timer).
//
// State machine (written under the timer service's mutex, except the last
// step, which fire() performs outside it):
//   k_idle -> k_queued (add) -> k_firing (the timer thread pops it)
//          -> k_fired (fire() stores it as its last touch of the entry)
//   k_idle or k_queued -> k_removed (remove: the entry will not fire)
// remove() on a k_firing entry waits for k_fired, so the owner may destroy
// the entry as soon as remove() returns.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace weft::detail {

class timer_entry {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::uint32_t k_idle = 0, k_queued = 1, k_firing = 2, k_fired = 3,
                                 k_removed = 4;

  clock::time_point when{};
  // The heap position, owned by the timer service (under its mutex).
  std::size_t heap_index = 0;
  // Written by the service under its mutex and by fire(); read by remove().
  std::atomic<std::uint32_t> state{k_idle};

  /// Runs on the timer thread when `when` is reached, outside the service's
  /// lock. Must end with mark_fired() and touch the entry no more after it
  /// (except a node that keeps the owner suspended until it is consumed).
  virtual void fire() noexcept = 0;

  /// During shutdown: true if this entry should fire at once (a sleep in a
  /// task that shutdown cancels), false to keep it until its time.
  virtual bool fire_on_shutdown() const noexcept { return false; }

 protected:
  ~timer_entry() = default;
  void mark_fired() noexcept {
    // release: pairs with the acquire in the service's remove().
    state.store(k_fired, std::memory_order_release);
  }
};

}  // namespace weft::detail
