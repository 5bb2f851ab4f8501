// A future's state (weft/detail/future_state.hpp) with a shield waiter
// (weft/detail/shield_awaiter.hpp) under Relacy, on their own code: a task
// awaits `weft::shield(fut)` (the awaiter's steps, with the real cancel
// slot for its arm and disarm) while another thread cancels that task and a
// third completes the future, or drops the last reference to it pending.
//   The waiting task is resumed exactly once: at once, or by exactly one
//   wake (the future's end or its own cancel); the future's end is decided
//   once; and every allocation (the state, the shield's node, the cancel
//   record) is freed exactly once, also when the future dies pending with
//   the node still registered (Relacy reports leaks and double frees of
//   what the model allocates).
// Built also with WEFT_WEAKEN_future_left_behind (the pending state's
// destructor does not wake the nodes left behind: the leak ASan found) and
// WEFT_WEAKEN_shield_commit (the node's commit overwrites a wake that came
// first instead of seeing it); run with --expect-violation, those must be
// caught.
//
// Usage: future_model [--iterations N] [--full] [--bound K] [--expect-violation]

#include "relacy_atomic.hpp"

#include <weft/detail/future_state.hpp>
#include <weft/detail/shield_awaiter.hpp>

namespace {

using weft::detail::atomic;
using weft::detail::cancel_slot;
using weft::detail::future_state;
using weft::detail::k_cancel_requested;
using weft::detail::shield_node;

// How many times a wake made the waiting task runnable (schedule() below);
// set by each iteration's before().
rl::atomic<int>* g_scheduled = nullptr;

}  // namespace

namespace weft::detail {
/// The model's scheduler: a wake that makes the waiting task runnable.
void schedule(scheduler_base*, work_item, work_node&) {
  (*g_scheduled)($).fetch_add(1, rl::mo_release);
}
}  // namespace weft::detail

namespace {

enum class producer { sets_value, drops_it_pending };

template <producer Producer>
struct shield_against_cancel_and_end
    : rl::test_suite<shield_against_cancel_and_end<Producer>, 3> {
  future_state<int>* fut = nullptr;
  atomic<std::uint64_t> word;  // the waiting task's state word
  cancel_slot slot;            // and its cancel slot
  rl::atomic<int> scheduled{0};
  bool suspended = false;

  void before() {
    g_scheduled = &scheduled;
    fut = new future_state<int>;  // the producer's reference
    fut->add_ref();               // the awaiter's
  }

  // As future_shield_awaiter: await_suspend, then (resumed) await_resume.
  void await_shield() {
    auto* node = new shield_node(std::coroutine_handle<>{}, nullptr);
    slot.arm(node, weft::detail::wait_kind::shield);
    if ((word.load(std::memory_order_seq_cst) & k_cancel_requested) == 0 && fut->waiters().add(node)) {
      suspended = node->commit_suspend();
    } else {
      node->release();  // the waiter list's reference: never registered
      node->abandon_suspend();
    }
    if (suspended) {
      // Suspended until a wake schedules the task.
      while (scheduled($).load(rl::mo_acquire) == 0) rl::yield(1, $);
    }
    slot.disarm(word);
    node->release();
    fut->release();
  }

  // The task's canceller: the request's CAS on its word, then pass_on().
  void cancel_the_waiter() {
    std::uint64_t w = word.load(std::memory_order_relaxed);
    while (!word.compare_exchange_weak(w, w | k_cancel_requested, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
    }
    slot.pass_on(weft::cancel_reason{});
  }

  void thread(unsigned index) {
    if (index == 0) {
      await_shield();
    } else if (index == 1) {
      cancel_the_waiter();
    } else {
      if constexpr (Producer == producer::sets_value) RL_ASSERT(fut->set_value(42));
      fut->release();
    }
  }

  void after() { RL_ASSERT(scheduled($).load(rl::mo_relaxed) == (suspended ? 1 : 0)); }
};

using set_value = shield_against_cancel_and_end<producer::sets_value>;
using dropped_pending = shield_against_cancel_and_end<producer::drops_it_pending>;

}  // namespace

int main(int argc, char** argv) {
  weft::model::search how;
  if (!how.parse(argc, argv)) return 2;
#if defined(WEFT_WEAKEN_future_left_behind)
  return weft::model::check<dropped_pending>("future, dropped pending (weakened)", how);
#elif defined(WEFT_WEAKEN_shield_commit)
  return weft::model::check<set_value>("future, set (weakened)", how);
#else
  const int set = weft::model::check<set_value>("future and shield waiter, set", how);
  const int dropped = weft::model::check<dropped_pending>("future and shield waiter, dropped pending", how);
  return set | dropped;
#endif
}
