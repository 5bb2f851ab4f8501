// Cancellation: cancel() return values, cancel before the first run, the
// flag checked at every suspension point, stickiness, cancel racing
// completion, passing cancellation through awaited handles and inline
// children, messages, this_task::.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
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
using weft_test::worker_pin;

}  // namespace

// ---- cancel() return values

TEST(Cancellation, CancelReturnsTrueWhileNotDoneAndFalseOnceDone) {
  weft::scheduler sched{1};
  std::latch started{1};
  std::atomic<bool> cleaned{false};
  auto h = sched.spawn(weft_test::yield_until_cancelled(started, cleaned));
  started.wait();
  EXPECT_TRUE(h.cancel("first"));
  h.wait();
  EXPECT_FALSE(h.cancel("after"));
  auto ok = sched.spawn(value_after_yield(1));
  ok.wait();
  EXPECT_FALSE(ok.cancel());
  EXPECT_FALSE(ok.cancelled());
  EXPECT_EQ(ok.result(), 1);
}

TEST(Cancellation, RepeatedCancelsOfARunningTaskAllReturnTrueAndTheFirstMessageWins) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto body = [](std::latch& started, std::latch& release) -> weft::task<void> {
    started.count_down();
    release.wait();           // running, not suspended: the requests pile up
    co_await weft::yield();   // and this suspension point throws
  };
  auto h = sched.spawn(body(started, release));
  started.wait();
  EXPECT_TRUE(h.cancel("first reason"));
  EXPECT_TRUE(h.cancel("second reason"));
  EXPECT_TRUE(h.cancel());
  EXPECT_FALSE(h.done()) << "a started task is not terminal until it reaches a suspension point";
  release.count_down();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  try {
    h.result();
    ADD_FAILURE() << "result() of a cancelled task must throw";
  } catch (const weft::cancelled_error& e) {
    EXPECT_TRUE(contains(e.what(), "first reason"));
    EXPECT_FALSE(contains(e.what(), "second reason"));
    EXPECT_EQ(e.reason().kind, weft::cancel_kind::user);
  }
}

// ---- before the first run

TEST(Cancellation, CancelBeforeFirstRunNeverRunsTheBodyAndIsTerminalWhenCancelReturns) {
  weft::scheduler sched{1};
  std::atomic<int> runs{0};
  worker_pin pin(sched);
  auto h = sched.spawn(mark_and_return(runs, 1));
  EXPECT_FALSE(h.done());
  EXPECT_TRUE(h.cancel("never mind"));
  // Terminal before the (pinned) worker could have looked at it.
  EXPECT_TRUE(h.done());
  EXPECT_TRUE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "never mind");
  EXPECT_FALSE(h.cancel());
  pin.unpin();
  // The worker dequeues it now and drops it: prove the queue moved past it.
  EXPECT_EQ(weft::sync_wait(sched, value_after_yield(2)), 2);
  EXPECT_EQ(runs.load(), 0);
}

TEST(Cancellation, CancelBeforeFirstRunWakesWaitersWithoutTheWorker) {
  weft::scheduler sched{1}, other{1};
  std::atomic<int> runs{0};
  worker_pin pin(sched);
  auto h = sched.spawn(mark_and_return(runs, 1));
  // A task on another scheduler awaits it, and a thread blocks on it.
  auto awaiter = [](weft::task_handle<int> h) -> weft::task<std::string> {
    try {
      co_await h;
    } catch (const weft::cancelled_error& e) {
      co_return e.what();
    }
    co_return "no cancelled_error";
  };
  auto a = other.spawn(awaiter(h));
  std::latch blocked{1};
  std::atomic<bool> woke{false};
  std::thread waiter([&] {
    blocked.count_down();
    h.wait();
    woke = true;
  });
  blocked.wait();
  EXPECT_TRUE(h.cancel("wake up"));
  waiter.join();  // returns although sched's only worker is still pinned
  EXPECT_TRUE(woke.load());
  a.wait();
  EXPECT_TRUE(contains(a.result(), "wake up"));
  EXPECT_FALSE(pin.pinning_task().done());
  pin.unpin();
  EXPECT_EQ(runs.load(), 0);
}

