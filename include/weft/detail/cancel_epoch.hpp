#pragma once
// How a task learns that an ancestor was cancelled without the ancestor
// reaching down to it. A combinator's children (when_all, when_any,
// timeout, parallel loops) do not register with their parent: a fork that
// is never cancelled then pays no seq_cst store. Instead, each scheduler
// keeps one counter, the cancel epoch, which every first cancel request of
// one of its tasks and its shutdown advance after recording themselves.
// A suspension point compares the epoch with the one its task last
// checked; only when it moved does the task look at its ancestors' words
// (task_state::cancellation_point_slow).
//
//   canceller: CAS the word (request recorded); advance (release)
//   checker:   e = load (acquire); if e != seen: read the ancestors'
//              words; none asked: seen = e
// A check that reads an epoch advanced by a request sees that request's
// word: a cancel is never missed by a check that runs after it.
//
// A task that blocks (a sleep, a handle, a future, I/O) still wants to be
// woken at once: it arms the slots of its ancestors with their joins
// (cancel_slot::arm_for_descendant), so a canceller reaches it as before.

#include <cstdint>

#include <weft/detail/atomic.hpp>

namespace weft::detail {

class cancel_epoch {
 public:
  /// Never 0: a task that has checked nothing yet holds 0 (see
  /// task_state::seen_epoch_), so its first check looks.
  static constexpr std::uint64_t k_first = 1;

  /// acquire: pairs with advance(); the requests it counts are visible.
  std::uint64_t load() const noexcept { return value_.load(std::memory_order_acquire); }

  /// After recording a cancel request (or the scheduler's stopping flag).
  void advance() noexcept {
#ifdef WEFT_WEAKEN_cancel_epoch_advance
    // Deliberately broken, in a model test's build only: it must be caught.
    value_.fetch_add(1, std::memory_order_relaxed);
#else
    // release: publishes the request recorded before it to every check
    // that reads the new value.
    value_.fetch_add(1, std::memory_order_release);
#endif
  }

 private:
  atomic<std::uint64_t> value_{k_first};
};

}  // namespace weft::detail
