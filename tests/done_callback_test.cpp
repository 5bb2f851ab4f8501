// task_handle::add_done_callback: asyncio add_done_callback. It runs
// exactly once after the terminal state is published, at once on the caller
// if already done; registering races completion without losing or doubling
// a call.
//
// wait() returns once the terminal state is published, which may be before
// the callbacks (run right after it by the thread that ended the task) have
// finished; so these tests learn that a callback ran from a latch it counts
// down, never from wait().

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using weft_test::contains;

namespace {

weft::task<int> value_when_released(std::latch& release, int v) {
  release.wait();
  co_return v;
}

weft::task<int> value_at_once(int v) { co_return v; }

using weft_test::worker_pin;

}  // namespace

TEST(DoneCallback, RunsOnceAfterTheTerminalStateIsPublished) {
  std::atomic<int> calls{0};
  std::atomic<int> seen_value{-1};
  std::atomic<bool> seen_done{false};
  {
    weft::scheduler sched{2};
    std::latch release{1};
    auto h = sched.spawn(value_when_released(release, 4));
    std::latch called{1};
    h.add_done_callback([&](const weft::task_handle<int>& t) {
      seen_done = t.done();
      seen_value = t.result();  // the result is readable: the end is published
      calls.fetch_add(1);
      called.count_down();
    });
    EXPECT_EQ(calls.load(), 0);
    release.count_down();
    called.wait();
  }  // every task and callback has ended: a second call would have happened
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(seen_done.load());
  EXPECT_EQ(seen_value.load(), 4);
}

