#pragma once
/// \file
/// weft::parallel_for and weft::parallel_reduce: loops over an index range
/// on the pool (oneTBB's parallel_for / parallel_reduce, OpenMP's
/// `parallel for`) that stop when the task awaiting them is cancelled.

#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <weft/task.hpp>
#include <weft/detail/parallel_loop.hpp>

namespace weft {

/// The most indices one call of a loop's body handles: the range is
/// halved until a piece is at most this long. `weft::grain{4096}`.
struct grain {
  std::size_t size;
};

namespace detail {

template <class R>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

/// fold(lo, hi, T acc) -> T and combine(T, T) -> T.
template <class T, class Fold, class Combine>
concept reduction_of = std::is_invocable_r_v<T, Fold&, std::size_t, std::size_t, T> &&
                       std::is_invocable_r_v<T, Combine&, T, T>;

/// A body of one index, called for each index of a chunk.
template <class Body>
struct each_index {
  Body body;
  void operator()(std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) body(i);
  }
};

/// A body of one index that returns task<void>: each call is awaited.
template <class Body>
struct each_index_awaited {
  Body body;
  task<void> operator()(std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) co_await body(i);
  }
};

template <class Body>
task<void> start_parallel_for(std::size_t first, std::size_t last, Body&& body,
                              std::size_t grain_size) {
  check_loop_arguments("weft::parallel_for", first, last, grain_size);
  using B = std::decay_t<Body>;
  if constexpr (std::is_invocable_v<B&, std::size_t, std::size_t>) {
    using R = std::invoke_result_t<B&, std::size_t, std::size_t>;
    static_assert(std::is_void_v<R> || std::is_same_v<R, task<void>>,
                  "weft::parallel_for: a body of (lo, hi) returns void or weft::task<void>");
    return run_loop<is_task_v<R>>(first, last, grain_size, B(std::forward<Body>(body)));
  } else if constexpr (std::is_invocable_v<B&, std::size_t>) {
    using R = std::invoke_result_t<B&, std::size_t>;
    static_assert(std::is_void_v<R> || std::is_same_v<R, task<void>>,
                  "weft::parallel_for: a body of (i) returns void or weft::task<void>");
    if constexpr (is_task_v<R>) {
      return run_loop<true>(first, last, grain_size,
                            each_index_awaited<B>{B(std::forward<Body>(body))});
    } else {
      return run_loop<false>(first, last, grain_size, each_index<B>{B(std::forward<Body>(body))});
    }
  } else {
    static_assert(std::is_invocable_v<B&, std::size_t>,
                  "weft::parallel_for: the body must be callable as body(i) or body(lo, hi) "
                  "with std::size_t indices");
  }
}

}  // namespace detail

/// `co_await weft::parallel_for(first, last, body)` inside a task, or
/// `weft::sync_wait(sched, weft::parallel_for(...))` from a plain thread:
/// calls `body(i)` for every i in [first, last) exactly once, or
/// `body(lo, hi)` for chunks [lo, hi) that cover it, on the pool's
/// workers in parallel. The range is halved down to the grain (given, or
/// about 1/4096 of the range); the top halves are forked, more where
/// thieves take them, and a worker running chunks one after another hands
/// half of what is left to a worker that is idle, so work is balanced by
/// stealing and a loop nobody is idle for costs a call per chunk.
///
/// The body may return weft::task<void> (it is awaited: it may co_await an
/// inner loop or any weft awaitable). Cancelling the awaiting task (a
/// cancel, a weft::timeout, a failing sibling, shutdown) starts no chunk
/// after the request; running bodies finish their call (they can poll
/// this_task::cancellation_requested(), and read this_task::deadline());
/// then it throws cancelled_error with the awaiting task's reason. A body
/// that throws stops the loop once its exception has reached the loop
/// (after the body's own unwinding; a chunk that passed its check before
/// that still runs): no chunk starts from then on, the running bodies see
/// this_task::cancellation_requested(), and once they have returned the
/// first exception is rethrown.
///
/// Throws invalid_argument_error at once if first > last or the grain is
/// 0. Only a weft task can co_await the result (from another coroutine it
/// does not compile).
template <class Body>
task<void> parallel_for(std::size_t first, std::size_t last, Body&& body) {
  return detail::start_parallel_for(first, last, std::forward<Body>(body),
                                    detail::default_grain(first, last));
}

/// As above, with chunks of at most `g.size` indices.
template <class Body>
task<void> parallel_for(std::size_t first, std::size_t last, Body&& body, grain g) {
  return detail::start_parallel_for(first, last, std::forward<Body>(body), g.size);
}

/// `T r = co_await weft::parallel_reduce(first, last, identity, fold,
/// combine)`: folds every chunk [lo, hi) of [first, last) as
/// `fold(lo, hi, T(identity))` on the pool, and combines the chunks'
/// results pairwise with `combine(T left, T right)` (left covers the lower
/// indices) into one; an empty range gives identity. The chunks and the
/// tree of combine calls depend on the range and the grain alone (the
/// default grain on the range's size), never on the workers or on timing:
/// the same inputs give the same result, bit for bit, in every run and at
/// every worker count, also in floating point. `identity` must be the
/// identity of `combine` (0 for +, 1 for *). Cancellation, exceptions and
/// misuse as for parallel_for. `g`: chunks of at most `g.size` indices.
template <class T, class Fold, class Combine>
  requires detail::reduction_of<std::decay_t<T>, Fold, Combine>
task<std::decay_t<T>> parallel_reduce(std::size_t first, std::size_t last, T&& identity,
                                      Fold fold, Combine combine, grain g) {
  detail::check_loop_arguments("weft::parallel_reduce", first, last, g.size);
  return detail::run_reduce<std::decay_t<T>>(first, last, g.size, std::forward<T>(identity),
                                              std::move(fold), std::move(combine));
}

/// As above, with the default grain (about 1/4096 of the range).
template <class T, class Fold, class Combine>
  requires detail::reduction_of<std::decay_t<T>, Fold, Combine>
task<std::decay_t<T>> parallel_reduce(std::size_t first, std::size_t last, T&& identity,
                                      Fold fold, Combine combine) {
  return parallel_reduce(first, last, std::forward<T>(identity), std::move(fold),
                         std::move(combine),
                         grain{detail::default_grain(first, last)});
}

}  // namespace weft
