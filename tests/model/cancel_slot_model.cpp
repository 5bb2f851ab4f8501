// The cancel slot's Dekker pair (weft/detail/cancel_slot.hpp) under Relacy,
// on the slot's own code: an owner arming or disarming its target against
// one canceller that sets the root's flag and passes the request on.
//   arm:    either the owner, re-reading the word after arming, sees the
//           request, or the canceller reaches the target (never neither);
//   disarm: once disarm() returns, the canceller no longer touches the
//           target (the owner's frame goes on and reuses its memory).
// Built also with WEFT_WEAKEN_cancel_slot_arm (arm's store release instead
// of seq_cst) and WEFT_WEAKEN_cancel_slot_disarm (disarm's load acquire
// instead of seq_cst); run with --expect-violation, those must be caught.
//
// Usage: cancel_slot_model [--iterations N] [--full] [--bound K] [--expect-violation]

#include "relacy_atomic.hpp"

#include "waiting_task.hpp"

namespace {

using weft::detail::atomic;
using weft::detail::cancel_slot;
using weft::detail::k_cancel_requested;

/// What the owner waits on: counts the requests passed to it, and touches
/// plain memory that the owner writes once the target is gone, so that a
/// canceller reaching it after disarm() is a data race to Relacy.
struct probe final : weft::detail::cancel_target {
  rl::atomic<int> calls{0};
  rl::var<int> frame{0};
  void on_cancel(const weft::cancel_reason&) noexcept override {
    calls($).fetch_add(1, rl::mo_relaxed);
    frame($) = frame($) + 1;
  }
};

struct arm_against_a_cancel : rl::test_suite<arm_against_a_cancel, 2> {
  atomic<std::uint64_t> word;
  cancel_slot slot;
  probe target;
  bool owner_saw_request = false;

  void thread(unsigned index) {
    if (index == 0) {
      slot.arm(&target, weft::detail::wait_kind::sleep);
      owner_saw_request = (word.load(std::memory_order_seq_cst) & k_cancel_requested) != 0;
    } else {
      weft::model::request_cancel(word, slot);
    }
  }
  void after() { RL_ASSERT(owner_saw_request || target.calls($).load(rl::mo_relaxed) == 1); }
};

struct disarm_against_a_cancel : rl::test_suite<disarm_against_a_cancel, 2> {
  atomic<std::uint64_t> word;
  cancel_slot slot;
  probe target;

  void thread(unsigned index) {
    if (index == 0) {
      slot.arm(&target, weft::detail::wait_kind::sleep);
      slot.disarm(word);
      target.frame($) = -1;  // the frame that held the target goes on
    } else {
      weft::model::request_cancel(word, slot);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  weft::model::search how;
  if (!how.parse(argc, argv)) return 2;
  // A weakened build must fail the model its step belongs to.
#if defined(WEFT_WEAKEN_cancel_slot_arm)
  return weft::model::check<arm_against_a_cancel>("cancel slot, arm (weakened)", how);
#elif defined(WEFT_WEAKEN_cancel_slot_disarm)
  return weft::model::check<disarm_against_a_cancel>("cancel slot, disarm (weakened)", how);
#else
  const int arm = weft::model::check<arm_against_a_cancel>("cancel slot, arm", how);
  const int disarm = weft::model::check<disarm_against_a_cancel>("cancel slot, disarm", how);
  return arm | disarm;
#endif
}
