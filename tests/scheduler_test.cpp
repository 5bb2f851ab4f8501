// weft::scheduler: spawn from anywhere, the free weft::spawn, blocking
// calls refused on workers, clean shutdown, stats.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

namespace {

using weft_test::contains;

using weft_test::mark_and_return;
using weft_test::value_after_yield;

using weft_test::fail_after_yield;

using weft_test::eventually;

}  // namespace

// ---- construction (the worker count's validation is in
// scheduler_options_test.cpp)

TEST(Scheduler, DefaultHasOneWorkerPerHardwareThread) {
  weft::scheduler sched;
  unsigned hw = std::thread::hardware_concurrency();
  EXPECT_EQ(sched.worker_count(), hw == 0 ? 1u : hw);
  EXPECT_EQ(weft::sync_wait(sched, value_after_yield(1)), 1);
}

// ---- spawn

TEST(Scheduler, SpawnIsCallableFromManyThreadsAtOnce) {
  weft::scheduler sched{2};
  constexpr int k_threads = 4, k_per_thread = 500;
  std::latch go{k_threads};
  std::atomic<long> sum{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&] {
      go.arrive_and_wait();
      std::vector<weft::task_handle<int>> hs;
      for (int i = 0; i < k_per_thread; ++i) hs.push_back(sched.spawn(value_after_yield(i)));
      for (auto& h : hs) {
        h.wait();
        sum.fetch_add(h.result());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sum.load(), static_cast<long>(k_threads) * (k_per_thread - 1) * k_per_thread / 2);
  EXPECT_EQ(sched.stats().spawned, static_cast<std::uint64_t>(k_threads * k_per_thread));
}

TEST(Scheduler, FreeSpawnInsideATaskUsesTheCurrentTasksScheduler) {
  weft::scheduler a{1}, b{1};
  auto parent = []() -> weft::task<bool> {
    std::thread::id mine = std::this_thread::get_id();
    weft::task_handle<std::thread::id> child =
        weft::spawn([]() -> weft::task<std::thread::id> { co_return std::this_thread::get_id(); }());
    std::thread::id theirs = co_await child;
    co_return mine == theirs;  // b has one worker: the child ran on it
  };
  EXPECT_TRUE(weft::sync_wait(b, parent()));
  EXPECT_EQ(a.stats().spawned, 0u);
  EXPECT_EQ(b.stats().spawned, 2u);
}

TEST(Scheduler, SpawnOnAnotherSchedulerFromInsideATaskRunsThere) {
  weft::scheduler a{1}, b{1};
  auto thread_of = []() -> weft::task<std::thread::id> { co_return std::this_thread::get_id(); };
  std::thread::id b_worker = weft::sync_wait(b, thread_of());
  auto parent = [&thread_of](weft::scheduler& b) -> weft::task<std::thread::id> {
    weft::task_handle<std::thread::id> h = b.spawn(thread_of());
    co_return co_await h;  // woken back onto a's worker
  };
  EXPECT_EQ(weft::sync_wait(a, parent(b)), b_worker);
  EXPECT_EQ(a.stats().spawned, 1u);
  EXPECT_EQ(b.stats().spawned, 2u);
}

TEST(Scheduler, FreeSpawnOutsideATaskThrowsInvalidStateNamingTheFix) {
  std::atomic<int> runs{0};
  WEFT_EXPECT_THROW_NAMING(static_cast<void>(weft::spawn(mark_and_return(runs, 1))),
                           weft::invalid_state_error, "call spawn() on a weft::scheduler");
  EXPECT_EQ(runs.load(), 0);
}

// ---- blocking on a worker

TEST(Scheduler, WaitOnAWorkerThreadThrowsInvalidStateNamingTheFix) {
  weft::scheduler sched{1}, other{1};
  std::latch started{1}, release{1};
  auto pending = other.spawn(weft_test::occupy_worker(started, release));
  started.wait();
  auto body = [](weft::task_handle<void> h) -> weft::task<std::string> {
    try {
      h.wait();
    } catch (const weft::invalid_state_error& e) {
      co_return e.what();
    }
    co_return "wait() returned on a worker";
  };
  std::string message = weft::sync_wait(sched, body(pending));
  EXPECT_TRUE(contains(message, "co_await the handle inside a task instead"));
  EXPECT_FALSE(pending.done());
  release.count_down();
  pending.wait();
}

TEST(Scheduler, SyncWaitOnAWorkerThreadThrowsInvalidStateNamingTheFix) {
  weft::scheduler sched{1};
  std::atomic<int> runs{0};
  auto body = [](weft::scheduler& sched, std::atomic<int>& runs) -> weft::task<std::string> {
    try {
      weft::sync_wait(sched, mark_and_return(runs, 1));
    } catch (const weft::invalid_state_error& e) {
      co_return e.what();
    }
    co_return "sync_wait() returned on a worker";
  };
  std::string message = weft::sync_wait(sched, body(sched, runs));
  EXPECT_TRUE(contains(message, "co_await the task instead"));
  EXPECT_EQ(runs.load(), 0);
}

TEST(Scheduler, SyncWaitReturnsTheValueOrRethrows) {
  weft::scheduler sched{2};
  EXPECT_EQ(weft::sync_wait(sched, value_after_yield(5)), 5);
  WEFT_EXPECT_THROW_NAMING(weft::sync_wait(sched, fail_after_yield()), std::runtime_error,
                           "failing on purpose");
  weft::sync_wait(sched, []() -> weft::task<void> { co_await weft::yield(); }());
}

// ---- shutdown

TEST(Scheduler, DestructorCancelsARunningTaskAtItsNextSuspensionPointAndNeverRunsQueuedOnes) {
  std::optional<weft::scheduler> sched(std::in_place, 1);
  struct observed {
    std::latch started{1};
    std::atomic<bool> cleaned{false};
    std::atomic<int> kind{-1};
  } o;
  auto running = [](observed& o) -> weft::task<int> {
    o.started.count_down();
    // Holds the only worker, without suspending, until shutdown begins.
    while (!weft::this_task::cancellation_requested()) {
    }
    try {
      co_await weft::yield();
    } catch (const weft::cancelled_error& e) {
      o.kind = static_cast<int>(e.reason().kind);
      o.cleaned = true;
      throw;
    }
    co_return 1;
  };
  std::atomic<int> queued_runs{0};
  auto a = sched->spawn(running(o));
  o.started.wait();
  auto queued = sched->spawn(mark_and_return(queued_runs, 2));  // behind a: never starts
  sched.reset();
  EXPECT_TRUE(a.done());
  EXPECT_TRUE(a.cancelled());
  EXPECT_TRUE(o.cleaned.load());
  EXPECT_EQ(o.kind.load(), static_cast<int>(weft::cancel_kind::shutdown));
  EXPECT_THROW(a.result(), weft::cancelled_error);
  EXPECT_TRUE(queued.done());
  EXPECT_TRUE(queued.cancelled());
  EXPECT_EQ(queued_runs.load(), 0);
  ASSERT_TRUE(queued.cancel_reason().has_value());
  EXPECT_EQ(queued.cancel_reason()->kind, weft::cancel_kind::shutdown);
}

TEST(Scheduler, DestructorEndsSuspendedTasksAndTheirAwaitersAndWaitsForAllOfThem) {
  std::optional<weft::scheduler> sched(std::in_place, 2);
  constexpr int k_loopers = 8;
  std::latch started{k_loopers};
  std::vector<std::atomic<bool>> cleaned(k_loopers);
  std::vector<weft::task_handle<void>> loopers, awaiters;
  auto await_it = [](weft::task_handle<void> h) -> weft::task<void> { co_await h; };
  for (int i = 0; i < k_loopers; ++i) {
    loopers.push_back(sched->spawn(weft_test::yield_until_cancelled(started, cleaned[i])));
    awaiters.push_back(sched->spawn(await_it(loopers.back())));
  }
  started.wait();
  sched.reset();
  for (int i = 0; i < k_loopers; ++i) {
    EXPECT_TRUE(loopers[i].cancelled()) << i;
    EXPECT_TRUE(cleaned[i].load()) << i;
    EXPECT_TRUE(awaiters[i].cancelled()) << i;
  }
}

TEST(Scheduler, DestructorCancelsATaskSuspendedOnAHandleOfAnotherScheduler) {
  // The awaiter lives on `dying`; its target on `other`, which stays up.
  // Shutting `dying` down must cancel the awaiter, which passes the
  // cancellation on to its target (as any cancel of an awaiter does), so
  // the destructor returns without waiting for `other`'s task to finish on
  // its own.
  weft::scheduler other{1};
  std::latch target_started{1};
  std::atomic<bool> stop{false};
  auto target_body = [](std::latch& started, std::atomic<bool>& stop) -> weft::task<int> {
    started.count_down();
    while (!stop.load()) co_await weft::yield();
    co_return 1;
  };
  auto target = other.spawn(target_body(target_started, stop));
  target_started.wait();
  auto dying = std::make_unique<weft::scheduler>(1);
  auto await_it = [](weft::task_handle<int> h) -> weft::task<int> { co_return co_await h; };
  auto awaiter = dying->spawn(await_it(target));
  // Make sure the awaiter is suspended on the target before shutdown.
  auto probe = []() -> weft::task<int> { co_return 0; };
  EXPECT_EQ(weft::sync_wait(*dying, probe()), 0);
  auto destroyed = std::async(std::launch::async, [&dying] { dying.reset(); });
  // A failure detector, not synchronisation: if the destructor hangs, end
  // the target ourselves so the test can report instead of hanging.
  bool returned = destroyed.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (!returned) {
    stop = true;
    destroyed.wait();
  }
  EXPECT_TRUE(returned) << "~scheduler() waited for a task on another scheduler instead of "
                           "cancelling its awaiter";
  EXPECT_TRUE(awaiter.cancelled());
  target.wait();
  EXPECT_TRUE(target.cancelled()) << "the awaiter's cancellation was not passed on";
}

TEST(SchedulerDeathTest, DestroyingASchedulerOnItsOwnWorkerAbortsNamingTheFix) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto sched = std::make_unique<weft::scheduler>(1);
        auto destroy = [](std::unique_ptr<weft::scheduler>& s) -> weft::task<void> {
          s.reset();  // on the scheduler's own worker
          co_return;
        };
        weft::task_handle<void> h = sched->spawn(destroy(sched));
        h.wait();
      },
      "Shut the scheduler down from a thread that is not one of its workers");
}

