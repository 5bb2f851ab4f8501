#pragma once
// The service's three computations, each a fork-join on the weft pool whose
// every fork is a cancellation point: a cancelled request stops within one
// leaf's worth of work (tens of microseconds), wherever it is in the tree.
#include <cstdint>

#include <weft/task.hpp>

namespace service {

/// fib(n) by the naive recursion, forking down to n = 20 (then serial).
weft::task<std::uint64_t> fib(int n);

/// The number of ways to place n queens on an n x n board, forking over
/// every placement above the last ten rows (searched serially).
weft::task<std::uint64_t> nqueens(int n);

/// The points of a size x size grid over [-2, 1] x [-1.5, 1.5] that stay in
/// the Mandelbrot set for 256 iterations, counted by parallel_reduce over
/// the rows (one row per chunk).
weft::task<std::uint64_t> mandelbrot(int size);

}  // namespace service
