// weft::drop_on_cancel: inside the region a cancelled frame is destroyed at
// the suspension point that sees the cancel, without a C++ exception (its
// destructors run with no exception in flight, no catch block runs), the
// stop travels up to the boundary, and the boundary keeps the usual
// contract. Each test that proves "no exception" also has the default path
// beside it, where the same probe sees the exception, so the probe can fail.

#include "support.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using weft_test::counted;

/// What the frames of a test saw as they ended: the order in which their
/// guards were destroyed, whether an exception was in flight then, and
/// whether a catch block ran.
struct frame_log {
  std::mutex m;
  std::vector<std::string> destroyed;  // in order
  std::atomic<int> unwinding{0};       // guards destroyed during an unwind
  std::atomic<int> catches{0};         // catch blocks that ran
  std::atomic<int> after_await{0};     // code after a cancelled await that ran
};

/// A live local: logs its destruction, and whether an exception was
/// unwinding the frame at the time.
struct logged_guard {
  frame_log& log;
  std::string name;
  ~logged_guard() {
    if (std::uncaught_exceptions() > 0) log.unwinding.fetch_add(1);
    std::lock_guard lock(log.m);
    log.destroyed.push_back(name);
  }
};

/// Counts `started` down, then yields until the cancel ends it.
weft::task<void> yield_forever(frame_log& log, std::latch& started, std::string name) {
  logged_guard g{log, name};
  started.count_down();
  try {
    for (;;) co_await weft::yield();
  } catch (...) {
    log.catches.fetch_add(1);
    throw;
  }
}

/// A frame named `name` in `log` that awaits what `next()` returns: it
/// counts a catch that runs, and code after the await that runs.
template <class Next>
weft::task<void> watched(frame_log& log, std::string name, Next next) {
  logged_guard g{log, std::move(name)};
  try {
    co_await next();
  } catch (...) {
    log.catches.fetch_add(1);
    throw;
  }
  log.after_await.fetch_add(1);
}

/// outer -> middle -> yield_forever, each awaiting the next inline.
weft::task<void> middle(frame_log& log, std::latch& started) {
  return watched(log, "middle", [&log, &started] { return yield_forever(log, started, "inner"); });
}

weft::task<void> outer(frame_log& log, std::latch& started) {
  return watched(log, "outer", [&log, &started] { return middle(log, started); });
}

std::vector<std::string> destroyed(frame_log& log) {
  std::lock_guard lock(log.m);
  return log.destroyed;
}

/// The frames `log` watched ended by being dropped: destroyed in `order`
/// with no exception in flight, no catch block run, and no code after the
/// cancelled await.
void expect_dropped(frame_log& log, const std::vector<std::string>& order) {
  EXPECT_EQ(destroyed(log), order);
  EXPECT_EQ(log.unwinding.load(), 0);
  EXPECT_EQ(log.catches.load(), 0);
  EXPECT_EQ(log.after_await.load(), 0);
}

TEST(DropOnCancel, AnInlineChainIsDestroyedInnermostFirstWithoutAnExceptionOrACatch) {
  weft::scheduler sched{2};
  frame_log log;
  std::latch started{1};
  auto h = sched.spawn(weft::drop_on_cancel(outer(log, started)));
  started.wait();
  EXPECT_TRUE(h.cancel("enough"));
  h.wait();
  EXPECT_TRUE(h.cancelled());
  expect_dropped(log, {"inner", "middle", "outer"});
  const auto reason = h.cancel_reason();
  ASSERT_TRUE(reason.has_value());
  EXPECT_EQ(reason->kind, weft::cancel_kind::user);
  EXPECT_EQ(reason->message, "enough");
  try {
    h.result();
    ADD_FAILURE() << "result() of a cancelled task returned";
  } catch (const weft::cancelled_error& e) {
    EXPECT_EQ(e.reason().message, "enough");
  }
}

