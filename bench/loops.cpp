// Data-parallel loops: weft::parallel_for / parallel_reduce against
// oneTBB's (default auto partitioner) and OpenMP's `parallel for`, each
// checked against the serial loop.
//
// loops_saxpy       y[i] += a * x[i] over 10^7 floats (memory bound)
// loops_mandelbrot  1024 x 1024 escape counts (at most 256 iterations),
//                   a row per index: rows near the set cost far more
// loops_dot         sum of x[i] * y[i] over 10^7 doubles (a reduction)
//   serial          the plain loop
//   weft            parallel_for / parallel_reduce, default grain
//   tbb             tbb::parallel_for / parallel_reduce over a
//                   blocked_range, default grain and partitioner
//   omp_static      `#pragma omp parallel for` (OpenMP's default static
//                   schedule; saxpy and dot), `reduction(+:)` for dot
//   omp_dynamic     `schedule(dynamic)` (chunks of 1 row for mandelbrot;
//                   for saxpy and dot chunks of n/4096, the chunk weft's
//                   default grain gives, as a chunk of one index would be
//                   10^7 dispatches)
// The dot's inputs are small integers, so every order of additions gives
// the exact sum and each runtime's result is compared exactly.
//
// loops_cancel (p50_us, p99_us over 100 samples; chunk_us): a weft task
// runs the mandelbrot loop and is cancelled at a random moment within the
// loop's first two thirds; from just before cancel() to the awaiting task
// catching cancelled_error (a run that ends before its cancel is counted
// in finished_first, not sampled); after_rows_p50_us / p99_us: from the
// return of the last row that was running (or from the cancel, if later)
// to the catch, what the loop adds to the running bodies. chunk_us and chunk_max_us: a row's mean
// and longest time, run alone (the bound is 50 µs plus one chunk's body).
// loops_cancel/weft_drop: the same loop in a task spawned as
// weft::drop_on_cancel, whose frames end without an exception: there is no
// catch, so the samples end at the task's terminal state (its done
// callback's stamp). done_p50_us / done_p99_us: cancel() to that state, in
// both rows.

#include <weft/weft.hpp>

#ifdef WEFT_BENCH_HAVE_TBB
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/task_arena.h>
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

std::size_t vector_n() { return weft_bench::size<std::size_t>(10'000'000, 10'000); }
std::size_t image_n() { return weft_bench::size<std::size_t>(1024, 64); }
constexpr int k_max_iterations = 256;
std::int64_t cancel_samples() { return weft_bench::size<std::int64_t>(100, 3); }

// ---- the kernels, shared by every runtime

inline void saxpy_range(float* y, const float* x, float a, std::size_t lo, std::size_t hi) {
  for (std::size_t i = lo; i < hi; ++i) y[i] += a * x[i];
}

inline double dot_range(const double* x, const double* y, std::size_t lo, std::size_t hi,
                        double acc) {
  for (std::size_t i = lo; i < hi; ++i) acc += x[i] * y[i];
  return acc;
}

/// Escape counts of one row of the image over [-2, 1] x [-1.5, 1.5].
inline void mandelbrot_row(std::uint16_t* out, std::size_t row, std::size_t n) {
  const double ci = -1.5 + 3.0 * static_cast<double>(row) / static_cast<double>(n);
  for (std::size_t col = 0; col < n; ++col) {
    const double cr = -2.0 + 3.0 * static_cast<double>(col) / static_cast<double>(n);
    double zr = 0, zi = 0;
    int it = 0;
    while (it < k_max_iterations && zr * zr + zi * zi <= 4.0) {
      const double t = zr * zr - zi * zi + cr;
      zi = 2 * zr * zi + ci;
      zr = t;
      ++it;
    }
    out[row * n + col] = static_cast<std::uint16_t>(it);
  }
}

// ---- the problems, made once

struct saxpy_problem {
  std::vector<float> x, y0, expected;
  float a = 1.5f;
};
const saxpy_problem& saxpy_data() {
  static const saxpy_problem p = [] {
    saxpy_problem q;
    const std::size_t n = vector_n();
    q.x.resize(n);
    q.y0.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      q.x[i] = static_cast<float>(i % 13);
      q.y0[i] = static_cast<float>(i % 7);
    }
    q.expected = q.y0;
    saxpy_range(q.expected.data(), q.x.data(), q.a, 0, n);
    return q;
  }();
  return p;
}

struct dot_problem {
  std::vector<double> x, y;
  double expected = 0;
};
const dot_problem& dot_data() {
  static const dot_problem p = [] {
    dot_problem q;
    const std::size_t n = vector_n();
    q.x.resize(n);
    q.y.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      q.x[i] = static_cast<double>(i % 7);
      q.y[i] = static_cast<double>(i % 5);
    }
    q.expected = dot_range(q.x.data(), q.y.data(), 0, n, 0.0);
    return q;
  }();
  return p;
}

