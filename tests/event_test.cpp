// weft::event: asyncio.Event for tasks.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "support.hpp"
#include "wait_contract.hpp"

using weft_test::run_queued_tasks;

namespace {

weft::task<void> wait_for(weft::event& ev) { co_await ev.wait(); }

weft::task<void> wait_and_count(weft::event& ev, std::atomic<int>& resumed) {
  co_await ev.wait();
  resumed++;
}

}  // namespace

TEST(Event, ANewEventIsClearAndSetClearFlipIt) {
  weft::event ev;
  EXPECT_FALSE(ev.is_set());
  ev.set();
  EXPECT_TRUE(ev.is_set());
  ev.set();  // twice is harmless
  EXPECT_TRUE(ev.is_set());
  ev.clear();
  EXPECT_FALSE(ev.is_set());
}

TEST(Event, SetFromAPlainThreadWakesEveryWaitingTask) {
  weft::scheduler sched{1};
  weft::event ev;
  std::atomic<int> resumed{0};
  std::vector<weft::task_handle<void>> handles;
  for (int i = 0; i < 10; ++i) handles.push_back(sched.spawn(wait_and_count(ev, resumed)));
  run_queued_tasks(sched);
  EXPECT_EQ(resumed.load(), 0);
  std::thread setter([&] { ev.set(); });
  setter.join();
  for (auto& h : handles) h.wait();
  EXPECT_EQ(resumed.load(), 10);
}

TEST(Event, WaitOnASetEventReturnsAtOnce) {
  weft::scheduler sched{1};
  weft::event ev;
  ev.set();
  EXPECT_NO_THROW(weft::sync_wait(sched, wait_for(ev)));
}

TEST(Event, ClearAfterSetDoesNotUnwakeTheWokenTasks) {
  weft::scheduler sched{1};
  weft::event ev;
  std::atomic<int> resumed{0};
  std::vector<weft::task_handle<void>> handles;
  for (int i = 0; i < 5; ++i) handles.push_back(sched.spawn(wait_and_count(ev, resumed)));
  run_queued_tasks(sched);
  {
    // Hold the worker so that the woken tasks cannot run before clear().
    weft_test::worker_pin pin(sched);
    ev.set();
    ev.clear();
  }
  for (auto& h : handles) h.wait();
  EXPECT_EQ(resumed.load(), 5);
  // A wait after the clear waits for the next set.
  auto late = sched.spawn(wait_for(ev));
  run_queued_tasks(sched);
  EXPECT_FALSE(late.done());
  ev.set();
  late.wait();
  EXPECT_FALSE(late.cancelled());
}

TEST(Event, TenThousandWaitersHoldNoWorkerAndAllResumeAfterSet) {
  weft::scheduler_options options;
  options.workers = 2;
  options.track_tasks = true;
  weft::scheduler sched{options};
  weft::event ev;
  std::atomic<int> resumed{0};
  std::vector<weft::task_handle<void>> handles;
  handles.reserve(10000);
  for (int i = 0; i < 10000; ++i) handles.push_back(sched.spawn(wait_and_count(ev, resumed)));
  weft_test::await_tasks_in_state(sched, "suspended in event::wait", 10000);
  // The two workers are free while 10,000 wait: another task runs.
  EXPECT_EQ(weft::sync_wait(sched, weft_test::value_after_yield(3)), 3);
  EXPECT_EQ(resumed.load(), 0);
  ev.set();
  for (auto& h : handles) h.wait();
  EXPECT_EQ(resumed.load(), 10000);
}

TEST(Event, ACancelWakesAWaiterAtOnce) {
  weft::event ev;
  weft_test::expect_cancel_wakes_the_waiter([&] { return wait_for(ev); });
}

TEST(Event, ACancelledWaiterLeavesTheListAndTheOthersAreWokenOnce) {
  weft::scheduler sched{1};
  weft::event ev;
  std::atomic<int> resumed{0};
  std::vector<weft::task_handle<void>> handles;
  for (int i = 0; i < 6; ++i) handles.push_back(sched.spawn(wait_and_count(ev, resumed)));
  run_queued_tasks(sched);
  handles[0].cancel();
  handles[3].cancel();
  handles[5].cancel();
  handles[3].wait();
  ev.set();
  for (auto& h : handles) h.wait();
  EXPECT_EQ(resumed.load(), 3);
  EXPECT_TRUE(handles[0].cancelled());
  EXPECT_FALSE(handles[1].cancelled());
  EXPECT_TRUE(handles[5].cancelled());
}

TEST(Event, APendingCancelThrowsEvenOnASetEvent) {
  weft::event ev;
  ev.set();
  weft_test::expect_pending_cancel_throws_before_waiting([&] { return wait_for(ev); });
}

TEST(Event, SchedulerShutdownCancelsAWaiter) {
  weft::event ev;
  weft_test::expect_shutdown_cancels_the_waiter([&] { return wait_for(ev); });
}

TEST(Event, TasksOfTwoSchedulersShareOneEventAndResumeOnTheirOwn) {
  weft::event ev;
  weft_test::expect_each_waiter_resumes_on_its_own_scheduler([&] { return wait_for(ev); },
                                                             [&] { ev.set(); });
}

TEST(Event, CancelRacingSetWakesEachWaiterExactlyOnce) {
  weft::scheduler sched{2};
  for (int round = 0; round < 500; ++round) {
    weft::event ev;
    std::atomic<int> resumed{0};
    std::vector<weft::task_handle<void>> handles;
    for (int i = 0; i < 8; ++i) handles.push_back(sched.spawn(wait_and_count(ev, resumed)));
    std::thread canceller([&] {
      for (int i = 0; i < 8; i += 2) handles[i].cancel();
    });
    ev.set();
    canceller.join();
    int cancelled = 0;
    for (auto& h : handles) {
      h.wait();
      cancelled += h.cancelled() ? 1 : 0;
    }
    ASSERT_EQ(resumed.load() + cancelled, 8);
  }
}

TEST(EventDeathTest, DestroyingAnEventWhileATaskWaitsTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        weft::scheduler sched{1};
        auto ev = std::make_unique<weft::event>();
        auto h = sched.spawn(wait_for(*ev));
        run_queued_tasks(sched);
        ev.reset();
      },
      "weft::event was destroyed while a task waits on it");
}
