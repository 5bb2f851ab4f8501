// weft::task_group: structured concurrency, asyncio.TaskGroup: join waits
// for all, the first failure cancels the rest and is rethrown after all
// ended, the owner's cancellation reaches every child and join still waits
// for them.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using weft_test::contains;

namespace {

using weft_test::value_after_yield;

// Sleeps for an hour; on cancel, records the reason and does a suspending
// cleanup (so "no child outlives the join" is observable) before ending.
struct sleeper_probe : weft_test::child_probe {
  std::atomic<bool> cleaned{false};
};

weft::task<void> cleanup_steps() {
  for (int i = 0; i < 3; ++i) co_await weft::yield();
}

weft::task<void> sleep_with_cleanup(sleeper_probe& p, std::atomic<int>* asleep = nullptr) {
  std::exception_ptr cancelled;
  try {
    co_await weft_test::sleep_for_an_hour(p, asleep);
  } catch (const weft::cancelled_error&) {
    cancelled = std::current_exception();
  }
  co_await weft::uncancellable(cleanup_steps());
  p.cleaned = true;
  if (cancelled) std::rethrow_exception(cancelled);
}

using weft_test::fail_after_yield;

}  // namespace

TEST(TaskGroup, JoinWaitsForEveryChildAndTheirResultsStayOnTheHandles) {
  weft::scheduler sched{2};
  auto body = []() -> weft::task<int> {
    weft::task_group g;
    std::vector<weft::task_handle<int>> handles;
    for (int i = 0; i < 50; ++i) handles.push_back(g.spawn(value_after_yield(i)));
    EXPECT_EQ(g.size(), 50u);
    co_await g.join();
    int sum = 0;
    for (auto& h : handles) {
      EXPECT_TRUE(h.done());
      sum += h.result();
    }
    co_return sum;
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), 49 * 50 / 2);
}

TEST(TaskGroup, JoinOfAnEmptyGroupReturnsAtOnce) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<int> {
    weft::task_group g;
    co_await g.join();
    co_return 1;
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), 1);
}

TEST(TaskGroup, FirstFailureCancelsTheOtherChildrenAndIsRethrownAfterAllEnded) {
  weft::scheduler sched{2};
  sleeper_probe p[3];
  std::atomic<int> cleaned_at_throw{-1};
  auto body = [](sleeper_probe* p, std::atomic<int>& cleaned) -> weft::task<void> {
    weft::task_group g;
    std::atomic<int> asleep{0};
    for (int i = 0; i < 3; ++i) g.spawn(sleep_with_cleanup(p[i], &asleep));
    while (asleep.load() < 3) co_await weft::yield();
    g.spawn(fail_after_yield<void>("fetch failed"));
    try {
      co_await g.join();
    } catch (const std::runtime_error&) {
      cleaned = int(p[0].cleaned.load()) + int(p[1].cleaned.load()) + int(p[2].cleaned.load());
      throw;
    }
  };
  auto h = sched.spawn(body(p, cleaned_at_throw));
  h.wait();
  EXPECT_FALSE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), std::runtime_error, "fetch failed");
  EXPECT_EQ(cleaned_at_throw.load(), 3) << "join rethrew before every child ended";
  for (auto& c : p) {
    ASSERT_TRUE(c.seen.has_value());
    EXPECT_EQ(c.seen->kind, weft::cancel_kind::sibling_failed);
    EXPECT_TRUE(contains(c.seen->message, "fetch failed"));
  }
}

TEST(TaskGroup, AChildFailureDoesNotCancelTheOwnersBody) {
  weft::scheduler sched{2};
  auto body = []() -> weft::task<std::string> {
    weft::task_group g;
    auto failing = g.spawn(fail_after_yield<void>("child failed"));
    // The owner goes on suspending while the failure happens: its own
    // suspension points do not throw.
    while (!failing.done()) co_await weft::yield();
    for (int i = 0; i < 100; ++i) co_await weft::yield();
    co_await weft::sleep_for(1ms);
    try {
      co_await g.join();
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "join did not rethrow";
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), "child failed");
}

TEST(TaskGroup, AChildThatEndsCancelledIsNotAFailure) {
  weft::scheduler sched{2};
  sleeper_probe victim;
  auto body = [](sleeper_probe& victim) -> weft::task<int> {
    weft::task_group g;
    auto v = g.spawn(sleep_with_cleanup(victim));
    auto other = g.spawn(value_after_yield(5));
    while (!victim.started.load()) co_await weft::yield();
    v.cancel("just this one");
    co_await g.join();  // does not throw
    co_return other.result() + (v.cancelled() ? 10 : 0);
  };
  EXPECT_EQ(weft::sync_wait(sched, body(victim)), 15);
}