TEST(DropOnCancel, WithoutItTheSameChainUnwindsThroughEveryCatch) {
  weft::scheduler sched{2};
  frame_log log;
  std::latch started{1};
  auto h = sched.spawn(outer(log, started));
  started.wait();
  h.cancel("enough");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(destroyed(log), (std::vector<std::string>{"inner", "middle", "outer"}));
  EXPECT_EQ(log.unwinding.load(), 3);
  EXPECT_EQ(log.catches.load(), 3);
}

/// Awaits the region inline and reports what reached it.
weft::task<void> await_region(frame_log& log, std::latch& started, std::atomic<int>& boundary_catches,
                              std::string& message) {
  try {
    co_await weft::drop_on_cancel(outer(log, started));
  } catch (const weft::cancelled_error& e) {
    boundary_catches.fetch_add(1);
    message = e.reason().message;
    throw;
  }
}

TEST(DropOnCancel, TheAwaiterOfARegionGetsCancelledErrorOnce) {
  weft::scheduler sched{2};
  frame_log log;
  std::latch started{1};
  std::atomic<int> boundary_catches{0};
  std::string message;
  auto h = sched.spawn(await_region(log, started, boundary_catches, message));
  started.wait();
  h.cancel("stop it");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(boundary_catches.load(), 1);
  EXPECT_EQ(message, "stop it");
  EXPECT_EQ(log.catches.load(), 0);
  EXPECT_EQ(log.unwinding.load(), 0);
  EXPECT_EQ(destroyed(log), (std::vector<std::string>{"inner", "middle", "outer"}));
}

/// Yields forever in a frame that holds a counted and a guard.
weft::task<int> counted_yield_forever(frame_log& log, std::latch& started, counted c = counted{}) {
  co_await yield_forever(log, started, "child");
  co_return c.value;
}

weft::task<int> join_two(frame_log& log, std::latch& started) {
  logged_guard g{log, "parent"};
  try {
    auto [a, b] = co_await weft::when_all(counted_yield_forever(log, started),
                                          counted_yield_forever(log, started));
    log.after_await.fetch_add(1);
    co_return a + b;
  } catch (...) {
    log.catches.fetch_add(1);
    throw;
  }
}

TEST(DropOnCancel, WhenAllChildrenAreDroppedBeforeTheirParent) {
  counted::reset();
  weft::scheduler sched{2};
  frame_log log;
  std::latch started{2};
  auto h = sched.spawn(weft::drop_on_cancel(join_two(log, started)));
  started.wait();
  h.cancel();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(h.cancel_reason()->kind, weft::cancel_kind::user);
  const auto order = destroyed(log);
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[2], "parent");  // after both children
  EXPECT_EQ(log.unwinding.load(), 0);
  EXPECT_EQ(log.catches.load(), 0);
  EXPECT_EQ(log.after_await.load(), 0);
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

weft::task<int> return_after_yield(int v) {
  co_await weft::yield();
  co_return v;
}

weft::task<std::size_t> race(frame_log& log, std::latch& started) {
  std::vector<weft::task<int>> tasks;
  tasks.push_back(counted_yield_forever(log, started));
  tasks.push_back(return_after_yield(7));
  tasks.push_back(counted_yield_forever(log, started));
  auto [index, value] = co_await weft::when_any(std::move(tasks));
  EXPECT_EQ(value, 7);
  co_return index;
}

TEST(DropOnCancel, WhenAnyLosersAreDroppedAndTheWinnerIsReturned) {
  counted::reset();
  weft::scheduler sched{2};
  frame_log log;
  std::latch started{2};  // the losers may not start before the winner ends
  auto h = sched.spawn(weft::drop_on_cancel(race(log, started)));
  h.wait();
  EXPECT_EQ(h.result(), 1u);
  EXPECT_EQ(log.catches.load(), 0);
  EXPECT_EQ(log.unwinding.load(), 0);
  EXPECT_EQ(counted::live.load(), 0);
}

weft::task<int> fail_after_yield() {
  co_await weft::yield();
  throw std::runtime_error("broken");
}

weft::task<int> fail_beside_a_yielder(frame_log& log, std::latch& started) {
  auto [a, b] = co_await weft::when_all(fail_after_yield(), counted_yield_forever(log, started));
  co_return a + b;
}

