#pragma once
// The count a fork-join's children end against (join.hpp counts steals,
// not children). The children run as one chain on the parent's worker
// (each popped back from its deque unstolen), except those that detach:
// stolen, or left on the deque for a worker loop. A detached child takes
// one from the count as it ends; the chain takes all of its children at
// once when it ends. Whoever takes the count to 0 resumes the parent, and
// a join whose chain ran every child resumes it without any
// read-modify-write.

#include <cstdint>

#include <weft/detail/atomic.hpp>

namespace weft::detail {

class join_count {
 public:
  /// Before any child starts (they are published after this).
  void start(std::uint32_t children) noexcept { pending_.store(children, std::memory_order_relaxed); }

  /// A detached child ended: true if it is the last, and resumes the parent.
  bool detached_end() noexcept {
    // acq_rel: the child that ends last sees every child's result; the
    // parent, resumed by it, reads them after this.
#ifdef WEFT_WEAKEN_join_detached_end
    // Deliberately broken, in a model test's build only: it must be caught.
    return pending_.fetch_sub(1, std::memory_order_release) == 1;
#else
    return pending_.fetch_sub(1, std::memory_order_acq_rel) == 1;
#endif
  }

  /// The chain ended after running `ended` of the join's `children`: true
  /// if the parent resumes now. Unless this returns true, the parent may
  /// own and destroy the join (and this count) from here on.
  bool chain_end(std::uint32_t ended, std::uint32_t children) noexcept {
    if (ended == children) return true;  // nothing detached: nobody else counts
    // acq_rel: as for a detached child, for all of the chain's children.
#ifdef WEFT_WEAKEN_join_chain_end
    // Deliberately broken, in a model test's build only: it must be caught.
    return pending_.fetch_sub(ended, std::memory_order_release) == ended;
#else
    return pending_.fetch_sub(ended, std::memory_order_acq_rel) == ended;
#endif
  }

 private:
  atomic<std::uint32_t> pending_{0};
};

}  // namespace weft::detail
