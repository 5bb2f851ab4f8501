// weft::cancel_reason and task_handle::cancelling(): the kind says how a
// task came to be cancelled, the root request's message reaches every
// descendant, the first request wins, and cancel_reason()/cancelling()
// report exactly the requests made.

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
using weft_test::contains;
using kind = weft::cancel_kind;

namespace {

// Sleeps for an hour; records the reason its cancelled_error carried.
using probe = weft_test::child_probe;
using weft_test::sleep_for_an_hour;

using weft_test::fail_after_yield;

weft::cancel_reason reason(kind k, std::string m = {}) { return {k, std::move(m)}; }

// Running, never suspending until released: requests pile up on it.
weft::task<void> hold_until(std::latch& started, std::latch& release) {
  started.count_down();
  release.wait();
  co_await weft::yield();
}

}  // namespace

// ---- kinds

TEST(CancelReason, KindNamesReadAsTheirEnumerators) {
  EXPECT_EQ(weft::to_string(kind::user), "user");
  EXPECT_EQ(weft::to_string(kind::timeout), "timeout");
  EXPECT_EQ(weft::to_string(kind::sibling_failed), "sibling_failed");
  EXPECT_EQ(weft::to_string(kind::parent_cancelled), "parent_cancelled");
  EXPECT_EQ(weft::to_string(kind::shutdown), "shutdown");
}

TEST(CancelReason, ADirectCancelIsKindUserWithItsMessage) {
  weft::scheduler sched{2};
  probe p;
  auto h = sched.spawn(sleep_for_an_hour(p));
  while (!p.started.load()) std::this_thread::yield();
  h.cancel("by hand");
  h.wait();
  EXPECT_EQ(h.cancel_reason(), reason(kind::user, "by hand"));
  EXPECT_EQ(p.seen, reason(kind::user, "by hand"));
}

TEST(CancelReason, TheChildOfAnExpiredTimeoutIsKindTimeout) {
  weft::scheduler sched{2};
  probe p;
  auto body = [](probe& p) -> weft::task<int> { co_return co_await weft::timeout(1ms, sleep_for_an_hour(p)); };
  auto h = sched.spawn(body(p));
  h.wait();
  ASSERT_TRUE(p.seen.has_value());
  EXPECT_EQ(p.seen->kind, kind::timeout);
}

// Fails once the sleeper `p` has started, so that its cancel finds it
// running (a child cancelled before it starts never runs its body).
weft::task<int> fail_once_started(probe& p) {
  while (!p.started.load()) co_await weft::yield();
  throw std::runtime_error("sibling broke");
}

TEST(CancelReason, SiblingsOfAFailureAreKindSiblingFailedInWhenAllWhenAnyAndTaskGroup) {
  weft::scheduler sched{2};
  probe in_all, in_any, in_group;
  auto all = [](probe& p) -> weft::task<void> {
    co_await weft::when_all(sleep_for_an_hour(p), fail_once_started(p));
  };
  auto any = [](probe& p) -> weft::task<void> {
    std::vector<weft::task<int>> tasks;
    tasks.push_back(sleep_for_an_hour(p));
    tasks.push_back(fail_once_started(p));
    co_await weft::when_any(std::move(tasks));
  };
  auto group = [](probe& p) -> weft::task<void> {
    weft::task_group g;
    g.spawn(sleep_for_an_hour(p));
    while (!p.started.load()) co_await weft::yield();
    g.spawn(fail_after_yield("sibling broke"));
    co_await g.join();
  };
  for (auto h : {sched.spawn(all(in_all)), sched.spawn(any(in_any)), sched.spawn(group(in_group))}) {
    h.wait();
    EXPECT_THROW(h.result(), std::runtime_error);
  }
  for (probe* p : {&in_all, &in_any, &in_group}) {
    ASSERT_TRUE(p->seen.has_value());
    EXPECT_EQ(p->seen->kind, kind::sibling_failed);
    EXPECT_TRUE(contains(p->seen->message, "sibling broke"));
  }
}