TEST(Scheduler, ShutdownCancelsWaitsAndJoinsLeavingTheStatsReadable) {
  weft::scheduler sched{2};
  std::latch started{1};
  std::atomic<bool> cleaned{false};
  auto looper = sched.spawn(weft_test::yield_until_cancelled(started, cleaned));
  started.wait();
  sched.shutdown();
  EXPECT_TRUE(looper.done()) << "shutdown() returned before every task was terminal";
  EXPECT_TRUE(cleaned.load());
  ASSERT_TRUE(looper.cancel_reason().has_value());
  EXPECT_EQ(looper.cancel_reason()->kind, weft::cancel_kind::shutdown);
  weft::scheduler_stats s = sched.stats();
  EXPECT_EQ(s.spawned, 1u);
  EXPECT_EQ(s.succeeded + s.failed + s.cancelled, s.spawned) << weft::to_string(s);
}

TEST(Scheduler, ATaskSpawnedAfterShutdownIsCancelledAtOnceAndNeverRuns) {
  weft::scheduler sched{1};
  sched.shutdown();
  std::atomic<int> runs{0};
  auto late = sched.spawn(mark_and_return(runs, 3));
  EXPECT_TRUE(late.cancelled());
  ASSERT_TRUE(late.cancel_reason().has_value());
  EXPECT_EQ(late.cancel_reason()->kind, weft::cancel_kind::shutdown);
  EXPECT_EQ(runs.load(), 0);
}

