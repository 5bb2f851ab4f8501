#pragma once
// A Chase-Lev work-stealing deque of work items.
//
// Paper: N. M. Lê, A. Pop, A. Cohen, F. Zappa Nardelli, "Correct and
// Efficient Work-Stealing for Weak Memory Models", PPoPP 2013 (figure 1).
// The owner pushes and pops at the bottom; thieves steal from the top.
// `top_` only grows, so a 64-bit index never wraps and CAS on it has no ABA.
//
// Who may call what: push() and pop() only on the owning worker thread;
// steal() and size_estimate() from any thread.
//
// TSan variant: ThreadSanitizer does not model atomic_thread_fence, so with
// WEFT_TSAN the paper's fences become the equivalent ordering on the
// neighbouring operations (a release store of bottom_ in push, seq_cst store
// and load in pop and steal). The all-seq_cst formulation is the one the
// paper proves equivalent; the fence version is what ships in release builds.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <weft/detail/atomic.hpp>
#include <weft/detail/config.hpp>

namespace weft::detail {

/// A work item: the address of a coroutine frame to resume, or (tagged with
/// k_fresh_task) a task_state whose body has not started yet.
using work_item = std::uintptr_t;
inline constexpr work_item k_no_work = 0;

class work_deque {
 public:
  explicit work_deque(std::size_t initial_capacity = 1024)
      : array_(new ring(round_up(initial_capacity))) {
    retired_.emplace_back(array_.load(std::memory_order_relaxed));
  }
  work_deque(const work_deque&) = delete;
  work_deque& operator=(const work_deque&) = delete;

  /// Owner only.
  void push(work_item item) {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    // acquire: pairs with the CAS on top_ in steal(); a slot is reused only
    // after its thief has taken the item out.
    std::int64_t t = top_.load(std::memory_order_acquire);
    ring* a = array_.load(std::memory_order_relaxed);
    if (b - t > static_cast<std::int64_t>(a->mask)) a = grow(a, t, b);
    a->put(b, item);
#if WEFT_TSAN
    // TSan variant of the fence below.
    bottom_.store(b + 1, std::memory_order_release);
#else
    // release: pairs with the acquire load of bottom_ in steal(); publishes
    // the slot and the coroutine frame it points to.
#ifndef WEFT_WEAKEN_deque_push
    atomic_fence(std::memory_order_release);
#endif  // else deliberately broken, in a model test's build only: it must be caught
    bottom_.store(b + 1, std::memory_order_relaxed);
#endif
  }

  /// Owner only. Returns k_no_work when empty.
  work_item pop() {
    std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    ring* a = array_.load(std::memory_order_relaxed);
#if WEFT_TSAN
    // TSan variant: seq_cst store then seq_cst load orders the claim of slot
    // b before reading top_, as the fence does.
    bottom_.store(b, std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_seq_cst);
#else
    bottom_.store(b, std::memory_order_relaxed);
    // seq_cst: the store of bottom_ must be visible before top_ is read, or a
    // thief and the owner could both take the last item (store-load order).
#ifdef WEFT_WEAKEN_deque_pop
    // Deliberately broken, in a model test's build only: it must be caught.
    atomic_fence(std::memory_order_acq_rel);
#else
    atomic_fence(std::memory_order_seq_cst);
#endif
    std::int64_t t = top_.load(std::memory_order_relaxed);
#endif
    if (t > b) {  // empty: restore bottom_
      bottom_.store(b + 1, std::memory_order_relaxed);
      return k_no_work;
    }
    work_item item = a->get(b);
    if (t == b) {
      // The last item: race the thieves for it with the same CAS they use.
      // seq_cst: totally ordered with the thieves' CAS on top_.
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
        item = k_no_work;  // a thief won
      }
      bottom_.store(b + 1, std::memory_order_relaxed);
    }
    return item;
  }

  /// Any thread. Returns k_no_work when empty or when it lost a race with
  /// another thief or the owner (`lost_race` tells which).
  work_item steal(bool& lost_race) {
    lost_race = false;
#if WEFT_TSAN
    // TSan variant of the fence below.
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    std::int64_t b = bottom_.load(std::memory_order_seq_cst);
#else
    // acquire: pairs with the CAS on top_ by other thieves.
    std::int64_t t = top_.load(std::memory_order_acquire);
    // seq_cst: read top_ before bottom_, pairing with the fence in pop().
    atomic_fence(std::memory_order_seq_cst);
    // acquire: pairs with the release in push(); the item's frame is visible.
    std::int64_t b = bottom_.load(std::memory_order_acquire);
#endif
    if (t >= b) return k_no_work;
    // acquire (the paper's consume): the ring a grow() published.
    ring* a = array_.load(std::memory_order_acquire);
    work_item item = a->get(t);
    // seq_cst: one winner among thieves and the owner's pop of the last item.
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      lost_race = true;
      return k_no_work;
    }
    return item;
  }

  /// Any thread; a racy hint, exact only when the deque is quiescent.
  std::size_t size_estimate() const noexcept {
    std::int64_t b = bottom_.load(std::memory_order_relaxed);
    std::int64_t t = top_.load(std::memory_order_relaxed);
    return b > t ? static_cast<std::size_t>(b - t) : 0;
  }

 private:
  // Slots are relaxed atomics: a thief may read a slot while the owner
  // overwrites it after a wrap; the CAS on top_ then discards the stale read.
  struct ring {
    explicit ring(std::size_t capacity)
        : mask(capacity - 1), slots(new atomic<work_item>[capacity]) {}
    std::size_t mask;
    std::unique_ptr<atomic<work_item>[]> slots;
    void put(std::int64_t i, work_item v) noexcept {
      slots[static_cast<std::size_t>(i) & mask].store(v, std::memory_order_relaxed);
    }
    work_item get(std::int64_t i) const noexcept {
      return slots[static_cast<std::size_t>(i) & mask].load(std::memory_order_relaxed);
    }
  };

  static std::size_t round_up(std::size_t n) {
    std::size_t c = 2;
    while (c < n) c *= 2;
    return c;
  }

  // Owner only. Old rings stay alive until the deque dies: a thief may still
  // be reading one (the paper leaves reclamation out; so do we).
  ring* grow(ring* old, std::int64_t t, std::int64_t b) {
    auto bigger = std::make_unique<ring>((old->mask + 1) * 2);
    for (std::int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
    ring* raw = bigger.get();
    retired_.push_back(std::move(bigger));
    // release: pairs with the acquire load of array_ in steal().
    array_.store(raw, std::memory_order_release);
    return raw;
  }

  // Thieves write top_; the owner writes bottom_: separate cache lines.
  alignas(k_cache_line) atomic<std::int64_t> top_{0};
  alignas(k_cache_line) atomic<std::int64_t> bottom_{0};
  atomic<ring*> array_;
  std::vector<std::unique_ptr<ring>> retired_;  // owner only
};

}  // namespace weft::detail
