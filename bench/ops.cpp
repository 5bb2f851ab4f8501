// The cost of one operation, measured by repeating it in a loop inside one
// task on a 1-worker scheduler (every row reports ns_per_op; the time is the
// whole loop). bench/RESULTS.md's per-operation table comes from these.
//
// Rows (weft only; each checks the sum of what its operations returned):
//   inline_await        co_await a task that returns at once (a frame, an
//                       inline start and end, the cancellation checks)
//   when_all_2          co_await when_all of two such tasks, nothing stolen
//                       (one worker: the second child is popped back)
//   spawn_await         spawn such a task and co_await its handle
//   cancellation_check  this_task::cancellation_requested() (one test)
//   cancel_running_tree cancel a task awaiting a when_all of 64 children
//                       that each loop on yield: the time from cancel() to
//                       its done callback's stamp (weft_bench::done_stamp),
//                       per child
//   cancel_running_tree_drop  the same tree spawned as weft::drop_on_cancel

#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

std::int64_t loop_count() { return weft_bench::size<std::int64_t>(1'000'000, 1'000); }

weft::task<std::int64_t> one(std::int64_t v) { co_return v; }

weft::task<std::int64_t> inline_awaits(std::int64_t n) {
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += co_await one(i);
  co_return sum;
}

weft::task<std::int64_t> when_all_pairs(std::int64_t n) {
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    auto [a, b] = co_await weft::when_all(one(i), one(1));
    sum += a + b;
  }
  co_return sum;
}

weft::task<std::int64_t> spawn_awaits(std::int64_t n) {
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += co_await weft::spawn(one(i));
  co_return sum;
}

weft::task<std::int64_t> cancellation_checks(std::int64_t n) {
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += weft::this_task::cancellation_requested() ? 0 : 1;
  co_return sum;
}

/// Times `make(n)` and checks its sum against `expected(n)`.
template <class Make, class Expected>
void run_ops(benchmark::State& state, Make make, Expected expected) {
  weft::scheduler sched{1};
  const std::int64_t n = loop_count();
  double total_ns = 0;
  for (auto _ : state) {
    const auto begin = clock_type::now();
    const std::int64_t got = weft::sync_wait(sched, make(n));
    const auto end = clock_type::now();
    state.SetIterationTime(std::chrono::duration<double>(end - begin).count());
    total_ns += std::chrono::duration<double, std::nano>(end - begin).count();
    if (got != expected(n)) {
      state.SkipWithError(("ops: wrong sum " + std::to_string(got)).c_str());
      return;
    }
  }
  state.counters["ns_per_op"] =
      total_ns / static_cast<double>(state.iterations()) / static_cast<double>(n);
}

std::int64_t triangle(std::int64_t n) { return n * (n - 1) / 2; }

weft::task<void> yield_forever(std::atomic<int>& started) {
  started.fetch_add(1, std::memory_order_release);
  for (;;) co_await weft::yield();
}

weft::task<void> await_children(std::atomic<int>& started, int children) {
  std::vector<weft::task<void>> tasks;
  for (int i = 0; i < children; ++i) tasks.push_back(yield_forever(started));
  co_await weft::when_all(std::move(tasks));
}

void cancel_running_tree(benchmark::State& state, bool drop) {
  constexpr int k_children = 64;
  weft::scheduler sched{static_cast<std::size_t>(state.range(0))};
  double total_ns = 0;
  for (auto _ : state) {
    std::atomic<int> started{0};
    auto h = drop ? sched.spawn(weft::drop_on_cancel(await_children(started, k_children)))
                  : sched.spawn(await_children(started, k_children));
    while (started.load(std::memory_order_acquire) < k_children) std::this_thread::yield();
    weft_bench::done_stamp done(h);
    const auto begin = clock_type::now();
    h.cancel();
    const auto end = done.when(h);
    state.SetIterationTime(std::chrono::duration<double>(end - begin).count());
    total_ns += std::chrono::duration<double, std::nano>(end - begin).count();
    if (!h.cancelled()) {
      state.SkipWithError("ops: the cancelled tree did not end cancelled");
      return;
    }
  }
  state.counters["ns_per_child"] =
      total_ns / static_cast<double>(state.iterations()) / k_children;
}

/// A row on one worker (the loops run inside one task), timed manually.
template <class Fn>
void add_one_worker(const std::string& name, Fn fn) {
  auto* b = benchmark::RegisterBenchmark(("ops/" + name).c_str(), fn);
  b->ArgName("workers")->Arg(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  if (weft_bench::smoke()) b->Iterations(1);
}

void register_rows() {
  using weft_bench::timing;
  add_one_worker("inline_await",
                 [](benchmark::State& s) { run_ops(s, inline_awaits, triangle); });
  add_one_worker("when_all_2", [](benchmark::State& s) {
    run_ops(s, when_all_pairs, [](std::int64_t n) { return triangle(n) + n; });
  });
  add_one_worker("spawn_await", [](benchmark::State& s) { run_ops(s, spawn_awaits, triangle); });
  add_one_worker("cancellation_check", [](benchmark::State& s) {
    run_ops(s, cancellation_checks, [](std::int64_t n) { return n; });
  });
  for (const bool drop : {false, true}) {
    weft_bench::add(
        "ops", drop ? "cancel_running_tree_drop" : "cancel_running_tree",
        [drop](benchmark::State& s) { cancel_running_tree(s, drop); }, timing::manual)
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(weft_bench::size(200, 3));
  }
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
