// The steal-counting join (weft/detail/join_count.hpp, driven as join.hpp
// drives it) under Relacy, with the real work-stealing deque: a parent
// forks three children; the first runs inline, the other two are pushed
// last-first onto the owner's deque, and the owner's chain pops them back
// one by one while two thieves steal. A child the chain loses detaches:
// stolen, or left on the deque for the owner's worker loop.
//   The parent resumes exactly once, after every child, and sees every
//   child's result, whichever children were stolen.
// Built also with WEFT_WEAKEN_join_detached_end and
// WEFT_WEAKEN_join_chain_end (each of the count's two decrements release
// instead of acq_rel); run with --expect-violation, those must be caught.
//
// Usage: join_count_model [--iterations N] [--full] [--bound K] [--expect-violation]

#include "relacy_atomic.hpp"

#include <weft/detail/deque.hpp>
#include <weft/detail/join_count.hpp>

namespace {

using weft::detail::join_count;
using weft::detail::k_no_work;
using weft::detail::work_deque;
using weft::detail::work_item;

constexpr std::uint32_t k_children = 3;

work_item item_of(std::uint32_t child) { return static_cast<work_item>(child + 1); }

struct fork_against_two_thieves : rl::test_suite<fork_against_two_thieves, 3> {
  work_deque deque{4};
  join_count ends;
  rl::var<int> result[k_children];  // each child's, read by the parent
  rl::atomic<int> resumed{0};

  void run(std::uint32_t child) { result[child]($) = static_cast<int>(child) + 1; }

  void resume_parent() {
    resumed($).fetch_add(1, rl::mo_relaxed);
    for (std::uint32_t i = 0; i < k_children; ++i) RL_ASSERT(result[i]($) == static_cast<int>(i) + 1);
  }

  void run_detached(work_item item) {
    run(static_cast<std::uint32_t>(item) - 1);
    if (ends.detached_end()) resume_parent();
  }

  // As join_base::start() and child_done(): the chain runs the first child
  // inline, then each next child while it is still at the bottom of the deque.
  void fork() {
    ends.start(k_children);
    for (std::uint32_t i = k_children; i-- > 1;) deque.push(item_of(i));
    run(0);
    std::uint32_t chain_ended = 1;
    for (std::uint32_t next = 1; next < k_children; ++next) {
      const work_item popped = deque.pop();
      if (popped != item_of(next)) {
        if (popped != k_no_work) deque.push(popped);
        break;
      }
      run(next);
      ++chain_ended;
    }
    if (ends.chain_end(chain_ended, k_children)) resume_parent();
    // The worker loop: what the chain left on the deque runs detached.
    for (work_item item; (item = deque.pop()) != k_no_work;) run_detached(item);
  }

  void thread(unsigned index) {
    if (index == 0) {
      fork();
    } else {
      bool lost_race = false;
      if (const work_item item = deque.steal(lost_race)) run_detached(item);
    }
  }

  void after() { RL_ASSERT(resumed($).load(rl::mo_relaxed) == 1); }
};

}  // namespace

int main(int argc, char** argv) {
  weft::model::search how;
  if (!how.parse(argc, argv)) return 2;
#if defined(WEFT_WEAKEN_join_detached_end) || defined(WEFT_WEAKEN_join_chain_end)
  return weft::model::check<fork_against_two_thieves>("steal-counting join (weakened)", how);
#else
  return weft::model::check<fork_against_two_thieves>("steal-counting join", how);
#endif
}
