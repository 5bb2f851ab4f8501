// weft::parallel_for and weft::parallel_reduce: every index once, in
// parallel, balanced by stealing; stopped by a cancel, a deadline or a
// failing body; a reduction whose result depends on the range and the
// grain alone.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

/// One counter per index; checks each was visited exactly once.
struct visit_counts {
  explicit visit_counts(std::size_t n) : counts(n) {}
  std::vector<std::atomic<int>> counts;
  void visit(std::size_t i) { counts.at(i).fetch_add(1, std::memory_order_relaxed); }
  ::testing::AssertionResult each_once() const {
    for (std::size_t i = 0; i < counts.size(); ++i) {
      if (int c = counts[i].load(); c != 1) {
        return ::testing::AssertionFailure() << "index " << i << " visited " << c << " times";
      }
    }
    return ::testing::AssertionSuccess();
  }
};

/// The chunks a loop called its body with, in no particular order.
struct chunk_log {
  std::mutex m;
  std::vector<std::pair<std::size_t, std::size_t>> chunks;
  void add(std::size_t lo, std::size_t hi) {
    std::lock_guard lock(m);
    chunks.emplace_back(lo, hi);
  }
  std::vector<std::pair<std::size_t, std::size_t>> sorted() {
    std::lock_guard lock(m);
    auto c = chunks;
    std::sort(c.begin(), c.end());
    return c;
  }
};

using weft_test::eventually;

/// Waits until `flag` holds at least `want`, as eventually().
bool spin_until(const std::atomic<int>& flag, int want) {
  return eventually([&] { return flag.load(std::memory_order_acquire) >= want; });
}

/// In a loop's body: waits until the body's task is cancelled (the
/// awaiting task's cancel, or a failure elsewhere in the loop, reached
/// it), as eventually().
bool wait_until_cancelled() {
  return eventually([] { return weft::this_task::cancellation_requested(); });
}

// ---- every index once

