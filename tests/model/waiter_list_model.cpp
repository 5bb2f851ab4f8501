// The waiter list (weft/detail/waiter_list.hpp) under Relacy, on the list's
// own code: two waiters register while the finisher publishes a result and
// closes the list; then the list's owner dies with waiters left behind.
//   close: each waiter is either woken exactly once (and its wake sees the
//          node as it was registered, and the result) or refused (and then
//          sees the result itself); none is lost, and the list is settled
//          after the last wake (the wake order is the unit tests' part);
//   left behind: waiters registered on a list that is never closed are
//          each woken exactly once when its owner dies.
// Built also with WEFT_WEAKEN_waiter_list_add (add's CAS relaxed instead of
// release) and WEFT_WEAKEN_waiter_list_close (close's exchange acquire
// instead of acq_rel); run with --expect-violation, those must be caught.
//
// Usage: waiter_list_model [--iterations N] [--full] [--bound K] [--expect-violation]

#include "relacy_atomic.hpp"

#include <weft/detail/waiter_list.hpp>

namespace {

using weft::detail::waiter;
using weft::detail::waiter_list;

/// A waiter that records its wakes. `registered` is plain memory written
/// before add(): the wake reads it, a race to Relacy unless add() published
/// it. `result` is the finisher's, read by the wake and by a refused waiter.
struct recording_waiter : waiter {
  rl::var<int> registered{0};
  rl::atomic<int> wakes{0};
  rl::var<int>* result = nullptr;

  recording_waiter() { wake = &record; }
  static void record(waiter* w) noexcept {
    auto* self = static_cast<recording_waiter*>(w);
    RL_ASSERT(self->registered($) == 1);
    if (self->result != nullptr) RL_ASSERT((*self->result)($) == 42);
    self->wakes($).fetch_add(1, rl::mo_relaxed);
  }
};

struct registrations_against_close : rl::test_suite<registrations_against_close, 3> {
  waiter_list list;
  rl::var<int> result{0};
  recording_waiter node[2];
  bool refused[2] = {false, false};

  void thread(unsigned index) {
    if (index == 0) {
      result($) = 42;
      const auto direct = list.close_and_wake(nullptr);
      RL_ASSERT(!direct);  // not on a worker: every node is woken here
    } else {
      recording_waiter& mine = node[index - 1];
      mine.result = &result;
      mine.registered($) = 1;
      if (!list.add(&mine)) {
        refused[index - 1] = true;
        RL_ASSERT(result($) == 42);
      }
    }
  }

  void after() {
    RL_ASSERT(list.settled());
    for (int i = 0; i < 2; ++i) {
      const int wakes = node[i].wakes($).load(rl::mo_relaxed);
      RL_ASSERT(refused[i] ? wakes == 0 : wakes == 1);
    }
  }
};

struct owner_dies_with_waiters_left_behind : rl::test_suite<owner_dies_with_waiters_left_behind, 2> {
  waiter_list list;
  recording_waiter node[2];

  void thread(unsigned index) {
    node[index].registered($) = 1;
    RL_ASSERT(list.add(&node[index]));
  }

  void after() {
    list.wake_left_behind();
    RL_ASSERT(list.settled());
    for (auto& n : node) RL_ASSERT(n.wakes($).load(rl::mo_relaxed) == 1);
  }
};

}  // namespace

int main(int argc, char** argv) {
  weft::model::search how;
  if (!how.parse(argc, argv)) return 2;
#if defined(WEFT_WEAKEN_waiter_list_add) || defined(WEFT_WEAKEN_waiter_list_close)
  return weft::model::check<registrations_against_close>("waiter list, close (weakened)", how);
#else
  const int close = weft::model::check<registrations_against_close>("waiter list, close", how);
  const int left = weft::model::check<owner_dies_with_waiters_left_behind>("waiter list, left behind", how);
  return close | left;
#endif
}
