// weft::queue<T>: asyncio.Queue for tasks, with Python 3.13's shutdown as
// close().

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"
#include "wait_contract.hpp"

using weft_test::run_queued_tasks;

namespace {

weft::task<void> push_one(weft::queue<int>& q, int v) { co_await q.push(std::move(v)); }

weft::task<int> pop_one(weft::queue<int>& q) { co_return co_await q.pop(); }

/// What a push or pop ended with: "ok", "closed" or "cancelled".
template <class Body>
weft::task<std::string> outcome_of(Body body) {
  try {
    co_await body();
    co_return "ok";
  } catch (const weft::queue_closed_error&) {
    co_return "closed";
  } catch (const weft::cancelled_error&) {
    co_return "cancelled";
  }
}

std::vector<int> drain(weft::queue<int>& q) {
  std::vector<int> items;
  while (auto v = q.try_pop()) items.push_back(*v);
  return items;
}

}  // namespace

TEST(Queue, ItemsComeOutInTheOrderTheyWentIn) {
  weft::scheduler sched{1};
  weft::queue<int> q{100};
  auto body = [](weft::queue<int>& q) -> weft::task<std::vector<int>> {
    for (int i = 0; i < 50; ++i) co_await q.push(std::move(i));
    std::vector<int> out;
    for (int i = 0; i < 50; ++i) out.push_back(co_await q.pop());
    co_return out;
  };
  auto out = weft::sync_wait(sched, body(q));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(out[i], i);
}

TEST(Queue, TheQueriesDescribeItsState) {
  weft::queue<int> q{2};
  EXPECT_EQ(q.capacity(), 2u);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  EXPECT_FALSE(q.closed());
  EXPECT_TRUE(q.try_push(1));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_TRUE(q.try_push(2));
  EXPECT_TRUE(q.full());
  EXPECT_FALSE(q.try_push(3));
  EXPECT_EQ(q.try_pop(), 1);
  EXPECT_FALSE(q.full());
  weft::queue<int> unbounded;
  EXPECT_EQ(unbounded.capacity(), 0u);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(unbounded.try_push(int(i)));
  EXPECT_FALSE(unbounded.full());
}

TEST(Queue, PushWaitsWhileFullAndAPopLetsItIn) {
  weft::scheduler sched{1};
  weft::queue<int> q{1};
  ASSERT_TRUE(q.try_push(1));
  auto h = sched.spawn(push_one(q, 2));
  run_queued_tasks(sched);
  EXPECT_FALSE(h.done());
  EXPECT_EQ(q.try_pop(), 1);
  h.wait();
  EXPECT_FALSE(h.cancelled());
  EXPECT_EQ(drain(q), (std::vector<int>{2}));
}

TEST(Queue, PushToAnUnboundedQueueNeverWaits) {
  weft::scheduler sched{1};
  weft::queue<int> q;  // capacity 0: unbounded
  auto body = [](weft::queue<int>& q) -> weft::task<std::size_t> {
    for (int i = 0; i < 10000; ++i) co_await q.push(int(i));  // nobody pops meanwhile
    co_return q.size();
  };
  EXPECT_EQ(weft::sync_wait(sched, body(q)), 10000u);
}

