// The work-stealing deque (weft/detail/deque.hpp) under Relacy, on the
// deque's own code: its owner pushes three items into a ring of two slots
// (the third push grows it) and pops, while two thieves steal.
//   Every item is taken exactly once: by one pop or one steal, or left in
//   the deque and drained after the threads end; and whoever takes an item
//   sees what its owner wrote before pushing it (the frame it points to).
// Built also with WEFT_WEAKEN_deque_push (push without its release fence)
// and WEFT_WEAKEN_deque_pop (pop's seq_cst fence as acq_rel); run with
// --expect-violation, those must be caught.
//
// Usage: deque_model [--iterations N] [--full] [--bound K] [--expect-violation]

#include "relacy_atomic.hpp"

#include <weft/detail/deque.hpp>

namespace {

using weft::detail::k_no_work;
using weft::detail::work_deque;
using weft::detail::work_item;

constexpr int k_items = 3;

struct owner_against_two_thieves : rl::test_suite<owner_against_two_thieves, 3> {
  work_deque deque{2};
  // What each item points to: written by the owner before the push, read by
  // whoever takes the item (a race to Relacy unless the push published it).
  rl::var<int> frame[k_items];
  rl::atomic<int> taken[k_items];

  void before() {
    for (auto& t : taken) t($).store(0, rl::mo_relaxed);
  }

  void take(work_item item) {
    if (item == k_no_work) return;
    const auto index = static_cast<int>(item) - 1;
    RL_ASSERT(index >= 0 && index < k_items);
    RL_ASSERT(frame[index]($) == index + 10);
    taken[index]($).fetch_add(1, rl::mo_relaxed);
  }

  void thread(unsigned index) {
    if (index == 0) {
      for (int i = 0; i < k_items; ++i) {
        frame[i]($) = i + 10;
        deque.push(static_cast<work_item>(i + 1));
        if (i == 1) take(deque.pop());
      }
      take(deque.pop());
    } else {
      bool lost_race = false;
      take(deque.steal(lost_race));
    }
  }

  void after() {
    for (work_item item; (item = deque.pop()) != k_no_work;) take(item);
    for (auto& t : taken) RL_ASSERT(t($).load(rl::mo_relaxed) == 1);
  }
};

}  // namespace

int main(int argc, char** argv) {
  weft::model::search how;
  if (!how.parse(argc, argv)) return 2;
#if defined(WEFT_WEAKEN_deque_push) || defined(WEFT_WEAKEN_deque_pop)
  return weft::model::check<owner_against_two_thieves>("deque (weakened)", how);
#else
  return weft::model::check<owner_against_two_thieves>("deque", how);
#endif
}
