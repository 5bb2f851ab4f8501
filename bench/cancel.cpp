// Cancellation: throughput (cancel_storm) and latency (cancel_latency).
//
// cancel_storm: 1,000,000 tasks that loop on yield; the timed region is
// "cancel every one, then wait until every one is done".
//   weft            all tasks are running (each has started and sits at a
//                   yield) before the clock starts: every one must be resumed
//                   and unwound by cancelled_error.
//   tbb_task_group  oneTBB's tasks cannot yield, so only the workers' current
//                   tasks run (polling is_current_task_group_canceling());
//                   the rest are still queued when task_group::cancel() comes
//                   and are skipped. The clock starts once every worker but
//                   the master runs one.
//   weft_drop       as weft, each task spawned as weft::drop_on_cancel: the
//                   cancelled frames are destroyed, without an exception
//   The two rows therefore do different amounts of work per task: the ratio
//   says what a weft cancellation costs against TBB skipping queued work.
//
// cancel_latency: from just before cancel() to the task's terminal state,
// stamped by a done callback on the thread that ended it (the cancelling
// thread sleeps in the kernel meanwhile: spinning, it would take a core
// from the workers at 2 workers on 2 cores); the counters p50_us and p99_us
// are over all samples (the reported time is their mean).
//   weft_yield_loop    cancel a task that loops on yield
//   weft_await_handle  cancel a task blocked in `co_await handle` on a task
//                      that loops on yield: the request is passed on, the
//                      looping task ends, then the awaiter resumes and ends
//   weft_sleep         cancel a task in co_await weft::sleep_for(1 h): the
//                      cancel wakes it through the timer service

#include <weft/weft.hpp>

#ifdef WEFT_BENCH_HAVE_TBB
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

