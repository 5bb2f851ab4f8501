// weft::scheduler and its pool: construction (options, workers, threads),
// shutdown, stats(), dump() and write_trace().

#include <weft/scheduler.hpp>

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <unordered_set>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif
#include <cstdlib>
#include <string>

#include <weft/detail/asymmetric_fence.hpp>
#include <weft/detail/futex.hpp>
#include <weft/detail/task_state.hpp>

#include "blocking_pool.hpp"
#include "scheduler_core.hpp"
#include "task_registry.hpp"
#include "timer_service.hpp"

namespace weft {

namespace detail {

scheduler_base::scheduler_base(bool tracking, std::size_t max_blocking_threads)
    : tracking_(tracking),
      registry_(std::make_unique<task_registry>()),
      timers_(std::make_unique<timer_service>()),
      blocking_(std::make_unique<blocking_pool>(max_blocking_threads)) {}

scheduler_base::~scheduler_base() = default;

scheduler_core::scheduler_core(const scheduler_options& options)
    : scheduler_base(options.track_tasks, options.max_blocking_threads),
      options_(options), spin_rounds_(options.spin_rounds) {
  // Before any worker starts: the light fence of every push relies on it
  // (asymmetric_fence.hpp).
  enable_asymmetric_fences();
  const std::size_t workers = *options.workers;
  if (options.trace) trace_ = std::make_unique<trace_recorder>(workers);
  workers_.reserve(workers);
  const bool chaos = chaos_monkey::enabled_by_environment();
  chaos_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) chaos_.emplace_back(chaos, 0xC4A05ull + 7919 * i);
  for (std::size_t i = 0; i < workers; ++i) {
    auto w = std::make_unique<worker_context>();
    w->sched = this;
    w->rng_state = 0x9E3779B97F4A7C15ull * (i + 1);
    w->index = i;
    w->tracing = options.trace;
    workers_.push_back(std::move(w));
  }
  threads_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) {
    // The thread names and pins itself before on_worker_start runs (the
    // hook may log the name); renaming it from here afterwards would race.
    threads_.emplace_back([this, i] {
      configure_this_thread(i);
      worker_main(*workers_[i]);
    });
  }
}

void scheduler_core::configure_this_thread(std::size_t index) noexcept {
#if defined(__linux__)
  const std::string name = options_.thread_name_prefix + std::to_string(index);
  pthread_setname_np(pthread_self(), name.c_str());
  if (options_.pin_workers) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && CPU_COUNT(&allowed) > 0) {
      // The (index mod count)-th CPU this process may use.
      std::size_t target = index % static_cast<std::size_t>(CPU_COUNT(&allowed));
      for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        if (target-- == 0) {
          cpu_set_t one;
          CPU_ZERO(&one);
          CPU_SET(cpu, &one);
          pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
          break;
        }
      }
    }
  }
#else
  static_cast<void>(index);
#endif
}

scheduler_core::~scheduler_core() = default;

void scheduler_core::shut_down() noexcept {
  if (worker_of(this) != nullptr) {
    std::fputs(
        "weft: scheduler::shutdown() or ~scheduler() called on one of its own worker threads; it "
        "would wait for itself. Shut the scheduler down from a thread that is not one of its "
        "workers.\n",
        stderr);
    std::abort();
  }
  std::call_once(shut_down_once_, [this] { cancel_drain_join(); });
}

void scheduler_core::cancel_drain_join() noexcept {
  // From here on suspension points cancel their task and queued tasks are
  // dropped (their run() requests shutdown cancellation before starting).
  stopping_.store(true, std::memory_order_relaxed);
  // Suspension points look at stopping_ when the epoch has moved.
  cancels_.advance();
  // acq_rel: admissions after this fail; pairs with admit_task().
  live_.fetch_or(k_live_stopping, std::memory_order_acq_rel);
  // Sleeping tasks wake now and meet their cancellation.
  timers_->begin_shutdown();
  registry_->cancel_foreign_waits();
  // Wake everyone: a parked worker may hold nothing, but yielded or queued
  // tasks elsewhere get to their cancellation sooner with all hands.
  idle_.wake_all();
  for (;;) {
    // acquire: pairs with retire_live(); every task's writes are visible.
    std::uint32_t live = live_.load(std::memory_order_acquire);
    if ((live & k_live_count_mask) == 0) break;
    futex_wait(live_, live);
  }
  // release: pairs with the acquire loads in wait_for_work().
  exit_.store(true, std::memory_order_release);
  idle_.wake_all();
  for (std::thread& t : threads_) t.join();
  // Tasks cancelled before they started may still sit in the injection
  // queue (workers drained their own deques before exiting).
  drop_injected();
}

