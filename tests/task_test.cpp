// weft::task<T>: lazy, move-only, awaited inline without growing the stack,
// destroyed without running if never started, plus a first example:
// spawn, wait, sync_wait, and cancel with a cleanup.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "support.hpp"

namespace {

using weft_test::counted;

// ---- a first example: spawn, wait, sync_wait, cancel with a cleanup

weft::task<int> answer() {
  co_await weft::yield();
  co_return 42;
}

weft::task<void> cleanup_on_cancel(std::atomic<bool>& started, std::atomic<bool>& cleaned) {
  started = true;
  struct guard {
    std::atomic<bool>& f;
    ~guard() { f = true; }
  } g{cleaned};  // RAII runs on cancel
  try {
    for (;;) co_await weft::yield();  // every co_await is a cancellation point
  } catch (const weft::cancelled_error& e) {
    // cleanup that needs no suspension goes here; then re-raise
    throw;
  }
}

}  // namespace

TEST(Task, SpawnedTaskReturnsItsResultAndACancelledOneCleansUpAndReportsTheMessage) {
  weft::scheduler sched{2};
  weft::task_handle<int> h = sched.spawn(answer());
  h.wait();
  EXPECT_TRUE(h.done());
  EXPECT_FALSE(h.cancelled());
  EXPECT_EQ(h.result(), 42);
  int v = weft::sync_wait(sched, answer());
  EXPECT_EQ(v, 42);

  std::atomic<bool> started{false}, cleaned{false};
  auto c = sched.spawn(cleanup_on_cancel(started, cleaned));
  bool accepted = c.cancel("shutting down");
  EXPECT_TRUE(accepted);
  c.wait();
  EXPECT_TRUE(c.cancelled());
  EXPECT_EQ(cleaned.load(), started.load());
  bool threw = false;
  try {
    c.result();
  } catch (const weft::cancelled_error& e) {
    threw = true;
    EXPECT_TRUE(weft_test::contains(e.what(), "shutting down"));
  }
  EXPECT_TRUE(threw);
  EXPECT_FALSE(c.cancel());
}

// ---- lazy, move-only

static_assert(!std::is_copy_constructible_v<weft::task<int>>);
static_assert(!std::is_copy_assignable_v<weft::task<int>>);
static_assert(std::is_nothrow_move_constructible_v<weft::task<int>>);
static_assert(std::is_nothrow_move_assignable_v<weft::task<void>>);

using weft_test::mark_and_return;

TEST(Task, IsLazyItsBodyRunsOnlyOnceSpawned) {
  std::atomic<int> runs{0};
  weft::scheduler sched{1};
  weft::task<int> t = mark_and_return(runs, 7);
  EXPECT_EQ(runs.load(), 0) << "creating a task must not run its body";
  weft::task<int> moved = std::move(t);
  EXPECT_FALSE(t.valid());  // NOLINT(bugprone-use-after-move): moved-from state is the contract
  EXPECT_TRUE(moved.valid());
  EXPECT_EQ(runs.load(), 0) << "moving a task must not run its body";
  auto h = sched.spawn(std::move(moved));
  h.wait();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(h.result(), 7);
}

TEST(Task, IsLazyAChildRunsOnlyWhenAwaited) {
  std::atomic<int> runs{0};
  weft::scheduler sched{1};
  auto parent = [](std::atomic<int>& runs) -> weft::task<int> {
    weft::task<int> child = mark_and_return(runs, 5);
    co_await weft::yield();  // a suspension between creating and awaiting
    int before = runs.load();
    int v = co_await std::move(child);
    co_return before * 100 + runs.load() * 10 + v;
  };
  EXPECT_EQ(weft::sync_wait(sched, parent(runs)), 0 * 100 + 1 * 10 + 5);
}

TEST(Task, SpawningAMovedFromTaskThrowsInvalidStateNamingTheFix) {
  weft::scheduler sched{1};
  std::atomic<int> runs{0};
  weft::task<int> t = mark_and_return(runs, 1);
  weft::task<int> other = std::move(t);
  WEFT_EXPECT_THROW_NAMING(static_cast<void>(sched.spawn(std::move(t))),
                           weft::invalid_state_error, "create a new one");
  EXPECT_EQ(weft::sync_wait(sched, std::move(other)), 1);
  EXPECT_EQ(runs.load(), 1);
}