const std::vector<std::uint16_t>& mandelbrot_expected() {
  static const std::vector<std::uint16_t> image = [] {
    const std::size_t n = image_n();
    std::vector<std::uint16_t> out(n * n);
    for (std::size_t row = 0; row < n; ++row) mandelbrot_row(out.data(), row, n);
    return out;
  }();
  return image;
}

std::size_t omp_chunk(std::size_t n) { return std::max<std::size_t>(1, (n + 4095) / 4096); }

// ---- where an iteration runs
//
// Each iteration resets its output and then times the loop on a thread of
// the runtime (a weft task, a thread in the oneTBB arena, the OpenMP
// master), as a loop in a service follows other work of the same task:
// the loop starts on a running core, not from a thread asleep in
// sync_wait. `loop()` returns void, or for weft a task<void>.

struct on_caller {
  template <class Reset, class Loop>
  double operator()(Reset& reset, Loop& loop) const {
    reset();
    const auto start = clock_type::now();
    loop();
    return weft_bench::seconds_since(start);
  }
};

template <class Reset, class Loop>
weft::task<double> timed_in_task(Reset& reset, Loop& loop) {
  reset();
  const auto start = clock_type::now();
  co_await loop();
  co_return weft_bench::seconds_since(start);
}

struct in_weft_task {
  weft::scheduler& sched;
  template <class Reset, class Loop>
  double operator()(Reset& reset, Loop& loop) const {
    return weft::sync_wait(sched, timed_in_task(reset, loop));
  }
};

#ifdef WEFT_BENCH_HAVE_TBB
struct in_tbb_arena {
  tbb::task_arena& arena;
  template <class Reset, class Loop>
  double operator()(Reset& reset, Loop& loop) const {
    return arena.execute([&] { return on_caller{}(reset, loop); });
  }
};
#endif

// ---- each workload: every iteration's result is checked (untimed)

/// saxpy into a fresh copy of y each iteration. `loop(y, x, a, n)`.
template <class Where, class Loop>
void saxpy_rows(benchmark::State& state, Where where, Loop loop) {
  const saxpy_problem& p = saxpy_data();
  std::vector<float> y(p.y0.size());
  auto reset = [&] { y = p.y0; };
  auto run = [&] { return loop(y.data(), p.x.data(), p.a, p.x.size()); };
  for (auto _ : state) {
    state.SetIterationTime(where(reset, run));
    if (y != p.expected) {
      state.SkipWithError("loops_saxpy: result differs from the serial loop");
      break;
    }
  }
}

/// `loop(out, n)` writes the n x n image.
template <class Where, class Loop>
void mandelbrot_rows(benchmark::State& state, Where where, Loop loop) {
  const std::size_t n = image_n();
  std::vector<std::uint16_t> out(n * n);
  auto reset = [&] { std::fill(out.begin(), out.end(), 0); };
  auto run = [&] { return loop(out.data(), n); };
  for (auto _ : state) {
    state.SetIterationTime(where(reset, run));
    if (out != mandelbrot_expected()) {
      state.SkipWithError("loops_mandelbrot: image differs from the serial one");
      break;
    }
  }
}

/// `loop(x, y, n, sum)` stores the dot product in sum.
template <class Where, class Loop>
void dot_rows(benchmark::State& state, Where where, Loop loop) {
  const dot_problem& p = dot_data();
  double sum = 0;
  auto reset = [&] { sum = -1; };
  auto run = [&] { return loop(p.x.data(), p.y.data(), p.x.size(), sum); };
  for (auto _ : state) {
    state.SetIterationTime(where(reset, run));
    if (!weft_bench::check_result(state, "loops_dot: wrong sum", sum, p.expected)) break;
  }
}