TEST(DropOnCancel, AFailureStillPropagatesAsAnExceptionAndItsSiblingIsDropped) {
  counted::reset();
  weft::scheduler sched{2};
  frame_log log;
  std::latch started{1};  // the yielder may not start before its sibling fails
  auto h = sched.spawn(weft::drop_on_cancel(fail_beside_a_yielder(log, started)));
  h.wait();
  EXPECT_FALSE(h.cancelled());
  EXPECT_THROW(h.result(), std::runtime_error);
  EXPECT_EQ(log.catches.load(), 0);  // the sibling was dropped, not unwound
  EXPECT_EQ(log.unwinding.load(), 0);
  EXPECT_EQ(counted::live.load(), 0);
}

TEST(DropOnCancel, ARegionCancelledBeforeItStartsNeverRuns) {
  weft::scheduler sched{1};
  std::latch occupied{1}, release{1};
  auto blocker = sched.spawn(weft_test::occupy_worker(occupied, release));
  occupied.wait();
  std::atomic<int> runs{0};
  auto h = sched.spawn(weft::drop_on_cancel(weft_test::mark_and_return(runs, 1)));
  EXPECT_TRUE(h.cancel());
  release.count_down();
  h.wait();
  blocker.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(runs.load(), 0);
}

/// Runs until `go` is set (after the test cancelled it), then awaits `next`
/// in the same frame: the await sees the cancel before `next` starts.
template <class Next>
weft::task<void> await_after_cancel(std::atomic<bool>& running, std::atomic<bool>& go,
                                    frame_log& log, Next next) {
  logged_guard g{log, "awaiter"};
  running = true;
  running.notify_all();
  go.wait(false);  // blocks this worker until the test has cancelled
  co_await next();
  log.after_await.fetch_add(1);
}

template <class Next>
void expect_dropped_before_next_runs(Next next, std::atomic<int>& runs) {
  weft::scheduler sched{1};
  frame_log log;
  std::atomic<bool> running{false}, go{false};
  auto h = sched.spawn(weft::drop_on_cancel(await_after_cancel(running, go, log, next)));
  running.wait(false);
  h.cancel();
  go = true;
  go.notify_all();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(runs.load(), 0);
  EXPECT_EQ(log.after_await.load(), 0);
  EXPECT_EQ(log.unwinding.load(), 0);
  EXPECT_EQ(destroyed(log), (std::vector<std::string>{"awaiter"}));
}

TEST(DropOnCancel, AnInlineChildTheCancelReachesFirstNeverRuns) {
  std::atomic<int> runs{0};
  expect_dropped_before_next_runs(
      [&]() -> weft::task<void> { co_await weft_test::mark_and_return(runs, 1); }, runs);
}

TEST(DropOnCancel, WhenAllChildrenTheCancelReachesFirstNeverRun) {
  counted::reset();
  std::atomic<int> runs{0};
  expect_dropped_before_next_runs(
      [&]() -> weft::task<void> {
        co_await weft::when_all(weft_test::mark_and_return(runs, 1),
                                weft_test::counted_value_after_yield(2));
      },
      runs);
  EXPECT_EQ(counted::live.load(), 0);
}

TEST(DropOnCancel, AYieldTheCancelReachesFirstDropsItsFrame) {
  std::atomic<int> runs{0};
  expect_dropped_before_next_runs([]() -> weft::task<void> { co_await weft::yield(); }, runs);
}

/// A chain of `depth` frames awaiting each other inline, each with a
/// counted local; the innermost yields until cancelled.
weft::task<void> yield_until_cancelled(std::latch& started) {
  started.count_down();
  for (;;) co_await weft::yield();
}

weft::task<void> deep_chain(int depth, std::latch& started) {
  counted c;
  if (depth == 0) {
    co_await yield_until_cancelled(started);
  } else {
    co_await deep_chain(depth - 1, started);
  }
}