TEST(Task, AwaitingAMovedFromTaskThrowsInvalidStateNamingTheFix) {
  counted::reset();
  {
    weft::scheduler sched{1};
    std::string msg = weft_test::misuse_message(sched, []() -> weft::task<void> {
      weft::task<int> t = weft_test::counted_value_after_yield(1);
      weft::task<int> other = std::move(t);
      co_await t;  // moved from
      co_await other;
    });
    EXPECT_TRUE(weft_test::contains(msg, "moved from"));
    EXPECT_TRUE(weft_test::contains(msg, "create a new one"));
  }
  EXPECT_EQ(counted::live.load(), 0) << "the task moved into `other` is destroyed unstarted";
}

TEST(Task, AwaitingATaskAlreadyAwaitedThrowsInvalidStateNamingTheFix) {
  weft::scheduler sched{1};
  std::atomic<int> runs{0};
  auto parent = [](std::atomic<int>& runs) -> weft::task<std::string> {
    weft::task<int> t = mark_and_return(runs, 1);
    co_await t;  // consumes it
    try {
      co_await t;
    } catch (const weft::invalid_state_error& e) {
      co_return e.what();
    }
    co_return "awaited twice";
  };
  EXPECT_TRUE(weft_test::contains(weft::sync_wait(sched, parent(runs)), "create a new one"));
  EXPECT_EQ(runs.load(), 1);
}

namespace {
struct no_default_move_only {
  explicit no_default_move_only(int v) : value(v) {}
  no_default_move_only(no_default_move_only&&) = default;
  no_default_move_only& operator=(no_default_move_only&&) = default;
  no_default_move_only(const no_default_move_only&) = delete;
  int value;
};
}  // namespace

TEST(Task, ResultTypeNeedsNeitherADefaultConstructorNorACopy) {
  weft::scheduler sched{1};
  auto make = []() -> weft::task<no_default_move_only> { co_return no_default_move_only{3}; };
  auto twice = [&make]() -> weft::task<no_default_move_only> {
    no_default_move_only v = co_await make();
    co_return no_default_move_only{v.value * 2};
  };
  EXPECT_EQ(weft::sync_wait(sched, twice()).value, 6);
  auto h = sched.spawn(make());
  h.wait();
  EXPECT_EQ(h.result().value, 3);
}

// ---- inline await

namespace {
weft::task<std::thread::id> thread_of_child() { co_return std::this_thread::get_id(); }
}  // namespace

TEST(Task, AwaitingAChildRunsItInlineOnTheSameWorker) {
  weft::scheduler sched{2};
  auto parent = []() -> weft::task<bool> {
    bool same = true;
    for (int i = 0; i < 100; ++i) {
      std::thread::id mine = std::this_thread::get_id();
      std::thread::id child = co_await thread_of_child();
      same = same && mine == child;
    }
    co_return same;
  };
  EXPECT_TRUE(weft::sync_wait(sched, parent()));
  // Inline: the children were never handed to the scheduler.
  EXPECT_EQ(sched.stats().spawned, 1u);
}

TEST(Task, VoidTaskRunsAndCompletes) {
  weft::scheduler sched{2};
  std::atomic<int> runs{0};
  auto body = [](std::atomic<int>& runs) -> weft::task<void> {
    runs.fetch_add(1);
    co_await weft::yield();
    runs.fetch_add(1);
  };
  auto outer = [&](std::atomic<int>& runs) -> weft::task<void> { co_await body(runs); };
  weft::sync_wait(sched, outer(runs));
  auto h = sched.spawn(body(runs));
  h.wait();
  EXPECT_TRUE(h.done());
  EXPECT_FALSE(h.cancelled());
  EXPECT_NO_THROW(h.result());
  EXPECT_EQ(h.exception(), nullptr);
  EXPECT_EQ(runs.load(), 4);
}

namespace {
weft::task<std::unique_ptr<int>> make_unique_int(int v) {
  co_await weft::yield();
  co_return std::make_unique<int>(v);
}
}  // namespace

