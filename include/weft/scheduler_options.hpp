#pragma once
/// \file
/// weft::scheduler_options: how a scheduler's pool is built.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace weft {

/// Configuration of a weft::scheduler. Every value is checked when the
/// scheduler is constructed; a bad one throws invalid_argument_error.
struct scheduler_options {
  /// Worker threads; empty = one per hardware thread. 0 is an error.
  std::optional<std::size_t> workers;

  /// Worker thread names as top and gdb show them: prefix + index
  /// ("weft-w0", "weft-w1", ...). Linux allows 15 characters in all.
  std::string thread_name_prefix = "weft-w";

  /// Pin worker i to CPU (i mod the number of CPUs this process may use).
  bool pin_workers = false;

  /// Run on each worker thread before it takes any task, and after its
  /// last (services set up thread-locals, logging and tracing there). The
  /// argument is the worker's index. An exception from either is reported
  /// on stderr and otherwise ignored.
  std::function<void(std::size_t)> on_worker_start{};
  /// See on_worker_start: runs on the worker after its last task.
  std::function<void(std::size_t)> on_worker_stop{};

  /// Rounds an idle worker looks for work (each round: its deque, the
  /// injection queue, one sweep of steals) before it parks. 0 parks at
  /// once; at most 1,000,000.
  std::uint32_t spin_rounds = 64;

  /// The most threads that run weft::to_thread calls at once (started on
  /// demand, they exit after a few idle seconds; calls beyond it queue). 0
  /// is an error.
  std::size_t max_blocking_threads = 64;

  /// Keep a registry of live tasks so that scheduler::dump() can list them.
  /// Costs a mutex-protected insert at spawn and erase at the end of each
  /// spawned task; off by default (dump() then prints the counters only).
  bool track_tasks = false;

  /// Record a trace (per worker: each task run, steal and park) that
  /// scheduler::write_trace() writes as Chrome trace-event JSON. Off by
  /// default; on, each event is a timestamp and an append to a per-worker
  /// buffer (no lock), and memory grows with the events until destruction.
  bool trace = false;
};

}  // namespace weft