TEST(TaskGroup, ChildSpawnedAfterAFailureIsCancelledAsSiblingFailed) {
  weft::scheduler sched{2};
  sleeper_probe late;
  auto body = [](sleeper_probe& late) -> weft::task<void> {
    weft::task_group g;
    auto failing = g.spawn(fail_after_yield<void>("early failure"));
    while (!failing.done()) co_await weft::yield();
    g.spawn(sleep_with_cleanup(late));
    co_await g.join();
  };
  auto h = sched.spawn(body(late));
  h.wait();
  EXPECT_THROW(h.result(), std::runtime_error);
  // Cancelled before it started (the body never ran) or at its sleep.
  if (late.started.load()) {
    ASSERT_TRUE(late.seen.has_value());
    EXPECT_EQ(late.seen->kind, weft::cancel_kind::sibling_failed);
  }
}

TEST(TaskGroup, CancellingTheJoiningOwnerCancelsEveryChildWakesPromptlyAndWaitsForAll) {
  weft::scheduler sched{2};
  sleeper_probe p[3];
  std::atomic<int> asleep{0};
  std::atomic<int> cleaned_at_throw{-1};
  auto body = [](sleeper_probe* p, std::atomic<int>& asleep,
                 std::atomic<int>& cleaned) -> weft::task<void> {
    weft::task_group g;
    for (int i = 0; i < 3; ++i) g.spawn(sleep_with_cleanup(p[i], &asleep));
    try {
      co_await g.join();
    } catch (const weft::cancelled_error&) {
      cleaned = int(p[0].cleaned.load()) + int(p[1].cleaned.load()) + int(p[2].cleaned.load());
      throw;
    }
  };
  auto h = sched.spawn(body(p, asleep, cleaned_at_throw));
  while (asleep.load() < 3) std::this_thread::yield();
  // The children sleep an hour: the wait below ends only if the cancel
  // cut their sleeps short (the guard reports a hang long before).
  weft_test::hang_guard guard(std::chrono::seconds(60), "the cancelled caller's wait");
  EXPECT_TRUE(h.cancel("owner stops"));
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(cleaned_at_throw.load(), 3) << "a child outlived the join";
  for (auto& c : p) {
    ASSERT_TRUE(c.seen.has_value());
    EXPECT_EQ(c.seen->kind, weft::cancel_kind::parent_cancelled);
    EXPECT_EQ(c.seen->message, "owner stops");
  }
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "owner stops");
}

TEST(TaskGroup, OwnerAlreadyCancelledWhenItReachesJoinStillCancelsAndWaitsForEveryChild) {
  weft::scheduler sched{2};
  sleeper_probe p[2];
  std::atomic<int> asleep{0};
  std::latch spawned{1}, go{1};
  std::atomic<int> cleaned_at_throw{-1};
  auto body = [](sleeper_probe* p, std::atomic<int>& asleep, std::latch& spawned, std::latch& go,
                 std::atomic<int>& cleaned) -> weft::task<void> {
    weft::task_group g;
    for (int i = 0; i < 2; ++i) g.spawn(sleep_with_cleanup(p[i], &asleep));
    spawned.count_down();
    go.wait();  // cancelled meanwhile, without a suspension point
    try {
      co_await g.join();
    } catch (const weft::cancelled_error&) {
      cleaned = int(p[0].cleaned.load()) + int(p[1].cleaned.load());
      throw;
    }
  };
  auto h = sched.spawn(body(p, asleep, spawned, go, cleaned_at_throw));
  spawned.wait();
  while (asleep.load() < 2) std::this_thread::yield();
  h.cancel("late owner cancel");
  go.count_down();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(cleaned_at_throw.load(), 2);
  for (auto& c : p) {
    ASSERT_TRUE(c.seen.has_value());
    EXPECT_EQ(c.seen->kind, weft::cancel_kind::parent_cancelled);
    EXPECT_EQ(c.seen->message, "late owner cancel");
  }
}

TEST(TaskGroup, ChildrenFailingDuringTheOwnersCancellationLeaveTheOwnerCancelledAndFailuresOnHandles) {
  weft::scheduler sched{2};
  std::atomic<int> asleep{0};
  std::vector<weft::task_handle<void>> handles(2);
  auto fail_on_cancel = [](std::atomic<int>& asleep) -> weft::task<void> {
    try {
      asleep.fetch_add(1);
      co_await weft::sleep_for(1h);
    } catch (const weft::cancelled_error&) {
    }
    throw std::runtime_error("cleanup failed");
  };
  auto body = [](decltype(fail_on_cancel) f, std::atomic<int>& asleep,
                 std::vector<weft::task_handle<void>>& handles) -> weft::task<void> {
    weft::task_group g;
    handles[0] = g.spawn(f(asleep));
    handles[1] = g.spawn(f(asleep));
    co_await g.join();
  };
  auto h = sched.spawn(body(fail_on_cancel, asleep, handles));
  while (asleep.load() < 2) std::this_thread::yield();
  h.cancel("owner cancelled");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "owner cancelled");
  for (auto& c : handles) {
    ASSERT_TRUE(c.done());
    EXPECT_FALSE(c.cancelled());
    WEFT_EXPECT_THROW_NAMING(c.result(), std::runtime_error, "cleanup failed");
  }
}

