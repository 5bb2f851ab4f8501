// Misuse gets a clear error, never undefined behaviour (issue 6): each case
// checks the exception type and that the message names the fix, and that
// nothing leaks or hangs because of the misuse.
//
// Cases pinned elsewhere (not repeated here):
//   awaiting a task already awaited       Task.AwaitingATaskAlreadyAwaitedThrowsInvalidStateNamingTheFix
//   spawning a moved-from task            Task.SpawningAMovedFromTaskThrowsInvalidStateNamingTheFix
//   a task awaiting its own handle        TaskHandle.CoAwaitOwnHandleThrowsInvalidStateNamingTheFix
//   result() / exception() before done    TaskHandle.ResultBeforeDoneThrowsInvalidStateNamingTheFix,
//                                         TaskHandle.ExceptionBeforeDoneThrowsInvalidStateNamingTheFix
//   queries on an empty handle            TaskHandle.EmptyHandleThrowsInvalidStateNamingTheFix
//   wait() / sync_wait() on a worker      Scheduler.WaitOnAWorkerThreadThrowsInvalidStateNamingTheFix,
//                                         Scheduler.SyncWaitOnAWorkerThreadThrowsInvalidStateNamingTheFix
//   free weft::spawn outside a task       Scheduler.FreeSpawnOutsideATaskThrowsInvalidStateNamingTheFix
//   scheduler(0), max_workers() + 1       Scheduler.ZeroWorkersThrowsInvalidArgumentNamingTheFix,
//                                         Scheduler.TooManyWorkersThrowsInvalidArgumentNamingTheFix
//   destroying an unjoined task_group     TaskGroup.DestroyingAnUnjoinedGroupCancelsItsUnfinishedChildren
//   when_any of no tasks                  WhenAny.EmptyVectorThrowsInvalidArgumentNamingTheFix
//   shield of an empty handle             Shield.AnEmptyHandleThrowsInvalidStateNamingTheFix
//   this_task:: outside a task            Cancellation.ThisTaskOutsideATaskThrowsInvalidStateNamingTheFix

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using weft_test::contains;
using weft_test::counted;
using namespace std::chrono_literals;

namespace {

weft::task<int> value_of(int v, counted token = counted{}) {
  co_await weft::yield();
  co_return v + token.value;
}

// Runs `body` as a task and returns the message of the invalid_state_error
// it caught, or a description of what happened instead.
template <class Body>
std::string misuse_message(weft::scheduler& sched, Body body) {
  auto probe = [](Body body) -> weft::task<std::string> {
    try {
      co_await body();
    } catch (const weft::invalid_state_error& e) {
      co_return e.what();
    } catch (const std::exception& e) {
      co_return std::string("wrong exception type: ") + e.what();
    }
    co_return "no exception";
  };
  return weft::sync_wait(sched, probe(std::move(body)));
}

}  // namespace

// ---- tasks that cannot be started

TEST(Misuse, AwaitingAMovedFromTaskThrowsInvalidStateNamingTheFix) {
  counted::reset();
  {
    weft::scheduler sched{1};
    std::string msg = misuse_message(sched, []() -> weft::task<void> {
      weft::task<int> t = value_of(1);
      weft::task<int> other = std::move(t);
      co_await t;  // moved from
      co_await other;
    });
    EXPECT_TRUE(contains(msg, "moved from"));
    EXPECT_TRUE(contains(msg, "create a new one"));
  }
  EXPECT_EQ(counted::live.load(), 0) << "the task moved into `other` is destroyed unstarted";
}

