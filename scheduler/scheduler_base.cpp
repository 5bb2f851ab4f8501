// scheduler_base: admission and terminal accounting of tasks, injection.
// The live_ word packs the count of live tasks with the stopping bit so
// that the last decrement is one RMW and nothing touches the scheduler
// after it (the destructor may return as soon as the count is zero).

#include <weft/detail/runtime.hpp>

#include <cstdio>
#include <mutex>
#include <string>

#include <weft/detail/exception_text.hpp>
#include <weft/detail/task_state.hpp>

#include "scheduler_core.hpp"

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

void report_callback_error(scheduler_base* sched, std::exception_ptr error) noexcept {
  const std::string what = what_of(error).value_or("an exception that is not a std::exception");
  std::fprintf(stderr,
               "weft: a done callback threw (%s); the exception was dropped and the other "
               "callbacks ran. Catch exceptions inside done callbacks.\n",
               what.c_str());
  sched->count_callback_error();
}

void scheduler_base::count_callback_error() noexcept {
  bump(this, external_, &worker_counters::callback_errors);
}

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

std::uint64_t next_task_id() noexcept {
  // Handed out in blocks so that threads rarely share the counter's line.
  static std::atomic<std::uint64_t> next_block{0};
  constexpr std::uint64_t k_block = 1024;
  thread_local std::uint64_t next = 0, end = 0;
  if (next == end) {
    next = next_block.fetch_add(1, std::memory_order_relaxed) * k_block + 1;
    end = next + k_block;
  }
  return next++;
}

void scheduler_base::track(task_state* task) {
  auto* core = static_cast<scheduler_core*>(this);
  std::lock_guard lock(core->registry_mutex_);
  core->registry_.insert(task);
}

void scheduler_base::account_terminal(task_state& task, std::uint64_t outcome) noexcept {
  if (tracking_) {
    auto* core = static_cast<scheduler_core*>(this);
    std::lock_guard lock(core->registry_mutex_);
    core->registry_.erase(&task);
  }
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

bool scheduler_base::add_timer(timer_entry& entry) {
  return static_cast<scheduler_core*>(this)->timers_.add(entry);
}

bool scheduler_base::remove_timer(timer_entry& entry) noexcept {
  return static_cast<scheduler_core*>(this)->timers_.remove(entry);
}

void scheduler_base::note_foreign_wait(task_state* root) {
  auto* core = static_cast<scheduler_core*>(this);
  std::lock_guard lock(core->foreign_mutex_);
  core->foreign_waits_.push_back(root);
}

void scheduler_base::forget_foreign_wait(task_state* root) noexcept {
  auto* core = static_cast<scheduler_core*>(this);
  std::lock_guard lock(core->foreign_mutex_);
  auto& v = core->foreign_waits_;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == root) {
      v[i] = v.back();
      v.pop_back();
      return;
    }
  }
}

void scheduler_base::inject(work_node& node) noexcept {
  auto* core = static_cast<scheduler_core*>(this);
  // A thread that is not a worker (another scheduler's worker, a timer, a
  // canceller) may wake the last task of this scheduler: once the node is
  // published, that task can finish and the destructor return while this
  // thread still notifies. Counting this thread as live keeps the scheduler
  // alive until retire_live(), its last touch.
  live_.fetch_add(1, std::memory_order_relaxed);
  work_node* head = core->injection_.load(std::memory_order_relaxed);
  do {
    node.next = head;
    // release: pairs with the acquire exchange in take_injected(); the node
    // and the frame it names are visible to the worker that takes it.
  } while (!core->injection_.compare_exchange_weak(head, &node, std::memory_order_release,
                                                   std::memory_order_relaxed));
  idle_.notify_work_available();
  retire_live();
}

}  // namespace weft::detail
