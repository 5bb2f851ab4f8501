// weft::sleep_for / sleep_until: asyncio.sleep, woken at once by cancel.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <vector>

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
  // 1,000 tasks sleeping 100 ms on one worker finish in far less than
  // 1,000 x 100 ms: the worker runs others while they sleep.
  weft::scheduler sched{1};
  std::vector<weft::task_handle<clock_type::duration>> handles;
  auto start = clock_type::now();
  for (int i = 0; i < 1000; ++i) handles.push_back(sched.spawn(timed_sleep(100ms)));
  for (auto& h : handles) {
    h.wait();
    EXPECT_GE(h.result(), 100ms);
  }
  EXPECT_LT(clock_type::now() - start, 20s);
}

TEST(Sleep, CancellingATaskSleepingForAnHourEndsItWithin100Ms) {
  weft::scheduler sched{2};
  std::latch asleep{1};
  auto h = sched.spawn(sleep_and_signal(1h, asleep));
  asleep.wait();
  // The task may not have reached the timer yet: cancel wakes it wherever.
  auto start = clock_type::now();
  EXPECT_TRUE(h.cancel("stop sleeping"));
  h.wait();
  EXPECT_LT(clock_type::now() - start, 100ms);
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
  std::vector<weft::task_handle<void>> handles;
  auto start = clock_type::now();
  {
    weft::scheduler sched{2};
    std::latch asleep{100};
    for (int i = 0; i < 100; ++i) handles.push_back(sched.spawn(sleep_and_signal(1h, asleep)));
    asleep.wait();
  }
  EXPECT_LT(clock_type::now() - start, 10s);
  for (auto& h : handles) {
    EXPECT_TRUE(h.cancelled());
    ASSERT_TRUE(h.cancel_reason().has_value());
    EXPECT_EQ(h.cancel_reason()->kind, weft::cancel_kind::shutdown);
  }
}
