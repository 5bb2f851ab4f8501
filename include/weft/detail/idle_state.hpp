#pragma once
// Which workers are looking for work and which are parked, and the event
// count that parks and wakes them.
//
// Protocol (a Dekker pair; either side's store is seen by the other's load):
//   pusher: make the item visible (deque push / injection CAS);
//           light fence; read searching_ and sleepers_; wake one sleeper
//           only if nobody is searching and somebody sleeps.
//   parker: epoch = epoch_; sleepers_ += 1 (seq_cst RMW); heavy fence; look
//           for work once more; if none, futex_wait(epoch_, epoch).
// The fences are asymmetric (asymmetric_fence.hpp): every push pays a
// compiler barrier, every park a membarrier. The model check of this
// protocol (tests/model/idle_model.cpp) runs it with both as seq_cst
// fences, the symmetric form: membarrier is outside the memory model.
// If the pusher's reads miss the parker's increment, the parker's second
// look sees the item. A wake between the second look and futex_wait bumps
// epoch_, so futex_wait returns at once. A searching worker that parks also
// takes the second look, so skipping the wake while one searches loses no work.

#include <atomic>
#include <cstdint>

#include <weft/detail/asymmetric_fence.hpp>
#include <weft/detail/atomic.hpp>
#include <weft/detail/config.hpp>
#include <weft/detail/futex.hpp>

namespace weft::detail {

class idle_state {
 public:
  /// After making work visible. Cheap when every worker is busy.
  void notify_work_available() noexcept {
#if WEFT_TSAN
    // TSan variant of the fence: a seq_cst RMW on sleepers_ orders the
    // item's publication before the reads below, as the fence does.
    std::uint32_t sleeping = sleepers_.fetch_add(0, std::memory_order_seq_cst);
#else
    // Store-load order between publishing the item and reading the
    // counters; pairs with the heavy fence in prepare_park().
    light_fence();
    std::uint32_t sleeping = sleepers_.load(std::memory_order_relaxed);
#endif
    if (sleeping != 0 && searching_.load(std::memory_order_relaxed) == 0) wake_one();
  }

  /// Wakes one parked worker (if any is parked or about to park).
  void wake_one() noexcept {
    // release: a woken worker's acquire of epoch_ sees what preceded the wake.
    epoch_.fetch_add(1, std::memory_order_release);
    futex_wake(&epoch_, 1);
  }

  void wake_all() noexcept {
    epoch_.fetch_add(1, std::memory_order_release);
    futex_wake_all(&epoch_);
  }

  /// Whether some worker is looking for work or parked (a snapshot; a
  /// long serial loop polls it to hand half of its range over).
  bool has_idle() const noexcept {
    return searching_.load(std::memory_order_relaxed) + sleepers_.load(std::memory_order_relaxed) != 0;
  }

  // ---- worker side
  void begin_search() noexcept { searching_.fetch_add(1, std::memory_order_relaxed); }
  /// Returns true if this was the last searcher.
  bool end_search() noexcept { return searching_.fetch_sub(1, std::memory_order_acq_rel) == 1; }

  /// First half of parking: returns the epoch to wait on.
  std::uint32_t prepare_park() noexcept {
    // acquire: pairs with the release in wake_one().
    std::uint32_t epoch = epoch_.load(std::memory_order_acquire);
    // seq_cst: pairs with the seq_cst RMW in notify_work_available() (TSan
    // variant) or, with the heavy fence after it, with its light fence.
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
#if !WEFT_TSAN && !defined(WEFT_WEAKEN_idle_park_fence)
    heavy_fence();  // (a model test's build may drop it: it must be caught)
#endif
    return epoch;
  }
  void cancel_park() noexcept { sleepers_.fetch_sub(1, std::memory_order_relaxed); }
  void park(std::uint32_t epoch) noexcept {
    futex_wait(epoch_, epoch);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
  }

  /// The worker's side of the protocol: searches `search_rounds` times,
  /// then parks after a second look, and searches again when woken; until
  /// it finds work (returned) or is told to exit (a null item). `worker`
  /// provides find(), exiting() (an acquire), pause() between rounds,
  /// second_look() (find() and whatever the worker does first, after the
  /// epoch is read) and sleep(*this, epoch) (calls park(epoch)).
  template <class Worker>
  auto wait_for_work(Worker& worker, std::uint32_t search_rounds) -> decltype(worker.find()) {
    for (;;) {
      // Search first, also right after a wake-up: a woken worker is a
      // searcher, so the hand-over below chains wake-ups while work remains.
      begin_search();
      for (std::uint32_t round = 0; round < search_rounds; ++round) {
        if (auto item = worker.find()) {
          // A push that saw this worker searching did not wake anyone,
          // counting on it; it found work, so the last searcher hands the
          // search over to a sleeper (tokio's rule). Without this a task
          // could wait in a queue while its only possible runner sleeps.
          if (end_search()) notify_work_available();
          return item;
        }
        if (worker.exiting()) break;
        worker.pause();
      }
      end_search();
      const std::uint32_t epoch = prepare_park();
      if (auto item = worker.second_look()) {
        cancel_park();
        // As above: there may be more, and a push may have skipped its
        // wake counting on this worker.
        notify_work_available();
        return item;
      }
      if (worker.exiting()) {
        cancel_park();
        return {};
      }
      worker.sleep(*this, epoch);
    }
  }

 private:
  // Written by workers entering and leaving their search; read by pushers.
  alignas(k_cache_line) atomic<std::uint32_t> searching_{0};
  // Written by workers parking and unparking; read by pushers.
  atomic<std::uint32_t> sleepers_{0};
  // The futex word: bumped by every wake; parked workers wait on it.
  alignas(k_cache_line) atomic<std::uint32_t> epoch_{0};
};

}  // namespace weft::detail
