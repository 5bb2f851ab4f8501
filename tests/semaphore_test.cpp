// weft::semaphore: asyncio.Semaphore for tasks.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include "support.hpp"
#include "wait_contract.hpp"

using weft_test::run_queued_tasks;

namespace {

weft::task<void> acquire_once(weft::semaphore& sem) { co_await sem.acquire(); }

/// Takes a permit, records `index`, keeps the permit.
weft::task<void> acquire_and_record(weft::semaphore& sem, int index, weft_test::arrival_log& log) {
  co_await sem.acquire();
  log.add(index);
}

}  // namespace

static_assert(!std::is_copy_constructible_v<weft::semaphore::permit>);
static_assert(std::is_nothrow_move_constructible_v<weft::semaphore::permit>);

TEST(Semaphore, AcquireTakesAPermitAndReleaseGivesItBack) {
  weft::scheduler sched{1};
  weft::semaphore sem{2};
  EXPECT_EQ(sem.available(), 2u);
  weft::sync_wait(sched, acquire_once(sem));
  EXPECT_EQ(sem.available(), 1u);
  sem.release();
  EXPECT_EQ(sem.available(), 2u);
}

TEST(Semaphore, AcquireWaitsWithoutAWorkerWhileNoneIsFree) {
  weft::scheduler sched{1};
  weft::semaphore sem{0};
  auto h = sched.spawn(acquire_once(sem));
  run_queued_tasks(sched);
  EXPECT_FALSE(h.done());
  EXPECT_EQ(weft::sync_wait(sched, weft_test::value_after_yield(4)), 4);  // the worker is free
  std::thread releaser([&] { sem.release(); });
  releaser.join();
  h.wait();
  EXPECT_FALSE(h.cancelled());
  EXPECT_EQ(sem.available(), 0u);
}

