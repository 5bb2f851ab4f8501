#pragma once
/// \file
/// weft::task_handle<T>: the caller's view of a spawned task (asyncio.Task).

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include <weft/errors.hpp>
#include <weft/task.hpp>
#include <weft/detail/promise.hpp>

namespace weft {

template <class T>
class task_handle;

namespace detail {
template <class T>
task_handle<T> adopt_handle(promise<T>* p) noexcept;

/// A done callback: a heap node in the task's waiter list that owns a
/// handle (keeping the frame alive) and the function.
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
      report_callback_error(self->handle.promise_ptr()->state_.sched_, std::current_exception());
    }
  }
};
}  // namespace detail

/// A copyable, cheap, thread-safe reference to a spawned task.
///
/// Every member may be called from any thread. A handle keeps the task's
/// frame (and its result) alive, and stays valid after the scheduler that
/// ran the task is destroyed.
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
  std::string_view name() const {
    const std::string* n = state().name_;
    return n != nullptr ? std::string_view(*n) : std::string_view();
  }

  /// A process-wide unique id of the task (never 0).
  std::uint64_t id() const { return state().id(); }

  /// The number of cancel requests made while the task was not done.
  std::uint32_t cancelling() const { return state().cancelling(); }

  /// The reason of the first cancel request; for a task that ended cancelled
  /// without one (a cancelled_error escaped from what it awaited), the
  /// reason that error carries; empty otherwise.
  std::optional<weft::cancel_reason> cancel_reason() const {
    std::uint64_t word = state().load();
    if ((word & detail::k_cancel_requested) != 0) return detail::task_state::reason_in(word);
    if (word_is_cancelled(word) && state().error()) {
      try {
        std::rethrow_exception(state().error());
      } catch (const cancelled_error& e) {
        return e.reason();
      }
    }
    return std::nullopt;
  }

  /// The task's value. Rethrows its exception if it failed; throws
  /// cancelled_error (with the cancel message) if it was cancelled;
  /// invalid_state_error if it is not done. For a move-only T the value is
  /// moved out: the second call throws invalid_state_error.
  T result() const { return take_result(*p_checked(), "result()"); }

  /// nullptr if the task succeeded, its exception if it failed. Throws
  /// cancelled_error if it was cancelled, invalid_state_error if not done.
  std::exception_ptr exception() const {
    std::uint64_t word = checked_done_word(*p_checked(), "exception()");
    if (word_is_cancelled(word)) throw_cancelled(*p_, word);
    if ((word & detail::k_outcome_mask) == detail::k_failed) return p_->state_.error();
    return nullptr;
  }

  /// Blocks the calling thread until the task is done. Throws
  /// invalid_state_error on a weft worker thread (it would deadlock the
  /// pool): co_await the handle there instead.
  void wait() const {
    const detail::promise<T>& p = *p_checked();
    if (detail::tls_worker != nullptr) {
      throw invalid_state_error(
          "task_handle::wait() called on a weft worker thread, where blocking would deadlock "
          "the pool; co_await the handle inside a task instead");
    }
    const_cast<detail::task_state&>(p.state_).wait_blocking();
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
    using node_type = detail::callback_waiter<task_handle, std::decay_t<Fn>>;
    auto node = std::make_unique<node_type>(*this, std::forward<Fn>(fn));
    if (state().add_waiter(node.get())) {
      node.release();  // owned by the waiter list; freed after it runs
      return;
    }
    node->fn(node->handle);  // already done
  }

  /// Takes the result once the task is done (shared with co_await).
  static T take_result(detail::promise<T>& p, const char* what) {
    std::uint64_t word = checked_done_word(p, what);
    if (word_is_cancelled(word)) throw_cancelled(p, word);
    if ((word & detail::k_outcome_mask) == detail::k_failed) {
      std::rethrow_exception(p.state_.error());
    }
    if constexpr (std::is_void_v<T>) {
      return;
    } else if constexpr (std::is_copy_constructible_v<T>) {
      return *p.value_;
    } else {
      p.state_.mark_result_taken(what);
      return std::move(*p.value_);
    }
  }

  /// Internal (awaiters, combinators): the task's promise, or null.
  detail::promise<T>* promise_ptr() const noexcept { return p_; }

 private:
  friend task_handle detail::adopt_handle<T>(detail::promise<T>*) noexcept;
  friend struct detail::awaitable_traits<task_handle>;
  detail::promise<T>* detach() noexcept { return std::exchange(p_, nullptr); }
  explicit task_handle(detail::promise<T>* p) noexcept : p_(p) {}

  static bool word_is_cancelled(std::uint64_t word) noexcept {
    return (word & detail::k_outcome_mask) == detail::k_cancelled;
  }
  static std::uint64_t checked_done_word(const detail::promise<T>& p, const char* what) {
    std::uint64_t word = p.state_.load();
    if ((word & detail::k_done) == 0) {
      throw invalid_state_error(std::string(what) +
                                " called before the task is done; co_await the handle or "
                                "call wait() first");
    }
    return word;
  }
  [[noreturn]] static void throw_cancelled(const detail::promise<T>& p, std::uint64_t word) {
    // A cancelled_error that escaped the body carries its own reason.
    if (p.state_.error()) std::rethrow_exception(p.state_.error());
    throw cancelled_error(detail::task_state::reason_in(word));
  }
  detail::promise<T>* p_checked() const {
    if (p_ == nullptr) {
      throw invalid_state_error(
          "empty weft::task_handle (default-constructed or moved from); use the handle "
          "returned by spawn()");
    }
    return p_;
  }
  detail::task_state& state() const { return p_checked()->state_; }

  detail::promise<T>* p_ = nullptr;
};

