// weft::future<T>: asyncio.Future, a result another thread provides.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using weft_test::run_queued_tasks;

namespace {

template <class T>
weft::task<T> await_future(weft::future<T> f) {
  co_return co_await f;
}

/// Awaits `f` and reports what co_await did: the value, or the message of
/// the error it threw.
weft::task<std::string> describe_await(weft::future<int> f) {
  try {
    co_return std::to_string(co_await f);
  } catch (const weft::cancelled_error& e) {
    co_return "cancelled: " + e.reason().message;
  } catch (const std::exception& e) {
    co_return std::string("failed: ") + e.what();
  }
}

}  // namespace

TEST(Future, ANewFutureIsPendingAndItsResultSaysHowToWait) {
  weft::future<int> f;
  EXPECT_TRUE(f.valid());
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.cancelling(), 0u);
  EXPECT_FALSE(f.cancel_reason().has_value());
  WEFT_EXPECT_THROW_NAMING(f.result(), weft::invalid_state_error, "co_await the future");
  WEFT_EXPECT_THROW_NAMING(f.exception(), weft::invalid_state_error, "call wait()");
}

TEST(Future, SetValueFromAPlainThreadResumesTheAwaitingTaskWithTheValue) {
  weft::scheduler sched{1};
  weft::future<int> f;
  auto h = sched.spawn(await_future(f));
  run_queued_tasks(sched);  // it waits now, and holds no worker:
  EXPECT_EQ(weft::sync_wait(sched, weft_test::value_after_yield(5)), 5);
  std::thread producer([f] { EXPECT_TRUE(f.set_value(42)); });
  producer.join();
  h.wait();
  EXPECT_EQ(h.result(), 42);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.result(), 42);
  EXPECT_EQ(f.exception(), nullptr);
}

TEST(Future, AwaitingADoneFutureReturnsItsValue) {
  weft::scheduler sched{1};
  weft::future<int> f;
  f.set_value(7);
  EXPECT_EQ(weft::sync_wait(sched, await_future(f)), 7);
}

TEST(Future, OnlyTheFirstCompletionCounts) {
  weft::future<int> f;
  EXPECT_TRUE(f.set_value(1));
  EXPECT_FALSE(f.set_value(2));
  EXPECT_FALSE(f.set_exception(std::make_exception_ptr(std::runtime_error("late"))));
  EXPECT_FALSE(f.cancel("late"));
  EXPECT_EQ(f.result(), 1);
  EXPECT_FALSE(f.cancelled());
  EXPECT_FALSE(f.cancel_reason().has_value());

  weft::future<int> g;
  EXPECT_TRUE(g.cancel("first"));
  EXPECT_FALSE(g.set_value(2));
  EXPECT_FALSE(g.cancel("second"));
  EXPECT_EQ(g.cancel_reason()->message, "first");
}

TEST(Future, SetExceptionIsRethrownByResultAndByCoAwait) {
  weft::scheduler sched{1};
  weft::future<int> f;
  auto h = sched.spawn(describe_await(f));
  EXPECT_TRUE(f.set_exception(std::make_exception_ptr(std::runtime_error("db down"))));
  h.wait();
  EXPECT_EQ(h.result(), "failed: db down");
  EXPECT_THROW(f.result(), std::runtime_error);
  EXPECT_NE(f.exception(), nullptr);
  EXPECT_FALSE(f.cancelled());
}

TEST(Future, SetExceptionWithACancelledErrorEndsItCancelled) {
  weft::future<int> f;
  EXPECT_TRUE(f.set_exception(std::make_exception_ptr(
      weft::cancelled_error({weft::cancel_kind::user, "upstream gave up"}))));
  EXPECT_TRUE(f.cancelled());
  EXPECT_EQ(f.cancel_reason()->message, "upstream gave up");
  EXPECT_THROW(f.exception(), weft::cancelled_error);
}

TEST(Future, SetExceptionOfNullSaysWhatToPass) {
  weft::future<int> f;
  WEFT_EXPECT_THROW_NAMING(f.set_exception(nullptr), weft::invalid_argument_error,
                           "std::current_exception()");
  EXPECT_FALSE(f.done());
}

