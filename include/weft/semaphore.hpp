#pragma once
/// \file
/// weft::semaphore: a counting semaphore for tasks (asyncio.Semaphore).

#include <cstddef>
#include <utility>

#include <weft/detail/access.hpp>
#include <weft/detail/permit_pool.hpp>

namespace weft {

/// A count of permits that tasks take and give back, to bound how many do
/// something at once. Waiters are served first come, first served, and a
/// released permit goes to the longest waiter directly. An uncontended
/// acquire()/release() is one atomic operation each: no lock, no system
/// call.
///
/// Thread safety: every member may be called from any thread; acquire()
/// and scoped_acquire() are awaited inside tasks. The semaphore belongs to
/// no scheduler: tasks of several may share it. Destroying it while a task
/// waits on it prints a diagnostic and calls std::terminate.
class semaphore {
 public:
  /// A permit taken by scoped_acquire(), given back by its destructor
  /// (`async with sem`), exactly once, also when the task unwinds.
  class [[nodiscard]] permit {
   public:
    permit(permit&& other) noexcept : sem_(std::exchange(other.sem_, nullptr)) {}
    permit& operator=(permit&& other) noexcept {
      if (this != &other) {
        release();
        sem_ = std::exchange(other.sem_, nullptr);
      }
      return *this;
    }
    ~permit() { release(); }
    /// True until released or moved from.
    bool owns_permit() const noexcept { return sem_ != nullptr; }
    /// Gives the permit back now; later calls do nothing.
    void release() noexcept {
      if (sem_ != nullptr) std::exchange(sem_, nullptr)->release();
    }

   private:
    friend struct detail::access;
    explicit permit(semaphore* sem) noexcept : sem_(sem) {}
    semaphore* sem_;
  };

  /// The operand of `co_await sem.acquire()`.
  struct [[nodiscard]] acquire_awaitable {
    semaphore* sem;  ///< the semaphore to take a permit of
  };
  /// The operand of `co_await sem.scoped_acquire()`.
  struct [[nodiscard]] scoped_acquire_awaitable {
    semaphore* sem;  ///< the semaphore to take a permit of
  };

  /// A semaphore holding `permits` permits.
  explicit semaphore(std::size_t permits) noexcept : pool_(permits, "weft::semaphore") {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  /// `co_await sem.acquire()` inside a task: takes a permit, waiting
  /// (without holding a worker) while none is free. A cancellation point:
  /// a cancel before or during the wait throws cancelled_error and takes
  /// no permit. Throws invalid_state_error outside a task.
  acquire_awaitable acquire() noexcept { return {this}; }

  /// As acquire(), returning a permit that gives itself back.
  scoped_acquire_awaitable scoped_acquire() noexcept { return {this}; }

  /// Takes a permit if one is free and no task waits (no barging past the
  /// waiters); never waits.
  bool try_acquire() noexcept { return pool_.try_take(); }

  /// Gives a permit back: to the longest-waiting task if any, else to the
  /// pool.
  void release() noexcept { pool_.give(); }

  /// The permits free now (a snapshot).
  std::size_t available() const noexcept { return pool_.available(); }

 private:
  friend struct detail::access;
  detail::permit_pool pool_;
};

}  // namespace weft

// After the operands: their awaitable_traits are not templates.
#include <weft/detail/semaphore_awaiter.hpp>