TEST(Queue, PopWaitsWhileEmptyAndAPushFromAPlainThreadWakesIt) {
  weft::scheduler sched{1};
  weft::queue<int> q;
  auto h = sched.spawn(pop_one(q));
  run_queued_tasks(sched);
  EXPECT_FALSE(h.done());
  std::thread producer([&] { EXPECT_TRUE(q.try_push(42)); });
  producer.join();
  h.wait();
  EXPECT_EQ(h.result(), 42);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, WaitersAreServedFirstComeFirstServed) {
  weft::scheduler sched{1};
  weft::queue<int> q;
  auto poppers = weft_test::spawn_in_line(sched, 4, [&](int) { return pop_one(q); });
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.try_push(int(i)));
  for (int i = 0; i < 4; ++i) {
    poppers[i].wait();
    EXPECT_EQ(poppers[i].result(), i);
  }

  weft::queue<int> full{1};
  ASSERT_TRUE(full.try_push(-1));
  auto pushers = weft_test::spawn_in_line(sched, 4, [&](int i) { return push_one(full, i); });
  std::vector<int> out;
  for (int i = 0; i < 4; ++i) {
    out.push_back(*full.try_pop());  // frees the slot for pusher i
    pushers[i].wait();
  }
  out.push_back(*full.try_pop());
  EXPECT_EQ(out, (std::vector<int>{-1, 0, 1, 2, 3}));
}

TEST(Queue, MoveOnlyItemsPassThrough) {
  weft::scheduler sched{1};
  weft::queue<std::unique_ptr<int>> q{4};
  auto body = [](weft::queue<std::unique_ptr<int>>& q) -> weft::task<int> {
    co_await q.push(std::make_unique<int>(5));
    auto p = co_await q.pop();
    co_return *p;
  };
  EXPECT_EQ(weft::sync_wait(sched, body(q)), 5);
}

TEST(Queue, AFailedTryPushLeavesTheValueUntouched) {
  weft::queue<std::unique_ptr<int>> q{1};
  ASSERT_TRUE(q.try_push(std::make_unique<int>(1)));
  auto v = std::make_unique<int>(2);
  EXPECT_FALSE(q.try_push(std::move(v)));  // full
  ASSERT_NE(v, nullptr);
  q.close();
  q.try_pop();
  EXPECT_FALSE(q.try_push(std::move(v)));  // closed
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 2);
}

TEST(Queue, AfterCloseAPushThrowsAndPopsDrainThenThrow) {
  weft::scheduler sched{1};
  weft::queue<int> q{10};
  ASSERT_TRUE(q.try_push(1));
  ASSERT_TRUE(q.try_push(2));
  q.close();
  q.close();  // twice is harmless
  EXPECT_TRUE(q.closed());
  EXPECT_FALSE(q.try_push(3));
  auto push3 = [&q]() { return push_one(q, 3); };
  EXPECT_EQ(weft::sync_wait(sched, outcome_of(push3)), "closed");
  EXPECT_EQ(weft::sync_wait(sched, pop_one(q)), 1);
  EXPECT_EQ(q.try_pop(), 2);
  EXPECT_EQ(q.try_pop(), std::nullopt);
  auto pop = [&q]() -> weft::task<void> { co_await q.pop(); };
  EXPECT_EQ(weft::sync_wait(sched, outcome_of(pop)), "closed");
  try {
    weft::sync_wait(sched, pop_one(q));
    ADD_FAILURE() << "pop() of a closed, empty queue must throw";
  } catch (const weft::queue_closed_error& e) {
    EXPECT_TRUE(weft_test::contains(e.what(), "end the consumer"));
  }
}

TEST(Queue, CloseWakesWaitingPushersWithoutQueueingTheirValues) {
  weft::scheduler sched{1};
  weft::queue<int> q{1};
  ASSERT_TRUE(q.try_push(1));
  std::vector<weft::task_handle<std::string>> pushers;
  for (int i = 0; i < 3; ++i) {
    pushers.push_back(sched.spawn(outcome_of([&q, i] { return push_one(q, 10 + i); })));
  }
  run_queued_tasks(sched);
  q.close();
  for (auto& h : pushers) {
    h.wait();
    EXPECT_EQ(h.result(), "closed");
  }
  EXPECT_EQ(drain(q), (std::vector<int>{1}));
}