TEST(ParallelFor, VisitsEveryIndexExactlyOnceForManySizesAndGrains) {
  for (std::size_t workers : {1u, 2u}) {
    weft::scheduler sched{workers};
    for (std::size_t n : {1u, 2u, 3u, 7u, 64u, 1000u, 4097u, 100'000u}) {
      for (std::size_t g : {1u, 3u, 64u, 5000u}) {
        visit_counts seen(n + 10);
        weft::sync_wait(sched, weft::parallel_for(
                                   10, n + 10, [&](std::size_t i) { seen.visit(i); },
                                   weft::grain{g}));
        for (std::size_t i = 0; i < 10; ++i) ASSERT_EQ(seen.counts[i].load(), 0);
        for (std::size_t i = 10; i < n + 10; ++i) {
          ASSERT_EQ(seen.counts[i].load(), 1) << "n " << n << " grain " << g << " index " << i;
        }
      }
    }
  }
}

TEST(ParallelFor, ChunksCoverTheRangeWithoutOverlapAndNoneExceedsTheGrain) {
  weft::scheduler sched{2};
  chunk_log log;
  weft::sync_wait(sched, weft::parallel_for(
                             5, 100'005, [&](std::size_t lo, std::size_t hi) { log.add(lo, hi); },
                             weft::grain{777}));
  auto chunks = log.sorted();
  ASSERT_FALSE(chunks.empty());
  std::size_t next = 5;
  for (auto [lo, hi] : chunks) {
    EXPECT_EQ(lo, next);
    EXPECT_LT(lo, hi);
    EXPECT_LE(hi - lo, 777u);
    next = hi;
  }
  EXPECT_EQ(next, 100'005u);
}

TEST(ParallelFor, AnEmptyRangeRunsNothing) {
  weft::scheduler sched{2};
  std::atomic<int> calls{0};
  weft::sync_wait(sched, weft::parallel_for(7, 7, [&](std::size_t) { calls++; }));
  weft::sync_wait(sched, weft::parallel_for(7, 7, [&](std::size_t, std::size_t) { calls++; }));
  EXPECT_EQ(weft::sync_wait(sched, weft::parallel_reduce(
                                       3, 3, 42, [&](std::size_t, std::size_t, int a) {
                                         calls++;
                                         return a;
                                       },
                                       std::plus<>{})),
            42);
  EXPECT_EQ(calls.load(), 0);
}

TEST(ParallelFor, WithoutAGrainChunksAreAboutOne4096thOfTheRange) {
  weft::scheduler sched{2};
  for (std::size_t n : {100u, 4096u, 1'000'000u}) {
    chunk_log log;
    weft::sync_wait(sched,
                    weft::parallel_for(0, n, [&](std::size_t lo, std::size_t hi) { log.add(lo, hi); }));
    const std::size_t expected = std::max<std::size_t>(1, (n + 4095) / 4096);
    auto chunks = log.sorted();
    for (auto [lo, hi] : chunks) ASSERT_LE(hi - lo, expected) << "n " << n;
    // Few chunks are shorter (the halving's remainders, a range's last).
    const auto full = std::count_if(chunks.begin(), chunks.end(),
                                    [&](auto c) { return c.second - c.first == expected; });
    EXPECT_GE(full * 2, static_cast<long>(chunks.size())) << "n " << n;
  }
}

// ---- parallel and balanced

TEST(ParallelFor, BodiesRunInParallelOnTheWorkers) {
  // Two chunks that each wait for the other to start: only two workers
  // running them at once can finish the loop.
  weft::scheduler sched{2};
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> arrived{0};
    std::atomic<bool> both{true};
    weft::sync_wait(sched, weft::parallel_for(
                               0, 2,
                               [&](std::size_t) {
                                 arrived.fetch_add(1, std::memory_order_acq_rel);
                                 if (!spin_until(arrived, 2)) both = false;
                               },
                               weft::grain{1}));
    ASSERT_TRUE(both.load()) << "round " << round << ": the two chunks never ran at once";
  }
}

TEST(ParallelFor, AnIdleWorkerIsHandedPartOfTheSerialRunOfAnother) {
  // The first sixteenth of the range is one piece of the top fork (16
  // pieces), run chunk after chunk by the worker that starts index 0; the
  // rest is cheap, and the other worker runs all of it while index 0 holds
  // its worker. Fixed pieces would leave the whole first sixteenth to the
  // worker running it; an idle worker must be handed part of it between
  // two chunks. Index 0 returns once the other worker has run out of work
  // and parked (looking for work or parked is what the loop asks about);
  // every later chunk of its worker waits until the other worker has run
  // a chunk of the sixteenth, which only a hand-over lets it do.
  weft::scheduler sched{2};
  constexpr std::size_t n = 4096, first_piece = n / 16;
  constexpr int cheap = static_cast<int>(n - first_piece);
  std::atomic<int> cheap_done{0};
  std::atomic<std::uint64_t> parks_before_idle{0};
  std::atomic<bool> parks_known{false};
  std::thread::id holder;  // written by index 0, read by its own worker only
  std::mutex m;
  std::set<std::thread::id> ran_first_piece;
  auto workers_in_first_piece = [&] {
    std::lock_guard lock(m);
    return ran_first_piece.size();
  };
  std::atomic<int> gave_up{0};
  weft::sync_wait(sched, weft::parallel_for(
                             0, n,
                             [&](std::size_t i) {
                               if (i >= first_piece) {
                                 // The parks so far, read while this worker is busy:
                                 // the next one counted is its park once idle.
                                 const std::uint64_t parks = sched.stats().parks;
                                 if (cheap_done.fetch_add(1, std::memory_order_acq_rel) == cheap - 1) {
                                   parks_before_idle.store(parks, std::memory_order_relaxed);
                                   parks_known.store(true, std::memory_order_release);
                                 }
                                 return;
                               }
                               {
                                 std::lock_guard lock(m);
                                 ran_first_piece.insert(std::this_thread::get_id());
                               }
                               bool waited;
                               if (i == 0) {
                                 holder = std::this_thread::get_id();
                                 waited = eventually([&] {
                                   return parks_known.load(std::memory_order_acquire) &&
                                          sched.stats().parks > parks_before_idle.load(std::memory_order_relaxed);
                                 });
                               } else if (std::this_thread::get_id() == holder) {
                                 waited = eventually([&] { return workers_in_first_piece() == 2; });
                               } else {
                                 waited = true;
                               }
                               if (!waited) gave_up++;
                             },
                             weft::grain{1}));
  EXPECT_EQ(gave_up.load(), 0) << "a chunk waited 30 s for the other worker";
  EXPECT_EQ(workers_in_first_piece(), 2u) << "one worker ran every chunk of the first sixteenth";
}

TEST(ParallelFor, SyncWaitRunsItFromAPlainThreadAndCoAwaitFromATask) {
  weft::scheduler sched{2};
  visit_counts a(1000), b(1000);
  weft::sync_wait(sched, weft::parallel_for(0, 1000, [&](std::size_t i) { a.visit(i); }));
  auto body = [&]() -> weft::task<int> {
    co_await weft::parallel_for(0, 1000, [&](std::size_t i) { b.visit(i); });
    co_return 7;
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), 7);
  EXPECT_TRUE(a.each_once());
  EXPECT_TRUE(b.each_once());
}