TEST(TaskGroup, AChildMaySpawnIntoTheGroupWhileItRunsAndJoinWaitsForThatToo) {
  weft::scheduler sched{2};
  std::atomic<int> grandchildren_done{0};
  auto grandchild = [](std::atomic<int>& done) -> weft::task<void> {
    co_await weft::yield();
    done.fetch_add(1);
  };
  auto child = [](weft::task_group& g, decltype(grandchild) gc,
                  std::atomic<int>& done) -> weft::task<void> {
    for (int i = 0; i < 20; ++i) {
      g.spawn(gc(done));
      co_await weft::yield();
    }
  };
  auto body = [](decltype(child) c, decltype(grandchild) gc,
                 std::atomic<int>& done) -> weft::task<int> {
    weft::task_group g;
    g.spawn(c(g, gc, done));
    g.spawn(c(g, gc, done));
    co_await g.join();
    co_return done.load();
  };
  EXPECT_EQ(weft::sync_wait(sched, body(child, grandchild, grandchildren_done)), 40);
}

TEST(TaskGroup, OwnerAndChildrenMaySpawnConcurrently) {
  // spawn() from the owner and from children at the same time (the header
  // allows it); TSan checks the group's bookkeeping.
  weft::scheduler sched{2};
  std::atomic<int> runs{0};
  auto leaf = [](std::atomic<int>& runs) -> weft::task<void> {
    runs.fetch_add(1);
    co_return;
  };
  auto spawner = [](weft::task_group& g, decltype(leaf) l,
                    std::atomic<int>& runs) -> weft::task<void> {
    for (int i = 0; i < 100; ++i) g.spawn(l(runs));
    co_return;
  };
  auto body = [](decltype(spawner) s, decltype(leaf) l, std::atomic<int>& runs) -> weft::task<int> {
    weft::task_group g;
    g.spawn(s(g, l, runs));
    for (int i = 0; i < 100; ++i) g.spawn(l(runs));
    co_await g.join();
    co_return static_cast<int>(g.size());
  };
  EXPECT_EQ(weft::sync_wait(sched, body(spawner, leaf, runs)), 201);
  EXPECT_EQ(runs.load(), 200);
}

TEST(TaskGroup, DestroyingAnUnjoinedGroupCancelsItsUnfinishedChildren) {
  weft::scheduler sched{2};
  sleeper_probe p;
  weft::task_handle<void> child;
  auto body = [](sleeper_probe& p, weft::task_handle<void>& child) -> weft::task<void> {
    weft::task_group g;
    child = g.spawn(sleep_with_cleanup(p));
    while (!p.started.load()) co_await weft::yield();
    co_return;  // no join: misuse
  };
#ifndef NDEBUG
  ::testing::internal::CaptureStderr();
#endif
  auto h = sched.spawn(body(p, child));
  h.wait();
  child.wait();
#ifndef NDEBUG
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "co_await group.join()")) << "debug builds report the misuse";
#endif
  EXPECT_TRUE(child.cancelled());
  ASSERT_TRUE(child.cancel_reason().has_value());
  EXPECT_EQ(child.cancel_reason()->kind, weft::cancel_kind::parent_cancelled);
  EXPECT_TRUE(contains(child.cancel_reason()->message, "without join()"));
}

TEST(TaskGroup, AGroupUnwoundByAnExceptionBeforeJoinCancelsItsChildrenAndKeepsTheException) {
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

TEST(TaskGroup, SpawnOutsideATaskThrowsInvalidStateNamingTheFix) {
  weft::task_group g;
  WEFT_EXPECT_THROW_NAMING(g.spawn(value_after_yield(1)), weft::invalid_state_error,
                           "spawn() on a weft::scheduler");
}

// ---- races

TEST(TaskGroup, ASiblingsFailureRacingTheOwnersCancelEndsInOneOfTheTwoWithNoChildLeft) {
  weft::scheduler sched{2};
  auto body = [](std::atomic<bool>& started,
                 std::vector<weft::task_handle<void>>& handles) -> weft::task<void> {
    weft::task_group g;
    auto sleeper = []() -> weft::task<void> { co_await weft::sleep_for(1h); };
    handles.push_back(g.spawn(sleeper()));
    handles.push_back(g.spawn(fail_after_yield<void>("racing failure")));
    handles.push_back(g.spawn(sleeper()));
    started = true;
    co_await g.join();
  };
  int failures = 0, cancels = 0;
  for (int i = 0; i < 500; ++i) {
    std::atomic<bool> started{false};
    std::vector<weft::task_handle<void>> handles;
    handles.reserve(3);
    auto h = sched.spawn(body(started, handles));
    while (!started.load()) std::this_thread::yield();
    for (int spin = 0; spin < (i % 32) * 8; ++spin) static_cast<void>(h.done());
    h.cancel("race");
    h.wait();
    for (auto& c : handles) ASSERT_TRUE(c.done()) << "round " << i << ": a child outlived join";
    if (h.cancelled()) {
      ++cancels;
    } else {
      ASSERT_THROW(h.result(), std::runtime_error) << "round " << i;
      ++failures;
    }
  }
  EXPECT_EQ(failures + cancels, 500);
}
