// weft::when_any: the first of several tasks to finish: its index and
// value, the others cancelled and awaited before it returns (no orphans),
// the first failure rethrown.

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
#include <utility>
#include <variant>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using weft_test::child_probe;
using weft_test::contains;
using weft_test::counted;
using weft_test::hold_counted_and_sleep;
using weft_test::sleep_for_an_hour;
using weft_test::value_after_yield;

namespace {

// Finishes once `go` is set (yielding meanwhile).
weft::task<int> value_when(std::atomic<bool>& go, int v) {
  while (!go.load()) co_await weft::yield();
  co_return v;
}

// Returns counted(`v`) without suspending: children made of it finish at once.
weft::task<counted> counted_at_once(int v) { co_return counted(v); }

}  // namespace

TEST(WhenAny, ReturnsTheIndexAndValueOfTheFirstToFinish) {
  weft::scheduler sched{2};
  child_probe p0, p2;
  auto body = [](child_probe& p0, child_probe& p2) -> weft::task<std::pair<std::size_t, int>> {
    std::vector<weft::task<int>> tasks;
    tasks.push_back(sleep_for_an_hour(p0));
    tasks.push_back(value_after_yield(42));
    tasks.push_back(sleep_for_an_hour(p2));
    co_return co_await weft::when_any(std::move(tasks));
  };
  auto [index, value] = weft::sync_wait(sched, body(p0, p2));
  EXPECT_EQ(index, 1u);
  EXPECT_EQ(value, 42);
}

TEST(WhenAny, TheOthersAreCancelledAndAwaitedBeforeItReturns) {
  weft::scheduler sched{2};
  child_probe p0, p2;
  auto body = [](child_probe& p0, child_probe& p2) -> weft::task<int> {
    std::vector<weft::task<int>> tasks;
    tasks.push_back(sleep_for_an_hour(p0));
    tasks.push_back(value_after_yield(42));
    tasks.push_back(sleep_for_an_hour(p2));
    co_await weft::when_any(std::move(tasks));
    // No orphans: every loser that started has ended by now (one cancelled
    // before it started never runs).
    co_return int(p0.started.load() && !p0.ended.load()) +
        int(p2.started.load() && !p2.ended.load());
  };
  EXPECT_EQ(weft::sync_wait(sched, body(p0, p2)), 0);
  for (child_probe* p : {&p0, &p2}) {
    if (!p->started.load()) continue;  // cancelled before it started: never ran
    ASSERT_TRUE(p->seen.has_value());
    EXPECT_EQ(p->seen->kind, weft::cancel_kind::parent_cancelled);
  }
}

TEST(WhenAny, VoidTasksGiveMonostate) {
  weft::scheduler sched{2};
  auto body = []() -> weft::task<std::size_t> {
    auto v = []() -> weft::task<void> { co_await weft::yield(); };
    std::vector<weft::task<void>> tasks;
    tasks.push_back(v());
    auto [index, value] = co_await weft::when_any(std::move(tasks));
    static_assert(std::is_same_v<decltype(value), std::monostate>);
    co_return index;
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), 0u);
}

TEST(WhenAny, MoveOnlyValueIsMovedOut) {
  weft::scheduler sched{2};
  auto body = []() -> weft::task<int> {
    auto m = []() -> weft::task<std::unique_ptr<int>> {
      co_await weft::yield();
      co_return std::make_unique<int>(8);
    };
    std::vector<weft::task<std::unique_ptr<int>>> tasks;
    tasks.push_back(m());
    auto [index, value] = co_await weft::when_any(std::move(tasks));
    co_return *value + static_cast<int>(index);
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), 8);
}

TEST(WhenAny, FirstToFinishFailedRethrowsItsExceptionAndCancelsTheOthersAsSiblingFailed) {
  weft::scheduler sched{2};
  child_probe p0;
  auto body = [](child_probe& p0) -> weft::task<void> {
    // Fails only once the sleeper has started: a sibling cancelled before it
    // starts never runs its body, which would leave nothing to observe.
    auto fail = [](child_probe& p0) -> weft::task<int> {
      while (!p0.started.load()) co_await weft::yield();
      throw std::runtime_error("lookup failed");
    };
    std::vector<weft::task<int>> tasks;
    tasks.push_back(sleep_for_an_hour(p0));
    tasks.push_back(fail(p0));
    co_await weft::when_any(std::move(tasks));
  };
  auto h = sched.spawn(body(p0));
  h.wait();
  WEFT_EXPECT_THROW_NAMING(h.result(), std::runtime_error, "lookup failed");
  EXPECT_TRUE(p0.ended.load());
  ASSERT_TRUE(p0.seen.has_value());
  EXPECT_EQ(p0.seen->kind, weft::cancel_kind::sibling_failed);
  EXPECT_TRUE(contains(p0.seen->message, "lookup failed"));
}

TEST(WhenAny, FirstToFinishEndedCancelledThrowsCancelledError) {
  weft::scheduler sched{2};
  std::latch asleep{1};
  auto target = sched.spawn(weft_test::count_down_and_sleep_an_hour(asleep));
  child_probe p1;
  auto body = [](weft::task_handle<int> t, child_probe& p1) -> weft::task<void> {
    auto await_it = [](weft::task_handle<int> t) -> weft::task<int> { co_return co_await t; };
    std::vector<weft::task<int>> tasks;
    tasks.push_back(await_it(t));
    tasks.push_back(sleep_for_an_hour(p1));
    co_await weft::when_any(std::move(tasks));
  };
  auto h = sched.spawn(body(target, p1));
  asleep.wait();
  target.cancel("withdrawn");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "withdrawn");
  // The sibling was cancelled and awaited: if it started, it has ended (a
  // sibling cancelled before it started never runs, legitimately).
  EXPECT_EQ(p1.started.load(), p1.ended.load());
}

