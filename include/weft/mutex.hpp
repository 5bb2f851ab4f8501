#pragma once
/// \file
/// weft::mutex: mutual exclusion for tasks (asyncio.Lock).

#include <utility>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/permit_pool.hpp>

namespace weft {

/// A lock that a task waits for without holding a worker. Not recursive.
/// Waiters are served first come, first served, and unlock() hands the lock
/// to the longest waiter directly. An uncontended lock()/unlock() is one
/// atomic operation each: no lock, no system call.
///
/// Thread safety: every member may be called from any thread; lock() and
/// scoped_lock() are awaited inside tasks. The mutex belongs to no
/// scheduler. Destroying it while a task waits on it prints a diagnostic
/// and calls std::terminate.
class mutex {
 public:
  /// The lock taken by scoped_lock(), unlocked by its destructor (`async
  /// with lock`), exactly once, also when the task unwinds.
  class [[nodiscard]] guard {
   public:
    guard(guard&& other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
    guard& operator=(guard&& other) noexcept {
      if (this != &other) {
        unlock();
        m_ = std::exchange(other.m_, nullptr);
      }
      return *this;
    }
    ~guard() { unlock(); }
    /// True until unlocked or moved from.
    bool owns_lock() const noexcept { return m_ != nullptr; }
    /// Unlocks now; later calls do nothing.
    void unlock() noexcept {
      if (m_ != nullptr) std::exchange(m_, nullptr)->release();
    }

   private:
    friend struct detail::access;
    explicit guard(mutex* m) noexcept : m_(m) {}
    mutex* m_;
  };

  /// The operand of `co_await m.lock()`.
  struct [[nodiscard]] lock_awaitable {
    mutex* m;  ///< the mutex to lock
  };
  /// The operand of `co_await m.scoped_lock()`.
  struct [[nodiscard]] scoped_lock_awaitable {
    mutex* m;  ///< the mutex to lock
  };

  mutex() noexcept : pool_(1, "weft::mutex") {}
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  /// `co_await m.lock()` inside a task: takes the lock, waiting (without
  /// holding a worker) while another holder has it. A cancellation point: a
  /// cancel before or during the wait throws cancelled_error and leaves
  /// the lock alone. Throws invalid_state_error if the awaiting task holds
  /// the lock already (it would wait for itself), or outside a task.
  lock_awaitable lock() noexcept { return {this}; }

  /// As lock(), returning a guard that unlocks.
  scoped_lock_awaitable scoped_lock() noexcept { return {this}; }

  /// Takes the lock if it is free and no task waits; never waits. Called
  /// in a task, that task holds the lock as if lock() had taken it (its own
  /// lock() then throws instead of waiting for itself).
  bool try_lock() noexcept;

  /// Releases the lock: to the longest-waiting task if any. Any thread.
  /// Throws invalid_state_error if the mutex is not locked.
  void unlock() {
    if (!release()) {
      throw invalid_state_error(
          "weft::mutex::unlock() of a mutex that is not locked; unlock only after lock() or "
          "try_lock() succeeded, once (a scoped_lock() guard does it for you)");
    }
  }

  /// True while the lock is held (a snapshot).
  bool locked() const noexcept { return pool_.taken(); }

 private:
  friend struct detail::access;
  bool release() noexcept {
    // Clear the tag before the permit goes: a new holder sets its own.
    pool_.holder.store(nullptr, std::memory_order_relaxed);
    return pool_.give(1);
  }
  detail::permit_pool pool_;
};

}  // namespace weft

// After the operands: their awaitable_traits are not templates.
#include <weft/detail/mutex_awaiter.hpp>