TEST(Cancellation, TaskSpawnedFromATaskAndCancelledBeforeItRunsNeverRuns) {
  weft::scheduler sched{1};
  std::atomic<int> runs{0};
  auto parent = [](std::atomic<int>& runs) -> weft::task<bool> {
    // The only worker is busy with this body: the child is queued behind it.
    weft::task_handle<int> child = weft::spawn(mark_and_return(runs, 1));
    bool accepted = child.cancel();
    bool terminal = child.done() && child.cancelled();
    co_await weft::yield();  // let the worker dequeue (and drop) the child
    co_return accepted && terminal;
  };
  EXPECT_TRUE(weft::sync_wait(sched, parent(runs)));
  EXPECT_EQ(weft::sync_wait(sched, value_after_yield(3)), 3);
  EXPECT_EQ(runs.load(), 0);
}

// ---- while running: every suspension point

TEST(Cancellation, CancelWhileRunningThrowsAtTheNextYieldBeforeSuspending) {
  // One worker, and a task queued behind the body: had the yield suspended,
  // the queued task would run before the body resumed.
  weft::scheduler sched{1};
  struct observed {
    std::latch started{1}, release{1};
    std::atomic<int> reached{0};
    std::atomic<bool> queued_ran{false};
    std::atomic<int> queued_ran_at_throw{-1};
  } o;
  auto body = [](observed& o) -> weft::task<void> {
    auto queued = [](observed& o) -> weft::task<void> {
      o.queued_ran = true;
      co_return;
    };
    weft::task_handle<void> q = weft::spawn(queued(o));
    o.started.count_down();
    o.release.wait();
    o.reached = 1;
    try {
      co_await weft::yield();
    } catch (const weft::cancelled_error&) {
      o.queued_ran_at_throw = o.queued_ran.load() ? 1 : 0;
      throw;
    }
    o.reached = 2;  // never
  };
  auto h = sched.spawn(body(o));
  o.started.wait();
  EXPECT_TRUE(h.cancel("at the yield"));
  o.release.count_down();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(o.reached.load(), 1);
  EXPECT_EQ(o.queued_ran_at_throw.load(), 0) << "the yield suspended before throwing";
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "at the yield");
}

TEST(Cancellation, CancelWhileRunningMakesAwaitingAChildThrowWithoutStartingIt) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  std::atomic<int> child_runs{0};
  auto body = [](std::latch& started, std::latch& release,
                 std::atomic<int>& child_runs) -> weft::task<int> {
    started.count_down();
    release.wait();
    co_return co_await mark_and_return(child_runs, 1);
  };
  auto h = sched.spawn(body(started, release, child_runs));
  started.wait();
  EXPECT_TRUE(h.cancel());
  release.count_down();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(child_runs.load(), 0) << "the check comes before the child starts";
}

TEST(Cancellation, CancelWhileSuspendedInAYieldThrowsOnResuming) {
  // One worker: the task yields, then a second task (queued by the first)
  // holds the worker while the test cancels the suspended first one.
  weft::scheduler sched{1};
  std::latch holder_started{1}, release{1};
  std::atomic<int> after_yield{0};
  auto body = [](std::latch& holder_started, std::latch& release,
                 std::atomic<int>& after_yield) -> weft::task<void> {
    weft::task_handle<void> holder =
        weft::spawn(weft_test::occupy_worker(holder_started, release));
    co_await weft::yield();  // suspends; the holder runs before we resume
    after_yield = 1;         // never: resuming throws
  };
  auto h = sched.spawn(body(holder_started, release, after_yield));
  holder_started.wait();  // so h is suspended in its yield
  EXPECT_FALSE(h.done());
  EXPECT_TRUE(h.cancel("while suspended"));
  EXPECT_FALSE(h.done()) << "a suspended task ends when it resumes, not in cancel()";
  release.count_down();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(after_yield.load(), 0);
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "while suspended");
}

TEST(Cancellation, CancelDuringAnInlineChildThrowsWhenTheParentResumes) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  std::atomic<int> after_child{0};
  auto child = [](std::latch& started, std::latch& release) -> weft::task<int> {
    started.count_down();
    release.wait();
    co_return 1;  // completes without another suspension point
  };
  auto parent = [&child](std::latch& started, std::latch& release,
                         std::atomic<int>& after_child) -> weft::task<int> {
    int v = co_await child(started, release);
    after_child = 1;  // never: the parent's resumption is a cancellation point
    co_return v;
  };
  auto h = sched.spawn(parent(started, release, after_child));
  started.wait();
  EXPECT_TRUE(h.cancel());
  release.count_down();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(after_child.load(), 0);
}

// ---- stickiness