// ---- loops_cancel

void cancel_mid_loop(benchmark::State& state, bool drop) {
  weft::scheduler sched{weft_bench::workers_of(state)};
  const std::size_t n = image_n();
  std::vector<std::uint16_t> out(n * n);
  // The loop's own length, to place the cancels within it, and its rows'
  // (the chunks of the default grain) mean and longest time.
  const auto t0 = clock_type::now();
  weft::sync_wait(sched, weft::parallel_for(0, n, [&](std::size_t row) {
    mandelbrot_row(out.data(), row, n);
  }));
  const auto loop_time = clock_type::now() - t0;
  double row_total_us = 0, row_max_us = 0;
  for (std::size_t row = 0; row < n; ++row) {
    const auto r0 = clock_type::now();
    mandelbrot_row(out.data(), row, n);
    const double us = std::chrono::duration<double, std::micro>(clock_type::now() - r0).count();
    row_total_us += us;
    row_max_us = std::max(row_max_us, us);
  }
  const double chunk_us = row_total_us / static_cast<double>(n);
  std::mt19937_64 rng(42);
  const std::int64_t samples = cancel_samples();
  for (auto _ : state) {
    std::int64_t finished_first = 0;
    std::vector<double> latencies, after_bodies, to_done;
    latencies.reserve(samples);
    double total = 0;
    for (std::int64_t i = 0; i < samples; ++i) {
      std::atomic<bool> running{false};
      clock_type::time_point caught{};
      // When the last row to return returned (ns on clock_type).
      std::atomic<std::int64_t> last_row_end{0};
      auto loop = [&]() {
        return weft::parallel_for(0, n, [&](std::size_t row) {
          mandelbrot_row(out.data(), row, n);
          const std::int64_t end = clock_type::now().time_since_epoch().count();
          std::int64_t seen = last_row_end.load(std::memory_order_relaxed);
          while (seen < end && !last_row_end.compare_exchange_weak(seen, end)) {
          }
        });
      };
      auto body = [&]() -> weft::task<void> {
        running.store(true, std::memory_order_release);
        try {
          co_await loop();
        } catch (const weft::cancelled_error&) {
          caught = clock_type::now();
          throw;
        }
      };
      auto dropping_body = [&]() -> weft::task<void> {
        running.store(true, std::memory_order_release);
        co_await loop();
      };
      const auto delay = std::chrono::nanoseconds(
          static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(loop_time.count() * 2 / 3 + 1)));
      auto h = drop ? sched.spawn(weft::drop_on_cancel(dropping_body())) : sched.spawn(body());
      weft_bench::done_stamp done(h);
      while (!running.load(std::memory_order_acquire)) std::this_thread::yield();
      const auto at = clock_type::now() + delay;
      while (clock_type::now() < at) std::this_thread::yield();
      const auto start = clock_type::now();
      h.cancel("benchmark");
      const auto ended = done.when(h);
      if (drop) caught = ended;
      if (!h.cancelled()) {  // the loop ended first: no sample
        if (h.exception() != nullptr) {
          state.SkipWithError("loops_cancel: the loop failed");
          return;
        }
        ++finished_first;
        continue;
      }
      if (caught == clock_type::time_point{}) {
        state.SkipWithError("loops_cancel: the task ended cancelled without catching it");
        return;
      }
      const double s = std::chrono::duration<double>(caught - start).count();
      latencies.push_back(s);
      to_done.push_back(std::chrono::duration<double>(ended - start).count());
      total += s;
      // What the loop adds once the rows running at the cancel returned.
      const auto bodies_done = std::max(
          start, clock_type::time_point(clock_type::duration(last_row_end.load())));
      after_bodies.push_back(std::chrono::duration<double>(caught - bodies_done).count());
    }
    state.SetIterationTime(latencies.empty() ? 0.0 : total / static_cast<double>(latencies.size()));
    weft_bench::report_quantiles(state, latencies);
    weft_bench::report_quantiles(state, after_bodies, "after_rows_");
    weft_bench::report_quantiles(state, to_done, "done_");
    state.counters["chunk_us"] = chunk_us;
    state.counters["chunk_max_us"] = row_max_us;
    state.counters["finished_first"] = static_cast<double>(finished_first);
  }
}

