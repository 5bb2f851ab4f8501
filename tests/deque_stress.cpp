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
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using weft::detail::k_no_work;
using weft::detail::work_deque;
using weft::detail::work_item;

std::optional<std::uint64_t> g_seed_flag;

#if WEFT_SANITIZED
constexpr double k_default_scale = 0.5;
#else
constexpr double k_default_scale = 1.0;
#endif

double scale() {
  const char* text = std::getenv("WEFT_STRESS_SCALE");
  if (text == nullptr || *text == '\0') return k_default_scale;
  char* end = nullptr;
  double v = std::strtod(text, &end);
  return (end != text && v > 0) ? v : k_default_scale;
}

long scaled(long n) { return std::max(1000L, static_cast<long>(static_cast<double>(n) * scale())); }

std::uint64_t g_seed = 0;  // chosen in main(), printed by the first test that runs

// Each test draws from its own stream of the run's seed.
std::uint64_t seed_for_test(std::uint64_t test) {
  static const bool printed = [] {
    std::printf("deque_stress: seed %llu (replay: --seed %llu)\n",
                static_cast<unsigned long long>(g_seed), static_cast<unsigned long long>(g_seed));
    std::fflush(stdout);
    return true;
  }();
  static_cast<void>(printed);
  return g_seed ^ (0x9E3779B97F4A7C15ull * test);
}

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
      for (int spin = static_cast<int>(rng() % 64); spin > 0; --spin) weft::detail::cpu_relax();
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

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);  // removes the gtest flags
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    if (arg == "--seed" && i + 1 < argc) {
      value = argv[++i];
    } else if (arg.rfind("--seed=", 0) == 0) {
      value = arg.substr(7);
    } else {
      std::fprintf(stderr, "deque_stress: unknown argument %s (use --seed S)\n", arg.c_str());
      return 2;
    }
    g_seed_flag = std::stoull(value);
  }
  g_seed = g_seed_flag ? *g_seed_flag : std::random_device{}();
  return RUN_ALL_TESTS();
}