TEST(Queue, CloseWakesWaitingPoppersOfAnEmptyQueue) {
  weft::scheduler sched{1};
  weft::queue<int> q;
  std::vector<weft::task_handle<std::string>> poppers;
  for (int i = 0; i < 3; ++i) {
    poppers.push_back(sched.spawn(outcome_of([&q]() -> weft::task<void> { co_await q.pop(); })));
  }
  run_queued_tasks(sched);
  q.close();
  for (auto& h : poppers) {
    h.wait();
    EXPECT_EQ(h.result(), "closed");
  }
}

TEST(Queue, ACancelledPushQueuesNothing) {
  weft::scheduler sched{1};
  weft::queue<int> q{1};
  ASSERT_TRUE(q.try_push(1));
  auto h = sched.spawn(push_one(q, 2));
  run_queued_tasks(sched);
  h.cancel();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(drain(q), (std::vector<int>{1}));
}

TEST(Queue, ASlotFreedForACancelledPusherGoesToTheNext) {
  weft::scheduler sched{1};
  weft::queue<int> q{1};
  ASSERT_TRUE(q.try_push(1));
  auto line = weft_test::spawn_in_line(sched, 2, [&](int i) { return push_one(q, 2 + i); });
  auto& first = line[0];
  auto& second = line[1];
  {
    weft_test::worker_pin pin(sched);
    EXPECT_EQ(q.try_pop(), 1);  // reserves the slot for `first`
    EXPECT_TRUE(q.full());
    first.cancel();             // it resumes cancelled: the slot goes on
  }
  first.wait();
  second.wait();
  EXPECT_TRUE(first.cancelled());
  EXPECT_FALSE(second.cancelled());
  EXPECT_EQ(drain(q), (std::vector<int>{3}));
}

TEST(Queue, ASlotWhoseItemGoesStraightToAPopperPassesToTheNextPusher) {
  weft_test::hang_guard guard(std::chrono::seconds(30), "the second pusher's wait");
  weft::scheduler pushers{1}, poppers{1};
  weft::queue<int> q{1};
  ASSERT_TRUE(q.try_push(1));
  // `first` pushes 2, `second` pushes 3.
  auto line = weft_test::spawn_in_line(pushers, 2, [&](int i) { return push_one(q, 2 + i); });
  auto& second = line[1];
  weft::task_handle<int> popper;
  {
    weft_test::worker_pin pin(pushers);
    EXPECT_EQ(q.try_pop(), 1);  // the slot is reserved for `first`, which cannot run yet
    popper = poppers.spawn(pop_one(q));
    run_queued_tasks(poppers);  // the queue looks empty: the popper waits
    EXPECT_FALSE(popper.done());
  }
  // `first` hands its item to the popper; the slot is free again, for `second`.
  popper.wait();
  EXPECT_EQ(popper.result(), 2);
  second.wait();
  EXPECT_FALSE(second.cancelled());
  EXPECT_EQ(drain(q), (std::vector<int>{3}));
}

TEST(Queue, AnItemHandedToACancelledPopperStaysForTheNext) {
  weft::scheduler sched{1};
  weft::queue<int> q;
  auto first = sched.spawn(pop_one(q));
  run_queued_tasks(sched);
  {
    weft_test::worker_pin pin(sched);
    ASSERT_TRUE(q.try_push(7));  // handed to `first`, which cannot run yet
    first.cancel();
  }
  first.wait();
  EXPECT_TRUE(first.cancelled());
  EXPECT_EQ(q.try_pop(), 7);  // back in the queue

  auto line = weft_test::spawn_in_line(sched, 2, [&](int) { return pop_one(q); });
  auto& a = line[0];
  auto& b = line[1];
  {
    weft_test::worker_pin pin(sched);
    ASSERT_TRUE(q.try_push(8));  // handed to `a`
    a.cancel();                  // `a` hands it to `b`
  }
  b.wait();
  EXPECT_EQ(b.result(), 8);
  EXPECT_TRUE(q.empty());
}

