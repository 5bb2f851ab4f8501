// weft::shield: asyncio.shield. Cancelling the caller does not cancel the
// shielded task; the caller gets cancelled_error at once.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>

#include "support.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using weft_test::contains;

namespace {

// Runs until `release` is set, then returns v (a long job to protect).
weft::task<int> job_until(std::atomic<bool>& release, std::atomic<bool>& started, int v) {
  started = true;
  while (!release.load()) co_await weft::yield();
  co_return v;
}

weft::task<int> sleep_for_an_hour(std::atomic<bool>& started) {
  started = true;
  co_await weft::sleep_for(1h);
  co_return 0;
}

weft::task<int> shield_handle(weft::task_handle<int> h, std::atomic<bool>& waiting) {
  waiting = true;
  co_return co_await weft::shield(h);
}

}  // namespace

TEST(Shield, ReturnsTheShieldedTasksResult) {
  weft::scheduler sched{2};
  std::atomic<bool> release{true}, started{false}, waiting{false};
  auto job = sched.spawn(job_until(release, started, 5));
  EXPECT_EQ(weft::sync_wait(sched, shield_handle(job, waiting)), 5);
}

TEST(Shield, RethrowsTheShieldedTasksFailure) {
  weft::scheduler sched{2};
  auto fail = []() -> weft::task<int> {
    co_await weft::yield();
    throw std::runtime_error("job failed");
  };
  std::atomic<bool> waiting{false};
  auto job = sched.spawn(fail());
  auto h = sched.spawn(shield_handle(job, waiting));
  h.wait();
  WEFT_EXPECT_THROW_NAMING(h.result(), std::runtime_error, "job failed");
}

TEST(Shield, ATaskOperandIsSpawnedAndAwaited) {
  weft::scheduler sched{2};
  auto body = []() -> weft::task<int> {
    auto v = []() -> weft::task<int> {
      co_await weft::yield();
      co_return 6;
    };
    co_return co_await weft::shield(v());
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), 6);
}

TEST(Shield, CancellingTheCallerDoesNotCancelTheShieldedTaskAndTheCallerGetsCancelledErrorAtOnce) {
  weft::scheduler sched{2};
  std::atomic<bool> release{false}, started{false}, waiting{false};
  auto job = sched.spawn(job_until(release, started, 9));
  auto caller = sched.spawn(shield_handle(job, waiting));
  while (!waiting.load() || !started.load()) std::this_thread::yield();
  EXPECT_TRUE(caller.cancel("caller leaves"));
  caller.wait();  // returns although the job is still running
  EXPECT_FALSE(job.done());
  EXPECT_TRUE(caller.cancelled());
  WEFT_EXPECT_THROW_NAMING(caller.result(), weft::cancelled_error, "caller leaves");
  EXPECT_EQ(job.cancelling(), 0u) << "the shielded task saw no cancel request";
  EXPECT_FALSE(job.cancel_reason().has_value());
  release = true;
  job.wait();
  EXPECT_FALSE(job.cancelled());
  EXPECT_EQ(job.result(), 9);
}

TEST(Shield, CancellingACallerParkedOnAShieldedSleeperWakesItPromptly) {
  weft::scheduler sched{2};
  std::atomic<bool> started{false}, waiting{false};
  auto job = sched.spawn(sleep_for_an_hour(started));
  auto caller = sched.spawn(shield_handle(job, waiting));
  while (!waiting.load() || !started.load()) std::this_thread::yield();
  // The shielded job sleeps an hour: the wait below ends only if the
  // cancel woke the caller without waiting for it (the guard reports a
  // hang long before).
  weft_test::hang_guard guard(std::chrono::seconds(60), "the cancelled caller's wait");
  caller.cancel();
  caller.wait();
  EXPECT_TRUE(caller.cancelled());
  EXPECT_FALSE(job.done());
  job.cancel();
  job.wait();
}

