#pragma once
/// \file
/// weft::scheduler: a pool of worker threads that steal work from each other.

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string_view>
#include <utility>

#include <weft/drop_on_cancel.hpp>
#include <weft/errors.hpp>
#include <weft/scheduler_options.hpp>
#include <weft/scheduler_stats.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>
#include <weft/detail/runtime.hpp>
#include <weft/detail/spawn.hpp>
#include <weft/detail/task_result.hpp>

namespace weft {

namespace detail {
class scheduler_core;
}  // namespace detail

/// A pool of worker threads running weft tasks.
///
/// Thread safety: spawn() and stats() may be called from any thread,
/// concurrently. The destructor must not race with calls from other
/// threads that are not the scheduler's own tasks.
class scheduler {
 public:
  /// One worker per hardware thread.
  scheduler();
  /// `workers` threads. Throws invalid_argument_error if it is 0 or more
  /// than max_workers().
  explicit scheduler(std::size_t workers);
  /// A pool configured by `options`; throws invalid_argument_error for a
  /// bad value, naming it.
  explicit scheduler(const scheduler_options& options);
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  /// Clean shutdown, as shutdown() does if it has not been called.
  ~scheduler();

  /// Clean shutdown, before destruction (asyncio.run's cancel-all on exit,
  /// tokio's Runtime::shutdown): every unfinished task is cancelled (reason
  /// shutdown: its next suspension point throws; one that never started
  /// never runs; uncancellable cleanup still runs to its end), then waits
  /// until every task is terminal and joins the workers. Afterwards stats()
  /// and dump() still answer (every task terminal) and a spawned task is
  /// cancelled at once. Any thread but the scheduler's own workers (there it
  /// aborts with a diagnostic); a second call waits for the first to end.
  void shutdown();

  /// Starts `t` on the pool (asyncio.create_task). Callable from any thread.
  /// The task is independent of the spawner: cancelling the spawner does not
  /// cancel it. Tasks spawned here start in the order they were spawned:
  /// from another thread a busy worker makes way for them within one step
  /// of its fork-join work; from one of this scheduler's workers they wait
  /// until a worker has nothing of its own left (weft::spawn in a task
  /// forks instead: it runs next, on the spawning worker). Throws
  /// invalid_state_error if `t` is empty.
  template <class T>
  task_handle<T> spawn(task<T> t) {
    return detail::spawn_task(base(), std::move(t), {}, detail::spawn_order::enqueue);
  }

  /// As spawn(t), naming the task (handle.name(), dump()).
  template <class T>
  task_handle<T> spawn(task<T> t, std::string_view name) {
    return detail::spawn_task(base(), std::move(t), name, detail::spawn_order::enqueue);
  }

  /// As spawn(t), for a task whose frames end without an exception when it
  /// is cancelled: `sched.spawn(weft::drop_on_cancel(t))` (drop_on_cancel.hpp).
  template <class T>
  task_handle<T> spawn(drop_on_cancel_awaitable<T> region, std::string_view name = {}) {
    return detail::spawn_region(base(), std::move(region.child), name,
                                detail::spawn_order::enqueue, "spawn()");
  }

  /// The number of worker threads. Any thread.
  std::size_t worker_count() const noexcept;
  /// The counters summed over the workers (exact once the pool is quiet).
  /// Any thread, while the pool runs.
  scheduler_stats stats() const noexcept;

  /// Writes the counters and, with scheduler_options::track_tasks, every
  /// live task: id, name, state (queued, running, suspended on what) and
  /// whether its cancellation was requested (asyncio's all_tasks() for a
  /// stuck service). Safe from any thread while the pool runs.
  void dump(std::ostream& out) const;

  /// Writes the trace recorded so far (scheduler_options::trace) as Chrome
  /// trace-event JSON; chrome://tracing and ui.perfetto.dev open it. Safe
  /// from any thread while the pool runs. Throws invalid_state_error if the
  /// scheduler was built without tracing.
  void write_trace(std::ostream& out) const;

  /// The largest worker count a scheduler accepts.
  static std::size_t max_workers() noexcept;

 private:
  detail::scheduler_base* base() const noexcept;
  std::unique_ptr<detail::scheduler_core> core_;
};

/// Inside a task: spawns `t` on the current task's scheduler. Outside any
/// task throws invalid_state_error (call scheduler::spawn instead).
template <class T>
task_handle<T> spawn(task<T> t, std::string_view name = {}) {
  return detail::spawn_task(detail::current_scheduler("weft::spawn()"), std::move(t), name);
}

/// As spawn(t), for a task whose frames end without an exception when it
/// is cancelled (weft::drop_on_cancel).
template <class T>
task_handle<T> spawn(drop_on_cancel_awaitable<T> region, std::string_view name = {}) {
  return detail::spawn_region(detail::current_scheduler("weft::spawn()"), std::move(region.child),
                              name, detail::spawn_order::fork, "weft::spawn()");
}

/// Runs `t` on `sched`, blocks until it is done and returns its value or
/// rethrows (asyncio.run). Throws invalid_state_error on a worker thread.
template <class T>
T sync_wait(scheduler& sched, task<T> t) {
  detail::refuse_blocking_on_worker("weft::sync_wait()", "co_await the task instead");
  task_handle<T> handle = sched.spawn(std::move(t));
  handle.wait();
  return handle.result();
}

}  // namespace weft
