#pragma once
/// \file
/// weft::task_handle<T>: the caller's view of a spawned task (asyncio.Task).

#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include <weft/cancel_reason.hpp>
#include <weft/errors.hpp>
#include <weft/task.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/done_callback.hpp>
#include <weft/detail/handle_awaiter.hpp>
#include <weft/detail/task_result.hpp>

namespace weft {

/// A copyable, cheap, thread-safe reference to a spawned task.
///
/// Every member may be called from any thread. A handle keeps the task's
/// frame (and its result) alive, and stays valid after the scheduler that
/// ran the task is destroyed. `co_await handle` inside a task waits for it
/// and returns its result; cancelling the awaiter passes the cancellation on.
template <class T = void>
class task_handle {
 public:
  using value_type = T;  ///< the task's result type

  /// An empty handle; every query on it throws invalid_state_error.
  task_handle() noexcept = default;
  /// Another reference to the same task.
  task_handle(const task_handle& other) noexcept : p_(other.p_) {
    if (p_ != nullptr) p_->state_.add_ref();
  }
  /// Takes over `other`'s reference, leaving `other` empty.
  task_handle(task_handle&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  /// Refers to `other`'s task, dropping this handle's reference.
  task_handle& operator=(task_handle other) noexcept {
    std::swap(p_, other.p_);
    return *this;
  }
  ~task_handle() {
    if (p_ != nullptr) p_->state_.release();
  }

  /// True unless default-constructed or moved from.
  bool valid() const noexcept { return p_ != nullptr; }
  /// valid().
  explicit operator bool() const noexcept { return valid(); }

  /// Requests cancellation (asyncio Task.cancel). Returns false if the task
  /// is already done, true if the request was recorded. A task that has not
  /// started is terminal (cancelled) when this returns and its body never
  /// runs; a running one gets cancelled_error at its next suspension point.
  /// The first request's message is kept and carried by cancelled_error.
  bool cancel(std::string_view message = {}) const {
    return state().request_cancel(cancel_kind::user, message);
  }

  /// True once the task is terminal (succeeded, failed or cancelled).
  /// Wait-free: one atomic load.
  bool done() const noexcept { return p_ != nullptr && p_->state_.done(); }

  /// True once the task is terminal and ended cancelled. One atomic load.
  bool cancelled() const noexcept { return p_ != nullptr && p_->state_.cancelled(); }

  /// The name given at spawn, or "" (thread-safe: immutable).
  std::string_view name() const { return state().name(); }

  /// A process-wide unique id of the task (never 0).
  std::uint64_t id() const { return state().id(); }

  /// The number of cancel requests made while the task was not done.
  std::uint32_t cancelling() const { return state().cancelling(); }

  /// The reason of the first cancel request; for a task that ended cancelled
  /// without one (a cancelled_error escaped from what it awaited), the
  /// reason that error carries; empty otherwise.
  std::optional<weft::cancel_reason> cancel_reason() const {
    return detail::cancel_reason_of(state());
  }

  /// The task's value. Rethrows its exception if it failed; throws
  /// cancelled_error (with the cancel message) if it was cancelled;
  /// invalid_state_error if it is not done. For a move-only T the value is
  /// moved out: the second call throws invalid_state_error.
  T result() const { return detail::take_result(checked(), "result()"); }

  /// nullptr if the task succeeded, its exception if it failed. Throws
  /// cancelled_error if it was cancelled, invalid_state_error if not done.
  std::exception_ptr exception() const { return detail::exception_of(state()); }

  /// Blocks the calling thread until the task is done. Throws
  /// invalid_state_error on a weft worker thread (it would deadlock the
  /// pool): co_await the handle there instead.
  void wait() const {
    detail::task_state& s = state();
    detail::refuse_blocking_on_worker("task_handle::wait()",
                                      "co_await the handle inside a task instead");
    s.wait_blocking();
  }

  /// Calls `fn(handle)` exactly once, after the terminal state is published
  /// (asyncio add_done_callback). If the task is already done, `fn` runs at
  /// once on the caller and an exception from it propagates to the caller.
  /// Otherwise it runs on the thread that ends the task (a worker, or the
  /// thread whose cancel() ended a task that had not started); an exception
  /// escaping it there is reported on stderr and counted in
  /// scheduler_stats::callback_errors, and the other callbacks still run.
  /// Callbacks run in the order they were added. `fn` must not block.
  template <class Fn>
    requires std::is_invocable_v<Fn&, const task_handle&>
  void add_done_callback(Fn&& fn) const {
    detail::task_state& s = state();
    detail::add_done_callback(*this, s.waiters(), s.sched_, std::forward<Fn>(fn));
  }

 private:
  friend struct detail::access;
  explicit task_handle(detail::promise<T>* p) noexcept : p_(p) {}
  detail::promise<T>& checked() const {
    if (p_ == nullptr) [[unlikely]] detail::throw_empty_handle();
    return *p_;
  }
  detail::task_state& state() const { return checked().state_; }

  detail::promise<T>* p_ = nullptr;
};

}  // namespace weft
