#pragma once
// Shared by every bench/<family>.cpp: smoke mode, the worker sweep, peak
// resident set, and the main() that fails the process on SkipWithError.
//
// Naming: every row is registered as "<family>/<runtime>/workers:<n>" so
// bench/report.py can split it back into workload, runtime and workers.

#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace weft_bench {

/// WEFT_BENCH_SMOKE=1 shrinks every problem to a tiny size and runs each row
/// once: CI uses it so the suite cannot rot; the numbers mean nothing.
inline bool smoke() {
  static const bool on = [] {
    const char* v = std::getenv("WEFT_BENCH_SMOKE");
    return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
  }();
  return on;
}

/// Picks the full or the smoke size.
template <class T>
T size(T full, T tiny) {
  return smoke() ? tiny : full;
}

/// The worker counts swept: 1 .. hardware threads (WEFT_BENCH_MAX_WORKERS
/// overrides the top; smoke mode sweeps 1 and 2 so the parallel paths run).
inline std::vector<long> worker_counts() {
  long top = static_cast<long>(std::max(1u, std::thread::hardware_concurrency()));
  if (const char* v = std::getenv("WEFT_BENCH_MAX_WORKERS")) top = std::max(1L, std::atol(v));
  if (smoke()) top = 2;
  std::vector<long> out;
  for (long n = 1; n <= top; ++n) out.push_back(n);
  return out;
}

/// Seconds on the steady clock since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The process's resident-set high-water mark in MiB.
///
/// It never goes down, so it describes one row only when the row ran alone in
/// its process: bench/report.py runs every row that way. Read from VmHWM in
/// /proc/self/status, the high-water mark of this address space, rather than
/// getrusage's ru_maxrss: ru_maxrss survives execve, so a benchmark started
/// by a 15 MiB Python process reports at least 15 MiB. Falls back to
/// ru_maxrss (KiB on Linux) where /proc is missing.
inline double peak_rss_mib() {
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof line, f) != nullptr) {
      if (std::strncmp(line, "VmHWM:", 6) == 0) {
        kib = std::atol(line + 6);
        break;
      }
    }
    std::fclose(f);
    if (kib >= 0) return static_cast<double>(kib) / 1024.0;
  }
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

/// How a row's time is taken: on the wall clock (the work runs on other
/// threads, so CPU time of the benchmark thread means nothing), or by the row
/// itself with SetIterationTime (to leave set-up out of the timed region).
enum class timing { wall, manual };

/// Registers `fn` as "<family>/<runtime>/workers:<n>" for every swept n, in
/// milliseconds.
template <class Fn>
benchmark::internal::Benchmark* add(const std::string& family, const std::string& runtime, Fn fn,
                                    timing how = timing::wall) {
  auto* b = benchmark::RegisterBenchmark((family + "/" + runtime).c_str(), fn);
  b->ArgName("workers")->Unit(benchmark::kMillisecond);
  if (how == timing::wall) {
    b->UseRealTime();
  } else {
    b->UseManualTime();
  }
  for (long n : worker_counts()) b->Arg(n);
  if (smoke()) b->Iterations(1);
  return b;
}

/// Same, for a row that has no worker count (a serial baseline): reported as
/// workers:1 so the table lines it up with the 1-worker rows.
template <class Fn>
benchmark::internal::Benchmark* add_serial(const std::string& family, const std::string& runtime,
                                           Fn fn) {
  auto* b = benchmark::RegisterBenchmark((family + "/" + runtime).c_str(), fn);
  b->ArgName("workers")->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);
  if (smoke()) b->Iterations(1);
  return b;
}

/// Sets the peak-RSS counter (see peak_rss_mib for when it is meaningful).
inline void report_peak_rss(benchmark::State& state) {
  state.counters["peak_rss_mib"] = benchmark::Counter(peak_rss_mib());
}

/// Sets the counters `<prefix>p50_us` and `<prefix>p99_us` from `samples`
/// (seconds; sorted here). Nothing when there are none.
inline void report_quantiles(benchmark::State& state, std::vector<double>& samples,
                             const std::string& prefix = "") {
  if (samples.empty()) return;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    return samples[std::min(samples.size() - 1, static_cast<std::size_t>(q * samples.size()))];
  };
  state.counters[prefix + "p50_us"] = at(0.50) * 1e6;
  state.counters[prefix + "p99_us"] = at(0.99) * 1e6;
}