TEST(WhenAny, EmptyVectorThrowsInvalidArgumentNamingTheFix) {
  WEFT_EXPECT_THROW_NAMING(weft::when_any(std::vector<weft::task<int>>{}),
                           weft::invalid_argument_error, "pass at least one task");
}

TEST(WhenAny, GivenAMovedFromTaskThrowsInvalidStateNamingTheFixAndLeaksNothing) {
  counted::reset();
  {
    weft::scheduler sched{2};
    std::string any = weft_test::misuse_message(sched, []() -> weft::task<void> {
      std::vector<weft::task<int>> v;
      v.push_back(weft_test::moved_from_task());
      v.push_back(weft_test::counted_value_after_yield(1));
      co_await weft::when_any(std::move(v));
    });
    EXPECT_TRUE(contains(any, "create a new one")) << any;
  }
  // The valid task passed alongside the empty one is destroyed unstarted.
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

TEST(WhenAny, CancellingTheCallerCancelsEveryChildWakesItPromptlyAndWaitsForThemAll) {
  weft::scheduler sched{2};
  auto combine = [](child_probe* p, std::atomic<int>& asleep) -> weft::task<void> {
    std::vector<weft::task<int>> tasks;
    for (int i = 0; i < 3; ++i) tasks.push_back(sleep_for_an_hour(p[i], &asleep));
    co_await weft::when_any(std::move(tasks));
  };
  weft_test::expect_caller_cancel_reaches_every_child(sched, combine, "stop looking");
}

TEST(WhenAny, CancelledCallerEndsWithItsOwnReasonNotItsChildrens) {
  // The caller's handle, its result() and its cancelled_error agree on the
  // reason of the request made to it (user), not on the reason its
  // children got from it (parent_cancelled).
  weft::scheduler sched{2};
  child_probe p[2];
  std::atomic<int> asleep{0};
  auto body = [](child_probe* p, std::atomic<int>& asleep) -> weft::task<void> {
    std::vector<weft::task<int>> tasks;
    for (int i = 0; i < 2; ++i) tasks.push_back(sleep_for_an_hour(p[i], &asleep));
    co_await weft::when_any(std::move(tasks));
  };
  auto h = sched.spawn(body(p, asleep));
  while (asleep.load() < 2) std::this_thread::yield();
  h.cancel("user stop");
  h.wait();
  ASSERT_TRUE(h.cancelled());
  ASSERT_TRUE(h.cancel_reason().has_value());
  EXPECT_EQ(h.cancel_reason()->kind, weft::cancel_kind::user);
  try {
    h.result();
    ADD_FAILURE() << "result() must throw";
  } catch (const weft::cancelled_error& e) {
    EXPECT_EQ(e.reason().kind, weft::cancel_kind::user) << e.what();
    EXPECT_EQ(e.reason().message, "user stop");
  }
}

TEST(WhenAny, LosersFramesAreDestroyedExactlyOnceWhenCancelled) {
  counted::reset();
  {
    weft::scheduler sched{2};
    child_probe p[3];
    auto body = [](child_probe* p) -> weft::task<int> {
      std::vector<weft::task<int>> tasks;
      for (int i = 0; i < 3; ++i) tasks.push_back(hold_counted_and_sleep(counted(i), p[i]));
      tasks.push_back(value_after_yield(5));
      auto [index, value] = co_await weft::when_any(std::move(tasks));
      co_return static_cast<int>(index) * 10 + value;
    };
    EXPECT_EQ(weft::sync_wait(sched, body(p)), 35);
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

// ---- races

TEST(WhenAny, ChildrenFinishingTogetherHaveExactlyOneWinnerAndEveryValueIsDestroyedOnce) {
  // Every child returns at once: several finish "first" concurrently. One
  // wins; the other values are destroyed with their frames.
  counted::reset();
  {
    weft::scheduler sched{2};
    auto body = []() -> weft::task<bool> {
      std::vector<weft::task<counted>> tasks;
      for (int i = 0; i < 4; ++i) tasks.push_back(counted_at_once(i));
      auto [index, value] = co_await weft::when_any(std::move(tasks));
      co_return static_cast<int>(index) == value.value;
    };
    for (int i = 0; i < 2000; ++i) {
      ASSERT_TRUE(weft::sync_wait(sched, body())) << "round " << i;
    }
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

TEST(WhenAny, CallerCancelRacingTheFirstFinishGivesAValueOrCancelledError) {
  counted::reset();
  {
    weft::scheduler sched{2};
    auto body = [](std::atomic<bool>& go, child_probe& p) -> weft::task<int> {
      std::vector<weft::task<int>> tasks;
      tasks.push_back(hold_counted_and_sleep(counted(0), p));
      tasks.push_back(value_when(go, 7));
      auto [index, value] = co_await weft::when_any(std::move(tasks));
      co_return static_cast<int>(index) * 10 + value;
    };
    int values = 0, cancels = 0;
    for (int i = 0; i < 300; ++i) {
      std::atomic<bool> go{false};
      child_probe p;
      auto h = sched.spawn(body(go, p));
      go = true;
      for (int spin = 0; spin < (i % 32) * 8; ++spin) static_cast<void>(h.done());
      h.cancel();
      h.wait();
      if (h.cancelled()) {
        ++cancels;
      } else {
        ASSERT_EQ(h.result(), 17) << "round " << i;
        ++values;
      }
      ASSERT_TRUE(!p.started.load() || p.ended.load()) << "round " << i << ": an orphan";
    }
    EXPECT_EQ(values + cancels, 300);
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}
