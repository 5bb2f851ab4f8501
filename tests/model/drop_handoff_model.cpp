// The hand-off of a drop_on_cancel region's stop from its children to
// their parent across workers (weft/detail/join.hpp, continue_parent and
// continue_or_drop_parent, driven here as join.hpp drives them) under
// Relacy, with the real deque, join count and cancel slot: a parent forks
// two children (the first inline, the second pushed, popped back by the
// owner's chain or stolen by a thief) while a canceller cancels the parent.
// A child first blocks (it arms the parent's slot with the join, as
// arm_ancestors does, and passes on a request it finds), then ends dropped
// if it sees the cancel (its own request, or the parent's), else with its
// result. The child that ends last continues the parent: it drops it when
// the parent's cancel is requested, resumes it otherwise; either way it
// first leaves the join (disarm_join: waits out a canceller still passing
// the request on to the children), then destroys the children.
//   The parent is continued exactly once; dropped whenever a child was
//   dropped; resumed only with every child's result; and no canceller
//   touches a child after it is destroyed.
// Built also with WEFT_WEAKEN_drop_leave (the drop destroys the children
// without leaving the join first); run with --expect-violation, it must be
// caught (a canceller's access to a destroyed child races its destruction).
//
// Usage: drop_handoff_model [--iterations N] [--full] [--bound K] [--expect-violation]

#include "relacy_atomic.hpp"

#include "waiting_task.hpp"

#include <weft/detail/deque.hpp>
#include <weft/detail/join_count.hpp>

namespace {

using weft::detail::atomic;
using weft::detail::cancel_slot;
using weft::detail::join_count;
using weft::detail::k_cancel_requested;
using weft::detail::k_no_work;
using weft::detail::work_deque;
using weft::detail::work_item;

constexpr std::uint32_t k_children = 2;

struct child_state {
  atomic<std::uint64_t> word;  // its own cancel flag, set by the join's on_cancel
  rl::var<int> result{0};
  rl::var<bool> dropped{false};
  // Plain memory of the child's frame: the canceller reads it as it
  // requests the cancel, the parent's worker writes it as it destroys the
  // frame, so a canceller still at work then is a data race to Relacy.
  rl::var<int> frame{0};
};

work_item item_of(std::uint32_t child) { return static_cast<work_item>(child + 1); }

struct fork_against_a_cancel : rl::test_suite<fork_against_a_cancel, 3> {
  struct join final : weft::detail::cancel_target {
    fork_against_a_cancel* test = nullptr;
    // As join_base::on_cancel: requests the cancel of every child.
    void on_cancel(const weft::cancel_reason&) noexcept override {
      for (child_state* c : test->children) {
        std::uint64_t w = c->word.load(std::memory_order_relaxed);
        while (!c->word.compare_exchange_weak(w, w | k_cancel_requested, std::memory_order_seq_cst,
                                              std::memory_order_relaxed)) {
        }
        const int frame = c->frame($);  // reads the frame (two cancellers may, at once)
        RL_ASSERT(frame == 0);
      }
    }
  };

  atomic<std::uint64_t> parent_word;
  cancel_slot parent_slot;
  join the_join;
  work_deque deque{4};
  join_count ends;
  child_state* children[k_children] = {};
  rl::atomic<int> continued{0};
  rl::var<bool> parent_dropped{false};
  rl::var<bool> any_child_dropped{false};

  void before() {
    the_join.test = this;
    for (auto& c : children) c = new child_state;
  }

  bool parent_cancelled() {
    return (parent_word.load(std::memory_order_acquire) & k_cancel_requested) != 0;
  }

  void run(std::uint32_t i) {
    child_state& c = *children[i];
    // It blocks: arms the parent's slot with the join, then re-reads the
    // parent's word (the Dekker pair) and passes a request found there on.
    if (parent_slot.arm_for_descendant(&the_join) &&
        (parent_word.load(std::memory_order_seq_cst) & k_cancel_requested) != 0) {
      the_join.on_cancel({});
    }
    if ((c.word.load(std::memory_order_acquire) & k_cancel_requested) != 0 || parent_cancelled()) {
      c.dropped($) = true;
    } else {
      c.result($) = static_cast<int>(i) + 1;
    }
  }

  // As continue_parent(): the last child's worker continues the parent.
  void continue_parent() {
    continued($).fetch_add(1, rl::mo_relaxed);
    for (child_state* c : children) {
      if (c->dropped($)) any_child_dropped($) = true;
    }
    const bool drop = parent_cancelled();
#ifdef WEFT_WEAKEN_drop_leave
    // Deliberately broken, in a model test's build only: it must be caught.
    if (!drop) parent_slot.disarm_join(parent_word);
#else
    parent_slot.disarm_join(parent_word);  // leave(): no canceller touches the children after it
#endif
    if (!drop) {
      for (std::uint32_t i = 0; i < k_children; ++i) {
        RL_ASSERT(children[i]->result($) == static_cast<int>(i) + 1);
      }
    }
    parent_dropped($) = drop;
    // destroy_children(), or await_resume's owned frames: the memory goes
    // back to the allocator (freed in after()).
    for (child_state* c : children) c->frame($) = -1;
  }

  void run_detached(work_item item) {
    run(static_cast<std::uint32_t>(item) - 1);
    if (ends.detached_end()) continue_parent();
  }

  void fork() {
    ends.start(k_children);
    deque.push(item_of(1));
    run(0);
    std::uint32_t chain_ended = 1;
    if (const work_item popped = deque.pop(); popped == item_of(1)) {
      run(1);
      ++chain_ended;
    } else if (popped != k_no_work) {
      deque.push(popped);
    }
    if (ends.chain_end(chain_ended, k_children)) continue_parent();
    for (work_item item; (item = deque.pop()) != k_no_work;) run_detached(item);
  }

  void thread(unsigned index) {
    if (index == 0) {
      fork();
    } else if (index == 1) {
      bool lost_race = false;
      if (const work_item item = deque.steal(lost_race)) run_detached(item);
    } else {
      weft::model::request_cancel(parent_word, parent_slot);
    }
  }

  void after() {
    RL_ASSERT(continued($).load(rl::mo_relaxed) == 1);
    if (any_child_dropped($)) RL_ASSERT(parent_dropped($));
    for (child_state* c : children) delete c;
  }
};

}  // namespace

int main(int argc, char** argv) {
  weft::model::search how;
  if (!how.parse(argc, argv)) return 2;
#if defined(WEFT_WEAKEN_drop_leave)
  return weft::model::check<fork_against_a_cancel>("drop hand-off (weakened)", how);
#else
  return weft::model::check<fork_against_a_cancel>("drop hand-off", how);
#endif
}
