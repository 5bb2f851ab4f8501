// An idle worker: it searches for a while (spin_rounds), then parks on the
// idle protocol's futex after a second look, so that a push racing with the
// park is never lost. The protocol's steps are idle_state::wait_for_work
// (detail/idle_state.hpp, model-checked in tests/model/); this file gives
// it the worker's parts.

#include <weft/detail/config.hpp>
#include <weft/detail/runtime.hpp>

#include "scheduler_core.hpp"

namespace weft::detail {

/// What idle_state::wait_for_work asks of a worker of this scheduler.
struct scheduler_core::idle_worker {
  scheduler_core& sched;
  worker_context& w;

  work_item find() { return sched.find_work(w); }
  // acquire: pairs with the release store in shut_down().
  bool exiting() const noexcept { return sched.exit_.load(std::memory_order_acquire); }
  static void pause() noexcept {
    for (int i = 0; i < 16; ++i) cpu_relax();
  }
  work_item second_look() {
    // After the acquire of epoch_ in prepare_park: the destructor's
    // wake_all() follows its stopping_ store, so a worker woken by it sees
    // stopping here, returns its credits and lets the live count reach 0.
    if (!w.live_flushed && sched.stopping()) sched.flush_live_credits(w);
    sched.chaos_[w.index].final_look(true);
    const work_item item = find();
    sched.chaos_[w.index].final_look(false);
    return item;
  }
  void sleep(idle_state& idle, std::uint32_t epoch) noexcept {
    worker_counters::bump(w.counters.parks);
    sched.chaos_[w.index].perturb();
    const std::uint64_t begin = sched.trace_ ? trace_recorder::now_ns() : 0;
    idle.park(epoch);
    if (sched.trace_) {
      sched.trace_->record(w.index, trace_recorder::event::park(begin, trace_recorder::now_ns()));
    }
  }
};

work_item scheduler_core::wait_for_work(worker_context& w) {
  idle_worker worker{*this, w};
  return idle_.wait_for_work(worker, spin_rounds_);
}

}  // namespace weft::detail