TEST(Misuse, CombinatorsGivenAMovedFromTaskThrowInvalidStateNamingTheFixAndLeakNothing) {
  counted::reset();
  {
    weft::scheduler sched{2};
    auto moved_from = [] {
      weft::task<int> t = value_of(0);
      weft::task<int> sink = std::move(t);
      return t;
    };
    std::string all = misuse_message(sched, [&]() -> weft::task<void> {
      std::vector<weft::task<int>> v;
      v.push_back(value_of(1));
      v.push_back(moved_from());
      co_await weft::when_all(std::move(v));
    });
    EXPECT_TRUE(contains(all, "create a new one")) << all;
    std::string all_tuple = misuse_message(sched, [&]() -> weft::task<void> {
      co_await weft::when_all(value_of(1), moved_from(), value_of(2));
    });
    EXPECT_TRUE(contains(all_tuple, "create a new one")) << all_tuple;
    std::string any = misuse_message(sched, [&]() -> weft::task<void> {
      std::vector<weft::task<int>> v;
      v.push_back(moved_from());
      v.push_back(value_of(1));
      co_await weft::when_any(std::move(v));
    });
    EXPECT_TRUE(contains(any, "create a new one")) << any;
    std::string timed = misuse_message(sched, [&]() -> weft::task<void> {
      co_await weft::timeout(1s, moved_from());
    });
    EXPECT_TRUE(contains(timed, "create a new one")) << timed;
    std::string masked = misuse_message(sched, [&]() -> weft::task<void> {
      co_await weft::uncancellable(moved_from());
    });
    EXPECT_TRUE(contains(masked, "create a new one")) << masked;
  }
  // The valid tasks passed alongside the empty one are destroyed unstarted.
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

// ---- awaiting oneself

TEST(Misuse, ShieldingItsOwnHandleThrowsInvalidStateNamingTheFix) {
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

// ---- schedulers that cannot be built

TEST(Misuse, AnAbsurdWorkerCountThrowsInvalidArgumentBeforeStartingAThread) {
  WEFT_EXPECT_THROW_NAMING(weft::scheduler{std::numeric_limits<std::size_t>::max()},
                           weft::invalid_argument_error, "one worker per hardware thread");
  WEFT_EXPECT_THROW_NAMING(weft::scheduler{std::size_t{1} << 40}, weft::invalid_argument_error,
                           "one worker per hardware thread");
}

TEST(MisuseDeathTest, DestroyingASchedulerOnItsOwnWorkerAbortsNamingTheFix) {
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
      "Destroy the scheduler from a thread that is not one of its workers");
}

// ---- task groups

TEST(Misuse, AGroupUnwoundByAnExceptionBeforeJoinCancelsItsChildrenAndKeepsTheException) {
  weft::scheduler sched{2};
  std::atomic<bool> asleep{false};
  weft::task_handle<void> child;
  auto sleeper = [](std::atomic<bool>& asleep) -> weft::task<void> {
    asleep = true;
    co_await weft::sleep_for(1h);
  };
  auto owner = [&sleeper](std::atomic<bool>& asleep,
                          weft::task_handle<void>& child) -> weft::task<void> {
    weft::task_group g;
    child = g.spawn(sleeper(asleep));
    while (!asleep.load()) co_await weft::yield();
    throw std::runtime_error("owner failed before join");  // unwinds the group
  };
#ifndef NDEBUG
  ::testing::internal::CaptureStderr();
#endif
  auto h = sched.spawn(owner(asleep, child));
  h.wait();
  child.wait();
#ifndef NDEBUG
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "co_await group.join() before the group goes out of scope"))
      << "debug builds report the misuse and name the fix";
#endif
  WEFT_EXPECT_THROW_NAMING(h.result(), std::runtime_error, "owner failed before join");
  EXPECT_FALSE(h.cancelled()) << "the owner's own exception is kept";
  EXPECT_TRUE(child.cancelled());
  ASSERT_TRUE(child.cancel_reason().has_value());
  EXPECT_EQ(child.cancel_reason()->kind, weft::cancel_kind::parent_cancelled);
}

// ---- awaitables used where there is no task

TEST(Misuse, AwaitingAnEmptyHandleThrowsInvalidStateNamingTheFix) {
  weft::scheduler sched{1};
  std::string msg = misuse_message(sched, []() -> weft::task<void> {
    weft::task_handle<int> empty;
    co_await empty;
  });
  EXPECT_TRUE(contains(msg, "await the handle returned by spawn()")) << msg;
}
