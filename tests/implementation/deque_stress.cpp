// Stress: the Chase-Lev deque (include/weft/detail/deque.hpp) with its
// owner pushing and popping while several thieves steal. Millions of items
// go through it; each must be taken exactly once (a count per item), across
// many growths of the ring, and in the race for the last item between the
// owner's pop and the thieves' steal.
//
// Usage: deque_stress [gtest flags] [--seed S]
//   --seed S            replay the owner's random choices (the seed is
//                       printed at start; interleavings still vary)
//   WEFT_STRESS_SCALE   multiplies the item counts (default 1; 0.5 in the
//                       sanitizer builds unless set)

#include <weft/detail/deque.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "stress_support.hpp"

namespace {

using weft::detail::k_no_work;
using weft::detail::work_deque;
using weft::detail::work_item;

using weft_test::seed_for_test;

// Item counts: half in the sanitizer builds unless WEFT_STRESS_SCALE is set.
long scaled(long n) { return weft_test::scaled_count(n, 1000, 0.5); }

// Items are 1..n (0 is k_no_work); taken[i - 1] counts how often item i was
// handed out, by whom.
class ledger {
 public:
  explicit ledger(long n) : n_(n), taken_(new std::atomic<std::uint8_t>[static_cast<std::size_t>(n)]) {
    for (long i = 0; i < n; ++i) taken_[static_cast<std::size_t>(i)].store(0, std::memory_order_relaxed);
  }

  // Called by whichever thread took `item`.
  void take(work_item item) {
    if (item == k_no_work || static_cast<long>(item) > n_) {
      bogus_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    taken_[item - 1].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
  }
  long total() const { return total_.load(std::memory_order_relaxed); }

  // After every thread stopped: each item exactly once.
  void check(const char* what) const {
    long missing = 0, doubled = 0;
    long first_bad = -1;
    for (long i = 0; i < n_; ++i) {
      std::uint8_t c = taken_[static_cast<std::size_t>(i)].load(std::memory_order_relaxed);
      if (c == 1) continue;
      if (first_bad < 0) first_bad = i + 1;
      (c == 0 ? missing : doubled) += 1;
    }
    EXPECT_EQ(bogus_.load(), 0) << what << ": items that were never pushed were taken";
    EXPECT_EQ(missing, 0) << what << ": items never taken (first bad item " << first_bad << ")";
    EXPECT_EQ(doubled, 0) << what << ": items taken more than once (first bad item "
                          << first_bad << ")";
    EXPECT_EQ(total(), n_) << what;
  }

 private:
  long n_;
  std::unique_ptr<std::atomic<std::uint8_t>[]> taken_;
  std::atomic<long> total_{0};
  std::atomic<long> bogus_{0};
};

// Thieves steal until `stop`; they count what they took and the races lost.
class thieves {
 public:
  thieves(work_deque& d, ledger& l, int count) {
    for (int i = 0; i < count; ++i) {
      threads_.emplace_back([this, &d, &l] {
        long mine = 0, lost = 0;
        while (!stop_.load(std::memory_order_acquire)) {
          bool lost_race = false;
          work_item item = d.steal(lost_race);
          if (item != k_no_work) {
            l.take(item);
            ++mine;
          } else if (lost_race) {
            ++lost;
          }
        }
        stolen_.fetch_add(mine, std::memory_order_relaxed);
        lost_races_.fetch_add(lost, std::memory_order_relaxed);
      });
    }
  }
  ~thieves() { stop(); }
  thieves(const thieves&) = delete;
  thieves& operator=(const thieves&) = delete;

