#pragma once
// add_done_callback of a task_handle or a future: a heap node in the waiter
// list of what it watches.

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include <weft/detail/runtime.hpp>
#include <weft/detail/waiter_list.hpp>

namespace weft::detail {

/// Owns a handle (keeping what it refers to alive) and the function; freed
/// after it runs. An exception escaping the function is reported, never
/// propagated: it runs on the thread that ends the task or future. `sched`
/// counts the report (null: the scheduler of the worker it runs on, if any).
template <class Handle, class Fn>
struct callback_waiter : waiter {
  template <class F>
  callback_waiter(Handle h, F&& f, scheduler_base* s)
      : handle(std::move(h)), fn(std::forward<F>(f)), sched(s) {
    wake = &run;
  }
  Handle handle;
  Fn fn;
  scheduler_base* sched;

  static void run(waiter* w) noexcept {
    std::unique_ptr<callback_waiter> self(static_cast<callback_waiter*>(w));
    try {
      self->fn(self->handle);
    } catch (...) {
      scheduler_base* sched = self->sched;
      if (sched == nullptr && tls_worker != nullptr) sched = tls_worker->sched;
      report_callback_error(sched, std::current_exception());
    }
  }
};

/// Calls `fn(handle)` once `list` is closed: at once on the caller if it is
/// closed already (an exception then propagates), else from the list.
template <class Handle, class Fn>
void add_done_callback(const Handle& handle, waiter_list& list, scheduler_base* sched, Fn&& fn) {
  using node_type = callback_waiter<Handle, std::decay_t<Fn>>;
  auto node = std::make_unique<node_type>(handle, std::forward<Fn>(fn), sched);
  if (list.add(node.get())) {
    node.release();  // owned by the waiter list; freed after it runs
    return;
  }
  node->fn(node->handle);  // already done
}

}  // namespace weft::detail