TEST(DropOnCancel, AHundredThousandDeepChainIsDroppedWithoutGrowingTheStack) {
  counted::reset();
  weft::scheduler sched{1};
  std::latch started{1};
  auto h = sched.spawn(weft::drop_on_cancel(deep_chain(100'000, started)));
  started.wait();
  h.cancel();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

/// Cleanup that must finish although its caller is cancelled: waits for
/// `go`, then marks `finished`.
weft::task<void> cleanup(weft::event& go, std::atomic<bool>& finished) {
  co_await go.wait();
  finished = true;
}

weft::task<void> region_with_cleanup(frame_log& log, std::latch& started, weft::event& go,
                                     std::atomic<bool>& finished) {
  logged_guard g{log, "region"};
  started.count_down();
  co_await weft::uncancellable(cleanup(go, finished));
  log.after_await.fetch_add(1);  // the cleanup returned: this runs
  for (;;) co_await weft::yield();
}

TEST(DropOnCancel, UncancellableInsideARegionFinishesItsWork) {
  weft::scheduler sched{2};
  frame_log log;
  std::latch started{1};
  weft::event go;
  std::atomic<bool> finished{false};
  auto h = sched.spawn(weft::drop_on_cancel(region_with_cleanup(log, started, go, finished)));
  started.wait();
  h.cancel();
  go.set();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_TRUE(finished.load());
  EXPECT_EQ(log.after_await.load(), 1);
  EXPECT_EQ(log.unwinding.load(), 0);
}

weft::task<int> wait_then_yield(std::latch& started, weft::event& go) {
  started.count_down();
  co_await go.wait();
  co_await weft::yield();  // the outer cancel does not reach here
  co_return 5;
}

weft::task<int> region_of(std::latch& started, weft::event& go) {
  co_return co_await weft::drop_on_cancel(wait_then_yield(started, go));
}

weft::task<int> region_inside_uncancellable(std::latch& started, weft::event& go) {
  co_return co_await weft::uncancellable(region_of(started, go));
}

TEST(DropOnCancel, ARegionInsideUncancellableIsNotStoppedByTheOuterCancel) {
  weft::scheduler sched{2};
  std::latch started{1};
  weft::event go;
  auto h = sched.spawn(region_inside_uncancellable(started, go));
  started.wait();
  h.cancel();
  go.set();
  h.wait();
  // The value came back; the caller's cancel fires at its next suspension
  // point, and there is none: the task ends with the value.
  EXPECT_EQ(h.result(), 5);
}

TEST(DropOnCancel, ObserversSeeTheSameEndWithAndWithoutIt) {
  for (const bool drop : {false, true}) {
    SCOPED_TRACE(drop ? "drop_on_cancel" : "default");
    weft::scheduler sched{2};
    frame_log log;
    std::latch started{1};
    auto h = drop ? sched.spawn(weft::drop_on_cancel(outer(log, started)), "named")
                  : sched.spawn(outer(log, started), "named");
    std::atomic<int> callbacks{0};
    std::atomic<bool> seen_cancelled{false};
    h.add_done_callback([&](const weft::task_handle<void>& done) {
      seen_cancelled = done.cancelled();
      callbacks.fetch_add(1);
    });
    started.wait();
    const auto before = sched.stats();
    h.cancel("why");
    h.wait();
    EXPECT_FALSE(h.cancel("again"));  // done: not counted
    const auto after = sched.stats();
    EXPECT_TRUE(h.done());
    EXPECT_TRUE(h.cancelled());
    EXPECT_EQ(h.cancelling(), 1u);
    EXPECT_EQ(h.name(), "named");
    EXPECT_EQ(h.cancel_reason(), (weft::cancel_reason{weft::cancel_kind::user, "why"}));
    EXPECT_EQ(callbacks.load(), 1);
    EXPECT_TRUE(seen_cancelled.load());
    EXPECT_EQ(after.cancelled - before.cancelled, 1u);
    EXPECT_EQ(after.failed, before.failed);
  }
}

/// A region whose when_all children yield on both workers: cancelled while
/// children run on each, some of them stolen. `both` counts down once the
/// children have run on two threads (a stolen child, or a yielder taken
/// from the other worker's list).
weft::task<void> spread(std::latch& both, std::mutex& m, std::vector<std::thread::id>& ran_on,
                        bool& signalled) {
  auto child = [&]() -> weft::task<int> {
    counted c;
    for (;;) {
      {
        std::lock_guard lock(m);
        const auto me = std::this_thread::get_id();
        if (std::find(ran_on.begin(), ran_on.end(), me) == ran_on.end()) ran_on.push_back(me);
        if (ran_on.size() == 2 && !signalled) {
          signalled = true;
          both.count_down();
        }
      }
      co_await weft::yield();
    }
  };
  co_await weft::when_all(child(), child(), child(), child());
}

TEST(DropOnCancel, ARegionCancelledWhileChildrenRunOnBothWorkersDropsEachOnce) {
  counted::reset();
  weft::scheduler sched{2};
  weft_test::hang_guard guard(std::chrono::seconds(120), "children never ran on both workers");
  for (int round = 0; round < 200; ++round) {
    std::latch both{1};
    std::mutex m;
    std::vector<std::thread::id> ran_on;
    bool signalled = false;
    auto h = sched.spawn(weft::drop_on_cancel(spread(both, m, ran_on, signalled)));
    both.wait();
    h.cancel();
    h.wait();
    ASSERT_TRUE(h.cancelled());
    ASSERT_EQ(counted::live.load(), 0) << "round " << round;
  }
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

/// A failure and a cancel racing inside a region: the outcome is the one
/// today's rules give (a failure that happened is never masked by the
/// cancel), and nothing leaks.
TEST(DropOnCancel, AFailureRacingACancelIsNeverMasked) {
  counted::reset();
  weft::scheduler sched{2};
  int failed = 0, cancelled = 0;
  for (int round = 0; round < 500; ++round) {
    std::atomic<bool> threw{false};
    frame_log log;
    std::latch started{1};
    auto failing = [&]() -> weft::task<int> {
      co_await weft::yield();
      threw = true;
      throw std::runtime_error("broken");
    };
    auto body = [&]() -> weft::task<int> {
      auto [a, b] = co_await weft::when_all(failing(), counted_yield_forever(log, started));
      co_return a + b;
    };
    auto h = sched.spawn(weft::drop_on_cancel(body()));
    // The yielder may never start: the failure can cancel it first.
    ASSERT_TRUE(weft_test::eventually([&] { return started.try_wait() || h.done(); }));
    h.cancel();
    h.wait();
    if (threw.load()) {
      ASSERT_FALSE(h.cancelled()) << "round " << round << ": a failure was masked";
      ASSERT_THROW(h.result(), std::runtime_error);
      ++failed;
    } else {
      ASSERT_TRUE(h.cancelled()) << "round " << round;
      ++cancelled;
    }
    ASSERT_EQ(counted::live.load(), 0) << "round " << round;
    ASSERT_EQ(log.catches.load(), 0) << "round " << round;
  }
  RecordProperty("failed_rounds", failed);
  RecordProperty("cancelled_rounds", cancelled);
  EXPECT_EQ(failed + cancelled, 500);
}

TEST(DropOnCancel, AnEmptyTaskIsRefusedWhereTheRegionIsMade) {
  weft::scheduler sched{1};
  weft::task<int> t = weft_test::value_after_yield(1);
  auto consumed = std::move(t);
  try {
    static_cast<void>(sched.spawn(weft::drop_on_cancel(std::move(t))));
    ADD_FAILURE() << "spawn of an empty region returned";
  } catch (const weft::invalid_state_error& e) {
    EXPECT_TRUE(weft_test::contains(e.what(), "spawn()"));
    EXPECT_TRUE(weft_test::contains(e.what(), "empty weft::task"));
  }
}

/// Counts `started` down, then sleeps for an hour in a watched frame.
weft::task<void> sleep_an_hour(frame_log& log, std::latch& started) {
  return watched(log, "sleeper", [&started] {
    started.count_down();
    return weft::sleep_for(std::chrono::hours(1));
  });
}

TEST(DropOnCancel, ASleepWokenByTheCancelIsDropped) {
  weft::scheduler sched{2};
  frame_log log;
  std::latch started{1};
  auto h = sched.spawn(weft::drop_on_cancel(sleep_an_hour(log, started)));
  started.wait();
  // The sleeper is asleep or about to be: the cancel meets it at one of
  // the two points, and either way its frame is dropped.
  h.cancel("wake up");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(h.cancel_reason()->message, "wake up");
  expect_dropped(log, {"sleeper"});
}

TEST(DropOnCancel, ASleepTheCancelReachesFirstIsDropped) {
  std::atomic<int> runs{0};
  expect_dropped_before_next_runs(
      []() -> weft::task<void> { co_await weft::sleep_for(std::chrono::hours(1)); }, runs);
}

/// A parallel_for whose rows each run until the task is cancelled.
weft::task<void> loop_in_region(frame_log& log, std::latch& started, std::atomic<long>& rows) {
  return watched(log, "loop caller", [&started, &rows] {
    return weft::parallel_for(
        std::size_t{0}, std::size_t{1'000'000},
        [&started, &rows](std::size_t i) {
          if (i == 0) started.count_down();
          rows.fetch_add(1, std::memory_order_relaxed);
          while (!weft::this_task::cancellation_requested()) std::this_thread::yield();
        },
        weft::grain{1});
  });
}

TEST(DropOnCancel, AParallelLoopStoppedByTheCancelDropsItsCaller) {
  weft::scheduler sched{2};
  frame_log log;
  std::latch started{1};
  std::atomic<long> rows{0};
  auto h = sched.spawn(weft::drop_on_cancel(loop_in_region(log, started, rows)));
  started.wait();
  h.cancel();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_LT(rows.load(), 1'000'000);  // the rest never started
  expect_dropped(log, {"loop caller"});
}

/// Counts `started` down, then blocks its worker until `go` is set, then
/// returns: its last stretch, with no suspension point in it.
weft::task<int> finish_after_go(std::latch& started, std::atomic<bool>& go) {
  started.count_down();
  go.wait(false);
  co_return 1;
}

weft::task<int> await_a_finishing_child(frame_log& log, std::latch& started,
                                        std::atomic<bool>& go) {
  logged_guard g{log, "parent"};
  const int v = co_await finish_after_go(started, go);
  log.after_await.fetch_add(1);
  co_return v;
}

TEST(DropOnCancel, ACancelThatCameWhileAnInlineChildFinishedDropsItsParent) {
  weft::scheduler sched{1};
  frame_log log;
  std::latch started{1};
  std::atomic<bool> go{false};
  auto h = sched.spawn(weft::drop_on_cancel(await_a_finishing_child(log, started, go)));
  started.wait();
  h.cancel();
  go = true;
  go.notify_all();
  h.wait();
  // As without the region, where the parent's await would throw: the
  // region ends cancelled and no code after that await runs.
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(log.after_await.load(), 0);
  EXPECT_EQ(log.unwinding.load(), 0);
  EXPECT_EQ(destroyed(log), (std::vector<std::string>{"parent"}));
}

/// A local whose destructor asks this_task:: whether the task is cancelled.
struct asks_this_task {
  std::atomic<int>& answer;
  ~asks_this_task() { answer = weft::this_task::cancellation_requested() ? 1 : 2; }
};

weft::task<void> yield_with_a_question(std::atomic<int>& answer, std::latch& started) {
  asks_this_task q{answer};
  started.count_down();
  for (;;) co_await weft::yield();
}

TEST(DropOnCancel, DestructorsOfADroppedFrameRunInsideItsTask) {
  weft::scheduler sched{1};
  std::atomic<int> answer{0};
  std::latch started{1};
  auto h = sched.spawn(weft::drop_on_cancel(yield_with_a_question(answer, started)));
  started.wait();
  // The one worker takes the blocker (injected work comes before a
  // yielder), so the cancel finds the frame queued: the worker drops it as
  // it takes it back, outside any await.
  std::latch occupied{1}, release{1};
  auto blocker = sched.spawn(weft_test::occupy_worker(occupied, release));
  occupied.wait();
  h.cancel();
  release.count_down();
  h.wait();
  blocker.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(answer.load(), 1);  // this_task:: answered, from the cancelled task
}

}  // namespace