TEST(Cancellation, FlagIsStickyCatchingAndAwaitingAgainThrowsAgain) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  std::atomic<int> caught{0};
  auto body = [](std::latch& started, std::latch& release,
                 std::atomic<int>& caught) -> weft::task<int> {
    started.count_down();
    release.wait();
    for (int i = 0; i < 3; ++i) {
      try {
        co_await weft::yield();
      } catch (const weft::cancelled_error&) {
        caught.fetch_add(1);
      }
    }
    try {
      co_await value_after_yield(1);
    } catch (const weft::cancelled_error&) {
      caught.fetch_add(1);
    }
    co_await weft::yield();  // escapes
    co_return 0;
  };
  auto h = sched.spawn(body(started, release, caught));
  started.wait();
  EXPECT_TRUE(h.cancel("sticky"));
  release.count_down();
  h.wait();
  EXPECT_EQ(caught.load(), 4);
  EXPECT_TRUE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "sticky");
}

TEST(Cancellation, CatchingCancelledErrorAndReturningWithoutAwaitingSucceeds) {
  weft::scheduler sched{1};
  std::latch started{1};
  auto body = [](std::latch& started) -> weft::task<int> {
    started.count_down();
    try {
      for (;;) co_await weft::yield();
    } catch (const weft::cancelled_error&) {
      co_return 99;  // asyncio: swallowing CancelledError un-cancels the task
    }
  };
  auto h = sched.spawn(body(started));
  started.wait();
  EXPECT_TRUE(h.cancel());
  h.wait();
  EXPECT_TRUE(h.done());
  EXPECT_FALSE(h.cancelled());
  EXPECT_EQ(h.result(), 99);
  EXPECT_EQ(h.exception(), nullptr);
}

// ---- cancel racing completion

TEST(Cancellation, CancelRecordedButCompletedWithoutSuspensionKeepsItsResult) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  std::atomic<bool> saw_request{false};
  auto body = [](std::latch& started, std::latch& release,
                 std::atomic<bool>& saw) -> weft::task<int> {
    started.count_down();
    release.wait();
    saw = weft::this_task::cancellation_requested();
    co_return 123;
  };
  auto h = sched.spawn(body(started, release, saw_request));
  started.wait();
  EXPECT_TRUE(h.cancel("too late to matter"));
  release.count_down();
  h.wait();
  EXPECT_TRUE(saw_request.load()) << "the body could have seen the request";
  EXPECT_TRUE(h.done());
  EXPECT_FALSE(h.cancelled());
  EXPECT_EQ(h.result(), 123) << "work that is done is kept";
}

TEST(Cancellation, CancelRacingCompletionHasExactlyOneWinner) {
  // No suspension point in the body: if cancel() wins the race before the
  // body starts the task is cancelled and never ran; otherwise it ran and
  // succeeded with its value (recorded or not). cancel() returns false only
  // when the task was already done.
  constexpr int k_rounds = 20'000;
  weft::scheduler sched{2};
  int cancelled_before_start = 0, recorded_but_completed = 0, lost = 0;
  for (int i = 0; i < k_rounds; ++i) {
    std::atomic<int> runs{0};
    auto h = sched.spawn(mark_and_return(runs, i));
    if (i % 2 == 1) {  // sometimes let the worker get going first
      for (int spin = 0; spin < (i % 64); ++spin) static_cast<void>(h.done());
    }
    bool accepted = h.cancel();
    h.wait();
    ASSERT_TRUE(h.done());
    if (h.cancelled()) {
      ASSERT_TRUE(accepted) << "round " << i << ": cancelled although cancel() returned false";
      ASSERT_EQ(runs.load(), 0) << "round " << i << ": cancelled after its body ran";
      ASSERT_THROW(h.result(), weft::cancelled_error);
      ++cancelled_before_start;
    } else {
      ASSERT_EQ(runs.load(), 1) << "round " << i;
      ASSERT_EQ(h.result(), i) << "round " << i << ": the result must be kept";
      ASSERT_EQ(h.exception(), nullptr);
      ASSERT_FALSE(h.cancel()) << "round " << i << ": cancel() after done must return false";
      if (accepted) {
        ++recorded_but_completed;
      } else {
        ++lost;
      }
    }
  }
  RecordProperty("cancelled_before_start", cancelled_before_start);
  RecordProperty("recorded_but_completed", recorded_but_completed);
  RecordProperty("cancel_returned_false", lost);
  EXPECT_EQ(cancelled_before_start + recorded_but_completed + lost, k_rounds);
}

