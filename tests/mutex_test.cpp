// weft::mutex: asyncio.Lock for tasks.

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

weft::task<void> lock_and_unlock(weft::mutex& m) {
  co_await m.lock();
  m.unlock();
}

/// Takes the lock, records `index`, keeps the lock.
weft::task<void> lock_and_record(weft::mutex& m, int index, weft_test::arrival_log& log) {
  co_await m.lock();
  log.add(index);
}

}  // namespace

static_assert(!std::is_copy_constructible_v<weft::mutex::guard>);
static_assert(std::is_nothrow_move_constructible_v<weft::mutex::guard>);

TEST(Mutex, LockAndUnlockFlipLocked) {
  weft::scheduler sched{1};
  weft::mutex m;
  EXPECT_FALSE(m.locked());
  auto lock_only = [](weft::mutex& m) -> weft::task<void> { co_await m.lock(); };
  weft::sync_wait(sched, lock_only(m));
  EXPECT_TRUE(m.locked());
  m.unlock();  // from a plain thread: allowed, as asyncio's release()
  EXPECT_FALSE(m.locked());
}

TEST(Mutex, LockWaitsWithoutAWorkerWhileAnotherHolderHasIt) {
  weft::scheduler sched{1};
  weft::mutex m;
  ASSERT_TRUE(m.try_lock());
  auto h = sched.spawn(lock_and_unlock(m));
  run_queued_tasks(sched);
  EXPECT_FALSE(h.done());
  EXPECT_EQ(weft::sync_wait(sched, weft_test::value_after_yield(2)), 2);
  std::thread unlocker([&] { m.unlock(); });
  unlocker.join();
  h.wait();
  EXPECT_FALSE(h.cancelled());
  EXPECT_FALSE(m.locked());
}