TEST(Queue, ACancelWakesAWaitingPopper) {
  weft::queue<int> q;
  weft_test::expect_cancel_wakes_the_waiter([&]() -> weft::task<void> { co_await q.pop(); });
}

TEST(Queue, ACancelWakesAWaitingPusher) {
  weft::queue<int> q{1};
  ASSERT_TRUE(q.try_push(0));
  weft_test::expect_cancel_wakes_the_waiter([&] { return push_one(q, 1); });
  EXPECT_EQ(drain(q), (std::vector<int>{0}));
}

TEST(Queue, APendingCancelThrowsAndNeitherPushesNorPops) {
  weft::queue<int> q{4};
  weft_test::expect_pending_cancel_throws_before_waiting([&] { return push_one(q, 1); });
  EXPECT_TRUE(q.empty());
  ASSERT_TRUE(q.try_push(2));
  weft_test::expect_pending_cancel_throws_before_waiting(
      [&]() -> weft::task<void> { co_await q.pop(); });
  EXPECT_EQ(drain(q), (std::vector<int>{2}));
}

TEST(Queue, SchedulerShutdownCancelsWaiters) {
  weft::queue<int> q{1};
  weft_test::expect_shutdown_cancels_the_waiter([&]() -> weft::task<void> { co_await q.pop(); });
  ASSERT_TRUE(q.try_push(0));
  weft_test::expect_shutdown_cancels_the_waiter([&] { return push_one(q, 1); });
}

TEST(Queue, TasksOfTwoSchedulersShareOneQueue) {
  weft::queue<int> q;
  weft_test::expect_each_waiter_resumes_on_its_own_scheduler(
      [&]() -> weft::task<void> { co_await q.pop(); },
      [&] {
        q.try_push(1);
        q.try_push(2);
      });
}

TEST(Queue, EveryItemArrivesOnceWhileCancelsRaceTheHandOffs) {
  // Twice as many pushers as poppers, so every popper gets an item or a
  // cancel; then close() fails the pushers still waiting for a slot. Every
  // value whose push succeeded is popped or left queued, exactly once.
  weft::scheduler sched{2};
  for (int round = 0; round < 100; ++round) {
    weft::queue<int> q{4};
    constexpr int k_pushers = 200, k_poppers = 100;
    // Set right after a push returns (no suspension point in between).
    std::vector<std::atomic<bool>> pushed(k_pushers);
    auto push_and_mark = [](weft::queue<int>& q, int v, std::atomic<bool>& pushed) -> weft::task<void> {
      co_await q.push(std::move(v));
      pushed = true;
    };
    std::vector<weft::task_handle<void>> pushers;
    for (int i = 0; i < k_pushers; ++i) pushers.push_back(sched.spawn(push_and_mark(q, i, pushed[i])));
    std::vector<weft::task_handle<int>> poppers;
    for (int i = 0; i < k_poppers; ++i) poppers.push_back(sched.spawn(pop_one(q)));
    std::thread canceller([&] {
      for (int i = 0; i + 3 < k_poppers; i += 7) {
        pushers[i].cancel();
        poppers[i + 3].cancel();
      }
    });
    canceller.join();
    std::vector<int> seen(k_pushers, 0);
    for (auto& h : poppers) {
      h.wait();
      if (!h.cancelled()) seen[h.result()]++;
    }
    q.close();
    for (int v : drain(q)) seen[v]++;
    for (int i = 0; i < k_pushers; ++i) {
      pushers[i].wait();
      ASSERT_EQ(seen[i], pushed[i] ? 1 : 0) << "value " << i << " in round " << round;
    }
  }
}

TEST(QueueDeathTest, DestroyingAQueueWhileATaskWaitsTerminatesNamingIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        weft::scheduler sched{1};
        auto q = std::make_unique<weft::queue<int>>();
        auto h = sched.spawn(pop_one(*q));
        run_queued_tasks(sched);
        q.reset();
      },
      "weft::queue was destroyed while a task waits on it");
}
