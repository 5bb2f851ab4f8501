// Fairness under load: how long a task spawned from a thread that is not a
// worker (a service's I/O thread) waits for its first instruction while
// every worker runs fork-join trees. Each worker is kept busy by a task that
// awaits fib(22) trees (pure when_all, ~29,000 forks each) back to back; the
// timing thread then spawns 500 probes one after another, each recording
// the time from spawn() to its first instruction.
//
// Rows: fairness_spawn/weft. Time: the mean wait (manual time); counters
// p50_us and p99_us, and max_us. A scheduler that took injected work only
// from an empty deque made these waits as long as a tree (or, with one
// worker, forever): the saturating tasks give up after 5 s, so such a
// runtime shows waits of seconds instead of hanging the suite.

#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "bench_common.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

std::size_t probes() { return weft_bench::size<std::size_t>(500, 20); }

weft::task<std::uint64_t> fib(int n) {
  if (n < 2) co_return static_cast<std::uint64_t>(n);
  auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));
  co_return a + b;
}

struct saturation {
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> running{0};
  clock_type::time_point give_up = clock_type::now() + std::chrono::seconds(5);
};

weft::task<void> saturate(saturation& s) {
  s.running.fetch_add(1, std::memory_order_release);
  while (!s.stop.load(std::memory_order_relaxed) && clock_type::now() < s.give_up) {
    // Not `if (co_await ...)`: g++ 12 miscompiles a co_await in the
    // condition of an if whose branch is a lone statement (seen here: with
    // a throw as that statement, the coroutine never ran its body).
    const std::uint64_t value = co_await fib(22);
    if (value != 17711) throw std::logic_error("fib(22) is wrong");
  }
}

weft::task<void> probe(clock_type::time_point& first_instruction) {
  first_instruction = clock_type::now();
  co_return;
}

void fairness_spawn(benchmark::State& state) {
  const std::size_t workers = weft_bench::workers_of(state);
  weft::scheduler sched{workers};
  std::vector<double> waits;
  double max_wait = 0;
  for (auto _ : state) {
    saturation s;
    std::vector<weft::task_handle<void>> busy;
    for (std::size_t i = 0; i < workers; ++i) busy.push_back(sched.spawn(saturate(s)));
    while (s.running.load(std::memory_order_acquire) < workers) {
    }
    double total = 0;
    for (std::size_t i = 0; i < probes(); ++i) {
      clock_type::time_point first_instruction;
      const auto spawned = clock_type::now();
      sched.spawn(probe(first_instruction)).wait();
      const double wait = std::chrono::duration<double>(first_instruction - spawned).count();
      waits.push_back(wait);
      total += wait;
      max_wait = std::max(max_wait, wait);
    }
    s.stop.store(true, std::memory_order_relaxed);
    for (auto& h : busy) h.wait();
    state.SetIterationTime(total / static_cast<double>(probes()));
  }
  weft_bench::report_quantiles(state, waits);
  state.counters["max_us"] = max_wait * 1e6;
}

void register_rows() {
  // A fixed count: the manual time (microseconds) would make Google
  // Benchmark run thousands of iterations of 500 probes each.
  auto* row = weft_bench::add("fairness_spawn", "weft", fairness_spawn, weft_bench::timing::manual);
  row->Unit(benchmark::kMicrosecond);
  if (!weft_bench::smoke()) row->Iterations(4);
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