TEST(DoneCallback, OnADoneTaskRunsAtOnceOnTheCaller) {
  weft::scheduler sched{1};
  auto h = sched.spawn(value_at_once(1));
  h.wait();
  std::thread::id ran_on;
  int calls = 0;
  h.add_done_callback([&](const weft::task_handle<int>&) {
    ran_on = std::this_thread::get_id();
    ++calls;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(DoneCallback, OnADoneTaskAnExceptionFromTheCallbackPropagatesToTheCaller) {
  weft::scheduler sched{1};
  auto h = sched.spawn(value_at_once(1));
  h.wait();
  EXPECT_THROW(h.add_done_callback([](const weft::task_handle<int>&) {
                 throw std::logic_error("callback failed");
               }),
               std::logic_error);
}

TEST(DoneCallback, CallbacksRunInTheOrderTheyWereAdded) {
  weft::scheduler sched{2};
  std::latch release{1};
  auto h = sched.spawn(value_when_released(release, 0));
  std::vector<int> order;  // written by the one thread that ends the task
  std::latch all_ran{1};
  for (int i = 0; i < 5; ++i) {
    h.add_done_callback([&order, i](const weft::task_handle<int>&) { order.push_back(i); });
  }
  h.add_done_callback([&](const weft::task_handle<int>&) { all_ran.count_down(); });
  release.count_down();
  all_ran.wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(DoneCallback, AnExceptionOnTheWorkerIsReportedAndCountedAndTheOtherCallbacksStillRun) {
  weft::scheduler sched{2};
  std::latch release{1};
  auto h = sched.spawn(value_when_released(release, 0));
  std::atomic<int> later_calls{0};
  std::latch later_ran{1};
  h.add_done_callback([](const weft::task_handle<int>&) {
    throw std::runtime_error("callback blew up");
  });
  h.add_done_callback([&](const weft::task_handle<int>&) {
    later_calls.fetch_add(1);
    later_ran.count_down();
  });
  ::testing::internal::CaptureStderr();
  release.count_down();
  later_ran.wait();
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(later_calls.load(), 1);
  EXPECT_EQ(sched.stats().callback_errors, 1u);
  EXPECT_TRUE(contains(err, "callback blew up"));
  EXPECT_EQ(h.result(), 0) << "a failing callback does not change the task's outcome";
}

TEST(DoneCallback, ACancelThatEndsAnUnstartedTaskRunsTheCallbackOnTheCancellingThread) {
  weft::scheduler sched{1};
  worker_pin pin(sched);
  auto h = sched.spawn(value_at_once(1));
  std::thread::id ran_on;
  std::atomic<int> calls{0};
  std::optional<weft::cancel_reason> seen;
  h.add_done_callback([&](const weft::task_handle<int>& t) {
    ran_on = std::this_thread::get_id();
    seen = t.cancel_reason();
    calls.fetch_add(1);
  });
  EXPECT_TRUE(h.cancel("not needed"));
  EXPECT_EQ(calls.load(), 1) << "terminal when cancel() returns, callbacks included";
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(*seen, (weft::cancel_reason{weft::cancel_kind::user, "not needed"}));
}

TEST(DoneCallback, SeesTheCancelledStateAndReasonOfACancelledTask) {
  weft::scheduler sched{2};
  std::latch started{1};
  std::atomic<bool> cleaned{false};
  auto h = sched.spawn(weft_test::yield_until_cancelled(started, cleaned));
  std::atomic<bool> saw_cancelled{false};
  std::string message;
  std::latch called{1};
  h.add_done_callback([&](const weft::task_handle<void>& t) {
    saw_cancelled = t.cancelled();
    message = t.cancel_reason().value_or(weft::cancel_reason{}).message;
    called.count_down();
  });
  started.wait();
  h.cancel("stop");
  called.wait();
  EXPECT_TRUE(saw_cancelled.load());
  EXPECT_EQ(message, "stop");
}

TEST(DoneCallback, TheCallbackKeepsTheTaskAliveWhenEveryOtherHandleIsGone) {
  weft::scheduler sched{2};
  std::latch release{1};
  std::latch called{1};
  std::atomic<int> value{0};
  {
    auto h = sched.spawn(value_when_released(release, 12));
    h.add_done_callback([&](const weft::task_handle<int>& t) {
      value = t.result();
      called.count_down();
    });
  }  // the user's handle is gone before the task ends
  release.count_down();
  called.wait();
  EXPECT_EQ(value.load(), 12);
}

TEST(DoneCallback, AcceptsAMoveOnlyCallable) {
  weft::scheduler sched{2};
  std::latch release{1};
  auto h = sched.spawn(value_when_released(release, 3));
  std::atomic<int> out{0};
  std::latch called{1};
  auto box = std::make_unique<int>(10);
  h.add_done_callback([b = std::move(box), &out, &called](const weft::task_handle<int>& t) {
    out = *b + t.result();
    called.count_down();
  });
  release.count_down();
  called.wait();
  EXPECT_EQ(out.load(), 13);
}

TEST(DoneCallback, OnAnEmptyHandleThrowsInvalidStateNamingTheFix) {
  weft::task_handle<int> empty;
  WEFT_EXPECT_THROW_NAMING(empty.add_done_callback([](const weft::task_handle<int>&) {}),
                           weft::invalid_state_error, "handle returned by spawn()");
}

// ---- races

TEST(DoneCallback, RegisteringRacingCompletionNeverLosesNorDoublesACall) {
  // Each task ends around the time the callback is added, many times; at
  // the end (after the scheduler is gone) every task has counted exactly 1.
  constexpr int k_tasks = 5000;
  std::vector<std::atomic<int>> calls(k_tasks);
  {
    weft::scheduler sched{2};
    for (int i = 0; i < k_tasks; ++i) {
      auto h = sched.spawn(value_at_once(i));
      for (int spin = 0; spin < (i % 32) * 4; ++spin) static_cast<void>(h.done());
      h.add_done_callback([&calls, i](const weft::task_handle<int>& t) {
        calls[static_cast<std::size_t>(i)].fetch_add(1);
        EXPECT_TRUE(t.done());
      });
    }
  }
  for (int i = 0; i < k_tasks; ++i) {
    ASSERT_EQ(calls[static_cast<std::size_t>(i)].load(), 1) << "task " << i;
  }
}

TEST(DoneCallback, SeveralThreadsRegisteringOnOneHandleWhileItEndsEachGetExactlyOneCall) {
  constexpr int k_rounds = 300;
  constexpr int k_threads = 3;
  std::atomic<int> total{0};
  {
    weft::scheduler sched{1};
    for (int round = 0; round < k_rounds; ++round) {
      std::latch release{1};
      auto h = sched.spawn(value_when_released(release, round));
      std::atomic<int> calls{0};
      std::latch called{1};
      std::latch ready{k_threads + 1};
      std::vector<std::thread> threads;
      for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&] {
          ready.arrive_and_wait();
          h.add_done_callback([&](const weft::task_handle<int>&) {
            total.fetch_add(1);
            // A lost call hangs the round; a doubled one shows in `total`.
            if (calls.fetch_add(1) + 1 == k_threads) called.count_down();
          });
        });
      }
      ready.arrive_and_wait();
      release.count_down();
      for (auto& t : threads) t.join();
      called.wait();
      h.wait();
    }
  }  // every task and callback has ended
  EXPECT_EQ(total.load(), k_rounds * k_threads);
}