TEST(Cancellation, CancelFromAnotherThreadRacingASuspendingTaskAgreesWithTheTerminalState) {
  // The body has one suspension point. A false cancel() means the task had
  // completed (so it succeeded); a cancelled task had its cancel accepted.
  constexpr int k_rounds = 5'000;
  weft::scheduler sched{2};
  for (int i = 0; i < k_rounds; ++i) {
    auto h = sched.spawn(value_after_yield(i));
    std::atomic<int> accepted{-1};
    std::thread canceller([&h, &accepted] { accepted = h.cancel() ? 1 : 0; });
    h.wait();
    canceller.join();
    ASSERT_TRUE(h.done());
    if (accepted.load() == 0) {
      ASSERT_FALSE(h.cancelled()) << "round " << i;
      ASSERT_EQ(h.result(), i) << "round " << i;
    }
    if (h.cancelled()) {
      ASSERT_EQ(accepted.load(), 1) << "round " << i;
    } else {
      ASSERT_EQ(h.result(), i) << "round " << i;
    }
  }
}

// ---- awaiting handles

TEST(Cancellation, AwaitingAHandleWhoseTaskEndsCancelledThrowsCancelledErrorWithItsMessage) {
  weft::scheduler sched{1};
  std::atomic<int> runs{0};
  weft::task_handle<int> target;
  {
    worker_pin pin(sched);
    target = sched.spawn(mark_and_return(runs, 1));
    EXPECT_TRUE(target.cancel("target dropped"));
  }
  auto awaiter = [](weft::task_handle<int> h) -> weft::task<int> { co_return co_await h; };
  auto a = sched.spawn(awaiter(target));
  a.wait();
  EXPECT_TRUE(a.cancelled()) << "a cancelled_error escaped: the awaiter ends cancelled";
  try {
    a.result();
    ADD_FAILURE() << "result() must throw";
  } catch (const weft::cancelled_error& e) {
    EXPECT_TRUE(contains(e.what(), "target dropped"));
    EXPECT_EQ(e.reason().message, "target dropped");
  }
  ASSERT_TRUE(a.cancel_reason().has_value());
  EXPECT_EQ(a.cancel_reason()->message, "target dropped");
  EXPECT_EQ(runs.load(), 0);
}

TEST(Cancellation, AwaiterThatCatchesAnAwaitedTasksCancellationIsNotItselfCancelled) {
  weft::scheduler sched{1};
  std::atomic<int> runs{0};
  weft::task_handle<int> target;
  {
    worker_pin pin(sched);
    target = sched.spawn(mark_and_return(runs, 1));
    EXPECT_TRUE(target.cancel());
  }
  auto awaiter = [](weft::task_handle<int> h) -> weft::task<int> {
    int caught = 0;
    try {
      co_await h;
    } catch (const weft::cancelled_error&) {
      caught = 1;
    }
    co_await weft::yield();  // the awaiter's own flag is not set
    co_return caught;
  };
  auto a = sched.spawn(awaiter(target));
  a.wait();
  EXPECT_FALSE(a.cancelled());
  EXPECT_EQ(a.result(), 1);
}

TEST(Cancellation, CancellingATaskThatAwaitsAHandleCancelsTheAwaitedTaskAndResumesWhenItIsTerminal) {
  // One worker: the awaiter spawns the target and suspends on its handle
  // before the target first runs, so it is suspended when cancelled.
  weft::scheduler sched{1};
  struct observed {
    std::latch target_started{1};
    std::atomic<bool> target_cleaned{false};
    std::atomic<int> target_done_at_resume{-1};
    std::atomic<int> target_cleaned_at_resume{-1};
    weft::task_handle<void> target;
  } o;
  auto awaiter = [](observed& o) -> weft::task<void> {
    o.target = weft::spawn(weft_test::yield_until_cancelled(o.target_started, o.target_cleaned));
    weft::task_handle<void> t = o.target;
    try {
      co_await t;
    } catch (const weft::cancelled_error&) {
      o.target_done_at_resume = t.done() ? 1 : 0;
      o.target_cleaned_at_resume = o.target_cleaned.load() ? 1 : 0;
      throw;
    }
  };
  auto a = sched.spawn(awaiter(o));
  o.target_started.wait();
  EXPECT_TRUE(a.cancel("cascade"));
  a.wait();
  EXPECT_TRUE(a.cancelled());
  EXPECT_EQ(o.target_done_at_resume.load(), 1) << "the awaiter resumed before its target ended";
  EXPECT_EQ(o.target_cleaned_at_resume.load(), 1);
  ASSERT_TRUE(o.target.done());
  EXPECT_TRUE(o.target.cancelled()) << "the cancellation must be passed on";
  ASSERT_TRUE(o.target.cancel_reason().has_value());
  EXPECT_EQ(o.target.cancel_reason()->kind, weft::cancel_kind::parent_cancelled);
  EXPECT_EQ(o.target.cancel_reason()->message, "cascade");
  WEFT_EXPECT_THROW_NAMING(a.result(), weft::cancelled_error, "cascade");
}

