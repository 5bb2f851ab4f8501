// weft::timeout: asyncio.wait_for / asyncio.timeout, which never discards
// the child's result. The child's fate decides the outcome; the caller's
// own cancellation is told apart from the timeout.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "support.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using weft_test::contains;

namespace {

// What a child saw of its own cancellation.
using probe = weft_test::child_probe;
using weft_test::end_guard;

weft::task<int> sleep_then_return(clock_type::duration d, int v, probe& p) {
  end_guard g{p.ended};
  p.started = true;
  try {
    co_await weft::sleep_for(d);
  } catch (const weft::cancelled_error& e) {
    p.seen = e.reason();
    throw;
  }
  co_return v;
}

weft::task<int> return_without_suspending(int v, probe& p) {
  p.started = true;
  co_return v;
}

weft::task<int> yield_then_return(int v, probe& p) {
  end_guard g{p.ended};
  p.started = true;
  try {
    co_await weft::yield();
  } catch (const weft::cancelled_error& e) {
    p.seen = e.reason();
    throw;
  }
  co_return v;
}

// Swallows its cancellation and still returns a value.
weft::task<int> return_anyway_when_cancelled(int v, probe& p) {
  end_guard g{p.ended};
  try {
    co_await weft::sleep_for(1h);
  } catch (const weft::cancelled_error& e) {
    p.seen = e.reason();
  }
  co_return v;
}

// Answers its cancellation with another exception.
weft::task<int> fail_when_cancelled(probe& p) {
  end_guard g{p.ended};
  try {
    co_await weft::sleep_for(1h);
  } catch (const weft::cancelled_error& e) {
    p.seen = e.reason();
  }
  throw std::runtime_error("cleanup failed");
}

// The caller: whatever timeout() returns or throws becomes its own outcome.
weft::task<int> call_with_timeout(clock_type::duration limit, weft::task<int> child) {
  co_return co_await weft::timeout(limit, std::move(child));
}

}  // namespace

TEST(Timeout, ChildThatFinishesInTimeReturnsItsValue) {
  weft::scheduler sched{2};
  probe p;
  EXPECT_EQ(weft::sync_wait(sched, call_with_timeout(1h, yield_then_return(7, p))), 7);
  EXPECT_FALSE(p.seen.has_value());
}

TEST(Timeout, ExpiredChildIsCancelledWithReasonTimeoutAwaitedAndTimeoutErrorIsThrown) {
  weft::scheduler sched{2};
  probe p;
  auto h = sched.spawn(call_with_timeout(20ms, sleep_then_return(1h, 1, p)));
  h.wait();
  EXPECT_FALSE(h.cancelled()) << "a timeout is a failure of the caller, not its cancellation";
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::timeout_error, "weft::timeout_error");
  // The child ended (awaited to its terminal state) before timeout() threw.
  EXPECT_TRUE(p.ended.load());
  ASSERT_TRUE(p.seen.has_value());
  EXPECT_EQ(p.seen->kind, weft::cancel_kind::timeout);
}

TEST(Timeout, TimeoutErrorIsAWeftErrorAndNotACancelledError) {
  weft::scheduler sched{1};
  probe p;
  auto body = [](probe& p) -> weft::task<std::string> {
    try {
      co_await weft::timeout(1ms, sleep_then_return(1h, 1, p));
    } catch (const weft::cancelled_error&) {
      co_return "cancelled_error";
    } catch (const weft::error&) {
      co_return "weft::error";
    }
    co_return "nothing";
  };
  EXPECT_EQ(weft::sync_wait(sched, body(p)), "weft::error");
}

TEST(Timeout, CallerCancelledFirstGetsCancelledErrorNotTimeoutError) {
  weft::scheduler sched{2};
  probe p;
  auto h = sched.spawn(call_with_timeout(1h, sleep_then_return(1h, 1, p)));
  while (!p.started.load()) std::this_thread::yield();
  // The children sleep an hour: the wait below ends only if the cancel
  // cut their sleeps short (the guard reports a hang long before).
  weft_test::hang_guard guard(std::chrono::seconds(60), "the cancelled caller's wait");
  EXPECT_TRUE(h.cancel("caller goes away"));
  h.wait();
  EXPECT_TRUE(h.cancelled());
  try {
    h.result();
    ADD_FAILURE() << "result() must throw cancelled_error";
  } catch (const weft::cancelled_error& e) {
    EXPECT_EQ(e.reason().kind, weft::cancel_kind::user);
    EXPECT_EQ(e.reason().message, "caller goes away");
  } catch (const weft::timeout_error&) {
    ADD_FAILURE() << "the caller's cancellation must not look like a timeout";
  }
  EXPECT_TRUE(p.ended.load());
  ASSERT_TRUE(p.seen.has_value());
  EXPECT_EQ(p.seen->kind, weft::cancel_kind::parent_cancelled);
  EXPECT_EQ(p.seen->message, "caller goes away");
}

