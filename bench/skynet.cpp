// skynet: a tree of 1,000,000 leaves with fan-out 10, every node spawning all
// ten children and summing their numbers. Spawn throughput and wide fan-out:
// each inner node forks ten tasks at once, so the deque holds many items and
// thieves find plenty.
//
// Rows: weft (spawn ten, co_await each handle), tbb_task_group (run ten,
// wait), omp_task (ten tasks, taskwait). The answer is 0 + 1 + ... + (leaves - 1).

#include <weft/weft.hpp>

#ifdef WEFT_BENCH_HAVE_TBB
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
#include <omp.h>
#endif

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

constexpr std::uint64_t k_fan_out = 10;

std::uint64_t leaves() { return weft_bench::size<std::uint64_t>(1'000'000, 1'000); }

std::uint64_t expected_sum(std::uint64_t n) { return n * (n - 1) / 2; }

weft::task<std::uint64_t> skynet_weft(std::uint64_t num, std::uint64_t size) {
  if (size == 1) co_return num;
  const std::uint64_t child = size / k_fan_out;
  std::array<weft::task_handle<std::uint64_t>, k_fan_out> children;
  for (std::uint64_t i = 0; i < k_fan_out; ++i) {
    children[i] = weft::spawn(skynet_weft(num + i * child, child));
  }
  std::uint64_t sum = 0;
  for (auto& h : children) sum += co_await h;
  co_return sum;
}

// The fork-join idiom: all ten children under one when_all (no handle
// state; the first runs inline, the rest are stealable).
weft::task<std::uint64_t> skynet_weft_when_all(std::uint64_t num, std::uint64_t size) {
  if (size == 1) co_return num;
  const std::uint64_t child = size / k_fan_out;
  std::vector<weft::task<std::uint64_t>> children;
  children.reserve(k_fan_out);
  for (std::uint64_t i = 0; i < k_fan_out; ++i) {
    children.push_back(skynet_weft_when_all(num + i * child, child));
  }
  std::uint64_t sum = 0;
  for (std::uint64_t s : co_await weft::when_all(std::move(children))) sum += s;
  co_return sum;
}

#ifdef WEFT_BENCH_HAVE_TBB
std::uint64_t skynet_tbb(std::uint64_t num, std::uint64_t size) {
  if (size == 1) return num;
  const std::uint64_t child = size / k_fan_out;
  std::array<std::uint64_t, k_fan_out> sums{};
  tbb::task_group group;
  for (std::uint64_t i = 0; i < k_fan_out; ++i) {
    group.run([&sums, i, num, child] { sums[i] = skynet_tbb(num + i * child, child); });
  }
  group.wait();
  std::uint64_t sum = 0;
  for (std::uint64_t s : sums) sum += s;
  return sum;
}
#endif

#ifdef WEFT_BENCH_HAVE_OPENMP
std::uint64_t skynet_omp(std::uint64_t num, std::uint64_t size) {
  if (size == 1) return num;
  const std::uint64_t child = size / k_fan_out;
  std::array<std::uint64_t, k_fan_out> sums{};
  for (std::uint64_t i = 0; i < k_fan_out; ++i) {
#pragma omp task shared(sums) firstprivate(i, num, child)
    sums[i] = skynet_omp(num + i * child, child);
  }
#pragma omp taskwait
  std::uint64_t sum = 0;
  for (std::uint64_t s : sums) sum += s;
  return sum;
}
#endif

template <class Fn>
void run_checked(benchmark::State& state, Fn compute) {
  const std::uint64_t n = leaves();
  weft_bench::run_checked(state, "skynet: wrong sum", n, expected_sum(n), compute);
  weft_bench::report_peak_rss(state);
}

void register_rows() {
  weft_bench::add("skynet", "weft", [](benchmark::State& state) {
    weft::scheduler sched{weft_bench::workers_of(state)};
    run_checked(state, [&](std::uint64_t n) { return weft::sync_wait(sched, skynet_weft(0, n)); });
  });
  weft_bench::add("skynet", "weft_when_all", [](benchmark::State& state) {
    weft::scheduler sched{weft_bench::workers_of(state)};
    run_checked(state, [&](std::uint64_t n) {
      return weft::sync_wait(sched, skynet_weft_when_all(0, n));
    });
  });
#ifdef WEFT_BENCH_HAVE_TBB
  weft_bench::add("skynet", "tbb_task_group", [](benchmark::State& state) {
    tbb::task_arena arena{static_cast<int>(state.range(0))};
    run_checked(state, [&](std::uint64_t n) {
      return arena.execute([n] { return skynet_tbb(0, n); });
    });
  });
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
  weft_bench::add("skynet", "omp_task", [](benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    run_checked(state, [threads](std::uint64_t n) {
      return weft_bench::on_omp_team(threads, [n] { return skynet_omp(0, n); });
    });
  });
#endif
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