TEST(CancelReason, ChildrenGroupMembersAndAwaitedHandlesOfACancelledWaiterAreKindParentCancelled) {
  weft::scheduler sched{2};
  probe in_all, in_group, awaited;
  std::atomic<int> asleep{0};
  auto all = [](probe& p, std::atomic<int>& a) -> weft::task<void> {
    co_await weft::when_all(sleep_for_an_hour(p, &a));
  };
  auto group = [](probe& p, std::atomic<int>& a) -> weft::task<void> {
    weft::task_group g;
    g.spawn(sleep_for_an_hour(p, &a));
    co_await g.join();
  };
  auto await_handle = [](weft::task_handle<int> t, std::atomic<int>& a) -> weft::task<int> {
    a.fetch_add(1);  // a cancel from here on reaches `t` (also before the await)
    co_return co_await t;
  };
  auto target = sched.spawn(sleep_for_an_hour(awaited, &asleep));
  std::vector<weft::task_handle<void>> waiters{sched.spawn(all(in_all, asleep)),
                                               sched.spawn(group(in_group, asleep))};
  auto handle_waiter = sched.spawn(await_handle(target, asleep));
  // Every waiter has started (one cancelled before it ran would never pass
  // the cancel on).
  while (asleep.load() < 4) std::this_thread::yield();
  for (auto& w : waiters) w.cancel("root");
  handle_waiter.cancel("root");
  for (auto& w : waiters) w.wait();
  handle_waiter.wait();
  target.wait();
  for (probe* p : {&in_all, &in_group, &awaited}) {
    EXPECT_EQ(p->seen, reason(kind::parent_cancelled, "root"));
  }
  EXPECT_EQ(target.cancel_reason(), reason(kind::parent_cancelled, "root"));
  EXPECT_EQ(handle_waiter.cancel_reason(), reason(kind::user, "root"));
}

TEST(CancelReason, SchedulerShutdownIsKindShutdown) {
  probe p;
  weft::task_handle<int> h;
  {
    weft::scheduler sched{2};
    h = sched.spawn(sleep_for_an_hour(p));
    while (!p.started.load()) std::this_thread::yield();
  }
  EXPECT_TRUE(h.cancelled());
  ASSERT_TRUE(h.cancel_reason().has_value());
  EXPECT_EQ(h.cancel_reason()->kind, kind::shutdown);
  ASSERT_TRUE(p.seen.has_value());
  EXPECT_EQ(p.seen->kind, kind::shutdown);
}

TEST(CancelReason, ASpawnRefusedDuringShutdownIsKindShutdown) {
  weft::task_handle<int> late;
  {
    weft::scheduler sched{1};
    std::latch in_body{1};
    auto spawner = [](weft::task_handle<int>& late, std::latch& in_body) -> weft::task<void> {
      in_body.count_down();
      try {
        co_await weft::sleep_for(1h);
      } catch (const weft::cancelled_error&) {
        late = weft::spawn([]() -> weft::task<int> { co_return 1; }());
        throw;
      }
    };
    sched.spawn(spawner(late, in_body));
    in_body.wait();
  }
  ASSERT_TRUE(late.valid());
  EXPECT_TRUE(late.cancelled());
  EXPECT_EQ(late.cancel_reason()->kind, kind::shutdown);
}

// ---- the root message reaches every descendant

