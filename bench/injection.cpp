// External injection: 4 plain threads (not workers) each submit 250,000
// small tasks, the path a service's request threads use. Time runs from
// starting the producers until every task has run.
//
// Rows: weft (scheduler::spawn from the producer, the handle dropped at
// once) and tbb_arena_enqueue (tbb::task_arena::enqueue). Both tasks do the
// same work and report completion the same way: add their number to a sum
// and count down one std::latch, which the timing thread waits on; the sum is
// checked.

#include <weft/weft.hpp>

#ifdef WEFT_BENCH_HAVE_TBB
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#endif

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"

namespace {

constexpr std::size_t k_producers = 4;

std::size_t tasks_per_producer() { return weft_bench::size<std::size_t>(250'000, 1'000); }

/// What every small task does, whichever runtime runs it.
struct sink {
  std::atomic<std::uint64_t> sum{0};
  std::latch done;
  explicit sink(std::ptrdiff_t tasks) : done(tasks) {}
  void record(std::uint64_t value) {
    sum.fetch_add(value, std::memory_order_relaxed);
    done.count_down();
  }
};

std::uint64_t expected_sum(std::uint64_t tasks) { return tasks * (tasks - 1) / 2; }

weft::task<void> small_task(sink& s, std::uint64_t value) {
  s.record(value);
  co_return;
}

/// Starts the producers, each calling submit(s, value) for its share of the
/// numbers, then waits for every task; checks the sum.
template <class Submit>
void run_checked(benchmark::State& state, Submit submit) {
  const std::size_t per = tasks_per_producer();
  const std::uint64_t total = per * k_producers;
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (auto _ : state) {
    sink s(static_cast<std::ptrdiff_t>(total));
    std::vector<std::thread> producers;
    for (std::size_t t = 0; t < k_producers; ++t) {
      producers.emplace_back([&s, &submit, t, per] {
        for (std::size_t i = 0; i < per; ++i) submit(s, t * per + i);
      });
    }
    for (auto& p : producers) p.join();
    s.done.wait();
    if (s.sum.load() != expected_sum(total)) {
      state.SkipWithError(("injection: wrong sum " + std::to_string(s.sum.load()) +
                           ", expected " + std::to_string(expected_sum(total))).c_str());
      break;
    }
  }
  // Over wall time: Google Benchmark's kIsRate would divide by the CPU time
  // of this (mostly waiting) thread.
  const double seconds = std::chrono::duration<double>(clock::now() - start).count();
  state.counters["tasks_per_s"] =
      static_cast<double>(total) * static_cast<double>(state.iterations()) / seconds;
}

void register_rows() {
  weft_bench::add("injection", "weft", [](benchmark::State& state) {
    weft::scheduler sched{static_cast<std::size_t>(state.range(0))};
    run_checked(state, [&](sink& s, std::uint64_t value) {
      (void)sched.spawn(small_task(s, value));
    });
  });
#ifdef WEFT_BENCH_HAVE_TBB
  weft_bench::add("injection", "tbb_arena_enqueue", [](benchmark::State& state) {
    // n worker threads and no slot for a master: nobody calls execute(), the
    // producers only enqueue. oneTBB caps its workers at hardware threads - 1
    // by default; global_control lifts the cap to n (plus the master it counts).
    const int workers = static_cast<int>(state.range(0));
    tbb::global_control allow(tbb::global_control::max_allowed_parallelism,
                              static_cast<std::size_t>(workers) + 1);
    tbb::task_arena arena{workers, 0};
    run_checked(state, [&](sink& s, std::uint64_t value) {
      arena.enqueue([&s, value] { s.record(value); });
    });
  });
#endif
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