TEST(Cancellation, CancellingOneOfManyAwaitersOfAHandleCancelsTheSharedTaskForAll) {
  // asyncio semantics: the awaited task is cancelled, whoever else awaits it.
  weft::scheduler sched{2};
  std::latch target_started{1};
  std::atomic<bool> cleaned{false};
  auto target = sched.spawn(weft_test::yield_until_cancelled(target_started, cleaned));
  target_started.wait();
  constexpr int k_awaiters = 8;
  std::latch awaiting{k_awaiters};
  auto await_it = [](weft::task_handle<void> h, std::latch& awaiting) -> weft::task<void> {
    awaiting.count_down();
    co_await h;
  };
  std::vector<weft::task_handle<void>> awaiters;
  for (int i = 0; i < k_awaiters; ++i) awaiters.push_back(sched.spawn(await_it(target, awaiting)));
  awaiting.wait();
  EXPECT_TRUE(awaiters[3].cancel("one of them"));
  target.wait();
  EXPECT_TRUE(target.cancelled());
  for (auto& a : awaiters) {
    a.wait();
    EXPECT_TRUE(a.cancelled());
    WEFT_EXPECT_THROW_NAMING(a.result(), weft::cancelled_error, "one of them");
  }
}

TEST(Cancellation, TaskWhoseCancellationIsRequestedReachingCoAwaitHandlePassesItOn) {
  weft::scheduler sched{2};
  std::latch target_started{1};
  std::atomic<bool> target_cleaned{false};
  auto target = sched.spawn(weft_test::yield_until_cancelled(target_started, target_cleaned));
  target_started.wait();
  std::latch awaiter_started{1}, release{1};
  std::atomic<int> target_done_at_resume{-1};
  auto awaiter = [](weft::task_handle<void> t, std::latch& started, std::latch& release,
                    std::atomic<int>& done_at_resume) -> weft::task<void> {
    started.count_down();
    release.wait();  // cancelled meanwhile, without a suspension point
    try {
      co_await t;
    } catch (const weft::cancelled_error&) {
      done_at_resume = t.done() ? 1 : 0;
      throw;
    }
  };
  auto a = sched.spawn(awaiter(target, awaiter_started, release, target_done_at_resume));
  awaiter_started.wait();
  EXPECT_TRUE(a.cancel("already requested"));
  EXPECT_FALSE(target.done()) << "nothing reached the target yet";
  release.count_down();
  a.wait();
  EXPECT_TRUE(a.cancelled());
  EXPECT_EQ(target_done_at_resume.load(), 1);
  target.wait();
  EXPECT_TRUE(target.cancelled());
  EXPECT_TRUE(target_cleaned.load());
  ASSERT_TRUE(target.cancel_reason().has_value());
  EXPECT_EQ(target.cancel_reason()->message, "already requested");
  WEFT_EXPECT_THROW_NAMING(a.result(), weft::cancelled_error, "already requested");
}

TEST(Cancellation, CancellingATaskWhoseInlineChildAwaitsAHandlePassesItOn) {
  weft::scheduler sched{2};
  std::latch target_started{1};
  std::atomic<bool> cleaned{false};
  auto target = sched.spawn(weft_test::yield_until_cancelled(target_started, cleaned));
  target_started.wait();
  std::latch awaiting{1};
  auto child = [](weft::task_handle<void> t, std::latch& awaiting) -> weft::task<int> {
    awaiting.count_down();
    co_await t;  // the child shares the parent's cancellation
    co_return 1;
  };
  auto parent = [&child](weft::task_handle<void> t, std::latch& awaiting) -> weft::task<int> {
    co_return co_await child(t, awaiting) + 1;
  };
  auto h = sched.spawn(parent(target, awaiting));
  awaiting.wait();
  EXPECT_TRUE(h.cancel("through the child"));
  h.wait();
  EXPECT_TRUE(h.cancelled());
  target.wait();
  EXPECT_TRUE(target.cancelled());
  EXPECT_TRUE(cleaned.load());
  WEFT_EXPECT_THROW_NAMING(target.result(), weft::cancelled_error, "through the child");
}

