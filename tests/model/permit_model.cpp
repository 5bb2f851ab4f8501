// The permit hand-off behind weft::semaphore and weft::mutex
// (weft/detail/permit_pool.hpp and its slow paths in scheduler/
// permit_pool.cpp, the withdrawal of a cancelled waiter in scheduler/
// sync_object.cpp: compiled into this program from the library's own
// sources) under Relacy, with the real cancel slot: a task waits for a
// permit of an empty pool (the awaiter's steps) while one thread gives a
// permit and another cancels the task.
//   The task is resumed exactly once (at once, or by exactly one of the
//   giver and the canceller); the permit is never lost nor given twice: at
//   the end it is in the pool or held by the task, and only by a task that
//   was not cancelled (a cancelled wait takes nothing).
// Built also with WEFT_WEAKEN_withdraw_granted (a cancel that finds the
// waiter granted takes it off as if it still waited); run with
// --expect-violation, it must be caught.
//
// Usage: permit_model [--iterations N] [--full] [--bound K] [--expect-violation]

#include "relacy_atomic.hpp"

#include <weft/detail/permit_pool.hpp>

// The slow paths, from the library's sources (this program does not link
// the library's copies of them: it defines every symbol they would give).
#include "../../scheduler/permit_pool.cpp"
#include "../../scheduler/sync_object.cpp"

#include "waiting_task.hpp"

namespace {

using weft::detail::permit_pool;
using weft::detail::sync_wait;
using weft::detail::wait_status;

struct wait_against_give_and_cancel : rl::test_suite<wait_against_give_and_cancel, 3> {
  permit_pool pool{0, "semaphore"};
  weft::model::waiting_task task;
  sync_wait::node_type waiter;
  bool suspended = false;
  bool holds = false;  // the task ends holding the permit
  bool cancelled = false;

  void before() { task.make_current(); }

  // As permit_awaiter: await_ready, await_suspend, await_resume.
  void acquire() {
    bool took = false;
    if (!task.cancellation_point()) {
      took = pool.try_take();
      if (!took) {
        waiter.owner = &pool;
        task.slot.arm(&waiter, weft::detail::wait_kind::semaphore);
        if (!task.cancellation_point()) suspended = pool.take_or_enqueue(waiter);
        if (suspended) task.wait_until_scheduled();
        task.slot.disarm(task.word);
      }
    }
    holds = took || waiter.status == wait_status::granted;
    cancelled = task.cancellation_point();
    if (cancelled && holds) {
      RL_ASSERT(pool.give());  // a cancelled wait takes nothing
      holds = false;
    }
    sync_wait::leave(waiter);
  }

  void thread(unsigned index) {
    if (index == 0) {
      acquire();
    } else if (index == 1) {
      RL_ASSERT(pool.give());
    } else {
      task.cancel();
    }
  }

  void after() {
    RL_ASSERT(task.times_scheduled() == (suspended ? 1 : 0));
    RL_ASSERT(pool.available() + (holds ? 1 : 0) == 1);
    RL_ASSERT(!(holds && cancelled));
  }
};

}  // namespace

int main(int argc, char** argv) {
  weft::model::search how;
  if (!how.parse(argc, argv)) return 2;
#if defined(WEFT_WEAKEN_withdraw_granted)
  return weft::model::check<wait_against_give_and_cancel>("permit hand-off (weakened)", how);
#else
  return weft::model::check<wait_against_give_and_cancel>("permit hand-off", how);
#endif
}
