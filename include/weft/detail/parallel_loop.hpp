#pragma once
// The engine under weft::parallel_for and weft::parallel_reduce.
//
// The range is cut into leaves by halving until a piece is at most the
// grain: the leaves, and for a reduction the tree that combines their
// results, depend on the range and the grain alone. Which nodes of that
// tree run as tasks is decided as it runs, as oneTBB's auto_partitioner
// does: the top k_fork_depth levels fork (when_all of the two halves: the
// first runs inline, the second waits in this worker's deque for a thief),
// a half that a thief took forks k_steal_depth more levels below it (a
// thief means a worker was idle), and everything under that runs as plain
// calls on one worker. A reduction's result is therefore the same value,
// bit for bit, whoever ran which part.
//
// Stopping: each leaf first checks the loop's own failure flag and its
// task's cancellation (an atomic load each), so no leaf starts after a
// body threw or after the awaiting task's cancel reached this part of the
// tree (the cancel walks down the when_all joins before cancel() returns).

#include <atomic>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <weft/errors.hpp>
#include <weft/task.hpp>
#include <weft/when_all.hpp>
#include <weft/detail/current_task.hpp>
#include <weft/detail/runtime.hpp>

namespace weft::detail {

/// Levels forked from the top of every loop: 2^6 = 64 tasks, enough for
/// the thieves of a pool of a few dozen workers to start on, and a few
/// microseconds of overhead for a loop that runs on one.
inline constexpr int k_fork_depth = 6;
/// More levels forked under a half that a thief took.
inline constexpr int k_steal_depth = 3;
/// Leaves a loop is cut into without a grain (a range of n indices gets
/// leaves of about n / k_default_leaves): enough to balance unequal
/// bodies, and few enough that a leaf of a large trivial loop is some
/// thousands of indices.
inline constexpr std::size_t k_default_leaves = 4096;

inline std::size_t default_grain(std::size_t size) noexcept {
  return std::max<std::size_t>(1, (size + k_default_leaves - 1) / k_default_leaves);
}

inline void check_loop_arguments(const char* what, std::size_t first, std::size_t last,
                                 std::size_t grain) {
  if (first > last) {
    throw invalid_argument_error(std::string(what) + ": first (" + std::to_string(first) +
                                 ") is after last (" + std::to_string(last) +
                                 "); pass the range as [first, last) with first <= last");
  }
  if (grain == 0) {
    throw invalid_argument_error(std::string(what) +
                                 ": weft::grain{0} is no chunk size; pass a grain of at least 1, "
                                 "or none to let weft choose");
  }
}

/// What every part of one loop shares; lives in the loop's top frame.
struct loop_control {
  explicit loop_control(std::size_t g) noexcept : grain(g) {}

  const std::size_t grain;
  /// Set by the first body that throws; its exception is kept in `error`.
  std::atomic<bool> failed{false};
  std::exception_ptr error;  // written once, by the thread that set `failed`

  /// Before each leaf: throws if the loop must not start it.
  void before_leaf() const {
    if (failed.load(std::memory_order_relaxed)) throw loop_stopped{};
    task_state& self = current_task("a weft parallel loop");
    if (self.cancellation_point()) self.throw_cancelled();
  }

  /// In a catch block around a body: keeps the first exception.
  void record_failure() noexcept {
    // acq_rel: the winner's write of `error` is published by the joins
    // that carry the exception up to the loop's top frame.
    if (!failed.exchange(true, std::memory_order_acq_rel)) error = std::current_exception();
  }

  /// In the top frame's catch block, once every part has ended: the
  /// first body's exception; else, if the awaiting task was cancelled,
  /// cancelled_error with its own reason (the parts saw parent_cancelled);
  /// else what the parts threw.
  [[noreturn]] void rethrow_first() const {
    if (error) std::rethrow_exception(error);
    task_state& self = current_task("a weft parallel loop");
    if (self.cancellation_point()) self.throw_cancelled();
    throw;
  }

  /// Thrown by a leaf that sees another part's failure; never escapes the
  /// loop (the top frame rethrows the first body's exception instead).
  struct loop_stopped {};
};

/// Whether a node forks, and how many levels below it still may.
struct fork_budget {
  int depth;
  worker_context* forker;  ///< the worker that forked this node

