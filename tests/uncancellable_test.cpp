// weft::uncancellable and uncancellable(task, grace): cleanup that must
// suspend. Neither entry nor return throws because of the caller's
// cancellation, the cleanup runs to completion with cancellation masked,
// and the pending cancellation fires at the caller's next suspension point.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using weft_test::contains;

namespace {

// A cleanup that suspends in every way (yield, sleep, an inline child);
// none of them may throw because of the caller's cancellation.
weft::task<int> suspending_cleanup(std::atomic<int>& steps) {
  auto inline_child = [](std::atomic<int>& steps) -> weft::task<void> {
    co_await weft::yield();
    steps.fetch_add(1);
  };
  co_await weft::yield();
  steps.fetch_add(1);
  co_await weft::sleep_for(1ms);
  steps.fetch_add(1);
  co_await inline_child(steps);
  co_return 42;
}

struct gate {
  std::latch running{1};
  std::latch release{1};
};

// Reaches uncancellable() with its cancellation already requested.
weft::task<int> cleanup_after_cancel(gate& g, std::atomic<int>& steps, std::atomic<int>& got,
                                     std::atomic<bool>& next_point_threw) {
  g.running.count_down();
  g.release.wait();  // cancelled meanwhile, without a suspension point
  got = co_await weft::uncancellable(suspending_cleanup(steps));
  try {
    co_await weft::yield();
  } catch (const weft::cancelled_error&) {
    next_point_threw = true;
    throw;
  }
  co_return 0;
}

}  // namespace

TEST(Uncancellable, ReturnsTheChildsValue) {
  weft::scheduler sched{2};
  std::atomic<int> steps{0};
  auto body = [](std::atomic<int>& steps) -> weft::task<int> {
    co_return co_await weft::uncancellable(suspending_cleanup(steps));
  };
  EXPECT_EQ(weft::sync_wait(sched, body(steps)), 42);
  EXPECT_EQ(steps.load(), 3);
}

TEST(Uncancellable, RethrowsTheChildsException) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<void> {
    auto fail = []() -> weft::task<void> {
      co_await weft::yield();
      throw std::runtime_error("flush failed");
    };
    co_await weft::uncancellable(fail());
  };
  auto h = sched.spawn(body());
  h.wait();
  WEFT_EXPECT_THROW_NAMING(h.result(), std::runtime_error, "flush failed");
}

TEST(Uncancellable, GivenAMovedFromTaskThrowsInvalidStateNamingTheFixAndLeaksNothing) {
  using weft_test::counted;
  counted::reset();
  {
    weft::scheduler sched{2};
    std::string masked = weft_test::misuse_message(sched, []() -> weft::task<void> {
      co_await weft::uncancellable(weft_test::moved_from_task());
    });
    EXPECT_TRUE(contains(masked, "create a new one")) << masked;
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

TEST(Uncancellable, PendingCancellationDoesNotThrowOnEntryNorInsideNorOnReturnButAtTheNextPoint) {
  weft::scheduler sched{2};
  gate g;
  std::atomic<int> steps{0}, got{0};
  std::atomic<bool> next_point_threw{false};
  auto h = sched.spawn(cleanup_after_cancel(g, steps, got, next_point_threw));
  g.running.wait();
  EXPECT_TRUE(h.cancel("closing"));
  g.release.count_down();
  h.wait();
  EXPECT_EQ(steps.load(), 3) << "the cleanup ran to completion";
  EXPECT_EQ(got.load(), 42) << "uncancellable() returned the cleanup's value";
  EXPECT_TRUE(next_point_threw.load());
  EXPECT_TRUE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "closing");
}

TEST(Uncancellable, CancelArrivingWhileTheCleanupRunsIsMaskedUntilItEnds) {
  weft::scheduler sched{2};
  struct observed {
    std::latch in_cleanup{1};
    std::atomic<bool> cancelled_by_test{false};
    std::atomic<bool> cleanup_saw_request{false};
    std::atomic<bool> cleanup_finished{false};
    std::atomic<bool> returned{false};
  } o;
  auto cleanup = [](observed& o) -> weft::task<void> {
    o.in_cleanup.count_down();
    while (!o.cancelled_by_test.load()) co_await weft::yield();
    co_await weft::sleep_for(1ms);
    o.cleanup_saw_request = weft::this_task::cancellation_requested();
    o.cleanup_finished = true;
  };
  auto body = [](decltype(cleanup) c, observed& o) -> weft::task<void> {
    co_await weft::uncancellable(c(o));
    o.returned = true;
    co_await weft::yield();  // throws here
  };
  auto h = sched.spawn(body(cleanup, o));
  o.in_cleanup.wait();
  EXPECT_TRUE(h.cancel());
  o.cancelled_by_test = true;
  h.wait();
  EXPECT_TRUE(o.cleanup_finished.load());
  EXPECT_FALSE(o.cleanup_saw_request.load()) << "the cleanup runs with cancellation masked";
  EXPECT_TRUE(o.returned.load()) << "uncancellable() must not throw on return";
  EXPECT_TRUE(h.cancelled());
}

TEST(Uncancellable, TheCatchCleanupRethrowIdiomEndsCancelledWithTheOriginalReason) {
  weft::scheduler sched{2};
  std::latch asleep{1};
  std::atomic<int> steps{0};
  auto body = [](std::latch& asleep, std::atomic<int>& steps) -> weft::task<void> {
    std::exception_ptr cancelled;
    try {
      asleep.count_down();
      co_await weft::sleep_for(1h);
    } catch (const weft::cancelled_error&) {
      cancelled = std::current_exception();
    }
    co_await weft::uncancellable(suspending_cleanup(steps));
    if (cancelled) std::rethrow_exception(cancelled);
  };
  auto h = sched.spawn(body(asleep, steps));
  asleep.wait();
  h.cancel("shutting down");
  h.wait();
  EXPECT_EQ(steps.load(), 3);
  EXPECT_TRUE(h.cancelled());
  ASSERT_TRUE(h.cancel_reason().has_value());
  EXPECT_EQ(*h.cancel_reason(), (weft::cancel_reason{weft::cancel_kind::user, "shutting down"}));
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "shutting down");
}