void register_rows() {
  using weft_bench::timing;
  auto weft_row_with = [](const char* family, const char* runtime, std::uint32_t spin_rounds,
                          auto body) {
    weft_bench::add(family, runtime, [body, spin_rounds](benchmark::State& state) {
      weft::scheduler_options options;
      options.workers = weft_bench::workers_of(state);
      options.spin_rounds = spin_rounds;
      weft::scheduler sched{options};
      body(state, in_weft_task{sched});
    }, timing::manual);
  };
  auto weft_row = [weft_row_with](const char* family, auto body) {
    weft_row_with(family, "weft", weft::scheduler_options{}.spin_rounds, body);
  };
  // Between two iterations (the reset and the check, milliseconds) weft's
  // idle workers park, and the loop starts with a wake-up; OpenMP's threads
  // spin through such a gap (libomp's KMP_BLOCKTIME is 200 ms). This row
  // gives weft the same: workers that never park, for the memory-bound
  // loops where the start-up shows.
  auto weft_spinning_row = [weft_row_with](const char* family, auto body) {
    weft_row_with(family, "weft_spinning", 1'000'000, body);
  };
  auto serial_row = [](const char* family, auto body) {
    auto* b = benchmark::RegisterBenchmark((std::string(family) + "/serial").c_str(),
                                           [body](benchmark::State& state) {
                                             body(state, on_caller{});
                                           });
    b->ArgName("workers")->Arg(1)->UseManualTime()->Unit(benchmark::kMillisecond);
    if (weft_bench::smoke()) b->Iterations(1);
  };
#ifdef WEFT_BENCH_HAVE_TBB
  auto tbb_row = [](const char* family, auto body) {
    weft_bench::add(family, "tbb", [body](benchmark::State& state) {
      tbb::task_arena arena{static_cast<int>(state.range(0))};
      body(state, in_tbb_arena{arena});
    }, timing::manual);
  };
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
  // The OpenMP rows run on the caller, the team's master; `threads` is the
  // team size.
  auto omp_row = [](const char* family, const char* runtime, auto body) {
    weft_bench::add(family, runtime, [body](benchmark::State& state) {
      body(state, on_caller{}, static_cast<int>(state.range(0)));
    }, timing::manual);
  };
#endif

  // saxpy
  serial_row("loops_saxpy", [](benchmark::State& state, auto where) {
    saxpy_rows(state, where, [](float* y, const float* x, float a, std::size_t n) {
      saxpy_range(y, x, a, 0, n);
    });
  });
  auto weft_saxpy = [](benchmark::State& state, auto where) {
    saxpy_rows(state, where, [](float* y, const float* x, float a, std::size_t n) {
      return weft::parallel_for(0, n, [=](std::size_t i) { y[i] += a * x[i]; });
    });
  };
  weft_row("loops_saxpy", weft_saxpy);
  weft_spinning_row("loops_saxpy", weft_saxpy);
#ifdef WEFT_BENCH_HAVE_TBB
  tbb_row("loops_saxpy", [](benchmark::State& state, auto where) {
    saxpy_rows(state, where, [](float* y, const float* x, float a, std::size_t n) {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n),
                        [=](const tbb::blocked_range<std::size_t>& r) {
                          saxpy_range(y, x, a, r.begin(), r.end());
                        });
    });
  });
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
  omp_row("loops_saxpy", "omp_static", [](benchmark::State& state, auto where, int threads) {
    saxpy_rows(state, where, [threads](float* y, const float* x, float a, std::size_t n) {
#pragma omp parallel for num_threads(threads)
      for (std::size_t i = 0; i < n; ++i) y[i] += a * x[i];
    });
  });
  omp_row("loops_saxpy", "omp_dynamic", [](benchmark::State& state, auto where, int threads) {
    saxpy_rows(state, where, [threads](float* y, const float* x, float a, std::size_t n) {
      const std::size_t chunk = omp_chunk(n);
#pragma omp parallel for num_threads(threads) schedule(dynamic, chunk)
      for (std::size_t i = 0; i < n; ++i) y[i] += a * x[i];
    });
  });