TEST(Cancellation, CancellationPassesDownAChainOfAwaitedHandles) {
  // a awaits b's handle, b awaits c's handle; cancelling a reaches c, and
  // each awaiter resumes only once what it awaits is terminal.
  weft::scheduler sched{2};
  struct observed {
    std::latch c_started{1};
    std::atomic<bool> c_cleaned{false};
    weft::task_handle<void> b, c;
    std::atomic<int> c_done_when_b_resumed{-1}, b_done_when_a_resumed{-1};
  } o;
  auto level_b = [](observed& o) -> weft::task<void> {
    o.c = weft::spawn(weft_test::yield_until_cancelled(o.c_started, o.c_cleaned));
    weft::task_handle<void> c = o.c;
    try {
      co_await c;
    } catch (const weft::cancelled_error&) {
      o.c_done_when_b_resumed = c.done() ? 1 : 0;
      throw;
    }
  };
  auto level_a = [&level_b](observed& o, std::latch& b_spawned) -> weft::task<void> {
    o.b = weft::spawn(level_b(o));
    weft::task_handle<void> b = o.b;
    b_spawned.count_down();
    try {
      co_await b;
    } catch (const weft::cancelled_error&) {
      o.b_done_when_a_resumed = b.done() ? 1 : 0;
      throw;
    }
  };
  std::latch b_spawned{1};
  auto a = sched.spawn(level_a(o, b_spawned));
  b_spawned.wait();
  o.c_started.wait();
  EXPECT_TRUE(a.cancel("top"));
  a.wait();
  EXPECT_TRUE(a.cancelled());
  EXPECT_EQ(o.b_done_when_a_resumed.load(), 1);
  o.b.wait();
  o.c.wait();
  EXPECT_TRUE(o.b.cancelled());
  EXPECT_TRUE(o.c.cancelled());
  EXPECT_TRUE(o.c_cleaned.load());
  EXPECT_EQ(o.c_done_when_b_resumed.load(), 1);
  ASSERT_TRUE(o.c.cancel_reason().has_value());
  EXPECT_EQ(o.c.cancel_reason()->message, "top");
  WEFT_EXPECT_THROW_NAMING(o.c.result(), weft::cancelled_error, "top");
}

TEST(Cancellation, CancelRacingAnAwaiterReachingCoAwaitHandleAlwaysReachesTheAwaitedTask) {
  // Whether the request lands before, during or after the awaiter arms
  // itself on the handle, the awaited task (which never ends on its own)
  // must be cancelled and the awaiter must end cancelled: never a hang.
  constexpr int k_rounds = 2'000;
  weft::scheduler sched{2};
  for (int i = 0; i < k_rounds; ++i) {
    std::latch target_started{1};
    std::atomic<bool> cleaned{false};
    auto target = sched.spawn(weft_test::yield_until_cancelled(target_started, cleaned));
    auto awaiter = [](weft::task_handle<void> t) -> weft::task<void> { co_await t; };
    auto a = sched.spawn(awaiter(target));
    if (i % 2 == 0) target_started.wait();
    for (int spin = 0; spin < (i % 32) * 8; ++spin) static_cast<void>(a.done());
    ASSERT_TRUE(a.cancel("race")) << "round " << i;
    a.wait();
    ASSERT_TRUE(a.cancelled()) << "round " << i;
    // Not waiting for target_started here: a cancel passed on before the
    // target started ends it without running its body (so it never counts
    // down the latch).
    if (!target.done()) {
      // a was cancelled before it reached its co_await: nothing to pass on.
      ASSERT_TRUE(target.cancel()) << "round " << i;
    }
    target.wait();
    ASSERT_TRUE(target.cancelled()) << "round " << i;
  }
}