// ---- cancellation

/// A loop of 2,000 chunks, awaited by a spawned task that records what it
/// caught; the test cancels it once `started` reaches `hold_from`, and
/// every chunk from that one on waits for the cancel, so the loop cannot
/// end before it whatever the threads' speeds.
struct cancelled_loop {
  explicit cancelled_loop(int hold) : hold_from(hold) {}
  const int hold_from;
  std::atomic<int> started{0};
  std::atomic<int> started_after_cancel{0};
  std::atomic<bool> cancel_returned{false};
  std::optional<weft::cancel_reason> caught;

  weft::task<void> run() {
    try {
      co_await weft::parallel_for(
          0, 2000,
          [&](std::size_t) {
            if (cancel_returned.load(std::memory_order_acquire)) started_after_cancel++;
            if (started.fetch_add(1, std::memory_order_acq_rel) + 1 >= hold_from) wait_until_cancelled();
          },
          weft::grain{1});
    } catch (const weft::cancelled_error& e) {
      caught = e.reason();
      throw;
    }
  }
};

TEST(ParallelFor, CancellingTheAwaitingTaskStartsNoChunkAfterTheRequest) {
  weft::scheduler sched{2};
  std::mt19937 rng(12345);
  for (int round = 0; round < 100; ++round) {
    cancelled_loop loop(1 + static_cast<int>(rng() % 1500));
    auto h = sched.spawn(loop.run());
    ASSERT_TRUE(spin_until(loop.started, loop.hold_from));
    h.cancel("request abandoned");
    loop.cancel_returned.store(true, std::memory_order_release);
    h.wait();
    ASSERT_TRUE(h.cancelled());
    // A body may have passed its check before the request and counted
    // itself just after cancel() returned: at most one per worker. (While
    // cancel() walks down the loop's tree, a worker released by the part
    // it reached first may still start a chunk in a part not reached yet.)
    EXPECT_LE(loop.started_after_cancel.load(), 2) << "round " << round;
    EXPECT_LT(loop.started.load(), 2000) << "round " << round;
    ASSERT_TRUE(loop.caught.has_value()) << "round " << round;
    EXPECT_EQ(loop.caught->kind, weft::cancel_kind::user);
    EXPECT_EQ(loop.caught->message, "request abandoned");
  }
}

TEST(ParallelFor, ARunningBodySeesTheRequestAndFinishesItsCall) {
  weft::scheduler sched{2};
  std::atomic<int> polling{0};
  std::atomic<int> saw_request{0};
  std::atomic<int> returned{0};
  auto body = [&]() -> weft::task<void> {
    co_await weft::parallel_for(
        0, 2,
        [&](std::size_t) {
          polling.fetch_add(1, std::memory_order_acq_rel);
          if (wait_until_cancelled()) saw_request++;
          returned++;
        },
        weft::grain{1});
  };
  auto h = sched.spawn(body());
  ASSERT_TRUE(spin_until(polling, 2));
  h.cancel("stop");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(saw_request.load(), 2);
  EXPECT_EQ(returned.load(), 2);
}