#endif

  // mandelbrot
  serial_row("loops_mandelbrot", [](benchmark::State& state, auto where) {
    mandelbrot_rows(state, where, [](std::uint16_t* out, std::size_t n) {
      for (std::size_t row = 0; row < n; ++row) mandelbrot_row(out, row, n);
    });
  });
  weft_row("loops_mandelbrot", [](benchmark::State& state, auto where) {
    mandelbrot_rows(state, where, [](std::uint16_t* out, std::size_t n) {
      return weft::parallel_for(0, n, [=](std::size_t row) { mandelbrot_row(out, row, n); });
    });
  });
#ifdef WEFT_BENCH_HAVE_TBB
  tbb_row("loops_mandelbrot", [](benchmark::State& state, auto where) {
    mandelbrot_rows(state, where, [](std::uint16_t* out, std::size_t n) {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n),
                        [=](const tbb::blocked_range<std::size_t>& r) {
                          for (std::size_t row = r.begin(); row < r.end(); ++row) {
                            mandelbrot_row(out, row, n);
                          }
                        });
    });
  });
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
  omp_row("loops_mandelbrot", "omp_dynamic", [](benchmark::State& state, auto where, int threads) {
    mandelbrot_rows(state, where, [threads](std::uint16_t* out, std::size_t n) {
#pragma omp parallel for num_threads(threads) schedule(dynamic)
      for (std::size_t row = 0; row < n; ++row) mandelbrot_row(out, row, n);
    });
  });
#endif

  // dot
  serial_row("loops_dot", [](benchmark::State& state, auto where) {
    dot_rows(state, where, [](const double* x, const double* y, std::size_t n, double& sum) {
      sum = dot_range(x, y, 0, n, 0.0);
    });
  });
  auto weft_dot = [](benchmark::State& state, auto where) {
    dot_rows(state, where,
             [](const double* x, const double* y, std::size_t n, double& sum) -> weft::task<void> {
               sum = co_await weft::parallel_reduce(
                   0, n, 0.0,
                   [=](std::size_t lo, std::size_t hi, double acc) {
                     return dot_range(x, y, lo, hi, acc);
                   },
                   std::plus<>{});
             });
  };
  weft_row("loops_dot", weft_dot);
  weft_spinning_row("loops_dot", weft_dot);
#ifdef WEFT_BENCH_HAVE_TBB
  tbb_row("loops_dot", [](benchmark::State& state, auto where) {
    dot_rows(state, where, [](const double* x, const double* y, std::size_t n, double& sum) {
      sum = tbb::parallel_reduce(
          tbb::blocked_range<std::size_t>(0, n), 0.0,
          [=](const tbb::blocked_range<std::size_t>& r, double acc) {
            return dot_range(x, y, r.begin(), r.end(), acc);
          },
          std::plus<>{});
    });
  });
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
  omp_row("loops_dot", "omp_static", [](benchmark::State& state, auto where, int threads) {
    dot_rows(state, where, [threads](const double* x, const double* y, std::size_t n, double& out) {
      double sum = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : sum)
      for (std::size_t i = 0; i < n; ++i) sum += x[i] * y[i];
      out = sum;
    });
  });
  omp_row("loops_dot", "omp_dynamic", [](benchmark::State& state, auto where, int threads) {
    dot_rows(state, where, [threads](const double* x, const double* y, std::size_t n, double& out) {
      double sum = 0;
      const std::size_t chunk = omp_chunk(n);
#pragma omp parallel for num_threads(threads) reduction(+ : sum) schedule(dynamic, chunk)
      for (std::size_t i = 0; i < n; ++i) sum += x[i] * y[i];
      out = sum;
    });
  });
#endif

  weft_bench::add(
      "loops_cancel", "weft", [](benchmark::State& s) { cancel_mid_loop(s, false); }, timing::manual)
      ->Iterations(1);
  weft_bench::add(
      "loops_cancel", "weft_drop", [](benchmark::State& s) { cancel_mid_loop(s, true); },
      timing::manual)
      ->Iterations(1);
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
