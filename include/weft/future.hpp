#pragma once
/// \file
/// weft::future<T>: a result that someone else provides (asyncio.Future).

#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include <weft/cancel_reason.hpp>
#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/done_callback.hpp>
#include <weft/detail/future_awaiter.hpp>
#include <weft/detail/future_state.hpp>
#include <weft/detail/task_result.hpp>

namespace weft {

/// A copyable, cheap, thread-safe reference to one shared result that is
/// completed from outside weft: a client library's callback, another
/// thread. T may be void or move-only.
///
/// A future starts pending and ends once, by the first of set_value(),
/// set_exception() and cancel(); the later ones return false and change
/// nothing. Every member may be called from any thread. `co_await f` inside
/// a task waits for it without holding a worker; cancelling the awaiting
/// task cancels the future (reason parent_cancelled), unless it is awaited
/// through weft::shield(f). The future belongs to no scheduler: tasks of
/// several schedulers may await it, and each resumes on its own.
template <class T = void>
class future {
 public:
  using value_type = T;  ///< the result type

  /// A pending future (allocates its shared state).
  future() : s_(new detail::future_state<T>) {}
  /// Another reference to the same result.
  future(const future& other) noexcept : s_(other.s_) {
    if (s_ != nullptr) s_->add_ref();
  }
  /// Takes over `other`'s reference, leaving `other` empty.
  future(future&& other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
  /// Refers to `other`'s result, dropping this reference.
  future& operator=(future other) noexcept {
    std::swap(s_, other.s_);
    return *this;
  }
  ~future() {
    if (s_ != nullptr) s_->release();
  }

  /// True unless moved from; every other member throws invalid_state_error
  /// on a moved-from future.
  bool valid() const noexcept { return s_ != nullptr; }
  /// valid().
  explicit operator bool() const noexcept { return valid(); }

  /// Completes the future with a value constructed from `args` (nothing for
  /// future<void>), waking its awaiters, blocked threads and callbacks.
  /// False if it is already done (set, failed or cancelled): nothing
  /// changes. If constructing the value throws, the future stays pending.
  template <class... Args>
    requires(std::is_void_v<T> ? sizeof...(Args) == 0 : std::is_constructible_v<T, Args&&...>)
  bool set_value(Args&&... args) const {
    return state().set_value(std::forward<Args>(args)...);
  }

  /// Completes the future with `error` (a weft::cancelled_error ends it
  /// cancelled); false if it is already done. Throws
  /// invalid_argument_error for a null `error`.
  bool set_exception(std::exception_ptr error) const {
    return state().set_exception(std::move(error));
  }

  /// Cancels a pending future at once (reason user, `message`): it is done
  /// and cancelled when this returns, and its awaiters resume with
  /// cancelled_error. False if it is already done.
  bool cancel(std::string_view message = {}) const {
    return state().cancel(cancel_kind::user, message);
  }

  /// True once the future is done (set, failed or cancelled). One atomic load.
  bool done() const noexcept { return s_ != nullptr && s_->done(); }
  /// True once the future is done and cancelled. One atomic load.
  bool cancelled() const noexcept { return s_ != nullptr && s_->cancelled(); }
  /// 1 once cancel() was requested (it ends the future at once), else 0.
  std::uint32_t cancelling() const { return state().cancelling(); }

  /// The cancel request's reason; for a future failed with a
  /// cancelled_error, that error's reason; empty otherwise.
  std::optional<weft::cancel_reason> cancel_reason() const {
    return detail::cancel_reason_of(state());
  }

  /// The value. Rethrows the stored exception if it failed; throws
  /// cancelled_error if it was cancelled; invalid_state_error if it is
  /// pending. For a move-only T the value is moved out: the second call
  /// throws invalid_state_error.
  T result() const {
    detail::future_state<T>& s = state();
    return detail::take_value<T>(s, s, "result()");
  }

  /// nullptr if it succeeded, its exception if it failed. Throws
  /// cancelled_error if it was cancelled, invalid_state_error if pending.
  std::exception_ptr exception() const { return detail::exception_of(state()); }

  /// Blocks the calling thread until the future is done. Throws
  /// invalid_state_error on a weft worker thread (it would deadlock the
  /// pool): co_await the future there instead.
  void wait() const {
    detail::future_state<T>& s = state();
    detail::refuse_blocking_on_worker("future::wait()",
                                      "co_await the future inside a task instead");
    s.waiters().wait_settled();
  }

  /// Calls `fn(future)` exactly once, after the future is done. If it is
  /// done already, `fn` runs at once on the caller and an exception from it
  /// propagates. Otherwise it runs on the thread that completes the future
  /// (an exception escaping it there is reported on stderr and dropped; on
  /// a worker it is also counted in scheduler_stats::callback_errors).
  /// Callbacks run in the order they were added. `fn` must not block.
  template <class Fn>
    requires std::is_invocable_v<Fn&, const future&>
  void add_done_callback(Fn&& fn) const {
    detail::add_done_callback(*this, state().waiters(), nullptr, std::forward<Fn>(fn));
  }

 private:
  friend struct detail::access;
  detail::future_state<T>& state() const {
    if (s_ == nullptr) [[unlikely]] {
      throw invalid_state_error(
          "empty weft::future (moved from); use a future that was constructed or copied");
    }
    return *s_;
  }

  detail::future_state<T>* s_;
};

/// The operand of `co_await weft::shield(f)` for a future.
template <class T>
struct future_shield_awaitable {
  weft::future<T> future;  ///< the shielded future
};

/// `co_await weft::shield(f)` inside a task: waits for the future like
/// `co_await f`, except that cancelling the caller does not cancel the
/// future: the caller gets cancelled_error at once and the future stays
/// pending for whoever completes it.
template <class T>
future_shield_awaitable<T> shield(future<T> f) {
  return {std::move(f)};
}

}  // namespace weft
