// weft::task_handle<T>: copyable, thread-safe view of a spawned task;
// result()/exception()/done()/cancelled()/wait()/co_await and the terminal
// states.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "support.hpp"

namespace {

using weft_test::value_after_yield;

using weft_test::fail_after_yield;

weft::task<int> wait_then_return(std::latch& started, std::latch& release, int v) {
  started.count_down();
  release.wait();
  co_return v;
}

}  // namespace

static_assert(std::is_copy_constructible_v<weft::task_handle<int>>);
static_assert(std::is_copy_assignable_v<weft::task_handle<int>>);
static_assert(std::is_nothrow_move_constructible_v<weft::task_handle<int>>);

// ---- terminal states

TEST(TaskHandle, SucceededTaskIsDoneNotCancelledAndHasItsValue) {
  weft::scheduler sched{2};
  auto h = sched.spawn(value_after_yield(42));
  h.wait();
  EXPECT_TRUE(h.done());
  EXPECT_FALSE(h.cancelled());
  EXPECT_EQ(h.result(), 42);
  EXPECT_EQ(h.result(), 42) << "a copyable result can be read again";
  EXPECT_EQ(h.exception(), nullptr);
}

TEST(TaskHandle, FailedTaskIsDoneNotCancelledAndRethrowsItsException) {
  weft::scheduler sched{2};
  auto h = sched.spawn(fail_after_yield("broken widget"));
  h.wait();
  EXPECT_TRUE(h.done());
  EXPECT_FALSE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), std::runtime_error, "broken widget");
  std::exception_ptr e = h.exception();
  ASSERT_NE(e, nullptr);
  WEFT_EXPECT_THROW_NAMING(std::rethrow_exception(e), std::runtime_error, "broken widget");
}

TEST(TaskHandle, CancelledTaskIsDoneCancelledAndResultAndExceptionThrowCancelledError) {
  weft::scheduler sched{2};
  std::latch started{1};
  std::atomic<bool> cleaned{false};
  auto h = sched.spawn(weft_test::yield_until_cancelled(started, cleaned));
  started.wait();
  EXPECT_TRUE(h.cancel("stop it"));
  h.wait();
  EXPECT_TRUE(h.done());
  EXPECT_TRUE(h.cancelled());
  EXPECT_TRUE(cleaned.load());
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::cancelled_error, "stop it");
  WEFT_EXPECT_THROW_NAMING(static_cast<void>(h.exception()), weft::cancelled_error, "stop it");
}

TEST(TaskHandle, TerminalStateNeverChangesAndLaterCancelsReturnFalse) {
  weft::scheduler sched{2};
  auto ok = sched.spawn(value_after_yield(1));
  auto bad = sched.spawn(fail_after_yield("x"));
  std::latch started{1};
  std::atomic<bool> cleaned{false};
  auto gone = sched.spawn(weft_test::yield_until_cancelled(started, cleaned));
  started.wait();
  EXPECT_TRUE(gone.cancel("first"));
  ok.wait();
  bad.wait();
  gone.wait();
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(ok.cancel("late"));
    EXPECT_FALSE(bad.cancel("late"));
    EXPECT_FALSE(gone.cancel("late"));
    EXPECT_TRUE(ok.done() && !ok.cancelled());
    EXPECT_EQ(ok.result(), 1);
    EXPECT_TRUE(bad.done() && !bad.cancelled());
    EXPECT_NE(bad.exception(), nullptr);
    EXPECT_TRUE(gone.done() && gone.cancelled());
    WEFT_EXPECT_THROW_NAMING(gone.result(), weft::cancelled_error, "first");
  }
}

// ---- not done yet

TEST(TaskHandle, ResultBeforeDoneThrowsInvalidStateNamingTheFix) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto h = sched.spawn(wait_then_return(started, release, 5));
  started.wait();  // running, and cannot finish until released
  EXPECT_FALSE(h.done());
  EXPECT_FALSE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), weft::invalid_state_error,
                           "co_await the handle or call wait() first");
  release.count_down();
  h.wait();
  EXPECT_EQ(h.result(), 5);
}

