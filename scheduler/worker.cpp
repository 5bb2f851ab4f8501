// The worker loop: find work (own deque, injection queue, yielders,
// stealing), run it through the trampoline; parking.cpp when there is none.

#include <algorithm>
#include <cstdio>
#include <exception>

#include <weft/detail/drop.hpp>
#include <weft/detail/exception_text.hpp>
#include <weft/detail/task_state.hpp>

#include "scheduler_core.hpp"
#include "xorshift.hpp"

namespace weft::detail {

void scheduler_core::worker_main(worker_context& w) noexcept {
  run_hook(options_.on_worker_start, w.index, "on_worker_start");
  tls_worker = &w;
  // Made here, where a failed allocation is an ordinary crash, not one in
  // the noexcept drop path that would need it.
  w.dropper = run_drops(&w).frame;
  for (;;) {
    work_item item = find_work(w);
    if (item == k_no_work) item = wait_for_work(w);
    if (item == k_no_work) break;
    run(w, item);
  }
  w.dropper.destroy();
  tls_worker = nullptr;
  run_hook(options_.on_worker_stop, w.index, "on_worker_stop");
}

void scheduler_core::run_hook(const std::function<void(std::size_t)>& hook, std::size_t index,
                              const char* what) noexcept {
  if (!hook) return;
  try {
    hook(index);
  } catch (...) {
    const std::string cause =
        what_of(std::current_exception()).value_or("an exception that is not a std::exception");
    std::fprintf(stderr, "weft: scheduler_options::%s threw (%s) on worker %zu; ignored\n", what,
                 cause.c_str(), index);
  }
}

void scheduler_core::run(worker_context& w, work_item item) noexcept {
  std::coroutine_handle<> next;
  // The traced run's task id is taken when the task is entered (here for a
  // fresh task, in enter() for a resumed one), never read from the task
  // afterwards: it may end in this run and free its frame.
  w.traced_id = 0;
  if ((item & k_fresh_task) != 0) {
    auto* state = reinterpret_cast<task_state*>(item & ~k_fresh_task);
    if (state->start_dequeued(w)) {
      next = state->frame_;
    } else {  // cancelled before it started: the body never runs
      next = state->abandon_unstarted();
    }
  } else if ((item & k_resume_checked) != 0) [[unlikely]] {
    next = resume_or_drop(item);
  } else {
    next = std::coroutine_handle<>::from_address(reinterpret_cast<void*>(item));
  }
  // The trampoline: awaiters leave the coroutine to continue with in
  // w.next and return to here, so inline await chains never nest frames.
  chaos_monkey& chaos = chaos_[w.index];
  const std::uint64_t begin = trace_ ? trace_recorder::now_ns() : 0;
  while (next) {
    chaos.perturb();
    w.next = nullptr;
    next.resume();
    next = w.next;
  }
  if (trace_) {
    trace_->record(w.index, trace_recorder::event::run(begin, trace_recorder::now_ns(), w.traced_id));
  }
  w.set_current(nullptr);
}

work_item scheduler_core::find_work(worker_context& w) {
  // Injected work first when a join chain or a loop made way for it, and
  // (with enqueued tasks) every k_injection_interval tasks, so a worker
  // whose deque never runs dry still takes them.
  const bool due = w.injection_check_due();
  if (w.take_injected_next || due) {
    w.take_injected_next = false;
    if (work_item item = take_injected(w)) return item;
    if (due) {
      if (work_item item = take_enqueued()) return item;
    }
  }
  if (work_item item = w.deque.pop()) return item;
  if (work_item item = take_injected(w)) return item;
  if (work_item item = take_enqueued()) return item;
  if (!w.yielded.empty()) {
    // Oldest yielder ends up at the bottom, so it is popped first; the rest
    // are stealable meanwhile. A lone yielder is run by this worker right
    // away: nothing is left for another, so nobody is woken (a task that
    // yields in a loop would otherwise wake a parked worker on every pass,
    // which finds nothing and parks again).
    const bool others_left = w.yielded.size() > 1;
    std::for_each(w.yielded.rbegin(), w.yielded.rend(),
                  [&](work_item item) { w.deque.push(item); });
    w.yielded.clear();
    if (others_left && workers_.size() > 1) idle_.notify_work_available();
    return w.deque.pop();
  }
  return steal(w);
}

work_item scheduler_core::steal(worker_context& w) {
  const std::size_t n = workers_.size();
  if (n < 2) return k_no_work;
  std::size_t start = static_cast<std::size_t>(xorshift64(w.rng_state) % n);
  for (std::size_t i = 0; i < n; ++i) {
    worker_context& victim = *workers_[(start + i) % n];
    if (&victim == &w) continue;
    if (chaos_[w.index].fail_steal()) {
      worker_counters::bump(w.counters.failed_steals);
      continue;
    }
    bool lost_race = false;
    work_item item = victim.deque.steal(lost_race);
    if (item != k_no_work) {
      worker_counters::bump(w.counters.steals);
      if (trace_) {
        const std::uint64_t t = trace_recorder::now_ns();
        trace_->record(w.index, trace_recorder::event::steal(t, victim.index));
      }
      return item;
    }
    worker_counters::bump(w.counters.failed_steals);
  }
  return k_no_work;
}

}  // namespace weft::detail
