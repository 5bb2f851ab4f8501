// weft::when_all: fork-join over a tuple or a vector of tasks: results in
// order, the first failure cancels the siblings and is rethrown after all
// ended, the caller's cancellation reaches every child, a cancelled child
// is not a failure.

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
#include <tuple>
#include <variant>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using weft_test::contains;
using weft_test::counted;

namespace {

using weft_test::child_probe;
using weft_test::counted_after_yield;
using weft_test::counted_value_after_yield;
using weft_test::end_guard;
using weft_test::fail_after_yield;
using weft_test::hold_counted_and_sleep;
using weft_test::sleep_for_an_hour;
using weft_test::value_after_yield;

weft::task<void> just_yield() { co_await weft::yield(); }

weft::task<int> hold_counted_and_fail(counted c) {
  co_await weft::yield();
  throw std::runtime_error("failed with " + std::to_string(c.value));
}

}  // namespace

// ---- results

TEST(WhenAll, TupleReturnsEveryValueInOrderWithVoidAsMonostate) {
  weft::scheduler sched{2};
  auto body = []() -> weft::task<std::tuple<int, std::monostate, std::string>> {
    auto s = []() -> weft::task<std::string> {
      co_await weft::yield();
      co_return "three";
    };
    co_return co_await weft::when_all(value_after_yield(1), just_yield(), s());
  };
  auto [a, b, c] = weft::sync_wait(sched, body());
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, std::monostate{});
  EXPECT_EQ(c, "three");
}

TEST(WhenAll, VectorReturnsEveryValueInOrder) {
  weft::scheduler sched{2};
  auto body = []() -> weft::task<std::vector<int>> {
    std::vector<weft::task<int>> tasks;
    for (int i = 0; i < 100; ++i) tasks.push_back(value_after_yield(i));
    co_return co_await weft::when_all(std::move(tasks));
  };
  std::vector<int> values = weft::sync_wait(sched, body());
  ASSERT_EQ(values.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(values[static_cast<std::size_t>(i)], i);
}

TEST(WhenAll, VectorOfVoidTasksRunsThemAll) {
  weft::scheduler sched{2};
  auto body = [](std::atomic<int>& runs) -> weft::task<void> {
    auto child = [](std::atomic<int>& runs) -> weft::task<void> {
      co_await weft::yield();
      runs.fetch_add(1);
    };
    std::vector<weft::task<void>> tasks;
    for (int i = 0; i < 50; ++i) tasks.push_back(child(runs));
    co_await weft::when_all(std::move(tasks));
  };
  std::atomic<int> runs{0};
  weft::sync_wait(sched, body(runs));
  EXPECT_EQ(runs.load(), 50);
}

TEST(WhenAll, EmptyVectorReturnsAnEmptyVector) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<std::size_t> {
    auto values = co_await weft::when_all(std::vector<weft::task<int>>{});
    co_return values.size();
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), 0u);
}

TEST(WhenAll, MoveOnlyValuesAreMovedOut) {
  weft::scheduler sched{2};
  auto body = []() -> weft::task<int> {
    auto m = [](int v) -> weft::task<std::unique_ptr<int>> {
      co_await weft::yield();
      co_return std::make_unique<int>(v);
    };
    auto [a, b] = co_await weft::when_all(m(1), m(2));
    std::vector<weft::task<std::unique_ptr<int>>> tasks;
    tasks.push_back(m(3));
    tasks.push_back(m(4));
    auto rest = co_await weft::when_all(std::move(tasks));
    co_return *a + *b + *rest[0] + *rest[1];
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), 10);
}

TEST(WhenAll, ChildrenRunInParallelOnThePool) {
  // Each child blocks its worker until the other arrives: this finishes
  // only if both run at the same time on different workers.
  weft::scheduler sched{2};
  auto child = [](std::latch& both) -> weft::task<int> {
    both.arrive_and_wait();
    co_return 1;
  };
  auto body = [](decltype(child) c) -> weft::task<int> {
    std::latch both{2};
    auto [a, b] = co_await weft::when_all(c(both), c(both));
    co_return a + b;
  };
  EXPECT_EQ(weft::sync_wait(sched, body(child)), 2);
}