TEST(Scheduler, ShutdownFromTwoThreadsAndThenTheDestructorDoItOnce) {
  std::optional<weft::scheduler> sched(std::in_place, 2);
  std::latch started{1};
  std::atomic<bool> cleaned{false};
  auto looper = sched->spawn(weft_test::yield_until_cancelled(started, cleaned));
  started.wait();
  std::latch go{2};
  auto other = std::async(std::launch::async, [&] {
    go.arrive_and_wait();
    sched->shutdown();
    return looper.done();
  });
  go.arrive_and_wait();
  sched->shutdown();
  EXPECT_TRUE(looper.done());
  EXPECT_TRUE(other.get()) << "a second shutdown() returned before the first was done";
  sched.reset();
  EXPECT_TRUE(cleaned.load());
}

TEST(SchedulerDeathTest, ShutdownOnTheSchedulersOwnWorkerAbortsNamingTheFix) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        weft::scheduler sched{1};
        auto stop = [](weft::scheduler& s) -> weft::task<void> {
          s.shutdown();  // on the scheduler's own worker
          co_return;
        };
        sched.spawn(stop(sched)).wait();
      },
      "Shut the scheduler down from a thread that is not one of its workers");
}

TEST(Scheduler, DestroyingASchedulerRightAfterAWakeFromAnotherSchedulersWorkerIsSafe) {
  // The awaiter runs on `dying`, its target on `other`. The target's
  // completion wakes the awaiter from other's worker (an injection onto
  // `dying`); the awaiter then finishes and `dying` is destroyed at once,
  // as its contract allows (every task is terminal). The waking thread must
  // not touch `dying` once the awaiter can run: TSan reports an unordered
  // access, ASan a use after free. Two workers: the waker's look at the
  // idle state of `dying` (one worker parked, one searching) is where it
  // can outlive the scheduler.
  weft::scheduler other{1};
  auto await_it = [](weft::task_handle<int> h, std::latch& awaiting) -> weft::task<int> {
    awaiting.count_down();
    co_return co_await h;  // suspends: the target is held until released
  };
  for (int round = 0; round < 300; ++round) {
    std::latch target_started{1}, release{1}, awaiting{1};
    auto target = other.spawn([](std::latch& started, std::latch& release) -> weft::task<int> {
      started.count_down();
      release.wait();
      co_return 5;
    }(target_started, release));
    target_started.wait();
    auto dying = std::make_unique<weft::scheduler>(2);
    auto awaiter = dying->spawn(await_it(target, awaiting));
    awaiting.wait();
    release.count_down();
    awaiter.wait();
    dying.reset();
    ASSERT_EQ(awaiter.result(), 5) << "round " << round;
  }
}

