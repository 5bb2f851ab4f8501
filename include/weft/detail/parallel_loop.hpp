#pragma once
// The engine under weft::parallel_for and weft::parallel_reduce.
//
// The range is cut into leaves by halving until a piece is at most the
// grain: the leaves, and for a reduction the tree that combines their
// results, depend on the range and the grain alone. Which nodes of that
// tree run as tasks is decided as it runs: the top k_fork_depth levels
// fork (loop_fork.hpp: the first half runs inline, the second waits in
// this worker's deque for a thief); a half that a thief took forks
// k_steal_depth more levels; below that a worker runs the leaves one after
// another, and between two of them hands half of what is left over if a
// worker is idle and has nothing to steal (idle_worker_wants_work). A
// reduction's result is therefore the same value, bit for bit, whoever
// ran which part.
//
// Stopping: each leaf first checks the loop's own failure flag and its
// task's cancellation (an atomic load each), so no leaf starts after a
// body's exception was recorded (in the catch that receives it, after the
// body's unwinding) or after the awaiting task's cancel reached this part
// of the tree (a check after cancel() returned sees it: cancel_epoch.hpp). A
// stopped part returns without its result instead of throwing
// (loop_fork.hpp), and the top frame throws once.
//
// Fairness: between two chunks (and between two serially run subtrees of
// a reduction) a node makes way for injected work (make_way), so a task
// spawned from another thread while a loop keeps every worker busy starts
// within one chunk instead of after the loop.

#include <algorithm>
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <weft/cancel_reason.hpp>
#include <weft/errors.hpp>
#include <weft/detail/current_task.hpp>
#include <weft/detail/drop.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/loop_fork.hpp>
#include <weft/detail/runtime.hpp>

