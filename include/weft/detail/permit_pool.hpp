#pragma once
// The permits behind weft::semaphore and weft::mutex (a mutex is a pool of
// one permit with an owner). Uncontended take and give are one CAS on a
// word, no lock and no system call; the lock and the wait list are used
// only once a task has to wait.
//
// The word: permits available * k_one | k_waiting.
//   k_waiting  set (under the lock) while the wait list is not empty; the
//              count is then 0, and takes and gives go through the lock, so
//              a give hands its permit to the oldest waiter directly (no
//              barging: try_take fails while anyone waits).
// Written by CAS from any thread (the fast paths) and under the lock.

#include <atomic>
#include <cstdint>

#include <weft/detail/atomic.hpp>
#include <weft/detail/sync_waiter.hpp>

namespace weft::detail {

class permit_pool final : public sync_object {
 public:
  permit_pool(std::uint64_t permits, const char* name) noexcept
      : sync_object(name), word_(permits * k_one) {}

  /// Takes a permit if one is free and nobody waits. Any thread.
  bool try_take() noexcept {
    std::uint64_t w = word_.load(std::memory_order_relaxed);
    while (w >= k_one && (w & k_waiting) == 0) {
      // acquire: pairs with the release in give(); the previous holder's
      // writes are visible to this one.
      if (word_.compare_exchange_weak(w, w - k_one, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  /// Gives a permit back: to the oldest waiter if any (which is resumed),
  /// else to the pool. With `limit`, refuses (false) if the pool already
  /// holds `limit` permits (an unlock of a mutex that is not locked).
  bool give(std::uint64_t limit = ~std::uint64_t{0} / k_one) noexcept {
    std::uint64_t w = word_.load(std::memory_order_relaxed);
    while ((w & k_waiting) == 0) {
      if (w / k_one >= limit) return false;
      // release: pairs with the acquire in try_take().
      if (word_.compare_exchange_weak(w, w + k_one, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        return true;
      }
    }
    return give_to_waiter(limit);
  }

  /// Under the lock, from await_suspend: takes a permit for `w` (granted),
  /// or queues it; false if `w` must not wait (granted, or withdrawn by a
  /// cancel that came first).
  bool take_or_enqueue(sync_waiter& w) noexcept;

  /// The permits free now (a snapshot).
  std::uint64_t available() const noexcept {
    return word_.load(std::memory_order_relaxed) / k_one;
  }

  /// The owner tag of a mutex (the holding task's root, or null), set by
  /// whoever gives it the permit. Relaxed: read only to refuse a recursive
  /// lock, after an acquire load of the word showed the permit taken.
  atomic<task_state*> holder{nullptr};

  /// True if the permit of a one-permit pool is taken.
  bool taken() const noexcept {
    // acquire: pairs with the release in give(); a holder tag cleared
    // before that give is visible.
    return word_.load(std::memory_order_acquire) < k_one;
  }

 private:
  static constexpr std::uint64_t k_waiting = 1;
  static constexpr std::uint64_t k_one = 2;

  bool give_to_waiter(std::uint64_t limit) noexcept;
  void on_list_emptied(wait_list&) noexcept override;

  atomic<std::uint64_t> word_;
  wait_list waiters_;  // under mutex_
};

}  // namespace weft::detail
