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

namespace {

using weft::detail::atomic;
using weft::detail::cancel_slot;
using weft::detail::k_cancel_requested;
using weft::detail::permit_pool;
using weft::detail::sync_wait;
using weft::detail::wait_status;

// How many times the waiting task was made runnable (schedule() below).
rl::atomic<int>* g_scheduled = nullptr;

}  // namespace

namespace weft::detail {
/// The model's scheduler: a grant or a withdrawal resumes the task.
void schedule(scheduler_base*, work_item, work_node&) {
  (*g_scheduled)($).fetch_add(1, rl::mo_release);
}
}  // namespace weft::detail

namespace {

struct wait_against_give_and_cancel : rl::test_suite<wait_against_give_and_cancel, 3> {
  permit_pool pool{0, "semaphore"};
  atomic<std::uint64_t> word;  // the waiting task's state word
  cancel_slot slot;            // and its cancel slot
  sync_wait::node_type waiter;
  rl::atomic<int> scheduled{0};
  bool suspended = false;
  bool holds = false;  // the task ends holding the permit
  bool cancelled = false;

  void before() { g_scheduled = &scheduled; }

  bool cancellation_point() { return (word.load(std::memory_order_seq_cst) & k_cancel_requested) != 0; }

  // As permit_awaiter: await_ready, await_suspend, await_resume.
  void acquire() {
    bool took = false;
    if (!cancellation_point()) {
      took = pool.try_take();
      if (!took) {
        waiter.owner = &pool;
        slot.arm(&waiter, weft::detail::wait_kind::semaphore);
        if (!cancellation_point()) suspended = pool.take_or_enqueue(waiter);
        if (suspended) {
          while (scheduled($).load(rl::mo_acquire) == 0) rl::yield(1, $);
        }
        slot.disarm(word);
      }
    }
    holds = took || waiter.status == wait_status::granted;
    cancelled = cancellation_point();
    if (cancelled && holds) {
      RL_ASSERT(pool.give());  // a cancelled wait takes nothing
      holds = false;
    }
    sync_wait::leave(waiter);
  }

  void cancel_the_waiter() {
    std::uint64_t w = word.load(std::memory_order_relaxed);
    while (!word.compare_exchange_weak(w, w | k_cancel_requested, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
    }
    slot.pass_on(weft::cancel_reason{});
  }

  void thread(unsigned index) {
    if (index == 0) {
      acquire();
    } else if (index == 1) {
      RL_ASSERT(pool.give());
    } else {
      cancel_the_waiter();
    }
  }

  void after() {
    RL_ASSERT(scheduled($).load(rl::mo_relaxed) == (suspended ? 1 : 0));
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
