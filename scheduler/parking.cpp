// An idle worker: it searches for a while (spin_rounds), then parks on the
// idle protocol's futex (detail/idle_state.hpp) after a second look, so
// that a push racing with the park is never lost.

#include <weft/detail/config.hpp>
#include <weft/detail/runtime.hpp>

#include "scheduler_core.hpp"

namespace weft::detail {

work_item scheduler_core::wait_for_work(worker_context& w) {
  for (;;) {
    // Search first, also right after a wake-up: a woken worker is a
    // searcher, so the hand-over below chains wake-ups while work remains.
    idle_.begin_search();
    // Rounds of looking for work before parking (scheduler_options::
    // spin_rounds); each is one pass over the deque, the injection queue
    // and one steal sweep.
    for (std::uint32_t round = 0; round < spin_rounds_; ++round) {
      if (work_item item = find_work(w)) {
        // A push that saw this worker searching did not wake anyone,
        // counting on it; it found work, so the last searcher hands the
        // search over to a sleeper (tokio's rule). Without this a task
        // could wait in a queue while its only possible runner sleeps.
        if (idle_.end_search()) idle_.notify_work_available();
        return item;
      }
      if (exit_.load(std::memory_order_acquire)) break;
      for (int i = 0; i < 16; ++i) cpu_relax();
    }
    idle_.end_search();
    std::uint32_t epoch = idle_.prepare_park();
    // After the acquire of epoch_ in prepare_park: the destructor's
    // wake_all() follows its stopping_ store, so a worker woken by it sees
    // stopping here, returns its credits and lets the live count reach 0.
    if (!w.live_flushed && stopping()) flush_live_credits(w);
    // The second look of the parking protocol (idle_state.hpp).
    chaos_[w.index].final_look(true);
    work_item item = find_work(w);
    chaos_[w.index].final_look(false);
    if (item != k_no_work) {
      idle_.cancel_park();
      // As above: there may be more, and a push may have skipped its wake
      // counting on this worker.
      idle_.notify_work_available();
      return item;
    }
    // acquire: pairs with the release store in shut_down().
    if (exit_.load(std::memory_order_acquire)) {
      idle_.cancel_park();
      return k_no_work;
    }
    worker_counters::bump(w.counters.parks);
    chaos_[w.index].perturb();
    const std::uint64_t begin = trace_ ? trace_recorder::now_ns() : 0;
    idle_.park(epoch);
    if (trace_) {
      trace_->record(w.index, trace_recorder::event::park(begin, trace_recorder::now_ns()));
    }
  }
}

}  // namespace weft::detail
