// How a cancel reaches a combinator's children that never registered with
// their parent, under Relacy, on weft's own code (cancel_epoch.hpp and
// cancel_slot.hpp):
//   epoch:   a child's check that reads the epoch a parent's cancel
//            advanced sees that parent's request (a cancel is never missed
//            by a check that runs after it);
//   blocked: a child that blocks arms its parent's slot with the join
//            (arm_for_descendant) while the parent is cancelled: the
//            child's wait is woken (its target reached, or the request
//            seen at arming); after the child's disarm and the parent's
//            disarm_join, the canceller touches neither the target nor the
//            join (their frames go on).
// Built also with WEFT_WEAKEN_cancel_epoch_advance (advance relaxed instead
// of release) and WEFT_WEAKEN_cancel_slot_arm_for_descendant (its CAS
// release instead of seq_cst); run with --expect-violation, those must be
// caught.
//
// Usage: cancel_epoch_model [--iterations N] [--full] [--bound K] [--expect-violation]

#include "relacy_atomic.hpp"

#include <weft/detail/cancel_epoch.hpp>

#include "waiting_task.hpp"

namespace {

using weft::detail::atomic;
using weft::detail::cancel_epoch;
using weft::detail::cancel_slot;
using weft::detail::k_cancel_requested;

bool requested(const atomic<std::uint64_t>& word) {
  return (word.load(std::memory_order_seq_cst) & k_cancel_requested) != 0;
}

struct check_after_a_cancel : rl::test_suite<check_after_a_cancel, 2> {
  atomic<std::uint64_t> parent_word;
  cancel_epoch epoch;

  void thread(unsigned index) {
    if (index == 0) {
      // The parent's canceller: records the request, then advances.
      std::uint64_t w = parent_word.load(std::memory_order_relaxed);
      while (!parent_word.compare_exchange_weak(w, w | k_cancel_requested, std::memory_order_seq_cst,
                                                std::memory_order_relaxed)) {
      }
      epoch.advance();
    } else {
      // The child's checks, from the epoch it inherited.
      std::uint64_t seen = cancel_epoch::k_first;
      for (int check = 0; check < 2; ++check) {
        const std::uint64_t now = epoch.load();
        if (now == seen) continue;
        const bool found =
            (parent_word.load(std::memory_order_acquire) & k_cancel_requested) != 0;
        RL_ASSERT(found);  // the epoch moved only for that request
        seen = now;
      }
    }
  }
};

/// What a wait's target or a join does on a cancel: counts it, and reads
/// plain memory that the owner writes once its frame goes on, so that a
/// canceller reaching it afterwards is a data race to Relacy. (A read: the
/// join may be reached by the canceller and by the arming child at once.)
struct probe {
  rl::atomic<int> calls{0};
  rl::var<int> frame{0};
  void hit() {
    RL_ASSERT(frame($) == 0);
    calls($).fetch_add(1, rl::mo_release);
  }
};

struct child_target final : weft::detail::cancel_target {
  probe p;
  void on_cancel(const weft::cancel_reason&) noexcept override { p.hit(); }
};

/// The parent's join: a cancel of the parent is passed on to the child
/// (once: only the request that sets the child's flag passes it on).
struct join_target final : weft::detail::cancel_target {
  probe p;
  atomic<std::uint64_t>* child_word = nullptr;
  cancel_slot* child_slot = nullptr;
  void on_cancel(const weft::cancel_reason& reason) noexcept override {
    p.hit();
    const std::uint64_t before =
        child_word->fetch_or(k_cancel_requested, std::memory_order_seq_cst);
    if ((before & k_cancel_requested) == 0) child_slot->pass_on(reason);
  }
};

struct blocked_child_against_a_cancel : rl::test_suite<blocked_child_against_a_cancel, 2> {
  atomic<std::uint64_t> parent_word;
  cancel_slot parent_slot;
  atomic<std::uint64_t> child_word;
  cancel_slot child_slot;
  child_target target;
  join_target join;

  void before() {
    join.child_word = &child_word;
    join.child_slot = &child_slot;
  }

  void thread(unsigned index) {
    if (index == 0) {
      // The child blocks: its own slot, then its parent's (the ancestors'
      // loop of task_state::arm_ancestors, one level).
      child_slot.arm(&target, weft::detail::wait_kind::sleep);
      if (parent_slot.arm_for_descendant(&join) && requested(parent_word)) {
        join.on_cancel(weft::cancel_reason{});
      }
      // The awaiter's check after arming, then the wait until woken.
      const bool saw = requested(child_word);
      while (!saw && target.p.calls($).load(rl::mo_acquire) == 0) rl::yield(1, $);
      child_slot.disarm(child_word);
      target.p.frame($) = -1;  // the child's frame goes on, then ends
      // The parent resumes from its join.
      parent_slot.disarm_join(parent_word);
      join.p.frame($) = -1;
    } else {
      weft::model::request_cancel(parent_word, parent_slot);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  weft::model::search how;
  if (!how.parse(argc, argv)) return 2;
  // A weakened build must fail the model its step belongs to.
#if defined(WEFT_WEAKEN_cancel_epoch_advance)
  return weft::model::check<check_after_a_cancel>("cancel epoch, check (weakened)", how);
#elif defined(WEFT_WEAKEN_cancel_slot_arm_for_descendant)
  return weft::model::check<blocked_child_against_a_cancel>("lazy join arming (weakened)", how);
#else
  const int epoch = weft::model::check<check_after_a_cancel>("cancel epoch, check", how);
  const int blocked =
      weft::model::check<blocked_child_against_a_cancel>("lazy join arming, blocked child", how);
  return epoch | blocked;
#endif
}