namespace {
// Holds its worker after the timeout cancelled it until `release` opens,
// then ends cancelled.
struct fired_gate {
  std::latch fired{1};
  std::latch release{1};
};
weft::task<int> hold_after_timeout(fired_gate& g) {
  try {
    co_await weft::sleep_for(1h);
  } catch (const weft::cancelled_error&) {
    g.fired.count_down();
    g.release.wait();
    throw;
  }
  co_return 0;
}
}  // namespace

TEST(Timeout, CallerCancelledAfterTheTimerFiredButBeforeTheChildEndedGetsCancelledError) {
  weft::scheduler sched{2};
  fired_gate g;
  auto h = sched.spawn(call_with_timeout(1ms, hold_after_timeout(g)));
  g.fired.wait();  // the timer has cancelled the child; the child has not ended
  EXPECT_TRUE(h.cancel("caller cancelled too"));
  g.release.count_down();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "caller cancelled too");
}

TEST(Timeout, ChildThatStillReturnsAValueAfterTheTimeoutKeepsIt) {
  weft::scheduler sched{2};
  probe p;
  EXPECT_EQ(weft::sync_wait(sched, call_with_timeout(5ms, return_anyway_when_cancelled(9, p))), 9);
  ASSERT_TRUE(p.seen.has_value());
  EXPECT_EQ(p.seen->kind, weft::cancel_kind::timeout);
}

TEST(Timeout, ChildThatFailsWithAnotherExceptionPropagatesIt) {
  weft::scheduler sched{2};
  probe p;
  auto h = sched.spawn(call_with_timeout(5ms, fail_when_cancelled(p)));
  h.wait();
  WEFT_EXPECT_THROW_NAMING(h.result(), std::runtime_error, "cleanup failed");
  ASSERT_TRUE(p.seen.has_value());
  EXPECT_EQ(p.seen->kind, weft::cancel_kind::timeout);
}

TEST(Timeout, ChildThatFailsBeforeTheTimeoutPropagatesItsException) {
  weft::scheduler sched{1};
  auto failing = []() -> weft::task<int> {
    co_await weft::yield();
    throw std::logic_error("bad input");
  };
  auto h = sched.spawn(call_with_timeout(1h, failing()));
  h.wait();
  WEFT_EXPECT_THROW_NAMING(h.result(), std::logic_error, "bad input");
}

TEST(Timeout, ZeroDurationStillStartsTheChildAndCancelsItAtItsFirstSuspensionPoint) {
  weft::scheduler sched{1};
  probe p;
  auto h = sched.spawn(call_with_timeout(0ms, yield_then_return(1, p)));
  h.wait();
  EXPECT_TRUE(p.started.load());
  EXPECT_THROW(h.result(), weft::timeout_error);
  ASSERT_TRUE(p.seen.has_value());
  EXPECT_EQ(p.seen->kind, weft::cancel_kind::timeout);
}

TEST(Timeout, NegativeDurationStillStartsTheChildAndCancelsItAtItsFirstSuspensionPoint) {
  weft::scheduler sched{1};
  probe p;
  auto h = sched.spawn(call_with_timeout(-5s, yield_then_return(1, p)));
  h.wait();
  EXPECT_TRUE(p.started.load());
  EXPECT_THROW(h.result(), weft::timeout_error);
}

TEST(Timeout, ZeroDurationChildThatFinishesBeforeAnySuspensionPointReturnsItsResult) {
  weft::scheduler sched{1};
  probe p;
  EXPECT_EQ(weft::sync_wait(sched, call_with_timeout(0ms, return_without_suspending(4, p))), 4);
  EXPECT_TRUE(p.started.load());
}

TEST(Timeout, VoidAndMoveOnlyChildrenWork) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<int> {
    auto v = []() -> weft::task<void> { co_await weft::yield(); };
    auto m = []() -> weft::task<std::unique_ptr<int>> {
      co_await weft::yield();
      co_return std::make_unique<int>(5);
    };
    co_await weft::timeout(1h, v());
    std::unique_ptr<int> p = co_await weft::timeout(1h, m());
    co_return *p;
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), 5);
}