TEST(Scheduler, SpawnDuringShutdownReturnsAnAlreadyCancelledHandle) {
  std::optional<weft::scheduler> sched(std::in_place, 1);
  struct observed {
    std::latch started{1};
    std::atomic<int> admitted_runs{0};
    weft::task_handle<int> refused;
    long attempts = 0;
    bool refused_was_terminal = false;
  } o;
  auto body = [](observed& o) -> weft::task<void> {
    o.started.count_down();
    while (!weft::this_task::cancellation_requested()) {
    }
    // Shutdown has begun. Spawns racing the destructor's first steps may
    // still be admitted (they are then dropped unstarted); once it has
    // closed admission, spawn returns a handle that is already cancelled.
    for (o.attempts = 1; o.attempts <= 1'000'000; ++o.attempts) {
      weft::task_handle<int> h = weft::spawn(mark_and_return(o.admitted_runs, 1));
      if (h.done()) {
        o.refused = h;
        o.refused_was_terminal = h.cancelled();
        break;
      }
    }
    co_return;
  };
  auto a = sched->spawn(body(o));
  o.started.wait();
  sched.reset();
  EXPECT_TRUE(a.done());
  ASSERT_TRUE(o.refused.valid()) << "no spawn was refused in " << o.attempts << " attempts";
  EXPECT_TRUE(o.refused_was_terminal);
  EXPECT_TRUE(o.refused.cancelled());
  EXPECT_FALSE(o.refused.cancel());
  ASSERT_TRUE(o.refused.cancel_reason().has_value());
  EXPECT_EQ(o.refused.cancel_reason()->kind, weft::cancel_kind::shutdown);
  EXPECT_THROW(o.refused.result(), weft::cancelled_error);
  EXPECT_EQ(o.admitted_runs.load(), 0) << "a task spawned during shutdown ran";
}

// ---- stats