namespace weft::detail {

/// Levels forked from the top of every loop: 2^4 = 16 pieces for the
/// thieves to start on (more are split off on demand), and a microsecond
/// of overhead for a loop that runs on one worker.
inline constexpr int k_fork_depth = 4;
/// More levels forked under a half that a thief took.
inline constexpr int k_steal_depth = 3;
/// Leaves a loop is cut into without a grain (a range of n indices gets
/// leaves of about n / k_default_leaves): enough to balance unequal
/// bodies, and few enough that a leaf of a large trivial loop is some
/// thousands of indices.
inline constexpr std::size_t k_default_leaves = 4096;

/// The grain of [first, last) when none is given (1 for an empty or a
/// reversed range, which the argument check then reports).
inline std::size_t default_grain(std::size_t first, std::size_t last) noexcept {
  const std::size_t size = last > first ? last - first : 0;
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

  /// Before each leaf: whether the loop may start it. Not after a body
  /// threw, nor once this part's task is cancelled (a check after the
  /// awaiting task's cancel() returned sees it, cancel_epoch.hpp).
  bool may_start() {
    if (failed_.load(std::memory_order_relaxed)) return false;
    task_state& self = current_task("a weft parallel loop");
    if (!self.cancellation_point()) [[likely]] return true;
    record_stop(task_state::reason_in(self.load()));
    return false;
  }

  /// In a catch block around a body: true if the loop fails (rethrow it),
  /// false if the body stopped it by throwing cancelled_error.
  bool record_exception() {
    try {
      throw;
    } catch (const cancelled_error& e) {
      record_stop(e.reason());
      return false;
    } catch (...) {
      // acq_rel: the winner's write of error_ is published by the joins
      // that carry the failure up to the top frame.
      if (!failed_.exchange(true, std::memory_order_acq_rel)) error_ = std::current_exception();
      return true;
    }
  }

  /// In the top frame's catch block: the first body's failure, or else
  /// what the parts threw.
  [[noreturn]] void rethrow_failure() const {
    if (error_) std::rethrow_exception(error_);
    throw;
  }

  /// True if a body failed (finish() rethrows it).
  bool failed() const noexcept { return error_ != nullptr; }

  /// In the top frame once every part has ended: throws if the loop did
  /// not run to its end: the awaiting task's cancelled_error (with its own
  /// reason: the parts saw parent_cancelled), else the reason a part saw.
  void finish(bool complete) {
    if (error_) std::rethrow_exception(error_);
    task_state& self = current_task("a weft parallel loop");
    if (self.cancellation_point()) self.throw_cancelled();
    if (complete) return;
    throw cancelled_error(stopped_.load(std::memory_order_acquire)
                              ? stop_reason_
                              : cancel_reason{cancel_kind::parent_cancelled, "a part was cancelled"});
  }

 private:
  void record_stop(const cancel_reason& reason) {
    // acq_rel: as failed_; stop_reason_ is written once, by the winner.
    if (!stopped_.exchange(true, std::memory_order_acq_rel)) stop_reason_ = reason;
  }

  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
  std::atomic<bool> stopped_{false};
  cancel_reason stop_reason_;
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

/// Both halves of a fork ran to their end.
template <class Half>
bool both_complete(const Half& left, const Half& right) {
  return left.has_value() && *left && right.has_value() && *right;
}

/// Between two chunks of a serial run: whether to hand half of what is
/// left to another worker. Only when this worker has nothing a thief could
/// take and some worker is looking for work or parked, so a loop that
/// nobody is idle for runs as plain calls, and an idle worker gets work
/// within one chunk (oneTBB's auto partitioner splits on a steal; this
/// splits on the demand for one).
inline bool idle_worker_wants_work() noexcept {
  worker_context* w = tls_worker;
  return w->deque.size_estimate() == 0 && w->sched->idle_.has_idle();
}

/// `co_await make_way{}` between two chunks: if injected work waits (a new
/// task spawned from another thread, an I/O or timer wake-up), the node
/// goes onto this worker's deque (where a thief may take it) and the
/// worker loop takes the injected work first, so a long loop delays it by
/// one chunk at most. Nothing waiting costs one relaxed load of a line
/// that only inject() writes.
struct make_way {};

struct make_way_awaiter {
  task_state* root;

  bool await_ready() const noexcept { return !tls_worker->sched->has_injected(); }
  void await_suspend(std::coroutine_handle<> self) const noexcept {
    worker_context* w = tls_worker;
    w->take_injected_next = true;
    w->push_local(as_work(self));  // returning void goes back to the worker loop
  }
  // No cancellation point: the loop's own checks stop its leaves.
  void await_resume() const noexcept { enter(root); }
};

template <>
struct awaitable_traits<make_way> {
  static make_way_awaiter transform(task_state* root, make_way) noexcept { return {root}; }
};

/// The budget of the two halves a serial run hands over: none below for
/// the half kept, k_steal_depth for a half that a thief takes.
inline fork_budget handed_over() noexcept { return {0, tls_worker}; }

// ---- parallel_for: each node returns whether all its chunks ran

/// One chunk, [lo, end), whose body returns a task<void>: false if the
/// body stopped the loop (by throwing cancelled_error).
template <class Chunk>
task<bool> run_awaited_chunk(loop_control& ctl, Chunk& chunk, std::size_t lo, std::size_t end) {
  bool stopped = false;
  try {
    co_await chunk(lo, end);
  } catch (...) {
    if (ctl.record_exception()) throw;
    stopped = true;
  }
  co_return !stopped;
}

/// As run_awaited_chunk, for a body that returns void.
template <class Chunk>
bool run_chunk(loop_control& ctl, Chunk& chunk, std::size_t lo, std::size_t end) {
  try {
    chunk(lo, end);
  } catch (...) {
    if (ctl.record_exception()) throw;
    return false;
  }
  return true;
}

/// A node: forks its halves while its budget lasts, else runs its chunks
/// of the grain one after another until an idle worker asks for half of
/// what is left.
template <bool Awaits, class Chunk>
task<bool> for_node(loop_control& ctl, Chunk& chunk, std::size_t lo, std::size_t hi,
                    fork_budget budget) {
  budget = budget.entered();
  for (bool first = true; lo < hi; first = false) {
    if (hi - lo > ctl.grain && (first ? budget.depth > 0 : idle_worker_wants_work())) {
      const fork_budget halves_budget = first ? budget.below() : handed_over();
      const std::size_t mid = midpoint(lo, hi);
      loop_fork<bool> halves{{for_node<Awaits>(ctl, chunk, lo, mid, halves_budget),
                              for_node<Awaits>(ctl, chunk, mid, hi, halves_budget)}};
      auto [left, right] = co_await std::move(halves);
      co_return both_complete(left, right);
    }
    if (!first) co_await make_way{};
    const std::size_t end = hi - lo > ctl.grain ? lo + ctl.grain : hi;
    if (!ctl.may_start()) co_return false;
    bool ran;
    if constexpr (Awaits) {
      ran = co_await run_awaited_chunk(ctl, chunk, lo, end);
    } else {
      ran = run_chunk(ctl, chunk, lo, end);
    }
    if (!ran) co_return false;
    lo = end;
  }
  co_return true;
}

/// The top frame of a loop: owns the body and the control, and turns the
/// parts' ends into the loop's one. `Awaits`: the chunk returns a
/// task<void>. The top forks the two halves itself: an inline await of a
/// node would throw cancelled_error on its way out of a cancelled task,
/// where the fork lets finish() throw once.
template <bool Awaits, class Chunk>
task<void> run_loop(std::size_t first, std::size_t last, std::size_t grain, Chunk chunk) {
  loop_control ctl{grain};
  if (first == last) co_return;
  auto node = [&](std::size_t lo, std::size_t hi, fork_budget budget) {
    return for_node<Awaits>(ctl, chunk, lo, hi, budget);
  };
  const fork_budget top{k_fork_depth, tls_worker};
  bool complete = false;
  try {
    if (last - first <= grain) {
      complete = co_await node(first, last, top);
    } else {
      const std::size_t mid = midpoint(first, last);
      loop_fork<bool> halves{{node(first, mid, top.below()), node(mid, last, top.below())}};
      auto [left, right] = co_await std::move(halves);
      complete = both_complete(left, right);
    }
  } catch (...) {
    ctl.rethrow_failure();
  }
  // Stopped by the task's cancel inside a drop_on_cancel region: dropped
  // here instead of throwing (a failure is still thrown, below).
  if (!complete && !ctl.failed()) co_await drop_if_cancelled{};
  ctl.finish(complete);
}

// ---- parallel_reduce: each node returns its result, or nullopt if stopped

template <class T, class Fold, class Combine>
struct reduction {
  const T& identity;
  Fold& fold;
  Combine& combine;

  std::optional<T> leaf(loop_control& ctl, std::size_t lo, std::size_t hi) const {
    if (!ctl.may_start()) return std::nullopt;
    try {
      return fold(lo, hi, T(identity));
    } catch (...) {
      if (ctl.record_exception()) throw;
      return std::nullopt;
    }
  }

  /// The same tree as reduce_node below, run as plain calls.
  std::optional<T> serial(loop_control& ctl, std::size_t lo, std::size_t hi) const {
    if (hi - lo <= ctl.grain) return leaf(ctl, lo, hi);
    const std::size_t mid = midpoint(lo, hi);
    std::optional<T> left = serial(ctl, lo, mid);
    if (!left) return std::nullopt;
    std::optional<T> right = serial(ctl, mid, hi);
    if (!right) return std::nullopt;
    return combine(std::move(*left), std::move(*right));
  }
};

/// Subtrees of at most this many leaves run as plain calls in one go; a
/// larger one is walked node by node, so that an idle worker's demand is
/// seen (and half of the node handed over) between such subtrees.
inline constexpr std::size_t k_serial_leaves = 16;

template <class T, class Fold, class Combine>
task<std::optional<T>> reduce_node(loop_control& ctl, const reduction<T, Fold, Combine>& r,
                                   std::size_t lo, std::size_t hi, fork_budget budget,
                                   bool first = true) {
  budget = budget.entered();
  if (hi - lo <= ctl.grain * k_serial_leaves && (budget.depth <= 0 || hi - lo <= ctl.grain)) {
    co_return r.serial(ctl, lo, hi);
  }
  const std::size_t mid = midpoint(lo, hi);
  if (budget.depth > 0 || (!first && idle_worker_wants_work())) {
    const fork_budget halves_budget = budget.depth > 0 ? budget.below() : handed_over();
    loop_fork<std::optional<T>> halves{{reduce_node(ctl, r, lo, mid, halves_budget),
                                        reduce_node(ctl, r, mid, hi, halves_budget)}};
    auto [left, right] = co_await std::move(halves);
    if (!both_complete(left, right)) co_return std::nullopt;
    co_return r.combine(std::move(**left), std::move(**right));
  }
  // The same tree, walked here: the left half, then the right one (which
  // looks for demand again first).
  std::optional<T> left = co_await reduce_node(ctl, r, lo, mid, budget, first);
  if (!left) co_return std::nullopt;
  co_await make_way{};
  std::optional<T> right = co_await reduce_node(ctl, r, mid, hi, budget, false);
  if (!right) co_return std::nullopt;
  co_return r.combine(std::move(*left), std::move(*right));
}

/// The top frame of a reduction: as run_loop.
template <class T, class Fold, class Combine>
task<T> run_reduce(std::size_t first, std::size_t last, std::size_t grain, T identity, Fold fold,
                   Combine combine) {
  loop_control ctl{grain};
  if (first == last) co_return identity;
  const reduction<T, Fold, Combine> r{identity, fold, combine};
  const fork_budget top{k_fork_depth, tls_worker};
  std::optional<T> result;
  try {
    if (last - first <= grain) {
      result = r.serial(ctl, first, last);
    } else {
      const std::size_t mid = midpoint(first, last);
      loop_fork<std::optional<T>> halves{
          {reduce_node(ctl, r, first, mid, top.below()), reduce_node(ctl, r, mid, last, top.below())}};
      auto [left, right] = co_await std::move(halves);
      if (both_complete(left, right)) result.emplace(r.combine(std::move(**left), std::move(**right)));
    }
  } catch (...) {
    ctl.rethrow_failure();
  }
  if (!result && !ctl.failed()) co_await drop_if_cancelled{};  // as in run_loop
  ctl.finish(result.has_value());
  co_return std::move(*result);
}

}  // namespace weft::detail