TEST(Timeout, GivenAMovedFromTaskThrowsInvalidStateNamingTheFixAndLeaksNothing) {
  using weft_test::counted;
  counted::reset();
  {
    weft::scheduler sched{2};
    std::string timed = weft_test::misuse_message(sched, []() -> weft::task<void> {
      co_await weft::timeout(1s, weft_test::moved_from_task());
    });
    EXPECT_TRUE(contains(timed, "create a new one")) << timed;
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

TEST(Timeout, HugeDurationDoesNotOverflow) {
  weft::scheduler sched{1};
  probe p;
  auto body = [](probe& p) -> weft::task<int> {
    co_return co_await weft::timeout(std::chrono::hours::max(), yield_then_return(3, p));
  };
  EXPECT_EQ(weft::sync_wait(sched, body(p)), 3);
}

TEST(Timeout, CancellingTheCallerWakesItPromptlyAndTheChildIsTerminalWhenItResumes) {
  weft::scheduler sched{2};
  probe p;
  std::atomic<int> child_ended_when_caller_resumed{-1};
  auto caller = [](probe& p, std::atomic<int>& seen) -> weft::task<void> {
    try {
      co_await weft::timeout(1h, sleep_then_return(1h, 1, p));
    } catch (const weft::cancelled_error&) {
      seen = p.ended.load() ? 1 : 0;
      throw;
    }
  };
  auto h = sched.spawn(caller(p, child_ended_when_caller_resumed));
  while (!p.started.load()) std::this_thread::yield();
  // The children sleep an hour: the wait below ends only if the cancel
  // cut their sleeps short (the guard reports a hang long before).
  weft_test::hang_guard guard(std::chrono::seconds(60), "the cancelled caller's wait");
  h.cancel();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(child_ended_when_caller_resumed.load(), 1);
}

// ---- races

TEST(Timeout, ChildFinishingWhileTheTimerFiresIsNeverDiscarded) {
  // The child finishes around the deadline, many times. Whenever its body
  // reached co_return, timeout() must return the value; otherwise the
  // child ended cancelled and timeout_error is thrown. Nothing else.
  weft::scheduler sched{2};
  auto child = [](std::atomic<bool>& returned, clock_type::duration d) -> weft::task<int> {
    co_await weft::sleep_for(d);
    returned = true;
    co_return 11;
  };
  auto caller = [](weft::task<int> c, clock_type::duration limit) -> weft::task<int> {
    try {
      co_return co_await weft::timeout(limit, std::move(c));
    } catch (const weft::timeout_error&) {
      co_return -1;
    }
  };
  int values = 0, timeouts = 0;
  for (int i = 0; i < 1000; ++i) {
    std::atomic<bool> returned{false};
    auto d = std::chrono::microseconds(i % 40);
    auto limit = std::chrono::microseconds((i * 7) % 40);
    int r = weft::sync_wait(sched, caller(child(returned, d), limit));
    if (returned.load()) {
      ASSERT_EQ(r, 11) << "round " << i << ": a finished child's value was discarded";
      ++values;
    } else {
      ASSERT_EQ(r, -1) << "round " << i;
      ++timeouts;
    }
  }
  EXPECT_EQ(values + timeouts, 1000);
}

TEST(Timeout, CallerCancelRacingTheTimerGivesExactlyOneConsistentOutcome) {
  // The caller's cancel and the timer race; the caller catches
  // timeout_error and returns. Whatever the interleaving: one terminal
  // state; ending cancelled always carries the caller's (user) reason and
  // never a timeout_error; the child has ended.
  weft::scheduler sched{2};
  auto caller = [](probe& p, clock_type::duration limit) -> weft::task<int> {
    try {
      co_return co_await weft::timeout(limit, sleep_then_return(1h, 1, p));
    } catch (const weft::timeout_error&) {
      co_return -1;
    }
  };
  int cancelled = 0, timed_out = 0;
  for (int i = 0; i < 1000; ++i) {
    probe p;
    auto h = sched.spawn(caller(p, std::chrono::microseconds(i % 30)));
    while (!p.started.load() && !h.done()) std::this_thread::yield();
    const bool accepted = h.cancel("race");
    h.wait();
    ASSERT_TRUE(p.ended.load()) << "round " << i << ": the child outlived timeout()";
    if (h.cancelled()) {
      ASSERT_TRUE(accepted);
      ASSERT_TRUE(h.cancel_reason().has_value());
      ASSERT_EQ(h.cancel_reason()->kind, weft::cancel_kind::user);
      try {
        h.result();
      } catch (const weft::cancelled_error& e) {
        ASSERT_EQ(e.reason().message, "race");
      }
      ++cancelled;
    } else {
      // The timer won and the caller returned before meeting the cancel.
      ASSERT_EQ(h.result(), -1) << "round " << i;
      ++timed_out;
    }
  }
  EXPECT_EQ(cancelled + timed_out, 1000);
}