TEST(Semaphore, WaitersAreServedFirstComeFirstServed) {
  weft::scheduler sched{1};
  weft::semaphore sem{0};
  weft_test::arrival_log log;
  auto handles =
      weft_test::spawn_in_line(sched, 5, [&](int i) { return acquire_and_record(sem, i, log); });
  for (int i = 0; i < 5; ++i) {
    sem.release();
    handles[i].wait();
  }
  EXPECT_EQ(log.order(), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Semaphore, ReleaseHandsThePermitToTheFirstWaiterNotToATryAcquire) {
  weft::scheduler sched{1};
  weft::semaphore sem{0};
  auto h = sched.spawn(acquire_once(sem));
  run_queued_tasks(sched);
  {
    weft_test::worker_pin pin(sched);  // the waiter cannot run yet
    sem.release();
    EXPECT_FALSE(sem.try_acquire());
    EXPECT_EQ(sem.available(), 0u);
  }
  h.wait();
  EXPECT_FALSE(h.cancelled());
}

TEST(Semaphore, TryAcquireNeverWaits) {
  weft::semaphore sem{1};
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
  sem.release();
  EXPECT_TRUE(sem.try_acquire());
}

TEST(Semaphore, ACancelledWaiterLeavesTheListAndNoOtherIsSkipped) {
  weft::scheduler sched{1};
  weft::semaphore sem{0};
  weft_test::arrival_log log;
  auto handles =
      weft_test::spawn_in_line(sched, 3, [&](int i) { return acquire_and_record(sem, i, log); });
  handles[1].cancel();
  handles[1].wait();
  EXPECT_TRUE(handles[1].cancelled());
  sem.release();
  sem.release();
  handles[0].wait();
  handles[2].wait();
  EXPECT_EQ(log.order(), (std::vector<int>{0, 2}));
  EXPECT_EQ(sem.available(), 0u);
}

TEST(Semaphore, APermitHandedToACancelledWaiterGoesToTheNext) {
  weft::scheduler sched{1};
  weft::semaphore sem{0};
  weft_test::arrival_log log;
  auto line =
      weft_test::spawn_in_line(sched, 2, [&](int i) { return acquire_and_record(sem, i, log); });
  auto& first = line[0];
  auto& second = line[1];
  {
    weft_test::worker_pin pin(sched);
    sem.release();         // handed to `first`, which cannot run yet
    first.cancel("late");  // it resumes cancelled and gives the permit on
  }
  first.wait();
  second.wait();
  EXPECT_TRUE(first.cancelled());
  EXPECT_FALSE(second.cancelled());
  EXPECT_EQ(log.order(), (std::vector<int>{1}));
  EXPECT_EQ(sem.available(), 0u);
}

TEST(Semaphore, AScopedPermitIsReleasedExactlyOnce) {
  weft::scheduler sched{1};
  weft::semaphore sem{1};
  auto body = [](weft::semaphore& sem) -> weft::task<std::size_t> {
    weft::semaphore::permit p = co_await sem.scoped_acquire();
    EXPECT_TRUE(p.owns_permit());
    weft::semaphore::permit moved = std::move(p);
    EXPECT_FALSE(p.owns_permit());
    co_return sem.available();
  };
  EXPECT_EQ(weft::sync_wait(sched, body(sem)), 0u);
  EXPECT_EQ(sem.available(), 1u);
}

TEST(Semaphore, AScopedPermitIsReleasedWhenTheTaskUnwinds) {
  weft::scheduler sched{2};
  weft::semaphore sem{1};
  auto throws = [](weft::semaphore& sem) -> weft::task<void> {
    auto p = co_await sem.scoped_acquire();
    throw std::runtime_error("failing while holding a permit");
  };
  EXPECT_THROW(weft::sync_wait(sched, throws(sem)), std::runtime_error);
  EXPECT_EQ(sem.available(), 1u);

  weft_test::child_probe probe;
  auto sleeps = [](weft::semaphore& sem, weft_test::child_probe& probe) -> weft::task<void> {
    auto p = co_await sem.scoped_acquire();
    co_await weft_test::sleep_for_an_hour(probe);
  };
  auto h = sched.spawn(sleeps(sem, probe));
  while (!probe.started) std::this_thread::yield();
  h.cancel();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(sem.available(), 1u);
}

TEST(Semaphore, ACancelWakesAWaiterAtOnce) {
  weft::semaphore sem{0};
  weft_test::expect_cancel_wakes_the_waiter([&] { return acquire_once(sem); });
  EXPECT_EQ(sem.available(), 0u);
}

TEST(Semaphore, APendingCancelThrowsAndTakesNoFreePermit) {
  weft::semaphore sem{1};
  weft_test::expect_pending_cancel_throws_before_waiting([&] { return acquire_once(sem); });
  EXPECT_EQ(sem.available(), 1u);
}

TEST(Semaphore, SchedulerShutdownCancelsAWaiter) {
  weft::semaphore sem{0};
  weft_test::expect_shutdown_cancels_the_waiter([&] { return acquire_once(sem); });
}

TEST(Semaphore, TasksOfTwoSchedulersShareOneSemaphore) {
  weft::semaphore sem{0};
  weft_test::expect_each_waiter_resumes_on_its_own_scheduler([&] { return acquire_once(sem); },
                                                             [&] {
                                                               sem.release();
                                                               sem.release();
                                                             });
}

TEST(Semaphore, CancelsRacingReleasesLoseNoPermit) {
  weft::scheduler sched{2};
  for (int round = 0; round < 300; ++round) {
    weft::semaphore sem{0};
    std::vector<weft::task_handle<void>> handles;
    auto take_and_give = [](weft::semaphore& sem) -> weft::task<void> {
      co_await sem.acquire();
      sem.release();
    };
    for (int i = 0; i < 16; ++i) handles.push_back(sched.spawn(take_and_give(sem)));
    std::thread canceller([&] {
      for (int i = 0; i < 16; i += 3) handles[i].cancel();
    });
    sem.release();
    sem.release();
    canceller.join();
    for (auto& h : handles) h.wait();
    ASSERT_EQ(sem.available(), 2u);
  }
}

TEST(SemaphoreDeathTest, DestroyingASemaphoreWhileATaskWaitsTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        weft::scheduler sched{1};
        auto sem = std::make_unique<weft::semaphore>(0);
        auto h = sched.spawn(acquire_once(*sem));
        run_queued_tasks(sched);
        sem.reset();
      },
      "weft::semaphore was destroyed while a task waits on it");
}
