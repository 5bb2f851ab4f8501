// nqueens(12): count every placement of 12 queens, forking one task per safe
// square of each row. The tree is irregular (most branches die early), so
// this measures stealing on unbalanced work. Expected: 14,200 solutions.
//
// Rows: weft (spawn every child, co_await each handle), tbb_task_group,
// omp_task; all checked against the serial count.

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
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

constexpr int k_max_n = 16;
using board = std::array<signed char, k_max_n>;  // board[row] = the queen's column

int queens_n() { return weft_bench::size(12, 6); }

/// True if a queen at (row, col) is not attacked by the queens in rows 0..row-1.
bool safe(const board& b, int row, int col) {
  for (int r = 0; r < row; ++r) {
    int c = b[static_cast<std::size_t>(r)];
    if (c == col || c - col == row - r || col - c == row - r) return false;
  }
  return true;
}

long queens_serial(board b, int row, int n) {
  if (row == n) return 1;
  long count = 0;
  for (int col = 0; col < n; ++col) {
    if (!safe(b, row, col)) continue;
    b[static_cast<std::size_t>(row)] = static_cast<signed char>(col);
    count += queens_serial(b, row + 1, n);
  }
  return count;
}

weft::task<long> queens_weft(board b, int row, int n) {
  if (row == n) co_return 1;
  std::array<weft::task_handle<long>, k_max_n> children;
  std::size_t forked = 0;
  for (int col = 0; col < n; ++col) {
    if (!safe(b, row, col)) continue;
    b[static_cast<std::size_t>(row)] = static_cast<signed char>(col);
    children[forked++] = weft::spawn(queens_weft(b, row + 1, n));
  }
  long count = 0;
  for (std::size_t i = 0; i < forked; ++i) count += co_await children[i];
  co_return count;
}

// The fork-join idiom: the safe columns under one when_all.
weft::task<long> queens_weft_when_all(board b, int row, int n) {
  if (row == n) co_return 1;
  std::vector<weft::task<long>> children;
  for (int col = 0; col < n; ++col) {
    if (!safe(b, row, col)) continue;
    b[static_cast<std::size_t>(row)] = static_cast<signed char>(col);
    children.push_back(queens_weft_when_all(b, row + 1, n));
  }
  long count = 0;
  for (long c : co_await weft::when_all(std::move(children))) count += c;
  co_return count;
}

#ifdef WEFT_BENCH_HAVE_TBB
long queens_tbb(board b, int row, int n) {
  if (row == n) return 1;
  std::array<long, k_max_n> counts{};
  tbb::task_group group;
  for (int col = 0; col < n; ++col) {
    if (!safe(b, row, col)) continue;
    b[static_cast<std::size_t>(row)] = static_cast<signed char>(col);
    group.run([&counts, b, row, n, col] {
      counts[static_cast<std::size_t>(col)] = queens_tbb(b, row + 1, n);
    });
  }
  group.wait();
  long count = 0;
  for (long c : counts) count += c;
  return count;
}
#endif

#ifdef WEFT_BENCH_HAVE_OPENMP
long queens_omp(board b, int row, int n) {
  if (row == n) return 1;
  std::array<long, k_max_n> counts{};
  for (int col = 0; col < n; ++col) {
    if (!safe(b, row, col)) continue;
    b[static_cast<std::size_t>(row)] = static_cast<signed char>(col);
#pragma omp task shared(counts) firstprivate(b, row, n, col)
    counts[static_cast<std::size_t>(col)] = queens_omp(b, row + 1, n);
  }
#pragma omp taskwait
  long count = 0;
  for (long c : counts) count += c;
  return count;
}
#endif

template <class Fn>
void run_checked(benchmark::State& state, Fn compute) {
  const int n = queens_n();
  weft_bench::run_checked(state, "nqueens: wrong count", n, queens_serial(board{}, 0, n), compute);
}

void register_rows() {
  weft_bench::add("nqueens", "weft", [](benchmark::State& state) {
    weft::scheduler sched{weft_bench::workers_of(state)};
    run_checked(state, [&](int n) { return weft::sync_wait(sched, queens_weft(board{}, 0, n)); });
  });
  weft_bench::add("nqueens", "weft_when_all", [](benchmark::State& state) {
    weft::scheduler sched{weft_bench::workers_of(state)};
    run_checked(state,
                [&](int n) { return weft::sync_wait(sched, queens_weft_when_all(board{}, 0, n)); });
  });
#ifdef WEFT_BENCH_HAVE_TBB
  weft_bench::add("nqueens", "tbb_task_group", [](benchmark::State& state) {
    tbb::task_arena arena{static_cast<int>(state.range(0))};
    run_checked(state, [&](int n) { return arena.execute([n] { return queens_tbb(board{}, 0, n); }); });
  });
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
  weft_bench::add("nqueens", "omp_task", [](benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    run_checked(state, [threads](int n) {
      return weft_bench::on_omp_team(threads, [n] { return queens_omp(board{}, 0, n); });
    });
  });
#endif
  weft_bench::add_serial("nqueens", "serial", [](benchmark::State& state) {
    run_checked(state, [](int n) { return queens_serial(board{}, 0, n); });
  });
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
