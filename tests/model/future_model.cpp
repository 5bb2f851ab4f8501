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

#include "waiting_task.hpp"

namespace {

using weft::detail::future_state;
using weft::detail::shield_node;

enum class producer { sets_value, drops_it_pending };

template <producer Producer>
struct shield_against_cancel_and_end
    : rl::test_suite<shield_against_cancel_and_end<Producer>, 3> {
  future_state<int>* fut = nullptr;
  weft::model::waiting_task task;
  bool suspended = false;

  void before() {
    task.make_current();
    fut = new future_state<int>;  // the producer's reference
    fut->add_ref();               // the awaiter's
  }

  // As future_shield_awaiter: await_suspend, then (resumed) await_resume.
  void await_shield() {
    auto* node = new shield_node(std::coroutine_handle<>{}, nullptr);
    task.slot.arm(node, weft::detail::wait_kind::shield);
    if (!task.cancellation_point() && fut->waiters().add(node)) {
      suspended = node->commit_suspend();
    } else {
      node->release();  // the waiter list's reference: never registered
      node->abandon_suspend();
    }
    if (suspended) task.wait_until_scheduled();
    task.slot.disarm(task.word);
    node->release();
    fut->release();
  }

  void thread(unsigned index) {
    if (index == 0) {
      await_shield();
    } else if (index == 1) {
      task.cancel();
    } else {
      if constexpr (Producer == producer::sets_value) RL_ASSERT(fut->set_value(42));
      fut->release();
    }
  }

  void after() { RL_ASSERT(task.times_scheduled() == (suspended ? 1 : 0)); }
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
