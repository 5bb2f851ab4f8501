// Fairness to the injection queue: a task spawned from a thread that is not
// a worker starts while every worker is busy with work that never empties
// its deque (a fork-join tree, a parallel loop, a chain of local spawns),
// instead of after it. Each busy workload runs until the injected probe has
// started, and only then: a worker that never looks at the injection queue
// never lets it end, and the test's hang guard fails it (no time limit
// decides the outcome).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

#include <weft/parallel.hpp>
#include <weft/scheduler.hpp>
#include <weft/task.hpp>
#include <weft/when_all.hpp>

#include "support.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct probe_state {
  std::atomic<bool> busy{false};        // the busy workload has started
  std::atomic<bool> probe_ran{false};   // the injected probe has started
  clock_type::time_point probe_started;  // written by the probe before probe_ran

  bool keep_busy() const { return !probe_ran.load(std::memory_order_acquire); }
};

// Thrown by a loop's body once the probe ran: it stops the loop.
struct probe_ran_error {};

weft::task<std::uint64_t> fib(int n) {
  if (n < 2) co_return static_cast<std::uint64_t>(n);
  auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));
  co_return a + b;
}

weft::task<void> probe(probe_state& p) {
  p.probe_started = clock_type::now();
  p.probe_ran.store(true, std::memory_order_release);
  co_return;
}

// Spawns the probe from this (non-worker) thread once the busy workload
// runs, then waits for both: the workload ends only once the probe has
// started. True if it did; a scheduler that starts the probe only after
// the workload hangs, and the guard ends the test with a report.
template <class Busy>
bool probe_starts_while_busy(std::size_t workers, Busy busy) {
  weft_test::hang_guard guard(std::chrono::seconds(120), "the busy workload (the probe never started)");
  weft::scheduler_options options;
  options.workers = workers;
  weft::scheduler sched(options);
  probe_state p;
  auto busy_handle = sched.spawn(busy(p));
  while (!p.busy.load(std::memory_order_acquire)) std::this_thread::yield();
  const auto spawned = clock_type::now();
  auto probe_handle = sched.spawn(probe(p));
  probe_handle.wait();
  busy_handle.wait();
  std::printf("spawn to first instruction %.3f ms, then %.3f ms to the end\n",
              std::chrono::duration<double, std::milli>(p.probe_started - spawned).count(),
              std::chrono::duration<double, std::milli>(clock_type::now() - p.probe_started).count());
  return p.probe_ran.load(std::memory_order_acquire);
}

// Fork-join trees, one after another, until the probe ran: the workers'
// join chains never go back to the worker loop on their own.
weft::task<void> fork_join_trees(probe_state& p) {
  p.busy.store(true, std::memory_order_release);
  while (p.keep_busy()) co_await fib(18);
}

// Trees of forks each awaited by its parent (weft::spawn, then co_await the
// handle), one after another, until the probe ran: the worker's deque
// holds the next fork whenever its loop looks.
weft::task<void> spawn_and_await_trees(probe_state& p) {
  p.busy.store(true, std::memory_order_release);
  while (p.keep_busy()) co_await weft_test::spawning_fib(18);
}

// One chunk of a busy loop: a thousand pauses (microseconds), or the end
// of the loop once the probe ran.
void spin_chunk(const probe_state& p) {
  if (!p.keep_busy()) throw probe_ran_error{};
  for (int i = 0; i < 1000 && p.keep_busy(); ++i) weft::detail::cpu_relax();
}

// Parallel loops of one-index chunks, 2^30 of them: far more than the
// probe waits for (at most one chunk).
weft::task<void> busy_loop(probe_state& p) {
  p.busy.store(true, std::memory_order_release);
  try {
    co_await weft::parallel_for(0, std::size_t{1} << 30, [&p](std::size_t) { spin_chunk(p); }, weft::grain{1});
  } catch (const probe_ran_error&) {
  }
}

weft::task<void> busy_reduce(probe_state& p) {
  p.busy.store(true, std::memory_order_release);
  try {
    co_await weft::parallel_reduce(
        0, std::size_t{1} << 30, std::uint64_t{0},
        [&p](std::size_t lo, std::size_t hi, std::uint64_t sum) {
          spin_chunk(p);
          return sum + (hi - lo);
        },
        [](std::uint64_t a, std::uint64_t b) { return a + b; }, weft::grain{1});
  } catch (const probe_ran_error&) {
  }
}

// Each task spawns the next one on its worker and ends: the worker's deque
// is never empty, so only the worker loop's periodic look at the injection
// queue lets the probe in.
weft::task<void> spawn_chain(probe_state& p) {
  if (p.keep_busy()) weft::spawn(spawn_chain(p));
  co_return;
}

weft::task<void> local_spawns(probe_state& p) {
  p.busy.store(true, std::memory_order_release);
  weft::spawn(spawn_chain(p));
  co_return;
}

class Fairness : public ::testing::TestWithParam<std::size_t> {};

TEST_P(Fairness, AnInjectedTaskStartsWhileForkJoinTreesKeepEveryWorkerBusy) {
  EXPECT_TRUE(probe_starts_while_busy(GetParam(), fork_join_trees));
}

TEST_P(Fairness, AnInjectedTaskStartsWhileSpawnAndAwaitTreesKeepEveryWorkerBusy) {
  EXPECT_TRUE(probe_starts_while_busy(GetParam(), spawn_and_await_trees));
}

TEST_P(Fairness, AnInjectedTaskStartsWhileAParallelForKeepsEveryWorkerBusy) {
  EXPECT_TRUE(probe_starts_while_busy(GetParam(), busy_loop));
}

TEST_P(Fairness, AnInjectedTaskStartsWhileAParallelReduceKeepsEveryWorkerBusy) {
  EXPECT_TRUE(probe_starts_while_busy(GetParam(), busy_reduce));
}

TEST_P(Fairness, AnInjectedTaskStartsWhileLocalSpawnsKeepTheDequeFull) {
  EXPECT_TRUE(probe_starts_while_busy(GetParam(), local_spawns));
}

INSTANTIATE_TEST_SUITE_P(Workers, Fairness, ::testing::Values(std::size_t{1}, std::size_t{2}),
                         [](const auto& info) { return std::to_string(info.param) + "_workers"; });

}  // namespace