TEST(ParallelFor, ADeadlineReachesTheBodies) {
  weft::scheduler sched{2};
  std::atomic<int> saw_deadline{0};
  std::atomic<int> saw_request{0};
  auto body = [&]() -> weft::task<void> {
    co_await weft::timeout(50ms, weft::parallel_for(
                                     0, 1'000'000,
                                     [&](std::size_t) {
                                       if (weft::this_task::deadline().has_value()) saw_deadline++;
                                       if (!wait_until_cancelled()) {
                                         throw std::runtime_error("the deadline never reached a body");
                                       }
                                       saw_request++;
                                     },
                                     weft::grain{1}));
  };
  EXPECT_THROW(weft::sync_wait(sched, body()), weft::timeout_error);
  EXPECT_GE(saw_deadline.load(), 1);
  EXPECT_EQ(saw_deadline.load(), saw_request.load());
  EXPECT_LE(saw_request.load(), 2) << "chunks started after the deadline";
}

TEST(ParallelFor, ACancelledCallerWhoseLoopIsInsideWhenAllGetsItsOwnReason) {
  weft::scheduler sched{2};
  std::atomic<int> started{0};
  std::optional<weft::cancel_reason> caught;
  auto spin_until_cancelled = [&](std::size_t) {
    started++;
    wait_until_cancelled();
  };
  auto body = [&]() -> weft::task<void> {
    try {
      co_await weft::when_all(
          weft::parallel_for(0, 4, spin_until_cancelled, weft::grain{1}),
          weft::parallel_for(0, 4, spin_until_cancelled, weft::grain{1}));
    } catch (const weft::cancelled_error& e) {
      caught = e.reason();
      throw;
    }
  };
  auto h = sched.spawn(body());
  ASSERT_TRUE(spin_until(started, 2));
  h.cancel("caller gone");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  ASSERT_TRUE(caught.has_value());
  EXPECT_EQ(caught->message, "caller gone");
}

// ---- a body that throws

TEST(ParallelFor, TheFirstExceptionIsRethrownAndNoChunkStartsAfterIt) {
  // One worker runs the chunks in index order: the failing one is the last.
  weft::scheduler sched{1};
  std::atomic<int> started{0};
  try {
    weft::sync_wait(sched, weft::parallel_for(
                               0, 1000,
                               [&](std::size_t i) {
                                 started++;
                                 if (i >= 10) throw std::runtime_error("bad " + std::to_string(i));
                               },
                               weft::grain{1}));
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "bad 10");
  }
  EXPECT_EQ(started.load(), 11);
}

TEST(ParallelFor, AtTwoWorkersNoChunkStartsOnceTheFailureIsRecordedAndTheRunningOneFinishesFirst) {
  // Index 0 and index 50 are the first chunks of the two halves of the
  // range, so the two workers start them; once both run, 0 throws. The
  // loop records the failure when the exception reaches it, after the
  // body's unwinding, and the failure then cancels the rest of the loop:
  // chunk 50 sees that as this_task::cancellation_requested() and returns.
  // Both workers were held from the start of their first chunk until the
  // failure was recorded, so no other chunk had passed its check: none may
  // start at all, and the exception must not reach the caller before
  // chunk 50 has returned.
  weft::scheduler sched{2};
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> arrived{0};
    std::atomic<int> started{0};
    std::atomic<bool> other_saw_stop{false};
    std::atomic<int> started_after_stop{0};
    std::atomic<bool> other_returned{false};
    auto body = [&](std::size_t i) {
      if (other_saw_stop.load(std::memory_order_acquire)) started_after_stop++;
      started++;
      if (i != 0 && i != 50) return;
      arrived.fetch_add(1, std::memory_order_acq_rel);
      if (!spin_until(arrived, 2)) throw std::runtime_error("the other first chunk never started");
      if (i == 0) throw std::logic_error("chunk 0 failed");
      if (!wait_until_cancelled()) throw std::runtime_error("the failure never reached chunk 50");
      other_saw_stop.store(true, std::memory_order_release);
      other_returned.store(true, std::memory_order_release);
    };
    try {
      weft::sync_wait(sched, weft::parallel_for(0, 100, body, weft::grain{1}));
      FAIL() << "no exception";
    } catch (const std::logic_error& e) {
      EXPECT_STREQ(e.what(), "chunk 0 failed");
    }
    EXPECT_TRUE(other_returned.load()) << "rethrown before the running chunk returned";
    EXPECT_EQ(started_after_stop.load(), 0) << "round " << round;
    EXPECT_EQ(started.load(), 2) << "round " << round;
  }
}

