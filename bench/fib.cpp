// fib(30) fork-join: per-task overhead. No serial cutoff: every call forks,
// so the time is almost all spawn / steal / join cost.
//
// Rows (all compute fib(n), checked against the plain recursive function):
//   weft_spawn        spawn one child, run the other inline with co_await, then
//                     co_await the spawned child's handle
//   weft_when_all     co_await weft::when_all(fib(n-1), fib(n-2))
//   tbb_task_group    oneTBB's idiom: run one child in a task_group, the other
//                     inline, then wait
//   omp_task          OpenMP: one child as `omp task`, the other inline, taskwait
//   serial_plain      the plain recursive function
//   serial_coroutine  the same task<int> code with every child awaited inline,
//                     run by sync_wait on a 1-worker scheduler: weft's work
//                     overhead baseline (T1 / T(serial_coroutine))
//   weft_trace_off    weft_when_all on a scheduler built each iteration with
//   weft_trace_on     scheduler_options::trace false / true: what tracing
//                     costs (issue 7). Only sync_wait is timed; the scheduler
//                     is rebuilt so the recorder's memory does not pile up.

#include <weft/weft.hpp>


#ifdef WEFT_BENCH_HAVE_TBB
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
#include <omp.h>
#endif

#include <chrono>
#include <cstddef>
#include <string>

#include "bench_common.hpp"

namespace {

int fib_n() { return weft_bench::size(30, 15); }

int fib_serial(int n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

weft::task<int> fib_inline(int n) {
  if (n < 2) co_return n;
  int a = co_await fib_inline(n - 1);
  int b = co_await fib_inline(n - 2);
  co_return a + b;
}

weft::task<int> fib_spawn(int n) {
  if (n < 2) co_return n;
  weft::task_handle<int> first = weft::spawn(fib_spawn(n - 1));
  int b = co_await fib_spawn(n - 2);
  int a = co_await first;
  co_return a + b;
}

// when_all returns a std::tuple of the children's values; neither child gets
// a handle or shared state.
weft::task<int> fib_when_all(int n) {
  if (n < 2) co_return n;
  auto [a, b] = co_await weft::when_all(fib_when_all(n - 1), fib_when_all(n - 2));
  co_return a + b;
}

#ifdef WEFT_BENCH_HAVE_TBB
int fib_tbb(int n) {
  if (n < 2) return n;
  int a = 0;
  tbb::task_group group;
  group.run([&a, n] { a = fib_tbb(n - 1); });
  int b = fib_tbb(n - 2);
  group.wait();
  return a + b;
}
#endif

#ifdef WEFT_BENCH_HAVE_OPENMP
int fib_omp(int n) {
  if (n < 2) return n;
  int a = 0;
#pragma omp task shared(a) firstprivate(n)
  a = fib_omp(n - 1);
  int b = fib_omp(n - 2);
#pragma omp taskwait
  return a + b;
}
#endif

/// Runs `compute` each iteration and checks it against the serial answer.
template <class Fn>
void run_checked(benchmark::State& state, Fn compute) {
  int n = fib_n();
  benchmark::DoNotOptimize(n);
  weft_bench::run_checked(state, "fib: wrong result", n, fib_serial(n), compute);
  weft_bench::report_peak_rss(state);
}

using weft_bench::workers_of;

/// The when_all row with tracing off or on; times sync_wait only (manual
/// time), checked like every row.
void run_traced(benchmark::State& state, bool trace) {
  int n = fib_n();
  benchmark::DoNotOptimize(n);
  const int expected = fib_serial(n);
  for (auto _ : state) {
    weft::scheduler_options options;
    options.workers = workers_of(state);
    options.trace = trace;
    weft::scheduler sched{options};
    const auto begin = std::chrono::steady_clock::now();
    const int got = weft::sync_wait(sched, fib_when_all(n));
    const auto end = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(end - begin).count());
    if (!weft_bench::check_result(state, "fib: wrong result", got, expected)) break;
  }
  weft_bench::report_peak_rss(state);
}

void register_rows() {
  weft_bench::add("fib", "weft_spawn", [](benchmark::State& state) {
    weft::scheduler sched{workers_of(state)};
    run_checked(state, [&](int n) { return weft::sync_wait(sched, fib_spawn(n)); });
  });
  weft_bench::add("fib", "weft_when_all", [](benchmark::State& state) {
    weft::scheduler sched{workers_of(state)};
    run_checked(state, [&](int n) { return weft::sync_wait(sched, fib_when_all(n)); });
  });
#ifdef WEFT_BENCH_HAVE_TBB
  weft_bench::add("fib", "tbb_task_group", [](benchmark::State& state) {
    tbb::task_arena arena{static_cast<int>(state.range(0))};
    run_checked(state, [&](int n) { return arena.execute([n] { return fib_tbb(n); }); });
  });
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
  weft_bench::add("fib", "omp_task", [](benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    run_checked(state, [threads](int n) {
      return weft_bench::on_omp_team(threads, [n] { return fib_omp(n); });
    });
  });
#endif
  weft_bench::add(
      "fib", "weft_trace_off", [](benchmark::State& state) { run_traced(state, false); },
      weft_bench::timing::manual);
  weft_bench::add(
      "fib", "weft_trace_on", [](benchmark::State& state) { run_traced(state, true); },
      weft_bench::timing::manual);
  weft_bench::add_serial("fib", "serial_plain", [](benchmark::State& state) {
    run_checked(state, [](int n) { return fib_serial(n); });
  });
  weft_bench::add_serial("fib", "serial_coroutine", [](benchmark::State& state) {
    weft::scheduler sched{1};
    run_checked(state, [&](int n) { return weft::sync_wait(sched, fib_inline(n)); });
  });
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