TEST(Task, MoveOnlyResultPassesThroughInlineAwaitSpawnAndSyncWait) {
  weft::scheduler sched{2};
  auto parent = []() -> weft::task<std::unique_ptr<int>> {
    std::unique_ptr<int> p = co_await make_unique_int(3);
    *p += 1;
    co_return p;
  };
  std::unique_ptr<int> a = weft::sync_wait(sched, parent());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*a, 4);
  auto h = sched.spawn(make_unique_int(9));
  h.wait();
  std::unique_ptr<int> b = h.result();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(*b, 9);
}

// ---- deep chains

namespace {
weft::task<int> depth(int n) {
  if (n == 0) co_return 0;
  int below = co_await depth(n - 1);
  co_return below + 1;
}

weft::task<int> throw_at_bottom(int n) {
  if (n == 0) throw std::runtime_error("bottom of the chain");
  int below = co_await throw_at_bottom(n - 1);
  co_return below + 1;
}

weft::task<void> void_depth(int n, std::atomic<int>& reached) {
  if (n == 0) {
    reached = 1;
    co_return;
  }
  co_await void_depth(n - 1, reached);
}
}  // namespace

TEST(Task, HundredThousandNestedAwaitsDoNotOverflowTheStack) {
  weft::scheduler sched{1};
  EXPECT_EQ(weft::sync_wait(sched, depth(100'000)), 100'000);
  std::atomic<int> reached{0};
  weft::sync_wait(sched, void_depth(100'000, reached));
  EXPECT_EQ(reached.load(), 1);
}

TEST(Task, ExceptionFromTheBottomOfAHundredThousandDeepChainReachesTheTop) {
  weft::scheduler sched{1};
  auto h = sched.spawn(throw_at_bottom(100'000));
  h.wait();
  EXPECT_TRUE(h.done());
  EXPECT_FALSE(h.cancelled());
  WEFT_EXPECT_THROW_NAMING(h.result(), std::runtime_error, "bottom of the chain");
}

// ---- exceptions

namespace {
struct custom_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

weft::task<int> level3() {
  co_await weft::yield();
  throw custom_error("from level 3");
}
weft::task<int> level2() { co_return co_await level3() + 1; }
weft::task<int> level1() { co_return co_await level2() + 1; }
}  // namespace

TEST(Task, ExceptionPropagatesThroughInlineAwaitsWithItsType) {
  weft::scheduler sched{2};
  WEFT_EXPECT_THROW_NAMING(weft::sync_wait(sched, level1()), custom_error, "from level 3");
  auto h = sched.spawn(level1());
  h.wait();
  EXPECT_FALSE(h.cancelled());
  std::exception_ptr e = h.exception();
  ASSERT_NE(e, nullptr);
  WEFT_EXPECT_THROW_NAMING(std::rethrow_exception(e), custom_error, "from level 3");
}

TEST(Task, AParentCanCatchItsChildsExceptionAndContinue) {
  weft::scheduler sched{2};
  auto parent = []() -> weft::task<int> {
    int caught = 0;
    try {
      co_await level2();
    } catch (const custom_error&) {
      caught = 1;
    }
    co_await weft::yield();  // still a healthy task: no cancellation pending
    co_return caught + co_await depth(3);
  };
  EXPECT_EQ(weft::sync_wait(sched, parent()), 4);
}

// ---- destruction

namespace {
weft::task<counted> hold_counted(counted arg, std::atomic<int>& runs) {
  runs.fetch_add(1);
  counted local{arg.value + 1};
  co_await weft::yield();
  co_return counted{local.value + 1};
}
}  // namespace

TEST(Task, NeverAwaitedOrSpawnedTaskIsDestroyedWithoutRunning) {
  counted::reset();
  std::atomic<int> runs{0};
  {
    weft::task<counted> t = hold_counted(counted{1}, runs);
    EXPECT_GE(counted::live.load(), 1) << "the frame holds a copy of the argument";
  }
  EXPECT_EQ(runs.load(), 0);
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

TEST(Task, ChildCreatedButNeverAwaitedInsideATaskIsDestroyedWithoutRunning) {
  counted::reset();
  std::atomic<int> runs{0};
  {
    weft::scheduler sched{1};
    auto parent = [](std::atomic<int>& runs) -> weft::task<int> {
      {
        weft::task<counted> dropped = hold_counted(counted{1}, runs);
        co_await weft::yield();
      }
      co_return runs.load();
    };
    EXPECT_EQ(weft::sync_wait(sched, parent(runs)), 0);
  }
  EXPECT_EQ(runs.load(), 0);
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

TEST(Task, EveryFrameAndValueIsDestroyedExactlyOnce) {
  counted::reset();
  std::atomic<int> runs{0};
  {
    weft::scheduler sched{2};
    // Succeeds inline and spawned.
    auto parent = [](std::atomic<int>& runs) -> weft::task<counted> {
      counted a = co_await hold_counted(counted{10}, runs);
      co_return counted{a.value * 2};
    };
    EXPECT_EQ(weft::sync_wait(sched, parent(runs)).value, 24);
    auto ok = sched.spawn(hold_counted(counted{1}, runs));
    // Fails: the locals of every frame on the way up are destroyed.
    auto failing = [](std::atomic<int>& runs) -> weft::task<counted> {
      counted local{5};
      co_await hold_counted(counted{1}, runs);
      throw std::runtime_error("fail after awaiting");
    };
    auto bad = sched.spawn(failing(runs));
    // Cancelled while suspended, and cancelled before it ran.
    std::latch started{1}, release{1};
    weft::scheduler one{1};
    auto blocker = one.spawn(weft_test::occupy_worker(started, release));
    started.wait();
    auto never = one.spawn(hold_counted(counted{1}, runs));
    EXPECT_TRUE(never.cancel());
    release.count_down();
    ok.wait();
    bad.wait();
    EXPECT_EQ(ok.result().value, 3);
    EXPECT_THROW(bad.result(), std::runtime_error);
    blocker.wait();
    never.wait();
    EXPECT_TRUE(never.cancelled());
  }
  // Schedulers and handles are gone: so must be every frame and value.
  EXPECT_EQ(runs.load(), 3);
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

TEST(Task, ChildWhoseAwaitThrowsIsDestroyedExactlyOnce) {
  // g++ 12 may destroy a temporary awaiter (and its operand) twice when
  // await_resume throws: every path that throws out of `co_await child()`
  // must still destroy the child's frame and values exactly once.
  counted::reset();
  std::atomic<int> runs{0};
  {
    weft::scheduler sched{1};
    auto failing_child = [](counted arg) -> weft::task<counted> {
      counted local{arg.value};
      co_await weft::yield();
      throw std::runtime_error("child failed");
    };
    auto parent = [&failing_child](std::atomic<int>& runs) -> weft::task<int> {
      int caught = 0;
      for (int i = 0; i < 100; ++i) {
        try {
          counted c = co_await failing_child(counted{i});
          runs.fetch_add(c.value);  // never
        } catch (const std::runtime_error&) {
          ++caught;
        }
      }
      co_return caught;
    };
    EXPECT_EQ(weft::sync_wait(sched, parent(runs)), 100);
  }
  EXPECT_EQ(runs.load(), 0);
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

TEST(Task, ChildNotStartedBecauseOfCancellationIsDestroyedExactlyOnce) {
  counted::reset();
  std::atomic<int> runs{0};
  {
    weft::scheduler sched{1};
    std::latch started{1}, release{1};
    auto parent = [](std::latch& started, std::latch& release,
                     std::atomic<int>& runs) -> weft::task<int> {
      started.count_down();
      release.wait();  // cancelled meanwhile
      int caught = 0;
      for (int i = 0; i < 100; ++i) {
        try {
          co_await hold_counted(counted{i}, runs);
        } catch (const weft::cancelled_error&) {
          ++caught;
        }
      }
      co_return caught;  // caught every time: the flag is sticky
    };
    auto h = sched.spawn(parent(started, release, runs));
    started.wait();
    EXPECT_TRUE(h.cancel());
    release.count_down();
    h.wait();
    EXPECT_EQ(h.result(), 100);
  }
  EXPECT_EQ(runs.load(), 0) << "a child awaited by a cancelled task must not start";
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}
