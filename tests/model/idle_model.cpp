// The park/wake protocol (weft/detail/idle_state.hpp: a pusher's
// notify_work_available() against a worker's wait_for_work(), which the
// scheduler's workers run) under Relacy, on the protocol's own code, with
// its asymmetric fences in their symmetric form (membarrier is outside the
// memory model) and the futex as Relacy models it. One worker (then two)
// waits for work while a pusher publishes one item (then two), each
// followed by its notify; the worker that takes the last item shuts the
// pool down (exit, wake all).
//   No worker sleeps while an item is published and no other worker is
//   awake to take it: every schedule ends (a lost wake-up leaves both
//   workers parked, a deadlock to Relacy), with both items taken once.
// Built also with WEFT_WEAKEN_idle_park_fence (a park without its fence
// after counting itself a sleeper); run with --expect-violation, it must be
// caught.
//
// Usage: idle_model [--iterations N] [--full] [--bound K] [--expect-violation]

#include "relacy_atomic.hpp"

#include <weft/detail/idle_state.hpp>

namespace {

using weft::detail::idle_state;

template <int Workers, int Items>
struct workers_against_a_pusher : rl::test_suite<workers_against_a_pusher<Workers, Items>, Workers + 1> {
  idle_state idle;
  rl::atomic<int> published{0};  // items pushed and not yet taken
  rl::atomic<int> taken{0};
  rl::atomic<bool> exit{false};

  /// What idle_state::wait_for_work asks of a worker.
  struct worker {
    workers_against_a_pusher& pool;
    int find() {
      int n = pool.published($).load(rl::mo_acquire);
      while (n > 0 && !pool.published($).compare_exchange_strong(n, n - 1, rl::mo_acquire)) {
      }
      return n > 0 ? 1 : 0;
    }
    bool exiting() { return pool.exit($).load(rl::mo_acquire); }
    void pause() {}
    int second_look() { return find(); }
    void sleep(idle_state& idle, std::uint32_t epoch) { idle.park(epoch); }
  };

  void thread(unsigned index) {
    if (index == 0) {
      for (int i = 0; i < Items; ++i) {
        // The item's publication (a deque's bottom, the injection stack).
        published($).fetch_add(1, rl::mo_release);
        idle.notify_work_available();
      }
      return;
    }
    worker me{*this};
    while (me.pool.idle.wait_for_work(me, 1) != 0) {
      if (taken($).fetch_add(1, rl::mo_relaxed) + 1 == Items) {
        exit($).store(true, rl::mo_release);  // as shut_down()
        idle.wake_all();
      }
    }
  }

  void after() {
    RL_ASSERT(taken($).load(rl::mo_relaxed) == Items);
    RL_ASSERT(published($).load(rl::mo_relaxed) == 0);
  }
};

// The worker's Dekker pair alone: one worker, one item.
using one_worker = workers_against_a_pusher<1, 1>;
// And the hand-over between searchers and sleepers.
using two_workers = workers_against_a_pusher<2, 2>;

}  // namespace

int main(int argc, char** argv) {
  weft::model::search how;
  if (!how.parse(argc, argv)) return 2;
#if defined(WEFT_WEAKEN_idle_park_fence)
  return weft::model::check<one_worker>("park and wake, one worker (weakened)", how);
#else
  const int one = weft::model::check<one_worker>("park and wake, one worker", how);
  const int two = weft::model::check<two_workers>("park and wake, two workers", how);
  return one | two;
#endif
}
