// The order in which queued work starts on a busy pool: scheduler::spawn on
// a worker enqueues (oldest first, after the spawner's own fork-join work),
// weft::spawn in a task forks (runs next on the spawning worker), and work
// injected from other threads is taken one item at a time, oldest first,
// so that a second wake-up is not buried under the tree the first starts.
// One worker throughout: the orders below are then exact, not likely.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <weft/scheduler.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>
#include <weft/when_all.hpp>

namespace {

struct start_log {
  std::mutex m;
  std::vector<int> order;
  void started(int i) {
    std::lock_guard lock(m);
    order.push_back(i);
  }
};

weft::task<void> log_start(start_log& log, int i) {
  log.started(i);
  co_return;
}

weft::task<std::uint64_t> fib(int n) {
  if (n < 2) co_return static_cast<std::uint64_t>(n);
  auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));
  co_return a + b;
}

}  // namespace

TEST(SpawnOrder, SchedulerSpawnOnAWorkerStartsTasksInTheOrderTheyWereSpawned) {
  weft::scheduler sched(1);
  start_log log;
  auto spawner = [&]() -> weft::task<void> {
    std::vector<weft::task_handle<void>> handles;
    for (int i = 0; i < 8; ++i) handles.push_back(sched.spawn(log_start(log, i)));
    for (auto& h : handles) co_await h;
  };
  weft::sync_wait(sched, spawner());
  EXPECT_EQ(log.order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(SpawnOrder, AForkWithWeftSpawnRunsBeforeATaskEnqueuedEarlier) {
  weft::scheduler sched(1);
  start_log log;
  auto spawner = [&]() -> weft::task<void> {
    auto enqueued = sched.spawn(log_start(log, 1));
    auto forked = weft::spawn(log_start(log, 2));
    co_await forked;
    co_await enqueued;
  };
  weft::sync_wait(sched, spawner());
  EXPECT_EQ(log.order, (std::vector<int>{2, 1}));
}

// A request's task spawned while an older computation's tree is under way
// (a service's connection task does this) waits for that tree instead of
// running on top of it.
TEST(SpawnOrder, ATaskSpawnedInsideAForkJoinTreeStartsAfterTheTreeInsteadOfOvertakingIt) {
  weft::scheduler sched(1);
  constexpr int k_children = 16;
  std::atomic<int> ended{0};
  int ended_when_new_started = -1;
  weft::task_handle<void> newcomer;
  auto fresh = [&]() -> weft::task<void> {
    ended_when_new_started = ended.load();
    co_return;
  };
  auto child = [&](int i) -> weft::task<void> {
    if (i == 0) newcomer = sched.spawn(fresh());
    co_await fib(12);
    ended.fetch_add(1);
  };
  auto tree = [&]() -> weft::task<void> {
    std::vector<weft::task<void>> children;
    for (int i = 0; i < k_children; ++i) children.push_back(child(i));
    co_await weft::when_all(std::move(children));
    co_await newcomer;
  };
  weft::sync_wait(sched, tree());
  EXPECT_EQ(ended_when_new_started, k_children);
}

// Two tasks injected together while the worker cannot look: the first runs
// a fork-join tree, and the second must start while that tree runs, not
// after it (it used to wait on the deque, under the tree's children).
TEST(SpawnOrder, TheSecondOfTwoInjectedTasksStartsWhileTheFirstOnesTreeRuns) {
  weft::scheduler sched(1);
  std::atomic<bool> spinning{false}, release{false}, first_done{false};
  bool first_done_when_second_started = true;
  auto hold_the_worker = [&]() -> weft::task<void> {
    spinning.store(true);
    while (!release.load()) std::this_thread::yield();  // no suspension point: the worker is held
    co_return;
  };
  auto first = [&]() -> weft::task<void> {
    const std::uint64_t f = co_await fib(22);
    EXPECT_EQ(f, 17711u);
    first_done.store(true);
  };
  auto second = [&]() -> weft::task<void> {
    first_done_when_second_started = first_done.load();
    co_return;
  };
  auto held = sched.spawn(hold_the_worker());
  while (!spinning.load()) std::this_thread::yield();
  auto a = sched.spawn(first());   // from this thread: injected, behind the held task
  auto b = sched.spawn(second());  // injected next; both wait on the injection stack
  release.store(true);
  held.wait();
  a.wait();
  b.wait();
  EXPECT_FALSE(first_done_when_second_started);
}