TEST(TaskHandle, ExceptionBeforeDoneThrowsInvalidStateNamingTheFix) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto h = sched.spawn(wait_then_return(started, release, 5));
  started.wait();
  WEFT_EXPECT_THROW_NAMING(static_cast<void>(h.exception()), weft::invalid_state_error,
                           "co_await the handle or call wait() first");
  release.count_down();
  h.wait();
  EXPECT_EQ(h.exception(), nullptr);
}

TEST(TaskHandle, EmptyHandleThrowsInvalidStateNamingTheFix) {
  weft::task_handle<int> empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_FALSE(empty.done());
  EXPECT_FALSE(empty.cancelled());
  WEFT_EXPECT_THROW_NAMING(empty.result(), weft::invalid_state_error, "returned by spawn()");
  WEFT_EXPECT_THROW_NAMING(empty.wait(), weft::invalid_state_error, "returned by spawn()");
  WEFT_EXPECT_THROW_NAMING(static_cast<void>(empty.cancel()), weft::invalid_state_error,
                           "returned by spawn()");
}

TEST(TaskHandle, AwaitingAnEmptyHandleThrowsInvalidStateNamingTheFix) {
  weft::scheduler sched{1};
  std::string msg = weft_test::misuse_message(sched, []() -> weft::task<void> {
    weft::task_handle<int> empty;
    co_await empty;
  });
  EXPECT_TRUE(weft_test::contains(msg, "await the handle returned by spawn()")) << msg;
}

// ---- wait()

TEST(TaskHandle, WaitBlocksUntilDoneAndPublishesTheTasksWrites) {
  weft::scheduler sched{2};
  for (int round = 0; round < 200; ++round) {
    std::vector<int> written;  // plain memory: wait() must publish it
    auto body = [](std::vector<int>& out, int n) -> weft::task<int> {
      for (int i = 0; i < n; ++i) {
        out.push_back(i);
        if (i % 3 == 0) co_await weft::yield();
      }
      co_return n;
    };
    auto h = sched.spawn(body(written, round));
    h.wait();
    ASSERT_TRUE(h.done());
    ASSERT_EQ(h.result(), round);
    ASSERT_EQ(written.size(), static_cast<std::size_t>(round));
  }
}

TEST(TaskHandle, WaitFromManyThreadsAtOnceReturnsInAllOfThem) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto h = sched.spawn(wait_then_return(started, release, 11));
  started.wait();
  constexpr int k_threads = 4;
  std::latch waiting{k_threads};
  std::atomic<int> results{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < k_threads; ++i) {
    threads.emplace_back([h, &waiting, &results] {  // each thread its own copy
      waiting.count_down();
      h.wait();
      results.fetch_add(h.result());
    });
  }
  waiting.wait();
  release.count_down();
  for (auto& t : threads) t.join();
  EXPECT_EQ(results.load(), 11 * k_threads);
}

TEST(TaskHandle, WaitOnADoneTaskReturnsAtOnce) {
  weft::scheduler sched{1};
  auto h = sched.spawn(value_after_yield(3));
  h.wait();
  h.wait();
  EXPECT_EQ(h.result(), 3);
}

// ---- copies

TEST(TaskHandle, CopiesReferToTheSameTask) {
  weft::scheduler sched{2};
  std::latch started{1};
  std::atomic<bool> cleaned{false};
  weft::task_handle<void> a = sched.spawn(weft_test::yield_until_cancelled(started, cleaned));
  weft::task_handle<void> b = a;  // copy
  weft::task_handle<void> c;
  c = b;  // copy-assign
  started.wait();
  EXPECT_TRUE(b.cancel("via b"));
  c.wait();
  EXPECT_TRUE(a.cancelled());
  EXPECT_TRUE(b.cancelled());
  EXPECT_TRUE(c.cancelled());
  WEFT_EXPECT_THROW_NAMING(a.result(), weft::cancelled_error, "via b");
  weft::task_handle<void> d = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): moved-from state is the contract
  EXPECT_TRUE(d.valid());
  EXPECT_TRUE(d.cancelled());
}