TEST(CancelReason, TheRootRequestsMessageReachesEveryDescendantWhateverThePath) {
  // owner --await--> handle --when_all--> child --timeout--> grandchild
  //                                   \--task_group--> member
  weft::scheduler sched{2};
  probe child_p, grandchild_p, member_p;
  std::atomic<int> asleep{0};
  auto member_group = [](probe& p, std::atomic<int>& a) -> weft::task<int> {
    weft::task_group g;
    g.spawn(sleep_for_an_hour(p, &a));
    co_await g.join();
    co_return 0;
  };
  auto timed = [](probe& p, std::atomic<int>& a) -> weft::task<int> {
    co_return co_await weft::timeout(1h, sleep_for_an_hour(p, &a));
  };
  auto middle = [](decltype(timed) t, decltype(member_group) mg, probe& gp, probe& mp,
                   std::atomic<int>& a) -> weft::task<void> {
    co_await weft::when_all(t(gp, a), mg(mp, a));
  };
  auto inner = sched.spawn(middle(timed, member_group, grandchild_p, member_p, asleep));
  auto owner_body = [](weft::task_handle<void> h, std::atomic<int>& a) -> weft::task<void> {
    a.fetch_add(1);
    co_await h;
  };
  auto owner = sched.spawn(owner_body(inner, asleep));
  while (asleep.load() < 3) std::this_thread::yield();  // the owner started: it passes the cancel on
  owner.cancel("shutting down");
  owner.wait();
  inner.wait();
  EXPECT_EQ(owner.cancel_reason(), reason(kind::user, "shutting down"));
  EXPECT_EQ(inner.cancel_reason(), reason(kind::parent_cancelled, "shutting down"));
  EXPECT_EQ(grandchild_p.seen, reason(kind::parent_cancelled, "shutting down"));
  EXPECT_EQ(member_p.seen, reason(kind::parent_cancelled, "shutting down"));
  WEFT_EXPECT_THROW_NAMING(inner.result(), weft::cancelled_error, "shutting down");
}

TEST(CancelReason, ErrorMessagesShowTheKindAndTheMessage) {
  weft::cancelled_error e(reason(kind::sibling_failed, "disk full"));
  EXPECT_TRUE(contains(e.what(), "sibling_failed"));
  EXPECT_TRUE(contains(e.what(), "disk full"));
  EXPECT_EQ(e.reason(), reason(kind::sibling_failed, "disk full"));
}

// ---- the first request wins

TEST(CancelReason, TheFirstRequestWinsAndLaterOnesDoNotChangeIt) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto h = sched.spawn(hold_until(started, release));
  started.wait();
  EXPECT_TRUE(h.cancel("first"));
  EXPECT_TRUE(h.cancel("second"));
  EXPECT_EQ(h.cancel_reason(), reason(kind::user, "first"));
  release.count_down();
  h.wait();
  EXPECT_EQ(h.cancel_reason(), reason(kind::user, "first"));
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "first");
}

TEST(CancelReason, ConcurrentRequestsAgreeOnOneWinnerEverywhere) {
  // Two threads cancel the same running task with different messages, many
  // times: the handle, the error the task saw and result() agree on one.
  weft::scheduler sched{2};
  auto body = [](std::latch& started, std::latch& release,
                 std::optional<weft::cancel_reason>& seen) -> weft::task<void> {
    started.count_down();
    release.wait();  // running: both requests land before it can end
    try {
      co_await weft::yield();
    } catch (const weft::cancelled_error& e) {
      seen = e.reason();
      throw;
    }
  };
  for (int i = 0; i < 200; ++i) {
    std::latch started{1}, release{1};
    std::optional<weft::cancel_reason> seen;
    auto h = sched.spawn(body(started, release, seen));
    started.wait();
    std::latch go{2};
    std::thread a([&] {
      go.arrive_and_wait();
      EXPECT_TRUE(h.cancel("from a"));
    });
    std::thread b([&] {
      go.arrive_and_wait();
      EXPECT_TRUE(h.cancel("from b"));
    });
    a.join();
    b.join();
    release.count_down();
    h.wait();
    auto r = h.cancel_reason();
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(r->message == "from a" || r->message == "from b") << r->message;
    ASSERT_EQ(seen, r) << "round " << i;
    try {
      h.result();
    } catch (const weft::cancelled_error& e) {
      ASSERT_EQ(e.reason(), *r);
    }
    ASSERT_EQ(h.cancelling(), 2u);
  }
}

// ---- cancel_reason(): empty until a request is made