TEST(Future, AThrowingValueConstructorLeavesItPending) {
  struct explosive {
    explicit explosive(int v) {
      if (v < 0) throw std::invalid_argument("negative");
    }
  };
  weft::future<explosive> f;
  EXPECT_THROW(f.set_value(-1), std::invalid_argument);
  EXPECT_FALSE(f.done());
  EXPECT_TRUE(f.set_value(1));
  EXPECT_TRUE(f.done());
}

TEST(Future, CancelEndsAPendingFutureAtOnceAndItsAwaiterThrows) {
  weft::scheduler sched{1};
  weft::future<int> f;
  auto h = sched.spawn(describe_await(f));
  run_queued_tasks(sched);
  EXPECT_TRUE(f.cancel("client went away"));
  EXPECT_TRUE(f.done());
  EXPECT_TRUE(f.cancelled());
  EXPECT_EQ(f.cancelling(), 1u);
  EXPECT_EQ(f.cancel_reason()->kind, weft::cancel_kind::user);
  h.wait();
  EXPECT_EQ(h.result(), "cancelled: client went away");
  EXPECT_THROW(f.result(), weft::cancelled_error);
  EXPECT_THROW(f.exception(), weft::cancelled_error);
}

TEST(Future, DoneCallbacksRunOnceInOrderOnTheCompletingThread) {
  weft::future<int> f;
  std::vector<int> order;
  std::thread::id ran_on;
  f.add_done_callback([&](const weft::future<int>& g) {
    order.push_back(g.result());
    ran_on = std::this_thread::get_id();
  });
  f.add_done_callback([&](const weft::future<int>&) { order.push_back(2); });
  std::thread::id producer_id;
  std::thread producer([&] {
    producer_id = std::this_thread::get_id();
    f.set_value(1);
  });
  producer.join();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(ran_on, producer_id);
  // Done already: runs at once, on the caller, and its exception propagates.
  f.add_done_callback([&](const weft::future<int>&) { order.push_back(3); });
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_THROW(f.add_done_callback([](const weft::future<int>&) { throw std::logic_error("x"); }),
               std::logic_error);
}

TEST(Future, AThrowingDoneCallbackIsReportedAndTheOthersStillRun) {
  weft::future<void> f;
  std::atomic<int> ran{0};
  f.add_done_callback([](const weft::future<void>&) { throw std::runtime_error("oops"); });
  f.add_done_callback([&](const weft::future<void>&) { ran++; });
  testing::internal::CaptureStderr();
  EXPECT_TRUE(f.set_value());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(weft_test::contains(err, "oops"));
  EXPECT_EQ(ran.load(), 1);
}

TEST(Future, WaitBlocksAPlainThreadUntilDone) {
  weft::future<std::string> f;
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    f.wait();
    returned = true;
  });
  EXPECT_FALSE(returned.load());
  f.set_value("ready");
  waiter.join();
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(f.result(), "ready");
}

TEST(Future, WaitOnAWorkerSaysToCoAwait) {
  weft::scheduler sched{1};
  weft::future<int> f;
  auto body = [](weft::future<int> f) -> weft::task<void> {
    f.wait();
    co_return;
  };
  WEFT_EXPECT_THROW_NAMING(weft::sync_wait(sched, body(f)), weft::invalid_state_error,
                           "co_await the future");
}

TEST(Future, AMoveOnlyResultIsTakenOnce) {
  weft::future<std::unique_ptr<int>> f;
  f.set_value(std::make_unique<int>(9));
  EXPECT_EQ(*f.result(), 9);
  WEFT_EXPECT_THROW_NAMING(f.result(), weft::invalid_state_error, "keep the value");
}

TEST(Future, AMoveOnlyResultCanBeAwaited) {
  weft::scheduler sched{1};
  weft::future<std::unique_ptr<int>> f;
  auto h = sched.spawn(await_future(f));
  f.set_value(std::make_unique<int>(3));
  h.wait();
  EXPECT_EQ(*h.result(), 3);
}

TEST(Future, VoidFuturesCompleteWithoutAValue) {
  weft::scheduler sched{1};
  weft::future<void> f;
  auto h = sched.spawn(await_future(f));
  EXPECT_TRUE(f.set_value());
  h.wait();
  EXPECT_NO_THROW(h.result());
}

