// Data-parallel loops (oneTBB's parallel_for / parallel_reduce, OpenMP's
// `parallel for`) inside a request: score every candidate in parallel, sum
// the scores with a result that does not depend on the worker count, and
// stop a loop that outlives its request's deadline.

#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// A request's work: score every candidate, then add the scores up.
weft::task<double> score_all(std::vector<double>& scores) {
  co_await weft::parallel_for(0, scores.size(), [&](std::size_t i) {
    scores[i] = std::sin(static_cast<double>(i)) / static_cast<double>(i + 1);
  });
  co_return co_await weft::parallel_reduce(
      0, scores.size(), 0.0,
      [&](std::size_t lo, std::size_t hi, double acc) {
        for (std::size_t i = lo; i < hi; ++i) acc += scores[i];
        return acc;
      },
      std::plus<>{});
}

/// A loop over far more rows than its deadline allows: each row polls the
/// request's cancellation, as a long body should.
weft::task<void> render(std::atomic<std::size_t>& rows_done, std::size_t rows) {
  co_await weft::parallel_for(0, rows, [&](std::size_t) {
    const auto until = std::chrono::steady_clock::now() + 1ms;
    while (std::chrono::steady_clock::now() < until) {
      if (weft::this_task::cancellation_requested()) return;
    }
    rows_done.fetch_add(1, std::memory_order_relaxed);
  });
}

}  // namespace

int main() {
  std::vector<double> scores(1'000'000);
  double sums[2];
  for (std::size_t workers : {1u, 2u}) {
    weft::scheduler sched{workers};
    sums[workers - 1] = weft::sync_wait(sched, score_all(scores));
  }
  std::printf("sum of 1,000,000 scores: %.12f\n", sums[0]);
  std::printf("the same bits at 1 and 2 workers: %s\n",
              std::memcmp(&sums[0], &sums[1], sizeof(double)) == 0 ? "yes" : "no");

  weft::scheduler sched{2};
  std::atomic<std::size_t> rows_done{0};
  try {
    weft::sync_wait(sched, [&]() -> weft::task<void> {
      co_await weft::timeout(20ms, render(rows_done, 100'000));
    }());
    std::printf("render finished\n");
  } catch (const weft::timeout_error& e) {
    std::printf("render stopped by its deadline: %s\n", e.what());
  }
  std::printf("rows done before the deadline: %s\n",
              rows_done.load() > 0 && rows_done.load() < 100'000 ? "some, not all" : "unexpected");
}