/// The worker count of a row: its benchmark argument.
inline std::size_t workers_of(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0));
}

/// Unless `got == expected`, calls SkipWithError("<what> <got>, expected
/// <expected>"), `what` naming the family and the quantity ("fib: wrong
/// result"). Says whether they matched.
template <class T>
bool check_result(benchmark::State& state, const char* what, const T& got, const T& expected) {
  if (got == expected) return true;
  state.SkipWithError(
      (std::string(what) + " " + std::to_string(got) + ", expected " + std::to_string(expected))
          .c_str());
  return false;
}

/// Runs `compute(n)` each iteration and checks it against `expected` with
/// check_result; stops at the first mismatch.
template <class N, class T, class Fn>
void run_checked(benchmark::State& state, const char* what, N n, T expected, Fn compute) {
  for (auto _ : state) {
    if (!check_result(state, what, static_cast<T>(compute(n)), expected)) break;
  }
}

#ifdef WEFT_BENCH_HAVE_OPENMP
/// Runs `fn()` on one thread of a fresh team of `threads` OpenMP threads (the
/// others run the tasks it creates) and returns its result.
template <class Fn>
auto on_omp_team(int threads, Fn fn) -> decltype(fn()) {
  decltype(fn()) result{};
#pragma omp parallel num_threads(threads) shared(result, fn)
#pragma omp single
  result = fn();
  return result;
}
#endif

/// The moment a weft task became terminal, stamped by a done callback on the
/// thread that ended it. Observing it costs the workers nothing: when()
/// sleeps in the kernel until the stamp is there, where handle.wait() would
/// spin first and, on a machine with as many cores as workers, take a core
/// from them while they finish the task.
class done_stamp {
 public:
  using clock = std::chrono::steady_clock;

  template <class Handle>
  explicit done_stamp(const Handle& handle) {
    handle.add_done_callback([this](const auto&) {
      at_.store(clock::now().time_since_epoch().count(), std::memory_order_release);
      at_.notify_one();
    });
  }
  done_stamp(const done_stamp&) = delete;
  done_stamp& operator=(const done_stamp&) = delete;

  /// Sleeps until the task is done; then waits for the callback to return
  /// (so this may be destroyed) and returns the stamp.
  template <class Handle>
  clock::time_point when(const Handle& handle) {
    at_.wait(0, std::memory_order_acquire);
    handle.wait();  // returns once the callbacks registered before it ran
    return clock::time_point(clock::duration(at_.load(std::memory_order_acquire)));
  }

 private:
  std::atomic<clock::rep> at_{0};
};

/// Forwards to the display reporter chosen by --benchmark_format and remembers
/// whether any row called SkipWithError. Google Benchmark 1.7.1 prints the
/// error ("ERROR OCCURRED" on the console, "error_occurred": true in JSON) but
/// still exits 0; main() turns it into a failing exit status.
class error_tracking_reporter : public benchmark::BenchmarkReporter {
 public:
  explicit error_tracking_reporter(benchmark::BenchmarkReporter* inner) : inner_(inner) {}
  bool ReportContext(const Context& context) override { return inner_->ReportContext(context); }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) failed_ = true;
    }
    inner_->ReportRuns(runs);
  }
  void Finalize() override { inner_->Finalize(); }
  bool failed() const { return failed_; }

 private:
  benchmark::BenchmarkReporter* inner_;
  bool failed_ = false;
};

/// Registers the family's rows (`register_rows`), runs the ones selected by
/// the command line, and returns 1 if any of them called SkipWithError.
inline int run_main(int argc, char** argv, void (*register_rows)()) {
  register_rows();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  error_tracking_reporter reporter(benchmark::CreateDefaultDisplayReporter());
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return reporter.failed() ? 1 : 0;
}

}  // namespace weft_bench

/// Each bench/<family>.cpp ends with WEFT_BENCH_MAIN(register_rows) instead of
/// BENCHMARK_MAIN().
#define WEFT_BENCH_MAIN(register_rows) \
  int main(int argc, char** argv) { return weft_bench::run_main(argc, argv, register_rows); }