// ---- parallel_reduce

/// The halving tree the contract fixes, computed serially here.
double reference_sum(const std::vector<double>& x, std::size_t lo, std::size_t hi,
                     std::size_t grain) {
  if (hi - lo <= grain) {
    double acc = 0.0;
    for (std::size_t i = lo; i < hi; ++i) acc += x[i];
    return acc;
  }
  const std::size_t mid = lo + (hi - lo) / 2;
  return reference_sum(x, lo, mid, grain) + reference_sum(x, mid, hi, grain);
}

std::vector<double> badly_conditioned(std::size_t n) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::uniform_int_distribution<int> exponent(-30, 30);
  std::vector<double> x(n);
  for (auto& v : x) v = std::ldexp(mantissa(rng), exponent(rng));
  return x;
}

weft::task<double> sum_of(const std::vector<double>& x, std::optional<std::size_t> g) {
  auto fold = [&](std::size_t lo, std::size_t hi, double acc) {
    for (std::size_t i = lo; i < hi; ++i) acc += x[i];
    return acc;
  };
  if (g) co_return co_await weft::parallel_reduce(0, x.size(), 0.0, fold, std::plus<>{}, weft::grain{*g});
  co_return co_await weft::parallel_reduce(0, x.size(), 0.0, fold, std::plus<>{});
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(ParallelReduce, TheResultIsTheFixedTreesBitForBitAtEveryWorkerCountAndRun) {
  const auto x = badly_conditioned(1'000'003);
  const double serial_loop = [&] {
    double acc = 0.0;
    for (double v : x) acc += v;
    return acc;
  }();
  const double expected_default = reference_sum(x, 0, x.size(), (x.size() + 4095) / 4096);
  const double expected_100 = reference_sum(x, 0, x.size(), 100);
  // The data is chosen so that the order of additions shows in the bits.
  ASSERT_FALSE(same_bits(expected_default, serial_loop));
  for (std::size_t workers : {1u, 2u, 3u}) {
    weft::scheduler sched{workers};
    for (int run = 0; run < 5; ++run) {
      EXPECT_TRUE(same_bits(weft::sync_wait(sched, sum_of(x, std::nullopt)), expected_default))
          << workers << " workers, run " << run;
      EXPECT_TRUE(same_bits(weft::sync_wait(sched, sum_of(x, 100)), expected_100))
          << workers << " workers, run " << run;
    }
  }
}

TEST(ParallelReduce, CombineGetsTheLowerIndicesOnTheLeft) {
  weft::scheduler sched{2};
  auto fold_from_empty = [](std::size_t lo, std::size_t hi, std::vector<std::size_t> acc) {
    for (std::size_t i = lo; i < hi; ++i) acc.push_back(i);
    return acc;
  };
  auto concat_vectors = [](std::vector<std::size_t> l, std::vector<std::size_t> r) {
    l.insert(l.end(), r.begin(), r.end());
    return l;
  };
  auto all = weft::sync_wait(
      sched, weft::parallel_reduce(3, 50'003, std::vector<std::size_t>{}, fold_from_empty,
                                   concat_vectors, weft::grain{16}));
  ASSERT_EQ(all.size(), 50'000u);
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], i + 3);
}