  /// On entering a forked node: a thief gets more levels to split into.
  fork_budget entered() const noexcept {
    return {tls_worker != forker ? depth + k_steal_depth : depth, tls_worker};
  }
  fork_budget below() const noexcept { return {depth - 1, tls_worker}; }
};

inline std::size_t midpoint(std::size_t lo, std::size_t hi) noexcept { return lo + (hi - lo) / 2; }

// ---- parallel_for

/// Runs the leaves of [lo, hi) one after another on this worker. Leaves
/// of parallel_for need not match the halving tree: chunks of the grain.
template <class Chunk>
void run_chunks(loop_control& ctl, Chunk& chunk, std::size_t lo, std::size_t hi) {
  while (lo < hi) {
    const std::size_t end = hi - lo > ctl.grain ? lo + ctl.grain : hi;
    ctl.before_leaf();
    try {
      chunk(lo, end);
    } catch (...) {
      ctl.record_failure();
      throw;
    }
    lo = end;
  }
}

template <class Chunk>
task<void> for_node(loop_control& ctl, Chunk& chunk, std::size_t lo, std::size_t hi,
                    fork_budget budget) {
  budget = budget.entered();
  if (hi - lo <= ctl.grain || budget.depth <= 0) {
    run_chunks(ctl, chunk, lo, hi);
    co_return;
  }
  const std::size_t mid = midpoint(lo, hi);
  co_await when_all(for_node(ctl, chunk, lo, mid, budget.below()),
                    for_node(ctl, chunk, mid, hi, budget.below()));
}

/// A body that returns task<void>: each index (or chunk) is awaited, so
/// the leaves are coroutines too.
template <class Chunk>
task<void> for_task_node(loop_control& ctl, Chunk& chunk, std::size_t lo, std::size_t hi,
                         fork_budget budget) {
  budget = budget.entered();
  if (hi - lo <= ctl.grain || budget.depth <= 0) {
    while (lo < hi) {
      const std::size_t end = hi - lo > ctl.grain ? lo + ctl.grain : hi;
      ctl.before_leaf();
      try {
        co_await chunk(lo, end);
      } catch (...) {
        ctl.record_failure();
        throw;
      }
      lo = end;
    }
    co_return;
  }
  const std::size_t mid = midpoint(lo, hi);
  co_await when_all(for_task_node(ctl, chunk, lo, mid, budget.below()),
                    for_task_node(ctl, chunk, mid, hi, budget.below()));
}

/// The top frame of a loop: owns the body and the control, and turns the
/// parts' exceptions into the loop's one. `Awaits`: the chunk returns a
/// task<void>.
template <bool Awaits, class Chunk>
task<void> run_loop(std::size_t first, std::size_t last, std::size_t grain, Chunk chunk) {
  loop_control ctl{grain};
  if (first == last) co_return;
  const fork_budget top{k_fork_depth, tls_worker};
  try {
    if constexpr (Awaits) {
      co_await for_task_node(ctl, chunk, first, last, top);
    } else {
      co_await for_node(ctl, chunk, first, last, top);
    }
  } catch (...) {
    ctl.rethrow_first();
  }
}

// ---- parallel_reduce

template <class T, class Fold, class Combine>
struct reduction {
  const T& identity;
  Fold& fold;
  Combine& combine;

  T leaf(loop_control& ctl, std::size_t lo, std::size_t hi) const {
    ctl.before_leaf();
    try {
      return fold(lo, hi, T(identity));
    } catch (...) {
      ctl.record_failure();
      throw;
    }
  }

  /// The same tree as reduce_node below, run as plain calls.
  T serial(loop_control& ctl, std::size_t lo, std::size_t hi) const {
    if (hi - lo <= ctl.grain) return leaf(ctl, lo, hi);
    const std::size_t mid = midpoint(lo, hi);
    T left = serial(ctl, lo, mid);
    T right = serial(ctl, mid, hi);
    return combine(std::move(left), std::move(right));
  }
};

template <class T, class Fold, class Combine>
task<T> reduce_node(loop_control& ctl, const reduction<T, Fold, Combine>& r, std::size_t lo,
                    std::size_t hi, fork_budget budget) {
  budget = budget.entered();
  if (hi - lo <= ctl.grain || budget.depth <= 0) co_return r.serial(ctl, lo, hi);
  const std::size_t mid = midpoint(lo, hi);
  auto [left, right] = co_await when_all(reduce_node(ctl, r, lo, mid, budget.below()),
                                         reduce_node(ctl, r, mid, hi, budget.below()));
  co_return r.combine(std::move(left), std::move(right));
}

template <class T, class Fold, class Combine>
task<T> run_reduce(std::size_t first, std::size_t last, std::size_t grain, T identity, Fold fold,
                   Combine combine) {
  loop_control ctl{grain};
  if (first == last) co_return identity;
  const reduction<T, Fold, Combine> r{identity, fold, combine};
  std::optional<T> result;
  try {
    result.emplace(
        co_await reduce_node(ctl, r, first, last, fork_budget{k_fork_depth, tls_worker}));
  } catch (...) {
    ctl.rethrow_first();
  }
  co_return std::move(*result);
}

}  // namespace weft::detail