TEST(Uncancellable, GraceCancelsAStuckCleanupWithReasonTimeoutAndThrowsTimeoutError) {
  weft::scheduler sched{2};
  struct seen {
    std::atomic<bool> cancelled{false};
    weft::cancel_kind kind{};
  } s;
  auto stuck = [](seen& s) -> weft::task<void> {
    try {
      co_await weft::sleep_for(1h);
    } catch (const weft::cancelled_error& e) {
      s.kind = e.reason().kind;
      s.cancelled = true;
      throw;
    }
  };
  auto body = [](decltype(stuck) st, seen& s) -> weft::task<void> {
    co_await weft::uncancellable(st(s), 20ms);
  };
  auto start = clock_type::now();
  auto h = sched.spawn(body(stuck, s));
  h.wait();
  EXPECT_LT(clock_type::now() - start, 10s);
  EXPECT_THROW(h.result(), weft::timeout_error);
  EXPECT_TRUE(s.cancelled.load());
  EXPECT_EQ(s.kind, weft::cancel_kind::timeout);
}

TEST(Uncancellable, GraceDoesNotTouchACleanupThatFinishesInTime) {
  weft::scheduler sched{2};
  std::atomic<int> steps{0};
  auto body = [](std::atomic<int>& steps) -> weft::task<int> {
    co_return co_await weft::uncancellable(suspending_cleanup(steps), 1h);
  };
  EXPECT_EQ(weft::sync_wait(sched, body(steps)), 42);
}

TEST(Uncancellable, SchedulerShutdownDoesNotCancelARunningCleanup) {
  std::latch in_cleanup{1};
  std::atomic<bool> finished{false};
  std::atomic<bool> saw_cancel{false};
  weft::task_handle<void> h;
  {
    weft::scheduler sched{2};
    auto cleanup = [](std::latch& in, std::atomic<bool>& finished,
                      std::atomic<bool>& saw) -> weft::task<void> {
      in.count_down();
      try {
        co_await weft::sleep_for(20ms);
        co_await weft::yield();
      } catch (const weft::cancelled_error&) {
        saw = true;
        throw;
      }
      finished = true;
    };
    auto body = [](decltype(cleanup) c, std::latch& in, std::atomic<bool>& finished,
                   std::atomic<bool>& saw) -> weft::task<void> {
      co_await weft::uncancellable(c(in, finished, saw));
    };
    h = sched.spawn(body(cleanup, in_cleanup, finished, saw_cancel));
    in_cleanup.wait();
  }  // ~scheduler: cancels the owner, but the cleanup runs to its end
  EXPECT_TRUE(finished.load());
  EXPECT_FALSE(saw_cancel.load());
  EXPECT_TRUE(h.done());
}

