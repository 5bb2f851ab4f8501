// The queue's reserved slot (weft/detail/queue_state.hpp) under Relacy, on
// the queue's own code, with the real cancel slot and the withdrawal of
// scheduler/sync_object.cpp: a task pushes into a full queue of capacity 1
// (the push awaiter's steps) while one thread pops the item, which reserves
// the freed slot for the waiting pusher, and another cancels the pusher.
//   The pusher is resumed exactly once; its value is queued exactly when
//   its push was not cancelled (a cancelled push queues nothing), and the
//   slot is never lost nor given twice: afterwards the queue holds that
//   value or nothing, and takes exactly one more item.
// Built also with WEFT_WEAKEN_queue_release_reserved (a cancelled pusher's
// reserved slot is not given back); run with --expect-violation, it must
// be caught.
//
// Usage: queue_slot_model [--iterations N] [--full] [--bound K] [--expect-violation]

#include "relacy_atomic.hpp"

#include <weft/detail/queue_state.hpp>

// The withdrawal of a cancelled waiter, from the library's source.
#include "../../scheduler/sync_object.cpp"

#include "waiting_task.hpp"

namespace {

using weft::detail::push_waiter;
using weft::detail::queue_state;
using weft::detail::sync_wait;
using weft::detail::wait_status;

struct push_against_pop_and_cancel : rl::test_suite<push_against_pop_and_cancel, 3> {
  queue_state<int> queue{1};
  weft::model::waiting_task task;
  push_waiter waiter;
  bool suspended = false;
  bool queued = false;  // the pusher's value went into the queue
  bool cancelled = false;

  void before() {
    task.make_current();
    RL_ASSERT(queue.try_push(1));  // full
  }

  // As push_awaiter: await_ready, await_suspend, await_resume.
  void push() {
    const int value = 2;
    bool ready = task.cancellation_point();
    if (!ready) {
      static_cast<void>(queue.push_or_wait(waiter, value, false));
      ready = waiter.pushed || waiter.status != wait_status::fresh;
    }
    if (!ready) {
      waiter.owner = &queue;
      task.slot.arm(&waiter, weft::detail::wait_kind::queue_push);
      if (!task.cancellation_point()) suspended = queue.push_or_wait(waiter, value, true);
      if (suspended) task.wait_until_scheduled();
      task.slot.disarm(task.word);
    }
    cancelled = task.cancellation_point();
    if (waiter.pushed) {
      queued = true;
      return;
    }
    const bool reserved = waiter.status == wait_status::granted;
    if (cancelled) {
      if (reserved) queue.release_reserved();
    } else {
      RL_ASSERT(reserved);  // nothing closes this queue
      queued = queue.push_reserved(value);
      RL_ASSERT(queued);
    }
    sync_wait::leave(waiter);
  }

  void thread(unsigned index) {
    if (index == 0) {
      push();
    } else if (index == 1) {
      const auto first = queue.try_pop();
      RL_ASSERT(first.has_value() && *first == 1);
    } else {
      task.cancel();
    }
  }

  void after() {
    RL_ASSERT(task.times_scheduled() == (suspended ? 1 : 0));
    RL_ASSERT(!(queued && cancelled && !waiter.pushed));  // a cancelled wait queues nothing
    const auto second = queue.try_pop();
    RL_ASSERT(second.has_value() == queued);
    if (second) RL_ASSERT(*second == 2);
    RL_ASSERT(queue.try_push(3));   // the slot is free again
    RL_ASSERT(!queue.try_push(4));  // and there is only one
  }
};

}  // namespace

int main(int argc, char** argv) {
  weft::model::search how;
  if (!how.parse(argc, argv)) return 2;
#if defined(WEFT_WEAKEN_queue_release_reserved)
  return weft::model::check<push_against_pop_and_cancel>("queue slot (weakened)", how);
#else
  return weft::model::check<push_against_pop_and_cancel>("queue reserved slot", how);
#endif
}