TEST(Scheduler, StatsCountEveryTaskInExactlyOneOutcome) {
  weft::scheduler sched{1};
  std::atomic<int> runs{0};
  constexpr int k_ok = 5, k_failed = 3, k_cancelled = 4;
  std::vector<weft::task_handle<int>> hs;
  {
    std::latch started{1}, release{1};
    auto pin = sched.spawn(weft_test::occupy_worker(started, release));  // succeeds
    started.wait();
    for (int i = 0; i < k_cancelled; ++i) {
      auto h = sched.spawn(mark_and_return(runs, i));
      EXPECT_TRUE(h.cancel());
      hs.push_back(h);
    }
    release.count_down();
    pin.wait();
  }
  for (int i = 0; i < k_ok; ++i) hs.push_back(sched.spawn(value_after_yield(i)));
  for (int i = 0; i < k_failed; ++i) hs.push_back(sched.spawn(fail_after_yield()));
  for (auto& h : hs) h.wait();
  // Read the counters on the (only) worker: every earlier task's accounting
  // ran on that thread before this body, so the snapshot is exact.
  auto snapshot = [](weft::scheduler& s) -> weft::task<weft::scheduler_stats> {
    co_return s.stats();
  };
  weft::scheduler_stats st = weft::sync_wait(sched, snapshot(sched));
  const std::uint64_t pin_and_snapshot = 2;
  EXPECT_EQ(st.spawned, k_ok + k_failed + k_cancelled + pin_and_snapshot);
  EXPECT_EQ(st.succeeded, k_ok + 1u);  // the pin; the snapshot is still running
  EXPECT_EQ(st.failed, static_cast<std::uint64_t>(k_failed));
  EXPECT_EQ(st.cancelled, static_cast<std::uint64_t>(k_cancelled));
  EXPECT_EQ(st.succeeded + st.failed + st.cancelled + 1, st.spawned);
  EXPECT_EQ(runs.load(), 0);
}

TEST(Scheduler, StatsCountATaskRefusedAtShutdownAsSpawnedAndCancelled) {
  // Read on the only worker, where every counter it compares is bumped:
  // the main thread is inside the destructor meanwhile.
  std::optional<weft::scheduler> sched(std::in_place, 1);
  struct observed {
    std::latch started{1};
    std::atomic<int> runs{0};
    weft::scheduler_stats before, after;
    std::uint64_t admitted = 0;
    bool refused = false;
  } o;
  auto body = [](observed& o, weft::scheduler& s) -> weft::task<void> {
    o.started.count_down();
    while (!weft::this_task::cancellation_requested()) {
    }
    o.before = s.stats();
    for (int i = 0; i < 1'000'000 && !o.refused; ++i) {
      o.refused = weft::spawn(mark_and_return(o.runs, 1)).done();
      if (!o.refused) ++o.admitted;
    }
    o.after = s.stats();
    co_return;
  };
  auto a = sched->spawn(body(o, *sched));
  o.started.wait();
  sched.reset();
  ASSERT_TRUE(o.refused);
  EXPECT_EQ(o.after.spawned, o.before.spawned + o.admitted + 1);
  EXPECT_EQ(o.after.cancelled, o.before.cancelled + 1) << "the refused spawn is cancelled at once";
  EXPECT_EQ(o.runs.load(), 0);
}

TEST(Scheduler, StatsObserveSteals) {
  weft::scheduler sched{2};
  auto parent = []() -> weft::task<bool> {
    std::atomic<bool> child_ran{false};
    auto child = [](std::atomic<bool>& ran) -> weft::task<void> {
      ran = true;
      co_return;
    };
    // Queued on this worker's deque while this body holds the worker
    // without suspending: only the other worker can run it, by stealing.
    weft::task_handle<void> h = weft::spawn(child(child_ran));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!child_ran.load()) {
      if (std::chrono::steady_clock::now() > deadline) co_return false;
      std::this_thread::yield();  // the thief may share this core
    }
    co_await h;
    co_return true;
  };
  EXPECT_TRUE(weft::sync_wait(sched, parent())) << "the queued child was never stolen";
  EXPECT_GE(sched.stats().steals, 1u);
}