TEST(TaskHandle, CopiesAreUsableFromManyThreadsConcurrently) {
  weft::scheduler sched{2};
  constexpr int k_tasks = 200;
  std::vector<weft::task_handle<int>> handles;
  for (int i = 0; i < k_tasks; ++i) handles.push_back(sched.spawn(value_after_yield(i)));
  constexpr int k_threads = 4;
  std::latch go{k_threads};
  std::atomic<long> sum{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&handles, &go, &sum, t] {
      go.arrive_and_wait();
      for (int i = 0; i < k_tasks; ++i) {
        weft::task_handle<int> copy = handles[static_cast<std::size_t>(i)];
        if ((i + t) % 7 == 0) static_cast<void>(copy.done());
        copy.wait();
        sum.fetch_add(copy.result());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(sum.load(), static_cast<long>(k_threads) * (k_tasks - 1) * k_tasks / 2);
}

// ---- co_await handle

TEST(TaskHandle, CoAwaitHandleReturnsTheResult) {
  weft::scheduler sched{2};
  auto parent = []() -> weft::task<int> {
    weft::task_handle<int> a = weft::spawn(value_after_yield(20));
    weft::task_handle<int> b = weft::spawn(value_after_yield(22));
    int x = co_await a;             // an lvalue handle
    int y = co_await std::move(b);  // an rvalue handle
    co_return x + y + co_await a;   // a done handle: ready at once
  };
  EXPECT_EQ(weft::sync_wait(sched, parent()), 62);
}

TEST(TaskHandle, CoAwaitHandleRethrowsTheTasksException) {
  weft::scheduler sched{2};
  auto parent = []() -> weft::task<std::string> {
    weft::task_handle<int> h = weft::spawn(fail_after_yield("handle failure"));
    try {
      co_await h;
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(weft::sync_wait(sched, parent()), "handle failure");
}

TEST(TaskHandle, ForksAwaitedOldestFirstRunNewestFirstOnOneWorker) {
  // One worker: forks go on top of its deque and run last-in first-out,
  // whichever handle the parent awaits first.
  weft::scheduler sched{1};
  auto parent = []() -> weft::task<std::string> {
    std::string order;
    auto note = [](std::string& order, char c) -> weft::task<int> {
      order += c;
      co_return c;
    };
    weft::task_handle<int> a = weft::spawn(note(order, 'a'));
    weft::task_handle<int> b = weft::spawn(note(order, 'b'));
    const int x = co_await a;
    const int y = co_await b;
    co_return order + static_cast<char>(x) + static_cast<char>(y);
  };
  EXPECT_EQ(weft::sync_wait(sched, parent()), "baab");
}

TEST(TaskHandle, EveryForkOfASpawnAndAwaitTreeEndsOnceAtOneAndTwoWorkers) {
  // spawning_fib forks one branch and awaits its handle after running the
  // other inline: every fork ends once, succeeded, with the right value.
  for (std::size_t workers : {std::size_t{1}, std::size_t{2}}) {
    weft::scheduler sched{workers};
    EXPECT_EQ(weft::sync_wait(sched, weft_test::spawning_fib(20)), 6765) << workers << " workers";
    const weft::scheduler_stats stats = sched.stats();
    EXPECT_EQ(stats.spawned, 10946u) << workers << " workers: 10,945 forks and the root";
    EXPECT_EQ(stats.succeeded, stats.spawned) << workers << " workers";
  }
}

TEST(TaskHandle, CoAwaitHandleOfATaskOnAnotherSchedulerWorks) {
  weft::scheduler a{1}, b{1};
  weft::task_handle<int> remote = b.spawn(value_after_yield(8));
  auto parent = [](weft::task_handle<int> h) -> weft::task<int> { co_return co_await h + 1; };
  EXPECT_EQ(weft::sync_wait(a, parent(remote)), 9);
}

TEST(TaskHandle, ManyTasksAwaitingOneHandleAllResumeWithItsResult) {
  weft::scheduler sched{2};
  for (int round = 0; round < 50; ++round) {
    std::latch started{1}, release{1};
    auto target = sched.spawn(wait_then_return(started, release, round));
    constexpr int k_awaiters = 20;
    std::latch awaiting{k_awaiters};
    auto await_it = [](weft::task_handle<int> h, std::latch& awaiting) -> weft::task<int> {
      awaiting.count_down();
      co_return co_await h;
    };
    std::vector<weft::task_handle<int>> awaiters;
    for (int i = 0; i < k_awaiters; ++i) awaiters.push_back(sched.spawn(await_it(target, awaiting)));
    started.wait();
    awaiting.wait();
    release.count_down();
    for (auto& a : awaiters) {
      a.wait();
      ASSERT_EQ(a.result(), round);
    }
  }
}

TEST(TaskHandle, CoAwaitOwnHandleThrowsInvalidStateNamingTheFix) {
  weft::scheduler sched{1};
  std::optional<weft::task_handle<void>> self;
  std::latch stored{1};
  auto body = [](std::optional<weft::task_handle<void>>& self,
                 std::latch& stored) -> weft::task<void> {
    stored.wait();  // until the spawner has written our own handle
    co_await *self;
  };
  self = sched.spawn(body(self, stored));
  stored.count_down();
  self->wait();
  EXPECT_FALSE(self->cancelled());
  WEFT_EXPECT_THROW_NAMING(self->result(), weft::invalid_state_error,
                           "await another task's handle");
}

TEST(TaskHandle, CoAwaitATemporaryHandleReleasesItOnceEvenWhenItThrows) {
  // The awaiter takes the temporary's reference; g++ 12 may destroy the
  // temporary twice when await_resume throws. Counted values and ASan
  // catch a frame released twice or never.
  weft_test::counted::reset();
  {
    weft::scheduler sched{2};
    auto make = [](int v, bool fail) -> weft::task<weft_test::counted> {
      co_await weft::yield();
      if (fail) throw std::runtime_error("temporary failed");
      co_return weft_test::counted{v};
    };
    auto parent = [&make]() -> weft::task<int> {
      int sum = 0, caught = 0;
      for (int i = 0; i < 200; ++i) {
        try {
          weft_test::counted c = co_await weft::spawn(make(i, i % 2 == 1));
          sum += c.value;
        } catch (const std::runtime_error&) {
          ++caught;
        }
      }
      co_return sum + caught * 1'000'000;
    };
    // Even i in [0, 200): sum 9900; 100 failures.
    EXPECT_EQ(weft::sync_wait(sched, parent()), 9900 + 100 * 1'000'000);
  }
  EXPECT_EQ(weft_test::counted::live.load(), 0);
  EXPECT_EQ(weft_test::counted::double_destroyed.load(), 0);
}

TEST(TaskHandle, DoneObservedByPollingPublishesTheResultAndTheTasksWrites) {
  // No wait(): the acquire in done() alone must make the task's writes
  // visible (the TSan build checks the pairing).
  weft::scheduler sched{2};
  for (int round = 0; round < 500; ++round) {
    int plain = 0;
    auto body = [](int& out, int v) -> weft::task<int> {
      out = v;
      co_return v * 2;
    };
    auto h = sched.spawn(body(plain, round));
    while (!h.done()) std::this_thread::yield();  // yields to a worker sharing this core
    ASSERT_EQ(plain, round);
    ASSERT_EQ(h.result(), round * 2);
  }
}

// ---- move-only results

TEST(TaskHandle, MoveOnlyResultIsTakenOnceThenThrowsNamingTheFix) {
  weft::scheduler sched{1};
  auto make = []() -> weft::task<std::unique_ptr<int>> { co_return std::make_unique<int>(4); };
  auto h = sched.spawn(make());
  h.wait();
  std::unique_ptr<int> first = h.result();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(*first, 4);
  weft::task_handle<std::unique_ptr<int>> copy = h;
  WEFT_EXPECT_THROW_NAMING(static_cast<void>(copy.result()), weft::invalid_state_error,
                           "keep the value from the first call");
}

TEST(TaskHandle, MoveOnlyResultTakenByCoAwaitIsNotTakenAgain) {
  weft::scheduler sched{1};
  auto make = []() -> weft::task<std::unique_ptr<int>> { co_return std::make_unique<int>(6); };
  auto h = sched.spawn(make());
  auto taker = [](weft::task_handle<std::unique_ptr<int>> h) -> weft::task<int> {
    std::unique_ptr<int> p = co_await h;
    co_return *p;
  };
  EXPECT_EQ(weft::sync_wait(sched, taker(h)), 6);
  WEFT_EXPECT_THROW_NAMING(static_cast<void>(h.result()), weft::invalid_state_error,
                           "keep the value from the first call");
}

TEST(TaskHandle, MoveOnlyResultRacingTakersGetItExactlyOnce) {
  weft::scheduler sched{2};
  for (int round = 0; round < 200; ++round) {
    auto make = []() -> weft::task<std::unique_ptr<int>> { co_return std::make_unique<int>(1); };
    auto h = sched.spawn(make());
    h.wait();
    std::atomic<int> got{0}, refused{0};
    std::latch go{2};
    auto take = [&] {
      go.arrive_and_wait();
      try {
        if (h.result() != nullptr) got.fetch_add(1);
      } catch (const weft::invalid_state_error&) {
        refused.fetch_add(1);
      }
    };
    std::thread t1(take), t2(take);
    t1.join();
    t2.join();
    ASSERT_EQ(got.load(), 1);
    ASSERT_EQ(refused.load(), 1);
  }
}

// ---- lifetime

TEST(TaskHandle, StaysValidAfterItsSchedulerIsDestroyed) {
  weft::task_handle<int> ok, bad;
  weft::task_handle<std::unique_ptr<int>> owned;
  {
    weft::scheduler sched{2};
    ok = sched.spawn(value_after_yield(17));
    bad = sched.spawn(fail_after_yield("after the scheduler"));
    owned = sched.spawn([]() -> weft::task<std::unique_ptr<int>> {
      co_return std::make_unique<int>(2);
    }());
    ok.wait();
    bad.wait();
    owned.wait();
  }
  EXPECT_TRUE(ok.done());
  EXPECT_EQ(ok.result(), 17);
  EXPECT_FALSE(ok.cancel());
  WEFT_EXPECT_THROW_NAMING(bad.result(), std::runtime_error, "after the scheduler");
  ok.wait();
  std::unique_ptr<int> p = owned.result();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 2);
}

TEST(TaskHandle, FrameOfASpawnedTaskLivesUntilItsLastHandleIsGone) {
  weft_test::counted::reset();
  {
    weft::task_handle<weft_test::counted> keep;
    {
      weft::scheduler sched{1};
      auto make = [](weft_test::counted c) -> weft::task<weft_test::counted> {
        co_await weft::yield();
        co_return weft_test::counted{c.value + 1};
      };
      keep = sched.spawn(make(weft_test::counted{40}));
      keep.wait();
    }
    EXPECT_GE(weft_test::counted::live.load(), 1) << "the result lives in the frame";
    EXPECT_EQ(keep.result().value, 41);
  }
  EXPECT_EQ(weft_test::counted::live.load(), 0);
  EXPECT_EQ(weft_test::counted::double_destroyed.load(), 0);
}