TEST(ParallelReduce, AThrowingFoldIsRethrownAndACancelEndsItWithTheCallersReason) {
  weft::scheduler sched{2};
  auto failing = [](std::size_t lo, std::size_t, int acc) {
    if (lo >= 500) throw std::out_of_range("chunk at " + std::to_string(lo));
    return acc + 1;
  };
  EXPECT_THROW(weft::sync_wait(sched, weft::parallel_reduce(0, 1000, 0, failing, std::plus<>{},
                                                           weft::grain{1})),
               std::out_of_range);

  std::atomic<int> started{0};
  std::optional<weft::cancel_reason> caught;
  auto body = [&]() -> weft::task<int> {
    try {
      co_return co_await weft::parallel_reduce(
          0, 1'000'000, 0,
          [&](std::size_t, std::size_t, int acc) {
            // From the 100th chunk on, each waits for the cancel: the
            // reduction cannot end before it.
            if (started.fetch_add(1, std::memory_order_acq_rel) + 1 >= 100) wait_until_cancelled();
            return acc + 1;
          },
          std::plus<>{}, weft::grain{1});
    } catch (const weft::cancelled_error& e) {
      caught = e.reason();
      throw;
    }
  };
  auto h = sched.spawn(body());
  ASSERT_TRUE(spin_until(started, 100));
  h.cancel("enough");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  ASSERT_TRUE(caught.has_value());
  EXPECT_EQ(caught->kind, weft::cancel_kind::user);
  EXPECT_EQ(caught->message, "enough");
  EXPECT_LE(started.load(), 101) << "folds started after the cancel";
}

// ---- nesting and composition

TEST(ParallelFor, ABodyThatReturnsATaskMayAwaitAnInnerLoop) {
  weft::scheduler sched{2};
  constexpr std::size_t rows = 64, cols = 300;
  visit_counts seen(rows * cols);
  weft::sync_wait(sched, weft::parallel_for(0, rows, [&](std::size_t r) -> weft::task<void> {
    co_await weft::parallel_for(0, cols, [&, r](std::size_t c) { seen.visit(r * cols + c); });
  }));
  EXPECT_TRUE(seen.each_once());

  visit_counts chunks_seen(1000);
  weft::sync_wait(sched, weft::parallel_for(
                             0, 1000,
                             [&](std::size_t lo, std::size_t hi) -> weft::task<void> {
                               co_await weft::yield();
                               for (std::size_t i = lo; i < hi; ++i) chunks_seen.visit(i);
                             },
                             weft::grain{10}));
  EXPECT_TRUE(chunks_seen.each_once());
}

TEST(ParallelFor, LoopsComposeWithWhenAllTimeoutAndTaskGroup) {
  weft::scheduler sched{2};
  visit_counts a(5000), b(5000), c(5000);
  auto body = [&]() -> weft::task<double> {
    co_await weft::when_all(weft::parallel_for(0, 5000, [&](std::size_t i) { a.visit(i); }),
                            weft::parallel_for(0, 5000, [&](std::size_t i) { b.visit(i); }));
    weft::task_group group;
    group.spawn(weft::parallel_for(0, 5000, [&](std::size_t i) { c.visit(i); }));
    co_await group.join();
    co_return co_await weft::timeout(
        10s, weft::parallel_reduce(
                 0, 100, 0.0,
                 [](std::size_t lo, std::size_t hi, double acc) {
                   return acc + static_cast<double>(hi - lo);
                 },
                 std::plus<>{}));
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), 100.0);
  EXPECT_TRUE(a.each_once());
  EXPECT_TRUE(b.each_once());
  EXPECT_TRUE(c.each_once());
}

// ---- misuse

TEST(ParallelFor, MisuseThrowsAtOnceNamingTheFix) {
  auto nothing = [](std::size_t) {};
  auto fold = [](std::size_t, std::size_t, int a) { return a; };
  try {
    static_cast<void>(weft::parallel_for(10, 5, nothing));
    FAIL() << "no exception";
  } catch (const weft::invalid_argument_error& e) {
    EXPECT_TRUE(weft_test::contains(e.what(), "first (10) is after last (5)"));
    EXPECT_TRUE(weft_test::contains(e.what(), "first <= last"));
  }
  try {
    static_cast<void>(weft::parallel_for(0, 5, nothing, weft::grain{0}));
    FAIL() << "no exception";
  } catch (const weft::invalid_argument_error& e) {
    EXPECT_TRUE(weft_test::contains(e.what(), "grain of at least 1"));
  }
  EXPECT_THROW(static_cast<void>(weft::parallel_reduce(3, 2, 0, fold, std::plus<>{})),
               weft::invalid_argument_error);
  EXPECT_THROW(static_cast<void>(
                   weft::parallel_reduce(0, 2, 0, fold, std::plus<>{}, weft::grain{0})),
               weft::invalid_argument_error);
}

}  // namespace