TEST(Scheduler, StatsObserveParksAndFailedSteals) {
  weft::scheduler sched{2};
  EXPECT_EQ(weft::sync_wait(sched, value_after_yield(1)), 1);
  // Idle workers search (failing to steal), then park.
  EXPECT_TRUE(eventually([&] { return sched.stats().parks >= 2; }))
      << "parks = " << sched.stats().parks;
  EXPECT_TRUE(eventually([&] { return sched.stats().failed_steals >= 1; }));
}

// ---- shutdown under load

namespace {

// `token` lives in the frame: counted checks the frame is destroyed once.
weft::task<void> loop_until_cancelled(weft_test::counted token, std::atomic<int>& ran) {
  ran.fetch_add(1 + token.value);
  for (;;) co_await weft::yield();
  co_return;
}

weft::task<int> deep(int n) {
  if (n == 0) co_return 0;
  co_return co_await deep(n - 1) + 1;
}

}  // namespace

TEST(Scheduler, DestructorRacingEveryKindOfTaskLeavesEachTerminalExactlyOnce) {
  using weft_test::counted;
  counted::reset();
  weft_test::hang_guard guard(std::chrono::seconds(120), "shutdown under load");
  constexpr int k_rounds = 300, k_each = 6;
  for (int round = 0; round < k_rounds; ++round) {
    std::atomic<int> loops_ran{0}, quick_ran{0}, children_ran{0};
    std::vector<weft::task_handle<void>> loops, awaiters, spawners, remote_loops;
    std::vector<weft::task_handle<int>> quick, chains;
    std::vector<weft::task_handle<void>> children(k_each * 3);
    {
      weft::scheduler other{1};
      {
        auto sched = std::make_unique<weft::scheduler>(2);
        auto await_it = [](weft::task_handle<void> h) -> weft::task<void> { co_await h; };
        auto spawner = [](weft::task_handle<void>* slots, std::atomic<int>& ran) -> weft::task<void> {
          for (int j = 0; j < 3; ++j) slots[j] = weft::spawn(loop_until_cancelled(counted{}, ran));
          for (;;) co_await weft::yield();
        };
        auto chain = []() -> weft::task<int> {
          int v = co_await deep(50);
          for (;;) co_await weft::yield();
          co_return v;
        };
        for (int i = 0; i < k_each; ++i) {
          loops.push_back(sched->spawn(loop_until_cancelled(counted{}, loops_ran)));
          awaiters.push_back(sched->spawn(await_it(loops.back())));
          remote_loops.push_back(other.spawn(loop_until_cancelled(counted{}, loops_ran)));
          awaiters.push_back(sched->spawn(await_it(remote_loops.back())));
          spawners.push_back(sched->spawn(spawner(&children[static_cast<std::size_t>(i * 3)],
                                                  children_ran)));
          quick.push_back(sched->spawn(mark_and_return(quick_ran, i)));
          chains.push_back(sched->spawn(chain()));
          if ((round + i) % 4 == 0) static_cast<void>(awaiters.back().cancel("early"));
        }
        sched.reset();  // races all of the above at whatever point they reached
      }
      for (auto* group : {&loops, &awaiters, &spawners}) {
        for (auto& h : *group) ASSERT_TRUE(h.done() && h.cancelled()) << "round " << round;
      }
      for (auto& h : chains) ASSERT_TRUE(h.done() && h.cancelled()) << "round " << round;
      int quick_succeeded = 0;
      for (std::size_t i = 0; i < quick.size(); ++i) {
        ASSERT_TRUE(quick[i].done()) << "round " << round;
        if (!quick[i].cancelled()) {
          ASSERT_EQ(quick[i].result(), static_cast<int>(i)) << "round " << round;
          ++quick_succeeded;
        }
      }
      ASSERT_EQ(quick_ran.load(), quick_succeeded) << "a quick task ran but ended cancelled";
      for (auto& c : children) {
        if (c.valid()) {
          ASSERT_TRUE(c.done() && c.cancelled()) << "round " << round;
        }
      }
      // Remote loops were cancelled through their awaiters, or are still
      // running on `other`, whose destructor ends them now.
    }
    for (auto& h : remote_loops) ASSERT_TRUE(h.done() && h.cancelled()) << "round " << round;
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}