TEST(WhenAll, ValuesAndFramesAreDestroyedExactlyOnce) {
  counted::reset();
  {
    weft::scheduler sched{2};
    auto body = []() -> weft::task<int> {
      auto [a, b] = co_await weft::when_all(counted_after_yield(1), counted_after_yield(2));
      std::vector<weft::task<counted>> tasks;
      std::vector<weft::task<int>> holders;
      for (int i = 0; i < 20; ++i) {
        tasks.push_back(counted_after_yield(i));
        holders.push_back(counted_value_after_yield(0, counted(i)));
      }
      auto values = co_await weft::when_all(std::move(tasks));
      auto held = co_await weft::when_all(std::move(holders));
      int sum = a.value + b.value;
      for (auto& v : values) sum += v.value;
      for (int v : held) sum += v;
      co_return sum;
    };
    EXPECT_EQ(weft::sync_wait(sched, body()), 3 + 190 + 190);
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

TEST(WhenAll, GivenAMovedFromTaskThrowsInvalidStateNamingTheFixAndLeaksNothing) {
  counted::reset();
  {
    weft::scheduler sched{2};
    std::string all = weft_test::misuse_message(sched, []() -> weft::task<void> {
      std::vector<weft::task<int>> v;
      v.push_back(weft_test::counted_value_after_yield(1));
      v.push_back(weft_test::moved_from_task());
      co_await weft::when_all(std::move(v));
    });
    EXPECT_TRUE(contains(all, "create a new one")) << all;
    std::string all_tuple = weft_test::misuse_message(sched, []() -> weft::task<void> {
      co_await weft::when_all(weft_test::counted_value_after_yield(1), weft_test::moved_from_task(),
                              weft_test::counted_value_after_yield(2));
    });
    EXPECT_TRUE(contains(all_tuple, "create a new one")) << all_tuple;
  }
  // The valid tasks passed alongside the empty one are destroyed unstarted.
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

// ---- failure

TEST(WhenAll, FirstFailureCancelsTheSiblingsWithReasonSiblingFailedAwaitsThemAndIsRethrown) {
  weft::scheduler sched{2};
  child_probe p1, p2;
  std::atomic<int> orphans_at_throw{-1};
  auto body = [](child_probe& p1, child_probe& p2, std::atomic<int>& seen) -> weft::task<void> {
    try {
      co_await weft::when_all(sleep_for_an_hour(p1), fail_after_yield("disk full"),
                              sleep_for_an_hour(p2));
    } catch (const std::runtime_error&) {
      // A sibling cancelled before it started never runs; one that started
      // must have ended.
      seen = int(p1.started.load() && !p1.ended.load()) + int(p2.started.load() && !p2.ended.load());
      throw;
    }
  };
  auto h = sched.spawn(body(p1, p2, orphans_at_throw));
  h.wait();
  EXPECT_FALSE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), std::runtime_error, "disk full");
  EXPECT_EQ(orphans_at_throw.load(), 0) << "when_all rethrew before every sibling ended";
  for (child_probe* p : {&p1, &p2}) {
    if (!p->started.load()) continue;  // cancelled before it started: never ran
    ASSERT_TRUE(p->seen.has_value());
    EXPECT_EQ(p->seen->kind, weft::cancel_kind::sibling_failed);
    EXPECT_TRUE(contains(p->seen->message, "disk full"));
  }
}

TEST(WhenAll, AFailureDuringTheSiblingsCleanupDoesNotReplaceTheFirstFailure) {
  weft::scheduler sched{2};
  auto fail_on_cancel = []() -> weft::task<int> {
    try {
      co_await weft::sleep_for(1h);
    } catch (const weft::cancelled_error&) {
    }
    throw std::logic_error("second failure");
  };
  auto body = [](decltype(fail_on_cancel) f) -> weft::task<void> {
    auto first = []() -> weft::task<int> {
      co_await weft::yield();
      throw std::runtime_error("first failure");
    };
    // The sleeper starts first (inline), so it is parked when the other fails.
    co_await weft::when_all(f(), first());
  };
  auto h = sched.spawn(body(fail_on_cancel));
  h.wait();
  WEFT_EXPECT_THROW_NAMING(h.result(), std::runtime_error, "first failure");
}

TEST(WhenAll, AChildThatEndsCancelledIsNotAFailureAndDoesNotCancelItsSiblings) {
  // Child 0 awaits a handle the test cancels: it ends cancelled (with that
  // reason). Child 1 goes on uncancelled, finishes, and then when_all
  // throws child 0's cancelled_error.
  weft::scheduler sched{2};
  std::latch asleep{1};
  auto target = sched.spawn(weft_test::count_down_and_sleep_an_hour(asleep));
  struct observed {
    std::atomic<bool> child0_ended{false};
    std::atomic<bool> child1_saw_cancel{false};
    std::atomic<bool> child1_finished{false};
  } o;
  auto awaits_target = [](weft::task_handle<int> t, observed& o) -> weft::task<int> {
    end_guard g{o.child0_ended};
    co_return co_await t;
  };
  auto outlives = [](observed& o) -> weft::task<int> {
    try {
      while (!o.child0_ended.load()) co_await weft::yield();
      for (int i = 0; i < 200; ++i) co_await weft::yield();
    } catch (const weft::cancelled_error&) {
      o.child1_saw_cancel = true;
      throw;
    }
    o.child1_finished = true;
    co_return 1;
  };
  auto body = [](weft::task<int> a, weft::task<int> b) -> weft::task<void> {
    co_await weft::when_all(std::move(a), std::move(b));
  };
  auto h = sched.spawn(body(awaits_target(target, o), outlives(o)));
  asleep.wait();
  EXPECT_TRUE(target.cancel("target withdrawn"));
  h.wait();
  EXPECT_FALSE(o.child1_saw_cancel.load()) << "a cancelled child must not cancel its siblings";
  EXPECT_TRUE(o.child1_finished.load()) << "when_all returned before every child ended";
  EXPECT_TRUE(h.cancelled());
  try {
    h.result();
    ADD_FAILURE() << "when_all must throw the cancelled child's cancelled_error";
  } catch (const weft::cancelled_error& e) {
    EXPECT_EQ(e.reason().kind, weft::cancel_kind::user);
    EXPECT_EQ(e.reason().message, "target withdrawn");
  }
}

TEST(WhenAll, FailurePathsDestroyEveryValueAndFrameExactlyOnce) {
  counted::reset();
  {
    weft::scheduler sched{2};
    auto body = []() -> weft::task<void> {
      std::vector<weft::task<int>> tasks;
      for (int i = 0; i < 10; ++i) tasks.push_back(counted_value_after_yield(0, counted(i)));
      tasks.push_back(hold_counted_and_fail(counted(10)));
      for (int i = 11; i < 20; ++i) tasks.push_back(counted_value_after_yield(0, counted(i)));
      co_await weft::when_all(std::move(tasks));
    };
    auto h = sched.spawn(body());
    h.wait();
    EXPECT_THROW(h.result(), std::runtime_error);
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

// ---- the caller's cancellation

TEST(WhenAll, CancellingTheCallerCancelsEveryChildWakesItPromptlyAndWaitsForThemAll) {
  weft::scheduler sched{2};
  auto combine = [](child_probe* p, std::atomic<int>& asleep) -> weft::task<void> {
    co_await weft::when_all(sleep_for_an_hour(p[0], &asleep), sleep_for_an_hour(p[1], &asleep),
                            sleep_for_an_hour(p[2], &asleep));
  };
  auto h = weft_test::expect_caller_cancel_reaches_every_child(sched, combine, "stop all");
  try {
    h.result();
  } catch (const weft::cancelled_error& e) {
    EXPECT_EQ(e.reason().kind, weft::cancel_kind::user);
    EXPECT_EQ(e.reason().message, "stop all");
  }
}

TEST(WhenAll, CancelPathsDestroyEveryFrameExactlyOnce) {
  counted::reset();
  {
    weft::scheduler sched{2};
    child_probe p[4];
    std::atomic<int> started{0};
    auto body = [](child_probe* p, std::atomic<int>& started) -> weft::task<void> {
      std::vector<weft::task<int>> tasks;
      for (int i = 0; i < 4; ++i) tasks.push_back(hold_counted_and_sleep(counted(i), p[i]));
      started = 1;
      co_await weft::when_all(std::move(tasks));
    };
    auto h = sched.spawn(body(p, started));
    while (started.load() == 0) std::this_thread::yield();
    h.cancel();
    h.wait();
    EXPECT_TRUE(h.cancelled());
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

TEST(WhenAll, CallerAlreadyCancelledStartsNoChildAndDestroysTheirFrames) {
  counted::reset();
  {
    weft::scheduler sched{1};
    std::latch running{1}, release{1};
    std::atomic<int> started{0};
    auto child = [](counted c, std::atomic<int>& started) -> weft::task<int> {
      started.fetch_add(1);
      co_return c.value;
    };
    auto body = [](decltype(child) c, std::latch& running, std::latch& release,
                   std::atomic<int>& started) -> weft::task<void> {
      running.count_down();
      release.wait();  // cancelled meanwhile, without a suspension point
      co_await weft::when_all(c(counted(1), started), c(counted(2), started));
    };
    auto h = sched.spawn(body(child, running, release, started));
    running.wait();
    h.cancel();
    release.count_down();
    h.wait();
    EXPECT_TRUE(h.cancelled());
    EXPECT_EQ(started.load(), 0);
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

// ---- races

TEST(WhenAll, SiblingFailureRacingTheCallersCancelEndsInOneOfTheTwoAndLeavesNothingBehind) {
  counted::reset();
  {
    weft::scheduler sched{2};
    auto body = [](std::atomic<bool>& started) -> weft::task<void> {
      started = true;
      std::vector<weft::task<int>> tasks;
      tasks.push_back(counted_value_after_yield(0, counted(0)));
      tasks.push_back(hold_counted_and_fail(counted(1)));
      tasks.push_back(counted_value_after_yield(0, counted(2)));
      co_await weft::when_all(std::move(tasks));
    };
    int failures = 0, cancels = 0;
    for (int i = 0; i < 1000; ++i) {
      std::atomic<bool> started{false};
      auto h = sched.spawn(body(started));
      while (!started.load()) std::this_thread::yield();
      for (int spin = 0; spin < (i % 64) * 8; ++spin) static_cast<void>(h.done());
      h.cancel("race");
      h.wait();
      if (h.cancelled()) {
        ++cancels;
        ASSERT_EQ(h.cancel_reason()->kind, weft::cancel_kind::user);
      } else {
        // A failure is never masked by a cancel that came later.
        ASSERT_THROW(h.result(), std::runtime_error) << "round " << i;
        ++failures;
      }
    }
    EXPECT_EQ(failures + cancels, 1000);
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

TEST(WhenAll, CallerCancelRacingChildrenCompletionGivesValuesOrCancelledError) {
  counted::reset();
  {
    weft::scheduler sched{2};
    auto body = [](std::atomic<bool>& started) -> weft::task<int> {
      started = true;
      auto [a, b, c] = co_await weft::when_all(counted_after_yield(1), counted_after_yield(2),
                                               counted_after_yield(3));
      co_return a.value + b.value + c.value;
    };
    for (int i = 0; i < 1000; ++i) {
      std::atomic<bool> started{false};
      auto h = sched.spawn(body(started));
      while (!started.load()) std::this_thread::yield();
      h.cancel();
      h.wait();
      if (!h.cancelled()) {
        ASSERT_EQ(h.result(), 6) << "round " << i;
      }
    }
  }
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

// ---- a cancel reaches the children that never suspended, and those that
// block after it, through every level of nesting

namespace {

/// Two levels of when_all below the caller; each grandchild runs `leaf`.
template <class Leaf>
weft::task<void> nested_twice(Leaf leaf, std::atomic<int>& running) {
  auto middle = [](Leaf leaf, std::atomic<int>& running) -> weft::task<void> {
    co_await weft::when_all(leaf(running), leaf(running));
  };
  co_await weft::when_all(middle(leaf, running), middle(leaf, running));
}

}  // namespace

TEST(WhenAll, AGrandchildThatNeverSuspendsSeesTheCallersCancelAtItsNextCheck) {
  weft::scheduler sched{2};
  // Each grandchild spins on the check alone: nothing suspends, so only
  // the check can tell it the caller was cancelled.
  auto spin = [](std::atomic<int>& running) -> weft::task<void> {
    running.fetch_add(1);
    while (!weft::this_task::cancellation_requested()) std::this_thread::yield();
    running.fetch_add(100);
    weft::this_task::throw_if_cancelled();
    co_return;
  };
  std::atomic<int> running{0};
  auto h = sched.spawn(nested_twice(spin, running));
  // Two workers run two spinning grandchildren; the other two wait queued
  // (a queued child then ends unrun, its parent's cancel taken at its start).
  ASSERT_TRUE(weft_test::eventually([&] { return running.load() >= 2; }));
  h.cancel("stop spinning");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  // running: grandchildren started, plus 100 for each that saw the cancel.
  EXPECT_GE(running.load() % 100, 2);
  EXPECT_EQ(running.load() / 100, running.load() % 100)
      << "every grandchild that ran saw the cancel";
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "stop spinning");
}

TEST(WhenAll, AGrandchildThatBlocksAfterTheCallersCancelIsCancelledAtOnceWithItsReason) {
  weft::scheduler sched{2};
  static std::atomic<bool> cancelled_by_test{false};
  static std::optional<weft::cancel_reason> seen[4];
  static std::atomic<int> index{0};
  cancelled_by_test = false;
  index = 0;
  // Each grandchild starts, waits without a suspension point until the test
  // has cancelled the caller, then blocks for an hour: the sleep must not
  // start, or must be cut short at once.
  auto late_sleeper = [](std::atomic<int>& running) -> weft::task<void> {
    const int me = index.fetch_add(1);
    running.fetch_add(1);
    while (!cancelled_by_test.load()) std::this_thread::yield();
    try {
      co_await weft::sleep_for(std::chrono::hours(1));
    } catch (const weft::cancelled_error& e) {
      seen[me] = e.reason();
      throw;
    }
  };
  std::atomic<int> running{0};
  auto h = sched.spawn(nested_twice(late_sleeper, running));
  ASSERT_TRUE(weft_test::eventually([&] { return running.load() >= 2; }));
  h.cancel("stop sleeping");
  cancelled_by_test = true;
  h.wait();  // hangs (the guard reports it) if a sleep was not cut short
  EXPECT_TRUE(h.cancelled());
  for (int i = 0; i < index.load(); ++i) {
    ASSERT_TRUE(seen[i].has_value()) << "grandchild " << i << " slept through the cancel";
    EXPECT_EQ(seen[i]->kind, weft::cancel_kind::parent_cancelled);
    EXPECT_EQ(seen[i]->message, "stop sleeping");
  }
}

TEST(WhenAll, AGrandchildBlockedBeforeTheCallersCancelIsWokenWhileItsCousinRuns) {
  // One grandchild sleeps (its wait reaches the caller's slot through both
  // joins), its cousin spins on the check: the cancel wakes the first at
  // once and the second at its next check, many times over.
  weft::scheduler sched{2};
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> asleep{0};
    child_probe sleeper, uncle;
    auto spin = [](std::atomic<int>& a) -> weft::task<int> {
      a.fetch_add(1);
      while (!weft::this_task::cancellation_requested()) std::this_thread::yield();
      weft::this_task::throw_if_cancelled();
      co_return 0;
    };
    auto middle = [](child_probe& p, std::atomic<int>& a, decltype(spin) s) -> weft::task<void> {
      co_await weft::when_all(sleep_for_an_hour(p, &a), s(a));
    };
    auto top = [](child_probe& p, child_probe& u, std::atomic<int>& a, decltype(spin) s,
                  decltype(middle) m) -> weft::task<void> {
      co_await weft::when_all(m(p, a, s), sleep_for_an_hour(u, &a));
    };
    auto h = sched.spawn(top(sleeper, uncle, asleep, spin, middle));
    ASSERT_TRUE(weft_test::eventually([&] { return asleep.load() == 3; }));
    h.cancel("round over");
    h.wait();
    ASSERT_TRUE(h.cancelled()) << "round " << round;
    ASSERT_TRUE(sleeper.seen.has_value()) << "round " << round;
    EXPECT_EQ(sleeper.seen->message, "round over");
    ASSERT_TRUE(uncle.seen.has_value()) << "round " << round;
  }
}