std::size_t storm_tasks() { return weft_bench::size<std::size_t>(1'000'000, 1'000); }
std::int64_t latency_samples() { return weft_bench::size<std::int64_t>(2'000, 5); }

/// Waits until `counter` reaches `target`; false after 60 s (a stuck run).
bool wait_for_count(const std::atomic<std::size_t>& counter, std::size_t target) {
  const auto deadline = clock_type::now() + std::chrono::seconds(60);
  while (counter.load(std::memory_order_acquire) < target) {
    if (clock_type::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

weft::task<void> yield_forever(std::atomic<std::size_t>& started) {
  started.fetch_add(1, std::memory_order_release);
  for (;;) co_await weft::yield();
}

weft::task<void> sleep_an_hour(std::atomic<std::size_t>& started) {
  started.fetch_add(1, std::memory_order_release);
  co_await weft::sleep_for(std::chrono::hours(1));
}

weft::task<void> await_handle(weft::task_handle<void> target, std::atomic<std::size_t>& started) {
  started.fetch_add(1, std::memory_order_release);
  co_await target;
}

void storm_weft(benchmark::State& state, bool drop) {
  weft::scheduler sched{static_cast<std::size_t>(state.range(0))};
  const std::size_t n = storm_tasks();
  for (auto _ : state) {
    std::atomic<std::size_t> started{0};
    std::vector<weft::task_handle<void>> handles;
    handles.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      handles.push_back(drop ? sched.spawn(weft::drop_on_cancel(yield_forever(started)))
                             : sched.spawn(yield_forever(started)));
    }
    if (!wait_for_count(started, n)) {
      state.SkipWithError("cancel_storm: tasks did not all start within 60 s");
      break;
    }
    const auto start = clock_type::now();
    for (auto& h : handles) h.cancel();
    for (auto& h : handles) h.wait();
    state.SetIterationTime(weft_bench::seconds_since(start));
    const auto not_cancelled = std::count_if(handles.begin(), handles.end(),
                                             [](const auto& h) { return !h.cancelled(); });
    if (not_cancelled != 0) {
      state.SkipWithError(("cancel_storm: " + std::to_string(not_cancelled) +
                           " tasks did not end cancelled").c_str());
      break;
    }
  }
}

#ifdef WEFT_BENCH_HAVE_TBB
void storm_tbb(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  tbb::task_arena arena{workers};
  const std::size_t n = storm_tasks();
  for (auto _ : state) {
    std::atomic<std::size_t> started{0};
    bool stuck = false;
    tbb::task_group_status status = tbb::not_complete;
    double elapsed = 0;
    arena.execute([&] {
      tbb::task_group group;
      for (std::size_t i = 0; i < n; ++i) {
        group.run([&started] {
          started.fetch_add(1, std::memory_order_release);
          while (!tbb::is_current_task_group_canceling()) std::this_thread::yield();
        });
      }
      // The master is in here, so workers - 1 threads can run tasks now.
      stuck = !wait_for_count(started, std::min(n, static_cast<std::size_t>(workers - 1)));
      const auto start = clock_type::now();
      group.cancel();
      status = group.wait();
      elapsed = weft_bench::seconds_since(start);
    });
    state.SetIterationTime(elapsed);
    if (stuck || status != tbb::canceled || started.load() > n) {
      state.SkipWithError("cancel_storm: oneTBB group did not end cancelled");
      break;
    }
  }
}
#endif

/// Spawns a target with `make`, waits until `started` reaches `ready`,
/// then times cancel() to done on the handle `make` returns.
template <class Make>
void latency(benchmark::State& state, Make make) {
  weft::scheduler sched{static_cast<std::size_t>(state.range(0))};
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(state.max_iterations));
  for (auto _ : state) {
    std::atomic<std::size_t> started{0};
    auto [victim, ready, also_cancelled] = make(sched, started);
    if (!wait_for_count(started, ready)) {
      state.SkipWithError("cancel_latency: the task did not start within 60 s");
      break;
    }
    weft_bench::done_stamp done(victim);
    const auto start = clock_type::now();
    victim.cancel();
    const double elapsed = std::chrono::duration<double>(done.when(victim) - start).count();
    state.SetIterationTime(elapsed);
    samples.push_back(elapsed);
    also_cancelled.wait();
    if (!victim.cancelled() || !also_cancelled.cancelled()) {
      state.SkipWithError("cancel_latency: a task did not end cancelled");
      break;
    }
  }
  weft_bench::report_quantiles(state, samples);
}

struct latency_setup {
  weft::task_handle<void> victim;   // cancelled and timed
  std::size_t ready;                // `started` value once everything runs
  weft::task_handle<void> also;     // must end cancelled too (may be victim)
};

void register_rows() {
  weft_bench::add(
      "cancel_storm", "weft", [](benchmark::State& s) { storm_weft(s, false); },
      weft_bench::timing::manual);
  weft_bench::add(
      "cancel_storm", "weft_drop", [](benchmark::State& s) { storm_weft(s, true); },
      weft_bench::timing::manual);
#ifdef WEFT_BENCH_HAVE_TBB
  weft_bench::add("cancel_storm", "tbb_task_group", storm_tbb, weft_bench::timing::manual);
#endif

  auto latency_row = [](const char* name, auto fn) {
    auto* b = weft_bench::add("cancel_latency", name, fn, weft_bench::timing::manual);
    b->Unit(benchmark::kMicrosecond)->Iterations(latency_samples());
  };
  latency_row("weft_yield_loop", [](benchmark::State& state) {
    latency(state, [](weft::scheduler& sched, std::atomic<std::size_t>& started) {
      auto h = sched.spawn(yield_forever(started));
      return latency_setup{h, 1, h};
    });
  });
  latency_row("weft_await_handle", [](benchmark::State& state) {
    latency(state, [](weft::scheduler& sched, std::atomic<std::size_t>& started) {
      auto target = sched.spawn(yield_forever(started));
      auto awaiter = sched.spawn(await_handle(target, started));
      return latency_setup{awaiter, 2, target};
    });
  });
  latency_row("weft_sleep", [](benchmark::State& state) {
    latency(state, [](weft::scheduler& sched, std::atomic<std::size_t>& started) {
      auto h = sched.spawn(sleep_an_hour(started));
      return latency_setup{h, 1, h};
    });
  });
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
