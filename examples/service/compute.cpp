#include "compute.hpp"

#include <tuple>
#include <vector>

#include <weft/parallel.hpp>
#include <weft/when_all.hpp>

namespace service {
namespace {

constexpr int k_fib_serial_below = 20;
// nqueens searches the last this many rows serially (about 0.2 ms for 10
// on this kind of machine), and forks over every column above them: the
// serial leaves bound how soon a cancel stops the search.
constexpr int k_nqueens_serial_rows = 10;
constexpr int k_mandelbrot_iterations = 256;

std::uint64_t fib_serial(int n) { return n < 2 ? static_cast<std::uint64_t>(n) : fib_serial(n - 1) + fib_serial(n - 2); }

// Columns and both diagonals taken so far, as bit masks (the classic
// bitboard search).
struct board {
  std::uint32_t columns, left, right;
};

std::uint64_t nqueens_serial(std::uint32_t all, board b) {
  if (b.columns == all) return 1;
  std::uint64_t count = 0;
  for (std::uint32_t free = all & ~(b.columns | b.left | b.right); free != 0; free &= free - 1) {
    const std::uint32_t bit = free & (~free + 1);
    count += nqueens_serial(all, {b.columns | bit, (b.left | bit) << 1, (b.right | bit) >> 1});
  }
  return count;
}

weft::task<std::uint64_t> nqueens_fork(std::uint32_t all, board b, int rows_left) {
  if (rows_left <= k_nqueens_serial_rows) co_return nqueens_serial(all, b);
  std::vector<weft::task<std::uint64_t>> children;
  for (std::uint32_t free = all & ~(b.columns | b.left | b.right); free != 0; free &= free - 1) {
    const std::uint32_t bit = free & (~free + 1);
    children.push_back(
        nqueens_fork(all, {b.columns | bit, (b.left | bit) << 1, (b.right | bit) >> 1}, rows_left - 1));
  }
  std::uint64_t count = 0;
  for (std::uint64_t c : co_await weft::when_all(std::move(children))) count += c;
  co_return count;
}

std::uint64_t mandelbrot_row(int size, int row) {
  const double scale = 3.0 / size;
  const double ci = -1.5 + row * scale;
  std::uint64_t inside = 0;
  for (int col = 0; col < size; ++col) {
    const double cr = -2.0 + col * scale;
    double zr = 0, zi = 0;
    int i = 0;
    for (; i < k_mandelbrot_iterations && zr * zr + zi * zi <= 4.0; ++i) {
      const double t = zr * zr - zi * zi + cr;
      zi = 2 * zr * zi + ci;
      zr = t;
    }
    inside += i == k_mandelbrot_iterations;
  }
  return inside;
}

}  // namespace

weft::task<std::uint64_t> fib(int n) {
  if (n < k_fib_serial_below) co_return fib_serial(n);
  auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));
  co_return a + b;
}

weft::task<std::uint64_t> nqueens(int n) {
  return nqueens_fork((std::uint32_t{1} << n) - 1, {0, 0, 0}, n);
}

weft::task<std::uint64_t> mandelbrot(int size) {
  return weft::parallel_reduce(
      0, static_cast<std::size_t>(size), std::uint64_t{0},
      [size](std::size_t lo, std::size_t hi, std::uint64_t sum) {
        for (std::size_t row = lo; row < hi; ++row) sum += mandelbrot_row(size, static_cast<int>(row));
        return sum;
      },
      [](std::uint64_t a, std::uint64_t b) { return a + b; }, weft::grain{1});
}

}  // namespace service