namespace detail {

template <class T>
task_handle<T> adopt_handle(promise<T>* p) noexcept {
  return task_handle<T>(p);
}

/// `co_await handle` inside a task: waits for the task, then returns its
/// result or rethrows. Cancelling the awaiting task passes the cancellation
/// on to the awaited one; the awaiter resumes when that one is terminal.
///
/// Trivially destructible (see task_awaiter): a handle operand that is an
/// rvalue has its reference moved into the awaiter (owns_ref) and released
/// in await_resume, which every path reaches.
template <class T>
struct handle_awaiter {
  promise<T>* target;
  task_state* root;
  bool owns_ref;
  bool foreign = false;  // registered with note_foreign_wait()
  coroutine_waiter node{};

  bool await_ready() const noexcept { return target->state_.done(); }

  bool await_suspend(std::coroutine_handle<> awaiting) {
    task_state& awaited = target->state_;
    node.handle = awaiting;
    node.sched = root->sched_;
    // Shutdown of our scheduler would not reach a task of another one.
    foreign = awaited.sched_ != root->sched_;
    if (foreign) root->sched_->note_foreign_wait(root);
    root->arm_cancel_target(&awaited, wait_kind::task);
    // Read the flag after arming (Dekker pair with request_cancel): a
    // cancel recorded before the target was armed is passed on here.
    if (root->cancellation_point()) {
      awaited.request_cancel(cancel_kind::parent_cancelled,
                             task_state::reason_in(root->load()).message);
    }
    if (!awaited.add_waiter(&node)) {
      root->disarm_cancel_target();
      if (foreign) root->sched_->forget_foreign_wait(root);
      foreign = false;
      return false;  // already terminal: resume at once
    }
    return true;  // from here on the awaiter may already be resumed elsewhere
  }

  T await_resume() {
    enter(root);
    root->disarm_cancel_target();
    if (foreign) root->sched_->forget_foreign_wait(root);
    struct release_on_exit {
      promise<T>* p;
      bool owns;
      ~release_on_exit() {
        if (owns) p->state_.release();
      }
    } guard{target, owns_ref};
    if (root->cancellation_point()) root->throw_cancelled();
    return task_handle<T>::take_result(*target, "co_await on a task_handle");
  }
};

template <class T>
struct awaitable_traits<task_handle<T>> {
  /// Takes the handle's reference, leaving it empty (for other awaiters).
  static promise<T>* detach(task_handle<T>& h) noexcept { return h.detach(); }

  static handle_awaiter<T> make(task_state* root, promise<T>* target, bool owns_ref) {
    if (target == nullptr) {
      throw invalid_state_error(
          "co_await on an empty weft::task_handle; await the handle returned by spawn()");
    }
    if (root == nullptr) {
      throw invalid_state_error(
          "co_await on a task_handle outside a task running on a weft scheduler; use wait() "
          "from a plain thread");
    }
    if (&target->state_ == root) {
      if (owns_ref) target->state_.release();
      throw invalid_state_error(
          "a task cannot await its own handle (it would wait for itself forever); await "
          "another task's handle");
    }
    return handle_awaiter<T>{target, root, owns_ref};
  }
  static handle_awaiter<T> transform(task_state* root, task_handle<T>&& h) {
    // Take the operand's reference, leaving it empty: g++ 12 may run its
    // destructor twice, which is then harmless.
    promise<T>* p = h.detach();
    return make(root, p, p != nullptr);
  }
  static handle_awaiter<T> transform(task_state* root, const task_handle<T>& h) {
    return make(root, h.promise_ptr(), false);
  }
};

}  // namespace detail
}  // namespace weft
