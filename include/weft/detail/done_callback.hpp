#pragma once
// task_handle::add_done_callback: a heap node in the task's waiter list.

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include <weft/detail/access.hpp>
#include <weft/detail/runtime.hpp>
#include <weft/detail/task_state.hpp>
#include <weft/detail/waiter_list.hpp>

namespace weft::detail {

/// Owns a handle (keeping the frame alive) and the function; freed after it
/// runs. An exception escaping the function is reported, never propagated:
/// it runs on the thread that ends the task.
template <class Handle, class Fn>
struct callback_waiter : waiter {
  callback_waiter(Handle h, Fn&& f) : handle(std::move(h)), fn(std::move(f)) { wake = &run; }
  callback_waiter(Handle h, const Fn& f) : handle(std::move(h)), fn(f) { wake = &run; }
  Handle handle;
  Fn fn;

  static void run(waiter* w) noexcept {
    std::unique_ptr<callback_waiter> self(static_cast<callback_waiter*>(w));
    try {
      self->fn(self->handle);
    } catch (...) {
      report_callback_error(access::promise_of(self->handle)->state_.sched_,
                            std::current_exception());
    }
  }
};

/// Calls `fn(handle)` once the task is done: at once on the caller if it is
/// done already (an exception then propagates), else from the waiter list.
template <class Handle, class Fn>
void add_done_callback(const Handle& handle, task_state& state, Fn&& fn) {
  using node_type = callback_waiter<Handle, std::decay_t<Fn>>;
  auto node = std::make_unique<node_type>(handle, std::forward<Fn>(fn));
  if (state.add_waiter(node.get())) {
    node.release();  // owned by the waiter list; freed after it runs
    return;
  }
  node->fn(node->handle);  // already done
}

}  // namespace weft::detail
