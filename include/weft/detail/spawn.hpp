#pragma once
// The spawn protocol: a task becomes a root with its own task_state, is
// admitted by its scheduler (or refused during shutdown, ending cancelled
// without running), and is queued on the spawning worker (its deque, or
// the scheduler's FIFO of enqueued tasks) or injected.

#include <string>
#include <string_view>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/promise.hpp>
#include <weft/detail/region_root.hpp>
#include <weft/detail/runtime.hpp>

namespace weft::detail {

/// Where a spawned task is queued on a worker of its scheduler.
enum class spawn_order : bool {
  fork,     // weft::spawn in a task: on this worker's deque, run next (LIFO)
  enqueue,  // scheduler::spawn: behind earlier enqueued tasks (FIFO)
};

/// Spawns `t` onto `sched`; the handle holds the caller's reference. `what`
/// names the call in the error for an empty task. `drops_on_cancel`: the
/// task is a drop_on_cancel region (spawn_region).
template <class T>
task_handle<T> spawn_task(scheduler_base* sched, task<T>&& t, std::string_view name,
                          spawn_order order = spawn_order::fork, const char* what = "spawn()",
                          bool drops_on_cancel = false) {
  auto frame = access::release(t, what);
  promise<T>& p = frame.promise();
  task_state& state = p.become_root(
      spawned_root{sched, name.empty() ? nullptr : new std::string(name), drops_on_cancel});
  if (sched->tracking()) sched->track(&state);
  if (!sched->admit_task()) {
    state.set_refs(1);  // the handle's only
    state.reject_for_shutdown();
    return access::adopt(&p);
  }
  state.set_refs(2);  // the handle's and the run reference
  task_handle<T> handle = access::adopt(&p);
  if (order == spawn_order::enqueue) {
    schedule_enqueued(sched, as_work(&state), state.inject_node_);
  } else {
    schedule(sched, as_work(&state), state.inject_node_);
  }
  return handle;
}

/// Spawns `body` as a drop_on_cancel region (under region_root).
template <class T>
task_handle<T> spawn_region(scheduler_base* sched, task<T>&& body, std::string_view name,
                            spawn_order order, const char* what) {
  return spawn_task(sched, region_root(std::move(body), what), name, order, what, true);
}

/// The scheduler of the task running on this thread; throws
/// invalid_state_error naming `what` outside a task.
inline scheduler_base* current_scheduler(const char* what) {
  worker_context* w = tls_worker;
  if (w == nullptr) {
    throw invalid_state_error(std::string(what) +
                              " called outside a weft task, where there is no current "
                              "scheduler; call spawn() on a weft::scheduler instead");
  }
  return w->sched;
}

}  // namespace weft::detail