TEST(Mutex, WaitersAreServedFirstComeFirstServed) {
  weft::scheduler sched{1};
  weft::mutex m;
  ASSERT_TRUE(m.try_lock());
  weft_test::arrival_log log;
  auto handles = weft_test::spawn_in_line(sched, 5, [&](int i) { return lock_and_record(m, i, log); });
  for (int i = 0; i < 5; ++i) {
    m.unlock();
    handles[i].wait();
  }
  EXPECT_EQ(log.order(), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(m.locked());
}

TEST(Mutex, UnlockHandsTheLockToTheFirstWaiterNotToATryLock) {
  weft::scheduler sched{1};
  weft::mutex m;
  ASSERT_TRUE(m.try_lock());
  auto h = sched.spawn(lock_and_unlock(m));
  run_queued_tasks(sched);
  {
    weft_test::worker_pin pin(sched);
    m.unlock();
    EXPECT_TRUE(m.locked());
    EXPECT_FALSE(m.try_lock());
  }
  h.wait();
  EXPECT_FALSE(m.locked());
}

TEST(Mutex, TryLockIsFalseWhileLocked) {
  weft::mutex m;
  EXPECT_TRUE(m.try_lock());
  EXPECT_FALSE(m.try_lock());
  m.unlock();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(Mutex, LockingTwiceInOneTaskThrowsInsteadOfDeadlocking) {
  weft::scheduler sched{1};
  weft::mutex m;
  auto body = [](weft::mutex& m) -> weft::task<void> {
    co_await m.lock();
    co_await m.lock();
  };
  EXPECT_TRUE(weft_test::contains(weft_test::misuse_message(sched, [&] { return body(m); }),
                                  "not recursive"));
  EXPECT_TRUE(m.locked());  // the first lock is still held
  m.unlock();
}

TEST(Mutex, LockInTheTaskThatTookItWithTryLockThrowsInsteadOfDeadlocking) {
  weft_test::hang_guard guard(std::chrono::seconds(60), "lock() after try_lock() in one task");
  weft::scheduler sched{1};
  weft::mutex m;
  auto body = [](weft::mutex& m) -> weft::task<void> {
    if (!m.try_lock()) throw std::logic_error("the free mutex was not taken");
    co_await m.lock();
  };
  EXPECT_TRUE(weft_test::contains(weft_test::misuse_message(sched, [&] { return body(m); }),
                                  "not recursive"));
  EXPECT_TRUE(m.locked());  // the try_lock() still holds it
  m.unlock();
  // Taken by a plain thread, it is held by no task: a task's lock() waits
  // for it instead of throwing.
  ASSERT_TRUE(m.try_lock());
  auto waiter = sched.spawn([](weft::mutex& m) -> weft::task<void> { co_await m.lock(); }(m));
  m.unlock();
  waiter.wait();
  EXPECT_NO_THROW(waiter.result());
  EXPECT_TRUE(m.locked());
  m.unlock();
}

TEST(Mutex, UnlockingAnUnlockedMutexSaysWhenToUnlock) {
  weft::mutex m;
  WEFT_EXPECT_THROW_NAMING(m.unlock(), weft::invalid_state_error, "unlock only after lock()");
}

TEST(Mutex, ACancelledWaiterLeavesTheListAndNoOtherIsSkipped) {
  weft::scheduler sched{1};
  weft::mutex m;
  ASSERT_TRUE(m.try_lock());
  weft_test::arrival_log log;
  auto handles = weft_test::spawn_in_line(sched, 3, [&](int i) { return lock_and_record(m, i, log); });
  handles[1].cancel();
  handles[1].wait();
  m.unlock();
  handles[0].wait();
  m.unlock();
  handles[2].wait();
  EXPECT_EQ(log.order(), (std::vector<int>{0, 2}));
  EXPECT_TRUE(handles[1].cancelled());
}

TEST(Mutex, TheLockHandedToACancelledWaiterGoesToTheNext) {
  weft::scheduler sched{1};
  weft::mutex m;
  ASSERT_TRUE(m.try_lock());
  weft_test::arrival_log log;
  auto line = weft_test::spawn_in_line(sched, 2, [&](int i) { return lock_and_record(m, i, log); });
  auto& first = line[0];
  auto& second = line[1];
  {
    weft_test::worker_pin pin(sched);
    m.unlock();            // handed to `first`, which cannot run yet
    first.cancel("late");  // it resumes cancelled and unlocks for `second`
  }
  first.wait();
  second.wait();
  EXPECT_TRUE(first.cancelled());
  EXPECT_EQ(log.order(), (std::vector<int>{1}));
  EXPECT_TRUE(m.locked());  // held by `second`
}

TEST(Mutex, AGuardUnlocksExactlyOnceAlsoWhenTheTaskUnwinds) {
  weft::scheduler sched{2};
  weft::mutex m;
  auto moves = [](weft::mutex& m) -> weft::task<bool> {
    weft::mutex::guard g = co_await m.scoped_lock();
    weft::mutex::guard moved = std::move(g);
    EXPECT_FALSE(g.owns_lock());
    co_return moved.owns_lock() && m.locked();
  };
  EXPECT_TRUE(weft::sync_wait(sched, moves(m)));
  EXPECT_FALSE(m.locked());
  auto throws = [](weft::mutex& m) -> weft::task<void> {
    auto g = co_await m.scoped_lock();
    throw std::runtime_error("failing under the lock");
  };
  EXPECT_THROW(weft::sync_wait(sched, throws(m)), std::runtime_error);
  EXPECT_FALSE(m.locked());
  weft_test::child_probe probe;
  auto sleeps = [](weft::mutex& m, weft_test::child_probe& probe) -> weft::task<void> {
    auto g = co_await m.scoped_lock();
    co_await weft_test::sleep_for_an_hour(probe);
  };
  auto h = sched.spawn(sleeps(m, probe));
  while (!probe.started) std::this_thread::yield();
  h.cancel();
  h.wait();
  EXPECT_FALSE(m.locked());
}

TEST(Mutex, ACancelWakesAWaiterAtOnce) {
  weft::mutex m;
  ASSERT_TRUE(m.try_lock());
  weft_test::expect_cancel_wakes_the_waiter([&] { return lock_and_unlock(m); });
  EXPECT_TRUE(m.locked());
  m.unlock();
}

TEST(Mutex, APendingCancelThrowsAndLeavesAFreeLockFree) {
  weft::mutex m;
  weft_test::expect_pending_cancel_throws_before_waiting([&] { return lock_and_unlock(m); });
  EXPECT_FALSE(m.locked());
}

TEST(Mutex, SchedulerShutdownCancelsAWaiter) {
  weft::mutex m;
  ASSERT_TRUE(m.try_lock());
  weft_test::expect_shutdown_cancels_the_waiter([&] { return lock_and_unlock(m); });
  m.unlock();
}

TEST(Mutex, TasksOfTwoSchedulersShareOneMutex) {
  weft::mutex m;
  ASSERT_TRUE(m.try_lock());
  weft_test::expect_each_waiter_resumes_on_its_own_scheduler([&] { return lock_and_unlock(m); },
                                                             [&] { m.unlock(); });
  EXPECT_FALSE(m.locked());
}

TEST(Mutex, ExcludesUnderContention) {
  weft::scheduler sched{2};
  weft::mutex m;
  long counter = 0;  // guarded by m only: TSan sees any overlap
  auto add = [](weft::mutex& m, long& counter) -> weft::task<void> {
    for (int i = 0; i < 100; ++i) {
      auto g = co_await m.scoped_lock();
      counter = counter + 1;
      if (i % 10 == 0) co_await weft::yield();  // hold it across a suspension
    }
  };
  std::vector<weft::task_handle<void>> handles;
  for (int i = 0; i < 200; ++i) handles.push_back(sched.spawn(add(m, counter)));
  for (auto& h : handles) h.wait();
  EXPECT_EQ(counter, 200 * 100);
  EXPECT_FALSE(m.locked());
}

TEST(Mutex, CancelsRacingUnlocksLeaveItUnlocked) {
  weft::scheduler sched{2};
  for (int round = 0; round < 300; ++round) {
    weft::mutex m;
    std::vector<weft::task_handle<void>> handles;
    for (int i = 0; i < 16; ++i) handles.push_back(sched.spawn(lock_and_unlock(m)));
    std::thread canceller([&] {
      for (int i = 0; i < 16; i += 3) handles[i].cancel();
    });
    canceller.join();
    for (auto& h : handles) h.wait();
    ASSERT_FALSE(m.locked());
  }
}

TEST(MutexDeathTest, DestroyingAMutexWhileATaskWaitsTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        weft::scheduler sched{1};
        auto m = std::make_unique<weft::mutex>();
        ASSERT_TRUE(m->try_lock());
        auto h = sched.spawn(lock_and_unlock(*m));
        run_queued_tasks(sched);
        m.reset();
      },
      "weft::mutex was destroyed while a task waits on it");
}