TEST(CancelReason, IsEmptyUntilARequestIsMadeAndForTasksThatEndedOtherwise) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto h = sched.spawn(hold_until(started, release));
  started.wait();
  EXPECT_FALSE(h.cancel_reason().has_value()) << "running, no request";
  release.count_down();
  h.wait();
  EXPECT_FALSE(h.cancel_reason().has_value()) << "succeeded";
  auto f = sched.spawn(fail_after_yield("sibling broke"));
  f.wait();
  EXPECT_FALSE(f.cancel_reason().has_value()) << "failed";
  EXPECT_FALSE(f.cancel("too late"));
  EXPECT_FALSE(f.cancel_reason().has_value()) << "a cancel of a done task records nothing";
}

TEST(CancelReason, ForAnEscapedCancelledErrorItIsTheReasonThatErrorCarries) {
  // The task is never cancelled itself: it awaits one that is.
  weft::scheduler sched{2};
  probe p;
  auto target = sched.spawn(sleep_for_an_hour(p));
  auto waiter = [](weft::task_handle<int> t) -> weft::task<int> { co_return co_await t; };
  auto h = sched.spawn(waiter(target));
  while (!p.started.load()) std::this_thread::yield();
  target.cancel("upstream gone");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(h.cancelling(), 0u) << "no request was made to it";
  EXPECT_EQ(h.cancel_reason(), reason(kind::user, "upstream gone"));
}

// ---- cancelling()

TEST(CancelReason, CancellingCountsOnlyRequestsMadeWhileNotDone) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto h = sched.spawn(hold_until(started, release));
  started.wait();
  EXPECT_EQ(h.cancelling(), 0u);
  h.cancel();
  EXPECT_EQ(h.cancelling(), 1u);
  h.cancel("again");
  EXPECT_EQ(h.cancelling(), 2u);
  release.count_down();
  h.wait();
  EXPECT_FALSE(h.cancel());
  EXPECT_EQ(h.cancelling(), 2u) << "a cancel() on a done task is not counted";
  auto ok = sched.spawn(fail_after_yield("sibling broke"));
  ok.wait();
  ok.cancel();
  EXPECT_EQ(ok.cancelling(), 0u);
}

TEST(CancelReason, CancellingOfATaskCancelledBeforeItStartedIsOne) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto pin = sched.spawn(weft_test::occupy_worker(started, release));
  started.wait();
  auto h = sched.spawn([]() -> weft::task<int> { co_return 1; }());
  EXPECT_TRUE(h.cancel());
  EXPECT_FALSE(h.cancel());
  EXPECT_EQ(h.cancelling(), 1u);
  release.count_down();
  pin.wait();
}

TEST(CancelReason, CancellingCountsConcurrentRequestsFromManyThreadsExactly) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto h = sched.spawn(hold_until(started, release));
  started.wait();
  constexpr int k_threads = 4, k_each = 250;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < k_each; ++i) {
        if (h.cancel()) accepted.fetch_add(1);
        static_cast<void>(h.cancelling());  // readable from any thread
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), k_threads * k_each);
  EXPECT_EQ(h.cancelling(), static_cast<std::uint32_t>(k_threads * k_each));
  release.count_down();
  h.wait();
}

TEST(CancelReason, CancelRacingCompletionCountsExactlyTheAcceptedRequests) {
  weft::scheduler sched{2};
  auto quick = []() -> weft::task<int> {
    co_await weft::yield();
    co_return 1;
  };
  for (int i = 0; i < 2000; ++i) {
    auto h = sched.spawn(quick());
    for (int spin = 0; spin < (i % 32) * 4; ++spin) static_cast<void>(h.done());
    std::uint32_t accepted = 0;
    accepted += h.cancel("x") ? 1 : 0;
    accepted += h.cancel("y") ? 1 : 0;
    h.wait();
    ASSERT_EQ(h.cancelling(), accepted) << "round " << i;
    ASSERT_EQ(h.cancel_reason().has_value(), accepted > 0) << "round " << i;
    if (accepted > 0) {
      ASSERT_EQ(h.cancel_reason()->message, "x") << "round " << i;
    }
  }
}
