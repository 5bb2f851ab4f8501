// Admission and terminal accounting: the live count that shutdown waits
// on, the per-worker credits that keep it off the fork-join path, and the
// counters behind stats(). The live_ word packs the count of live tasks
// with the stopping bit so that the last decrement is one RMW and nothing
// touches the scheduler after it (the destructor may return as soon as the
// count is zero).

#include <cstdio>
#include <mutex>
#include <string>

#include <weft/detail/exception_text.hpp>
#include <weft/detail/futex.hpp>
#include <weft/detail/runtime.hpp>
#include <weft/detail/task_state.hpp>

#include "task_registry.hpp"

namespace weft::detail {

namespace {
// Counters of the thread's own worker are bumped without RMW; the external
// set is shared between threads and needs one.
void bump(scheduler_base* sched, worker_counters& external,
          std::atomic<std::uint64_t> worker_counters::*field) noexcept {
  if (worker_context* w = worker_of(sched)) {
    worker_counters::bump(w->counters.*field);
  } else {
    (external.*field).fetch_add(1, std::memory_order_relaxed);
  }
}
}  // namespace

bool scheduler_base::admit_task() noexcept {
  bump(this, external_, &worker_counters::spawned);
  // A worker admits from its own credits (live_ counts them already), so
  // spawn and completion on workers do not fight over live_'s cache line.
  if (worker_context* w = worker_of(this); w != nullptr && !w->live_flushed && !stopping()) {
    if (w->live_credits == 0) {
      live_.fetch_add(k_live_batch, std::memory_order_relaxed);
      w->live_credits = k_live_batch;
    }
    --w->live_credits;
    return true;
  }
  // acq_rel: ordered with the fetch_or of k_stopping in shut_down(); either
  // the destructor counts this task or this spawn sees it stopping.
  std::uint32_t old = live_.fetch_add(1, std::memory_order_acq_rel);
  if ((old & k_live_stopping) == 0) return true;
  bump(this, external_, &worker_counters::cancelled);
  retire_live();
  return false;
}

void scheduler_base::account_terminal(task_state& task, std::uint64_t outcome) noexcept {
  if (tracking_) registry_->forget(&task);
  switch (outcome) {
    case k_succeeded: bump(this, external_, &worker_counters::succeeded); break;
    case k_failed: bump(this, external_, &worker_counters::failed); break;
    default: bump(this, external_, &worker_counters::cancelled); break;
  }
}

void scheduler_base::on_task_terminal() noexcept {
  if (worker_context* w = worker_of(this); w != nullptr && !w->live_flushed) {
    // Back to this worker's credits; give a batch back when it holds many.
    if (++w->live_credits > 2 * k_live_batch) {
      w->live_credits -= k_live_batch;
      release_live(k_live_batch);
    }
    return;
  }
  retire_live();
}

void scheduler_base::flush_live_credits(worker_context& w) noexcept {
  w.live_flushed = true;
  const std::uint32_t credits = w.live_credits;
  w.live_credits = 0;
  if (credits != 0) release_live(credits);
}

void scheduler_base::retire_live() noexcept { release_live(1); }

void scheduler_base::release_live(std::uint32_t n) noexcept {
  std::atomic<std::uint32_t>* word = &live_;
  // acq_rel: the destructor's acquire load of live_ sees every write of
  // every task. After this RMW the scheduler may be gone: only the address
  // is used (futex_wake touches no user memory).
  std::uint32_t old = word->fetch_sub(n, std::memory_order_acq_rel);
  if (old == (k_live_stopping | n)) futex_wake_all(word);
}

void scheduler_base::count_callback_error() noexcept {
  bump(this, external_, &worker_counters::callback_errors);
}

void report_callback_error(scheduler_base* sched, std::exception_ptr error) noexcept {
  const std::string what = what_of(error).value_or("an exception that is not a std::exception");
  std::fprintf(stderr,
               "weft: a done callback threw (%s); the exception was dropped and the other "
               "callbacks ran. Catch exceptions inside done callbacks.\n",
               what.c_str());
  if (sched != nullptr) sched->count_callback_error();
}

}  // namespace weft::detail