void scheduler_core::drop_unstarted(work_item item) noexcept {
  // Every task is terminal now, so only fresh tasks (cancelled before they
  // started) can still be queued.
  if ((item & k_fresh_task) != 0) {
    reinterpret_cast<task_state*>(item & ~k_fresh_task)->release();
  }
}

void scheduler_core::dump(std::ostream& out) const {
  out << "weft scheduler: " << workers_.size() << " workers; " << to_string(stats()) << '\n';
  if (!tracking_) {
    out << "  (task list off: construct the scheduler with scheduler_options::track_tasks)\n";
    return;
  }
  // Which tasks are on a worker right now (a racy but safe snapshot).
  std::unordered_set<const task_state*> running;
  for (const auto& w : workers_) {
    if (const task_state* t = w->current_task()) running.insert(t);
  }
  registry_->write(out, running);
}

void scheduler_core::write_trace(std::ostream& out) const {
  if (!trace_) {
    throw invalid_state_error(
        "write_trace() on a scheduler built without tracing; construct it with "
        "scheduler_options::trace = true");
  }
  trace_->write_json(out);
}

scheduler_stats scheduler_core::stats() const noexcept {
  scheduler_stats s;
  auto add = [&s](const worker_counters& c) {
    constexpr auto r = std::memory_order_relaxed;
    s.spawned += c.spawned.load(r);
    s.succeeded += c.succeeded.load(r);
    s.failed += c.failed.load(r);
    s.cancelled += c.cancelled.load(r);
    s.steals += c.steals.load(r);
    s.failed_steals += c.failed_steals.load(r);
    s.parks += c.parks.load(r);
    s.callback_errors += c.callback_errors.load(r);
  };
  add(external_);
  for (const auto& w : workers_) add(w->counters);
  return s;
}

}  // namespace detail

std::size_t scheduler::max_workers() noexcept {
  std::size_t hw = std::thread::hardware_concurrency();
  return std::max<std::size_t>(256, 16 * hw);
}

namespace {
scheduler_options checked(scheduler_options options) {
  if (!options.workers) options.workers = std::max<std::size_t>(1, std::thread::hardware_concurrency());
  const std::size_t workers = *options.workers;
  if (workers == 0) {
    throw invalid_argument_error(
        "weft::scheduler needs at least one worker; pass a positive count, or use "
        "weft::scheduler{} for one per hardware thread");
  }
  if (workers > scheduler::max_workers()) {
    throw invalid_argument_error(
        "weft::scheduler asked for " + std::to_string(workers) + " workers, more than the " +
        std::to_string(scheduler::max_workers()) +
        " it accepts; use about one worker per hardware thread");
  }
  if (options.thread_name_prefix.size() + std::to_string(workers - 1).size() > 15) {
    throw invalid_argument_error(
        "scheduler_options::thread_name_prefix \"" + options.thread_name_prefix +
        "\" is too long: with the worker index a thread name has at most 15 characters on "
        "Linux; use a shorter prefix");
  }
  if (options.spin_rounds > 1'000'000) {
    throw invalid_argument_error("scheduler_options::spin_rounds is " +
                                 std::to_string(options.spin_rounds) +
                                 ", more than 1,000,000; idle workers would burn CPU for "
                                 "seconds before parking: use a value like 64");
  }
  if (options.max_blocking_threads == 0) {
    throw invalid_argument_error(
        "scheduler_options::max_blocking_threads is 0: weft::to_thread would never run its "
        "calls; allow at least one blocking thread (the default is 64)");
  }
  return options;
}

scheduler_options with_workers(std::size_t workers) {
  scheduler_options options;
  options.workers = workers;
  return options;
}
}  // namespace

scheduler::scheduler() : scheduler(scheduler_options{}) {}

scheduler::scheduler(std::size_t workers) : scheduler(with_workers(workers)) {}

scheduler::scheduler(const scheduler_options& options)
    : core_(std::make_unique<detail::scheduler_core>(checked(options))) {}

void scheduler::dump(std::ostream& out) const { core_->dump(out); }

void scheduler::write_trace(std::ostream& out) const { core_->write_trace(out); }

scheduler::~scheduler() { core_->shut_down(); }

void scheduler::shutdown() { core_->shut_down(); }

std::size_t scheduler::worker_count() const noexcept { return core_->worker_count(); }

scheduler_stats scheduler::stats() const noexcept { return core_->stats(); }

detail::scheduler_base* scheduler::base() const noexcept { return core_.get(); }

}  // namespace weft