TEST(Future, ManyTasksOnTwoSchedulersAndManyThreadsSeeTheSameOutcome) {
  weft::scheduler a{2}, b{2};
  weft::future<int> f;
  std::vector<weft::task_handle<int>> handles;
  for (int i = 0; i < 200; ++i) handles.push_back((i % 2 ? a : b).spawn(await_future(f)));
  std::vector<std::thread> threads;
  std::atomic<int> seen{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      f.wait();
      if (f.result() == 11) seen++;
    });
  }
  f.set_value(11);
  for (auto& t : threads) t.join();
  for (auto& h : handles) {
    h.wait();
    EXPECT_EQ(h.result(), 11);
  }
  EXPECT_EQ(seen.load(), 4);
}

TEST(Future, EachAwaiterResumesOnItsOwnScheduler) {
  weft::scheduler a{1}, b{1};
  auto thread_id = []() -> weft::task<std::thread::id> { co_return std::this_thread::get_id(); };
  const auto a_worker = weft::sync_wait(a, thread_id());
  const auto b_worker = weft::sync_wait(b, thread_id());
  weft::future<void> f;
  auto resumed_on = [](weft::future<void> f) -> weft::task<std::thread::id> {
    co_await f;
    co_return std::this_thread::get_id();
  };
  auto on_a = a.spawn(resumed_on(f));
  auto on_b = b.spawn(resumed_on(f));
  run_queued_tasks(a);
  run_queued_tasks(b);
  f.set_value();
  on_a.wait();
  on_b.wait();
  EXPECT_EQ(on_a.result(), a_worker);
  EXPECT_EQ(on_b.result(), b_worker);
}

TEST(Future, CancellingTheAwaitingTaskCancelsTheFutureAndTheProducerSeesIt) {
  weft::scheduler sched{1};
  weft::future<int> f;
  std::atomic<bool> callback_saw_cancel{false};
  f.add_done_callback([&](const weft::future<int>& g) { callback_saw_cancel = g.cancelled(); });
  auto h = sched.spawn(await_future(f));
  run_queued_tasks(sched);
  h.cancel("request timed out");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  ASSERT_TRUE(f.cancelled());
  EXPECT_EQ(f.cancel_reason()->kind, weft::cancel_kind::parent_cancelled);
  EXPECT_EQ(f.cancel_reason()->message, "request timed out");
  EXPECT_FALSE(f.set_value(1));  // the producer learns it is no longer wanted
  EXPECT_TRUE(callback_saw_cancel.load());
}

TEST(Future, TimeoutAroundTheAwaitCancelsTheFuture) {
  weft::scheduler sched{2};
  weft::future<int> f;
  auto body = [](weft::future<int> f) -> weft::task<int> {
    co_return co_await weft::timeout(20ms, await_future(std::move(f)));
  };
  EXPECT_THROW(weft::sync_wait(sched, body(f)), weft::timeout_error);
  ASSERT_TRUE(f.cancelled());
  EXPECT_EQ(f.cancel_reason()->kind, weft::cancel_kind::parent_cancelled);
}

TEST(Future, ShieldLetsTheCallerGoAndLeavesTheFuturePending) {
  weft::scheduler sched{1};
  weft::future<int> f;
  auto shielded = [](weft::future<int> f) -> weft::task<int> { co_return co_await weft::shield(f); };
  auto h = sched.spawn(shielded(f));
  run_queued_tasks(sched);
  EXPECT_TRUE(h.cancel("caller gave up"));
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_FALSE(f.done());
  EXPECT_TRUE(f.set_value(5));
  // Shielded and not cancelled: the value comes through.
  auto h2 = sched.spawn(shielded(f));
  h2.wait();
  EXPECT_EQ(h2.result(), 5);
}

