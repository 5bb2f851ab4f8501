// weft::scheduler and the construction and shutdown of its runtime.

#include <weft/scheduler.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <weft/detail/task_state.hpp>

#include "scheduler_core.hpp"

namespace weft {

namespace detail {

scheduler_core::scheduler_core(std::size_t workers) {
  workers_.reserve(workers);
  const bool chaos = chaos_monkey::enabled_by_environment();
  chaos_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) chaos_.emplace_back(chaos, 0xC4A05ull + 7919 * i);
  for (std::size_t i = 0; i < workers; ++i) {
    auto w = std::make_unique<worker_context>();
    w->sched = this;
    w->rng_state = 0x9E3779B97F4A7C15ull * (i + 1);
    w->index = i;
    workers_.push_back(std::move(w));
  }
  threads_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) {
    threads_.emplace_back([this, i] { worker_main(*workers_[i]); });
  }
}

scheduler_core::~scheduler_core() = default;

void scheduler_core::shut_down() noexcept {
  if (worker_of(this) != nullptr) {
    std::fputs(
        "weft: ~scheduler() called on one of its own worker threads; it would wait for itself. "
        "Destroy the scheduler from a thread that is not one of its workers.\n",
        stderr);
    std::abort();
  }
  // From here on suspension points cancel their task and queued tasks are
  // dropped (their run() requests shutdown cancellation before starting).
  stopping_.store(true, std::memory_order_relaxed);
  // acq_rel: admissions after this fail; pairs with admit_task().
  live_.fetch_or(k_live_stopping, std::memory_order_acq_rel);
  // Sleeping tasks wake now and meet their cancellation.
  timers_.begin_shutdown();
  cancel_foreign_waits();
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
  work_node* node = injection_.exchange(nullptr, std::memory_order_acquire);
  while (node != nullptr) {
    work_node* next = node->next;
    drop_unstarted(node->item);
    node = next;
  }
}

void scheduler_core::cancel_foreign_waits() noexcept {
  // Under the lock: a registered root stays alive until it unregisters,
  // which it does after resuming (and the cancel below only schedules it).
  std::lock_guard lock(foreign_mutex_);
  for (task_state* root : foreign_waits_) root->request_cancel(cancel_kind::shutdown, {});
}

void scheduler_core::drop_unstarted(work_item item) noexcept {
  // Every task is terminal now, so only fresh tasks (cancelled before they
  // started) can still be queued.
  if ((item & k_fresh_task) != 0) {
    reinterpret_cast<task_state*>(item & ~k_fresh_task)->release();
  }
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
std::size_t checked_workers(std::size_t workers) {
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
  return workers;
}
}  // namespace

scheduler::scheduler()
    : scheduler(std::max<std::size_t>(1, std::thread::hardware_concurrency())) {}

scheduler::scheduler(std::size_t workers)
    : core_(std::make_unique<detail::scheduler_core>(checked_workers(workers))) {}

scheduler::~scheduler() { core_->shut_down(); }

std::size_t scheduler::worker_count() const noexcept { return core_->worker_count(); }

scheduler_stats scheduler::stats() const noexcept { return core_->stats(); }

detail::scheduler_base* scheduler::base() const noexcept { return core_.get(); }

}  // namespace weft
