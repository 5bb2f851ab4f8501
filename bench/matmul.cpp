// Recursive blocked matrix multiply, C += A * B with 1024 x 1024 doubles:
// split into quadrants down to 64 x 64 blocks, each level running its eight
// block products as two phases of four independent ones (each phase writes
// four disjoint quadrants of C). The work dominates: a runtime's overhead
// should vanish here.
//
// Every runtime follows the same recursion and the same order of additions
// into each element, and the entries are small integers, so all results are
// exact and compared element by element with the serial one.
//
// Rows: serial, weft (spawn three, run one inline, co_await), tbb_task_group,
// omp_task.

#include <weft/weft.hpp>

#ifdef WEFT_BENCH_HAVE_TBB
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

std::size_t matrix_n() { return weft_bench::size<std::size_t>(1024, 64); }
std::size_t block_n() { return weft_bench::size<std::size_t>(64, 16); }

/// A view of an n x n block inside a row-major matrix with row length `stride`.
struct block {
  double* data;
  std::size_t stride;
  block quadrant(std::size_t row, std::size_t col, std::size_t half) const {
    return {data + row * half * stride + col * half, stride};
  }
};

/// C += A * B for n x n blocks, the i-k-j loop the compiler vectorizes.
void multiply_block(block c, block a, block b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    double* c_row = c.data + i * c.stride;
    for (std::size_t k = 0; k < n; ++k) {
      const double a_ik = a.data[i * a.stride + k];
      const double* b_row = b.data + k * b.stride;
      for (std::size_t j = 0; j < n; ++j) c_row[j] += a_ik * b_row[j];
    }
  }
}

/// The eight quadrant products of one level: phase p, product q computes
/// C[row][col] += A[row][p] * B[p][col] for the q-th (row, col).
struct product {
  block c, a, b;
};
product product_of(block c, block a, block b, std::size_t half, std::size_t phase,
                   std::size_t q) {
  std::size_t row = q / 2, col = q % 2;
  return {c.quadrant(row, col, half), a.quadrant(row, phase, half), b.quadrant(phase, col, half)};
}

void matmul_serial(block c, block a, block b, std::size_t n, std::size_t base) {
  if (n <= base) return multiply_block(c, a, b, n);
  const std::size_t half = n / 2;
  for (std::size_t phase = 0; phase < 2; ++phase) {
    for (std::size_t q = 0; q < 4; ++q) {
      product p = product_of(c, a, b, half, phase, q);
      matmul_serial(p.c, p.a, p.b, half, base);
    }
  }
}

weft::task<void> matmul_weft(block c, block a, block b, std::size_t n, std::size_t base) {
  if (n <= base) {
    multiply_block(c, a, b, n);
    co_return;
  }
  const std::size_t half = n / 2;
  for (std::size_t phase = 0; phase < 2; ++phase) {
    std::array<weft::task_handle<void>, 3> forked;
    for (std::size_t q = 0; q < 3; ++q) {
      product p = product_of(c, a, b, half, phase, q);
      forked[q] = weft::spawn(matmul_weft(p.c, p.a, p.b, half, base));
    }
    product last = product_of(c, a, b, half, phase, 3);
    co_await matmul_weft(last.c, last.a, last.b, half, base);
    for (auto& h : forked) co_await h;
  }
}

#ifdef WEFT_BENCH_HAVE_TBB
void matmul_tbb(block c, block a, block b, std::size_t n, std::size_t base) {
  if (n <= base) return multiply_block(c, a, b, n);
  const std::size_t half = n / 2;
  for (std::size_t phase = 0; phase < 2; ++phase) {
    tbb::task_group group;
    for (std::size_t q = 0; q < 3; ++q) {
      product p = product_of(c, a, b, half, phase, q);
      group.run([p, half, base] { matmul_tbb(p.c, p.a, p.b, half, base); });
    }
    product last = product_of(c, a, b, half, phase, 3);
    matmul_tbb(last.c, last.a, last.b, half, base);
    group.wait();
  }
}
#endif

#ifdef WEFT_BENCH_HAVE_OPENMP
void matmul_omp(block c, block a, block b, std::size_t n, std::size_t base) {
  if (n <= base) return multiply_block(c, a, b, n);
  const std::size_t half = n / 2;
  for (std::size_t phase = 0; phase < 2; ++phase) {
    for (std::size_t q = 0; q < 3; ++q) {
      product p = product_of(c, a, b, half, phase, q);
#pragma omp task firstprivate(p, half, base)
      matmul_omp(p.c, p.a, p.b, half, base);
    }
    product last = product_of(c, a, b, half, phase, 3);
    matmul_omp(last.c, last.a, last.b, half, base);
#pragma omp taskwait
  }
}
#endif

/// The inputs and the serial answer, built once per process.
struct problem {
  std::size_t n = matrix_n();
  std::size_t base = block_n();
  std::vector<double> a, b, expected;
  problem() : a(n * n), b(n * n), expected(n * n, 0.0) {
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        a[i * n + j] = static_cast<double>((i * 7 + j * 3) % 5) - 2.0;
        b[i * n + j] = static_cast<double>((i * 5 + j * 11) % 7) - 3.0;
      }
    }
    matmul_serial({expected.data(), n}, {a.data(), n}, {b.data(), n}, n, base);
  }
};

const problem& the_problem() {
  static const problem p;
  return p;
}

/// Runs `compute(c, a, b, n, base)` each iteration on a zeroed C, then checks
/// C outside the timed region.
template <class Fn>
void run_checked(benchmark::State& state, Fn compute) {
  const problem& p = the_problem();
  std::vector<double> c(p.n * p.n);
  block a{const_cast<double*>(p.a.data()), p.n};
  block b{const_cast<double*>(p.b.data()), p.n};
  for (auto _ : state) {
    state.PauseTiming();
    std::fill(c.begin(), c.end(), 0.0);
    state.ResumeTiming();
    compute(block{c.data(), p.n}, a, b, p.n, p.base);
    state.PauseTiming();
    bool same = c == p.expected;
    state.ResumeTiming();
    if (!same) {
      state.SkipWithError("matmul: result differs from the serial product");
      break;
    }
  }
}

void register_rows() {
  weft_bench::add_serial("matmul", "serial", [](benchmark::State& state) {
    run_checked(state, matmul_serial);
  });
  weft_bench::add("matmul", "weft", [](benchmark::State& state) {
    weft::scheduler sched{static_cast<std::size_t>(state.range(0))};
    run_checked(state, [&](block c, block a, block b, std::size_t n, std::size_t base) {
      weft::sync_wait(sched, matmul_weft(c, a, b, n, base));
    });
  });
#ifdef WEFT_BENCH_HAVE_TBB
  weft_bench::add("matmul", "tbb_task_group", [](benchmark::State& state) {
    tbb::task_arena arena{static_cast<int>(state.range(0))};
    run_checked(state, [&](block c, block a, block b, std::size_t n, std::size_t base) {
      arena.execute([&] { matmul_tbb(c, a, b, n, base); });
    });
  });
#endif
#ifdef WEFT_BENCH_HAVE_OPENMP
  weft_bench::add("matmul", "omp_task", [](benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    run_checked(state, [threads](block c, block a, block b, std::size_t n, std::size_t base) {
#pragma omp parallel num_threads(threads) firstprivate(c, a, b, n, base)
#pragma omp single
      matmul_omp(c, a, b, n, base);
    });
  });
#endif
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