TEST(Cancellation, CancelRacingTheStartOfAnAwaitedForkEndsItOnceAndTheAwaiterSeesThatEnd) {
  // The awaiter forks a task and awaits it at once; a cancel from another
  // thread lands before the fork starts, while it runs, or after it ended.
  // Either way the fork ends once, its body runs at most once (never if it
  // ended cancelled: it has no suspension point), and the awaiter sees the
  // end it had.
  constexpr int k_rounds = 2'000;
  weft::scheduler sched{2};
  for (int i = 0; i < k_rounds; ++i) {
    std::atomic<int> body_runs{0};
    std::optional<weft::task_handle<int>> fork;
    std::latch forked{1};
    auto awaiter = [](std::atomic<int>& runs, std::optional<weft::task_handle<int>>& fork,
                      std::latch& forked) -> weft::task<int> {
      auto body = [](std::atomic<int>& runs) -> weft::task<int> {
        runs.fetch_add(1);
        co_return 7;
      };
      fork = weft::spawn(body(runs));
      weft::task_handle<int> h = *fork;
      forked.count_down();
      try {
        co_return co_await h;
      } catch (const weft::cancelled_error&) {
        co_return -1;
      }
    };
    auto a = sched.spawn(awaiter(body_runs, fork, forked));
    forked.wait();
    for (int spin = 0; spin < (i % 32) * 8; ++spin) static_cast<void>(a.done());
    fork->cancel("race");
    a.wait();
    ASSERT_TRUE(fork->done()) << "round " << i;
    if (fork->cancelled()) {
      ASSERT_EQ(a.result(), -1) << "round " << i;
      ASSERT_EQ(body_runs.load(), 0) << "round " << i << ": a fork cancelled unstarted ran";
    } else {
      ASSERT_EQ(a.result(), 7) << "round " << i;
      ASSERT_EQ(body_runs.load(), 1) << "round " << i;
    }
  }
}

TEST(Cancellation, CancelledAwaiterOfADoneHandleStillThrows) {
  weft::scheduler sched{1};
  auto done_target = sched.spawn(value_after_yield(5));
  done_target.wait();
  std::latch started{1}, release{1};
  auto awaiter = [](weft::task_handle<int> t, std::latch& started,
                    std::latch& release) -> weft::task<int> {
    started.count_down();
    release.wait();
    co_return co_await t;
  };
  auto a = sched.spawn(awaiter(done_target, started, release));
  started.wait();
  EXPECT_TRUE(a.cancel("flag set"));
  release.count_down();
  a.wait();
  EXPECT_TRUE(a.cancelled()) << "co_await handle is a cancellation point even when ready";
  EXPECT_EQ(done_target.result(), 5);
}

// ---- messages carried

TEST(Cancellation, TaskEndingCancelledByAnEscapedErrorCarriesThatErrorsMessage) {
  weft::scheduler sched{2};
  std::latch target_started{1};
  std::atomic<bool> cleaned{false};
  auto target = sched.spawn(weft_test::yield_until_cancelled(target_started, cleaned));
  auto middle = [](weft::task_handle<void> t) -> weft::task<void> { co_await t; };
  auto outer = [&middle](weft::task_handle<void> t) -> weft::task<void> {
    co_await middle(t);  // the error escapes an inline child, then this task
  };
  auto a = sched.spawn(outer(target));
  target_started.wait();
  EXPECT_TRUE(target.cancel("root message"));
  a.wait();
  EXPECT_TRUE(a.cancelled());
  EXPECT_FALSE(a.cancel()) << "done";
  WEFT_EXPECT_THROW_NAMING(a.result(), weft::cancelled_error, "root message");
  WEFT_EXPECT_THROW_NAMING(static_cast<void>(a.exception()), weft::cancelled_error,
                           "root message");
}

TEST(Cancellation, CancelledErrorThrownByTheBodyItselfEndsTheTaskCancelledWithItsMessage) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<int> {
    throw weft::cancelled_error(weft::cancel_reason{weft::cancel_kind::user, "self-inflicted"});
    co_return 0;
  };
  auto h = sched.spawn(body());
  h.wait();
  EXPECT_TRUE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "self-inflicted");
}

// ---- who shares a cancellation

TEST(Cancellation, SpawnedTaskIsIndependentOfItsSpawnersCancellation) {
  weft::scheduler sched{2};
  struct shared {
    std::latch child_started{1};
    std::latch spawner_ready{1};
    std::atomic<bool> stop{false};
    weft::task_handle<int> child;
  } s;
  auto child = [](shared& s) -> weft::task<int> {
    s.child_started.count_down();
    while (!s.stop.load()) co_await weft::yield();
    co_return 7;
  };
  auto spawner = [&child](shared& s) -> weft::task<void> {
    s.child = weft::spawn(child(s));
    s.spawner_ready.count_down();
    for (;;) co_await weft::yield();
  };
  auto sp = sched.spawn(spawner(s));
  s.spawner_ready.wait();
  s.child_started.wait();
  EXPECT_TRUE(sp.cancel("spawner only"));
  sp.wait();
  EXPECT_TRUE(sp.cancelled());
  EXPECT_FALSE(s.child.done()) << "cancelling the spawner must not end the spawned task";
  s.stop = true;
  s.child.wait();
  EXPECT_FALSE(s.child.cancelled());
  EXPECT_EQ(s.child.result(), 7);
}