TEST(Shield, ACallerWhoseCancellationIsAlreadyRequestedThrowsWithoutCancellingTheTask) {
  weft::scheduler sched{2};
  std::atomic<bool> release{false}, started{false};
  auto job = sched.spawn(job_until(release, started, 1));
  std::latch running{1}, go{1};
  auto caller = [](weft::task_handle<int> h, std::latch& running, std::latch& go) -> weft::task<int> {
    running.count_down();
    go.wait();  // cancelled meanwhile, without a suspension point
    co_return co_await weft::shield(h);
  };
  auto c = sched.spawn(caller(job, running, go));
  running.wait();
  c.cancel();
  go.count_down();
  c.wait();
  EXPECT_TRUE(c.cancelled());
  EXPECT_EQ(job.cancelling(), 0u);
  release = true;
  EXPECT_EQ((job.wait(), job.result()), 1);
}

TEST(Shield, TheShieldedTaskEndingCancelledGivesTheCallerCancelledError) {
  weft::scheduler sched{2};
  std::atomic<bool> started{false}, waiting{false};
  auto job = sched.spawn(sleep_for_an_hour(started));
  auto caller = sched.spawn(shield_handle(job, waiting));
  while (!waiting.load() || !started.load()) std::this_thread::yield();
  job.cancel("job withdrawn");
  caller.wait();
  EXPECT_TRUE(caller.cancelled());
  WEFT_EXPECT_THROW_NAMING(caller.result(), weft::cancelled_error, "job withdrawn");
}

TEST(Shield, AnEmptyHandleThrowsInvalidStateNamingTheFix) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<int> { co_return co_await weft::shield(weft::task_handle<int>{}); };
  auto h = sched.spawn(body());
  h.wait();
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::invalid_state_error, "handle returned by spawn()");
}

TEST(Shield, ShieldingItsOwnHandleThrowsInvalidStateNamingTheFix) {
  weft_test::hang_guard guard(std::chrono::seconds(60), "a task shielding its own handle");
  weft::scheduler sched{1};
  weft::task_handle<int> self;
  std::atomic<bool> ready{false};
  auto body = [](weft::task_handle<int>& self, std::atomic<bool>& ready) -> weft::task<int> {
    while (!ready.load()) co_await weft::yield();
    try {
      co_return co_await weft::shield(self);
    } catch (const weft::invalid_state_error& e) {
      EXPECT_TRUE(contains(e.what(), "await another task's handle"));
      co_return -1;
    }
  };
  self = sched.spawn(body(self, ready));
  ready = true;
  self.wait();
  EXPECT_EQ(self.result(), -1);
}

TEST(Shield, ATaskOperandOutsideATaskThrowsInvalidState) {
  auto v = []() -> weft::task<int> { co_return 1; };
  EXPECT_THROW(static_cast<void>(weft::shield(v())), weft::invalid_state_error);
}

TEST(Shield, CallerCancelRacingTheShieldedTasksEndResumesTheCallerExactlyOnce) {
  // The job ends around the time the caller is cancelled, many times: the
  // caller gets the value or cancelled_error, the job is never cancelled.
  // The job blocks its worker on a latch (no busy worker competes with the
  // test thread), the caller parks on the other.
  weft::scheduler sched{2};
  auto blocked_job = [](std::latch& release) -> weft::task<int> {
    release.wait();
    co_return 3;
  };
  auto caller = [](weft::task_handle<int> h, std::latch& waiting) -> weft::task<int> {
    waiting.count_down();
    co_return co_await weft::shield(h);
  };
  int values = 0, cancels = 0;
  for (int i = 0; i < 1000; ++i) {
    std::latch release{1}, waiting{1};
    auto job = sched.spawn(blocked_job(release));
    auto c = sched.spawn(caller(job, waiting));
    waiting.wait();
    release.count_down();
    for (int spin = 0; spin < (i % 32) * 8; ++spin) static_cast<void>(job.done());
    c.cancel();
    c.wait();
    job.wait();
    ASSERT_FALSE(job.cancelled());
    ASSERT_EQ(job.cancelling(), 0u);
    if (c.cancelled()) {
      ++cancels;
    } else {
      ASSERT_EQ(c.result(), 3) << "round " << i;
      ++values;
    }
  }
  EXPECT_EQ(values + cancels, 1000);
}