  void stop() {
    // release: pairs with the thieves' acquire; nothing else is ordered by it.
    stop_.store(true, std::memory_order_release);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  long stolen() const { return stolen_.load(); }
  long lost_races() const { return lost_races_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<long> stolen_{0};
  std::atomic<long> lost_races_{0};
  std::vector<std::thread> threads_;
};

constexpr int k_thieves = 3;

}  // namespace

TEST(DequeStress, OwnerPushAndPopRacingThievesHandsOutEveryItemExactlyOnce) {
  const std::uint64_t seed = seed_for_test(1);
  std::mt19937_64 rng(seed);
  const long n = scaled(4'000'000);
  ledger taken(n);
  // A tiny ring: bursts grow it many times while thieves read the old one.
  work_deque d(2);
  long popped = 0, growth_bursts = 0;
  std::size_t max_size = 0;
  {
    thieves t(d, taken, k_thieves);
    long next = 1;
    while (next <= n) {
      // Mostly short bursts (the last-item race), sometimes long ones (growth).
      long burst = (rng() % 16 == 0) ? 1 + static_cast<long>(rng() % 50'000)
                                     : 1 + static_cast<long>(rng() % 64);
      burst = std::min(burst, n - next + 1);
      if (burst > 1024) ++growth_bursts;
      for (long i = 0; i < burst; ++i) d.push(static_cast<work_item>(next++));
      max_size = std::max(max_size, d.size_estimate());
      long pops = static_cast<long>(rng() % static_cast<std::uint64_t>(burst + 1));
      for (long i = 0; i < pops; ++i) {
        work_item item = d.pop();
        if (item == k_no_work) break;  // thieves emptied it
        taken.take(item);
        ++popped;
      }
    }
    // Drain: the owner pops what the thieves leave, until all are counted.
    while (taken.total() < n) {
      work_item item = d.pop();
      if (item != k_no_work) {
        taken.take(item);
        ++popped;
      } else {
        std::this_thread::yield();
      }
    }
    t.stop();
    EXPECT_EQ(d.pop(), k_no_work) << "the deque is empty once every item was taken";
    std::printf("deque_stress: %ld items: %ld popped, %ld stolen, %ld lost steal races, %ld "
                "growth bursts, largest size %zu\n",
                n, popped, t.stolen(), t.lost_races(), growth_bursts, max_size);
    EXPECT_EQ(popped + t.stolen(), n);
  }
  EXPECT_GT(max_size, 1024u) << "the ring grew past its initial capacity";
  taken.check("push/pop/steal");
}

TEST(DequeStress, TheLastItemGoesToExactlyOneOfTheOwnerAndTheThieves) {
  const std::uint64_t seed = seed_for_test(2);
  std::mt19937_64 rng(seed);
  const long n = scaled(1'000'000);
  ledger taken(n);
  work_deque d;
  long owner_won = 0;
  {
    thieves t(d, taken, k_thieves);
    for (long next = 1; next <= n;) {
      // One or two items, then pop at once: pop meets steal on slot t == b.
      long burst = std::min<long>(1 + static_cast<long>(rng() % 2), n - next + 1);
      for (long i = 0; i < burst; ++i) d.push(static_cast<work_item>(next++));
      // A random pause lets a thief reach the item as the owner pops it.
      weft_test::spin(rng() % 64);
      for (long i = 0; i < burst; ++i) {
        work_item item = d.pop();
        if (item == k_no_work) break;
        taken.take(item);
        ++owner_won;
      }
    }
    while (taken.total() < n) std::this_thread::yield();  // the thieves hold the rest
    t.stop();
    std::printf("deque_stress: %ld single items: owner took %ld, thieves %ld (%ld lost races)\n",
                n, owner_won, t.stolen(), t.lost_races());
  }
  taken.check("last-item race");
}

TEST(DequeStress, ThievesStealingWhileTheOwnerOnlyPushesSeeEveryItemAcrossGrowths) {
  static_cast<void>(seed_for_test(3));  // no random choices; prints the seed if first
  const long n = scaled(2'000'000);
  ledger taken(n);
  work_deque d(2);
  {
    thieves t(d, taken, k_thieves);
    // Pushing only: the ring doubles from 2 up to what the thieves leave,
    // each growth copying slots a thief may be reading.
    for (long next = 1; next <= n; ++next) d.push(static_cast<work_item>(next));
    while (taken.total() < n) {
      work_item item = d.pop();
      if (item != k_no_work) {
        taken.take(item);
      } else {
        std::this_thread::yield();
      }
    }
    t.stop();
  }
  taken.check("push-only with growth");
}

int main(int argc, char** argv) { return weft_test::stress_main(argc, argv, "deque_stress"); }
