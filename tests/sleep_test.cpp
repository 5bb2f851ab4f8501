// weft::sleep_for / sleep_until: asyncio.sleep, woken at once by cancel.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

weft::task<clock_type::duration> timed_sleep(clock_type::duration d) {
  auto start = clock_type::now();
  co_await weft::sleep_for(d);
  co_return clock_type::now() - start;
}

weft::task<void> sleep_and_signal(clock_type::duration d, std::latch& asleep) {
  asleep.count_down();
  co_await weft::sleep_for(d);
}

}  // namespace

TEST(Sleep, SleepForSuspendsAtLeastTheDuration) {
  weft::scheduler sched{2};
  EXPECT_GE(weft::sync_wait(sched, timed_sleep(30ms)), 30ms);
}

TEST(Sleep, SleepUntilAPastTimeReturnsAtOnce) {
  weft::scheduler sched{1};
  auto t = []() -> weft::task<int> {
    co_await weft::sleep_until(clock_type::now() - 1h);
    co_return 7;
  };
  EXPECT_EQ(weft::sync_wait(sched, t()), 7);
}

TEST(Sleep, SleepersDoNotHoldWorkers) {
  // 1,000 tasks sleeping an hour on one worker: each starts after the
  // previous one went to sleep, and the worker then still runs a task.
  weft_test::hang_guard guard(60s, "sleepers holding the worker");
  weft::scheduler sched{1};
  std::latch asleep{1000};
  std::vector<weft::task_handle<void>> handles;
  for (int i = 0; i < 1000; ++i) handles.push_back(sched.spawn(sleep_and_signal(1h, asleep)));
  asleep.wait();
  EXPECT_EQ(weft::sync_wait(sched, []() -> weft::task<int> { co_return 7; }()), 7);
  for (auto& h : handles) {
    EXPECT_FALSE(h.done());
    h.cancel();
  }
  for (auto& h : handles) {
    h.wait();
    EXPECT_TRUE(h.cancelled());
  }
}

TEST(Sleep, CancellingATaskSleepingForAnHourEndsItWithoutWaitingForTheTimer) {
  // The hour is the bound: a cancel that did not wake the sleeper would
  // leave it asleep, and the guard reports that long before.
  weft_test::hang_guard guard(60s, "the cancelled sleeper");
  weft::scheduler sched{2};
  std::latch asleep{1};
  auto h = sched.spawn(sleep_and_signal(1h, asleep));
  asleep.wait();
  // The task may not have reached the timer yet: cancel wakes it wherever.
  EXPECT_TRUE(h.cancel("stop sleeping"));
  h.wait();
  EXPECT_TRUE(h.cancelled());
  try {
    h.result();
    FAIL() << "result() of a cancelled task must throw";
  } catch (const weft::cancelled_error& e) {
    EXPECT_EQ(e.reason().message, "stop sleeping");
  }
}

TEST(Sleep, CancelRacingTheTimerWakesTheSleeperExactlyOnce) {
  weft::scheduler sched{2};
  for (int i = 0; i < 2000; ++i) {
    std::latch asleep{1};
    auto h = sched.spawn(sleep_and_signal(std::chrono::microseconds(i % 50), asleep));
    asleep.wait();
    bool accepted = h.cancel();
    h.wait();
    // Exactly one terminal state, consistent with cancel()'s answer.
    ASSERT_TRUE(h.done());
    if (!accepted) {
      ASSERT_FALSE(h.cancelled());
    }
  }
}

TEST(Sleep, SchedulerShutdownWakesSleepersAndCancelsThem) {
  weft_test::hang_guard guard(60s, "the scheduler's destruction with sleepers");
  std::vector<weft::task_handle<void>> handles;
  {
    weft::scheduler sched{2};
    std::latch asleep{100};
    for (int i = 0; i < 100; ++i) handles.push_back(sched.spawn(sleep_and_signal(1h, asleep)));
    asleep.wait();
  }
  for (auto& h : handles) {
    EXPECT_TRUE(h.cancelled());
    ASSERT_TRUE(h.cancel_reason().has_value());
    EXPECT_EQ(h.cancel_reason()->kind, weft::cancel_kind::shutdown);
  }
}