// The shield's node stays in the pending future's waiter list after its
// caller left; the future's state, destroyed pending, must free it. (The
// ASan build's leak check, run at the end of this test's process, fails
// the test if it does not.)
TEST(Future, APendingFutureDestroyedAfterItsShieldedCallerWasCancelledLeavesNothingBehind) {
  weft::task_handle<int> h;
  {
    weft::future<int> f;
    auto shielded = [](weft::future<int> f) -> weft::task<int> { co_return co_await weft::shield(f); };
    {
      weft::scheduler sched{1};
      h = sched.spawn(shielded(f));
      run_queued_tasks(sched);
    }  // the scheduler's shutdown cancels the caller; the future stays pending
    ASSERT_TRUE(h.cancelled());
    EXPECT_EQ(h.cancel_reason()->kind, weft::cancel_kind::shutdown);
    EXPECT_FALSE(f.done());
  }  // the last reference to the pending future goes
  // A done future's list is woken by its end, and stays so.
  weft::future<int> g;
  {
    weft::scheduler sched{1};
    auto shielded = [](weft::future<int> f) -> weft::task<int> { co_return co_await weft::shield(f); };
    auto caller = sched.spawn(shielded(g));
    run_queued_tasks(sched);
    caller.cancel("gone");
    caller.wait();
    EXPECT_TRUE(g.set_value(3));
  }
  EXPECT_EQ(g.result(), 3);
}

TEST(Future, APendingCancellationThrowsBeforeAwaitingEvenADoneFuture) {
  weft::scheduler sched{1};
  weft::future<int> f;
  f.set_value(1);
  std::latch running{1}, cancelled{1};
  auto body = [](weft::future<int> f, std::latch& running,
                 std::latch& cancelled) -> weft::task<int> {
    running.count_down();
    cancelled.wait();  // holds the worker until the cancel is recorded
    co_return co_await f;
  };
  auto h = sched.spawn(body(f, running, cancelled));
  running.wait();
  h.cancel("stop");
  cancelled.count_down();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(f.result(), 1);  // a done future is not cancelled
}

TEST(Future, SchedulerShutdownCancelsATaskAwaitingAFuture) {
  weft::future<int> f;
  weft::task_handle<int> h;
  {
    weft::scheduler sched{1};
    h = sched.spawn(await_future(f));
    run_queued_tasks(sched);
  }
  ASSERT_TRUE(h.done());
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(h.cancel_reason()->kind, weft::cancel_kind::shutdown);
  EXPECT_TRUE(f.cancelled());
}

TEST(Future, SetRacingCancelHasOneWinner) {
  for (int round = 0; round < 2000; ++round) {
    weft::future<int> f;
    std::latch go{2};
    bool set_won = false, cancel_won = false;
    std::thread setter([&] {
      go.arrive_and_wait();
      set_won = f.set_value(round);
    });
    std::thread canceller([&] {
      go.arrive_and_wait();
      cancel_won = f.cancel("race");
    });
    setter.join();
    canceller.join();
    ASSERT_NE(set_won, cancel_won);
    ASSERT_EQ(f.cancelled(), cancel_won);
    if (set_won) {
      ASSERT_EQ(f.result(), round);
    }
  }
}

TEST(Future, AwaiterCancelRacingSetLeavesOneConsistentOutcome) {
  weft::scheduler sched{2};
  for (int round = 0; round < 2000; ++round) {
    weft::future<int> f;
    auto h = sched.spawn(await_future(f));
    std::thread setter([&] { f.set_value(round); });
    h.cancel("race");
    setter.join();
    h.wait();
    ASSERT_TRUE(f.done());
    if (!h.cancelled()) {
      ASSERT_EQ(h.result(), round);
    }
    if (f.cancelled()) {
      ASSERT_TRUE(h.cancelled());
      ASSERT_EQ(f.cancel_reason()->kind, weft::cancel_kind::parent_cancelled);
    } else {
      ASSERT_EQ(f.result(), round);
    }
  }
}

TEST(Future, MisuseOfAMovedFromFutureSaysWhatToUse) {
  weft::scheduler sched{1};
  weft::future<int> f;
  weft::future<int> g = std::move(f);
  EXPECT_FALSE(f.valid());
  EXPECT_FALSE(f.done());
  WEFT_EXPECT_THROW_NAMING(f.set_value(1), weft::invalid_state_error, "constructed or copied");
  EXPECT_EQ(weft_test::misuse_message(sched, [&f]() -> weft::task<void> { co_await f; }).find(
                "constructed or copied") != std::string::npos,
            true);
}