TEST(Uncancellable, ChildrenOfACleanupStillQueuedAtShutdownRunToo) {
  // One worker: the cleanup's when_all runs child 0 inline, which keeps the
  // worker until the scheduler is shutting down (seen as a spawn that
  // comes back already cancelled), so children 1..3 are still queued then.
  // Queued tasks are dropped at shutdown, but not a cleanup's: all four run.
  std::latch in_cleanup{1};
  std::atomic<int> ran{0};
  weft::task_handle<void> h;
  {
    weft::scheduler sched{1};
    auto noop = []() -> weft::task<void> { co_return; };
    auto first = [](decltype(noop) n, std::latch& in, std::atomic<int>& ran) -> weft::task<void> {
      in.count_down();
      while (!weft::spawn(n()).cancelled()) std::this_thread::yield();
      ran.fetch_add(1);
      co_return;
    };
    auto other = [](std::atomic<int>& ran) -> weft::task<void> {
      ran.fetch_add(1);
      co_return;
    };
    auto cleanup = [](decltype(first) f, decltype(other) o, decltype(noop) n, std::latch& in,
                      std::atomic<int>& ran) -> weft::task<void> {
      std::vector<weft::task<void>> children;
      children.push_back(f(n, in, ran));
      for (int i = 0; i < 3; ++i) children.push_back(o(ran));
      co_await weft::when_all(std::move(children));
    };
    auto body = [](decltype(cleanup) c, decltype(first) f, decltype(other) o, decltype(noop) n,
                   std::latch& in, std::atomic<int>& ran) -> weft::task<void> {
      co_await weft::uncancellable(c(f, o, n, in, ran));
    };
    h = sched.spawn(body(cleanup, first, other, noop, in_cleanup, ran));
    in_cleanup.wait();
  }  // ~scheduler while children 1..3 are queued behind child 0
  EXPECT_EQ(ran.load(), 4);
  EXPECT_TRUE(h.done());
  EXPECT_FALSE(h.cancelled());
}

TEST(Uncancellable, AStuckCleanupWithGraceCannotHangShutdown) {
  std::latch in_cleanup{1};
  auto start = clock_type::now();
  weft::task_handle<void> h;
  {
    weft::scheduler sched{2};
    auto stuck = [](std::latch& in) -> weft::task<void> {
      in.count_down();
      co_await weft::sleep_for(1h);
    };
    auto body = [](decltype(stuck) st, std::latch& in) -> weft::task<void> {
      co_await weft::uncancellable(st(in), 30ms);
    };
    h = sched.spawn(body(stuck, in_cleanup));
    in_cleanup.wait();
  }
  EXPECT_LT(clock_type::now() - start, 10s);
  EXPECT_TRUE(h.done());
}

TEST(Uncancellable, CancelRacingTheCleanupsEndNeverThrowsFromUncancellableItself) {
  weft::scheduler sched{2};
  struct observed {
    std::atomic<bool> entered{false};
    std::atomic<bool> returned{false};
  };
  auto cleanup = []() -> weft::task<int> {
    co_await weft::yield();
    co_return 1;
  };
  auto body = [](decltype(cleanup) c, observed& o) -> weft::task<int> {
    o.entered = true;
    int v = co_await weft::uncancellable(c());
    o.returned = true;
    co_return v;
  };
  for (int i = 0; i < 1000; ++i) {
    observed o;
    auto h = sched.spawn(body(cleanup, o));
    while (!o.entered.load() && !h.done()) std::this_thread::yield();
    for (int spin = 0; spin < (i % 32) * 8; ++spin) static_cast<void>(h.done());
    h.cancel();
    h.wait();
    if (o.entered.load()) {
      // Once entered, the cleanup's end is never lost to the cancel.
      ASSERT_TRUE(o.returned.load()) << "round " << i;
      ASSERT_EQ(h.result(), 1);
    }
  }
}

TEST(Uncancellable, ShutdownDoesNotCancelCleanupWaitingOnAFuture) {
  // The cleanup waits on a future that only the test thread sets; a plain
  // task waits on another one. ~scheduler cancels the plain task's wait
  // (its foreign wait) but must leave the cleanup's alone, and waits for it.
  weft::future<int> for_cleanup, for_plain;
  std::atomic<int> cleanup_got{-1};
  auto cleanup = [](weft::future<int> f, std::atomic<int>& got) -> weft::task<void> {
    auto inner = [](weft::future<int> f, std::atomic<int>& got) -> weft::task<void> {
      got = co_await f;
    };
    co_await weft::uncancellable(inner(std::move(f), got));
  };
  auto plain = [](weft::future<int> f) -> weft::task<int> { co_return co_await f; };
  auto sched = std::make_unique<weft::scheduler>(1);
  auto c = sched->spawn(cleanup(for_cleanup, cleanup_got));
  auto p = sched->spawn(plain(for_plain));
  weft_test::run_queued_tasks(*sched);
  std::thread destroyer([&] { sched.reset(); });
  p.wait();  // cancelled by the shutdown's pass over the foreign waits
  EXPECT_TRUE(p.cancelled());
  EXPECT_FALSE(for_cleanup.done()) << "shutdown cancelled the cleanup's wait";
  EXPECT_TRUE(for_cleanup.set_value(7));
  destroyer.join();
  EXPECT_EQ(cleanup_got.load(), 7);
  EXPECT_TRUE(c.done());
}