TEST(Cancellation, InlineChildSharesItsCallersCancellation) {
  weft::scheduler sched{1};
  std::latch child_started{1};
  std::atomic<int> child_saw_request{-1};
  auto child = [](std::latch& started, std::atomic<int>& saw) -> weft::task<int> {
    started.count_down();
    while (!weft::this_task::cancellation_requested()) {
    }
    saw = 1;  // the parent's cancel is the child's
    co_await weft::yield();
    co_return 0;  // never
  };
  auto parent = [&child](std::latch& started, std::atomic<int>& saw) -> weft::task<int> {
    co_return co_await child(started, saw);
  };
  auto h = sched.spawn(parent(child_started, child_saw_request));
  child_started.wait();
  EXPECT_TRUE(h.cancel("shared"));
  h.wait();
  EXPECT_EQ(child_saw_request.load(), 1);
  EXPECT_TRUE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "shared");
}

// ---- this_task::

TEST(Cancellation, CancellationRequestedLetsAComputeLoopStopWithoutSuspending) {
  weft::scheduler sched{1};
  std::latch started{1};
  auto body = [](std::latch& started) -> weft::task<long> {
    started.count_down();
    long iterations = 0;
    while (!weft::this_task::cancellation_requested()) ++iterations;
    co_return iterations >= 0 ? 1 : 0;
  };
  auto h = sched.spawn(body(started));
  started.wait();
  EXPECT_FALSE(h.done());
  EXPECT_TRUE(h.cancel());
  h.wait();
  EXPECT_FALSE(h.cancelled()) << "returned without another suspension point";
  EXPECT_EQ(h.result(), 1);
}

TEST(Cancellation, CancellationRequestedIsFalseWithoutARequest) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<bool> {
    bool before = weft::this_task::cancellation_requested();
    co_await weft::yield();
    co_return before || weft::this_task::cancellation_requested();
  };
  EXPECT_FALSE(weft::sync_wait(sched, body()));
}

TEST(Cancellation, ThrowIfCancelledThrowsCancelledErrorWithTheMessage) {
  weft::scheduler sched{1};
  std::latch started{1};
  std::atomic<int> checks{0};
  auto body = [](std::latch& started, std::atomic<int>& checks) -> weft::task<void> {
    started.count_down();
    for (;;) {
      weft::this_task::throw_if_cancelled();
      checks.fetch_add(1, std::memory_order_relaxed);
    }
    co_return;  // makes this a coroutine; never reached
  };
  auto h = sched.spawn(body(started, checks));
  started.wait();
  EXPECT_TRUE(h.cancel("compute stop"));
  h.wait();
  EXPECT_TRUE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "compute stop");
}

TEST(Cancellation, ThisTaskOutsideATaskThrowsInvalidStateNamingTheFix) {
  WEFT_EXPECT_THROW_NAMING(static_cast<void>(weft::this_task::cancellation_requested()),
                           weft::invalid_state_error, "call it from the body of a task");
  WEFT_EXPECT_THROW_NAMING(weft::this_task::throw_if_cancelled(), weft::invalid_state_error,
                           "call it from the body of a task");
}

TEST(Cancellation, ThisTaskSeesTheRightTaskAfterResumingOnAnyWorker) {
  // Two tasks interleave on the workers; only one is cancelled, and each
  // must see its own flag after every resumption.
  weft::scheduler sched{2};
  std::latch started{2};
  auto body = [](std::latch& started) -> weft::task<int> {
    started.count_down();
    int seen = 0;
    try {
      for (;;) {
        if (weft::this_task::cancellation_requested()) ++seen;
        co_await weft::yield();
      }
    } catch (const weft::cancelled_error&) {
    }
    co_return seen;
  };
  auto victim = sched.spawn(body(started));
  std::atomic<bool> stop{false};
  auto bystander_body = [](std::latch& started, std::atomic<bool>& stop) -> weft::task<int> {
    started.count_down();
    int wrong = 0;
    while (!stop.load()) {
      if (weft::this_task::cancellation_requested()) ++wrong;
      co_await weft::yield();
    }
    co_return wrong;
  };
  auto bystander = sched.spawn(bystander_body(started, stop));
  started.wait();
  EXPECT_TRUE(victim.cancel());
  victim.wait();
  stop = true;
  bystander.wait();
  EXPECT_FALSE(victim.cancelled());
  EXPECT_LE(victim.result(), 1);
  EXPECT_EQ(bystander.result(), 0) << "a bystander saw another task's cancellation";
}
