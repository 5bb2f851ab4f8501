#pragma once
// The shared state of a weft::future<T>: a task's end without a body. The
// same state word as a task (state_word.hpp), so done()/cancelled() are
// one load and set/fail/cancel are decided by one CAS; the same waiter list,
// so awaiters, blocked threads and done callbacks are woken as a task's.
//
// The word's bits as in state_word.hpp, except k_started, which here means
// "claimed": a set_value()/set_exception() won the race and is writing the
// result; k_done follows once it is written. A cancel always makes the
// future terminal at once (there is no body to stop).
//
// Ownership: reference-counted by the future objects and by the awaiters
// and callbacks that hold one; the last reference deletes it.

#include <atomic>
#include <cstdint>
#include <exception>
#include <string_view>
#include <type_traits>
#include <utility>

#include <weft/cancel_reason.hpp>
#include <weft/errors.hpp>
#include <weft/detail/atomic.hpp>
#include <weft/detail/cancel_slot.hpp>
#include <weft/detail/config.hpp>
#include <weft/detail/promise.hpp>
#include <weft/detail/state_word.hpp>
#include <weft/detail/waiter_list.hpp>

namespace weft::detail {

template <class T>
class future_state final : public cancel_target, public result_slot<T> {
 public:
  /// What result() and friends say to do when the future is not done.
  static constexpr const char* k_pending_hint =
      " called before the future is done; co_await the future, call wait() or add a done "
      "callback first";

  future_state() noexcept = default;
  future_state(const future_state&) = delete;
  future_state& operator=(const future_state&) = delete;
  ~future_state() {
    // A pending future's list may still hold shield waiters that left on a
    // cancel (each holds its own node alive until woken).
#ifndef WEFT_WEAKEN_future_left_behind
    waiters_.wake_left_behind();
#endif  // else deliberately broken, in a model test's build only: it must be caught
    free_record(record_of(word_.load(std::memory_order_relaxed)));
#if WEFT_TSAN
    // TSan variant, as in ~promise_base: the exception object's reference
    // count is not instrumented, so TSan builds keep it (a deliberate leak).
    if (error_) static_cast<void>(new std::exception_ptr(std::move(error_)));
#endif
  }

  /// As a cancel target: a task awaiting this future was cancelled.
  void on_cancel(const cancel_reason& reason) noexcept override {
    cancel(cancel_kind::parent_cancelled, reason.message);
  }

  // ---- references

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    // acq_rel: the last owner sees every other owner's writes.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // ---- queries (any thread)

  /// acquire: pairs with the release in publish(); the result is visible.
  std::uint64_t load() const noexcept { return word_.load(std::memory_order_acquire); }
  bool done() const noexcept { return (load() & k_done) != 0; }
  bool cancelled() const noexcept {
    return (load() & (k_done | k_outcome_mask)) == (k_done | k_cancelled);
  }
  /// 1 once a cancel request was recorded (it ends the future at once).
  std::uint32_t cancelling() const noexcept { return (load() & k_cancel_requested) != 0 ? 1 : 0; }
  const std::exception_ptr& error() const noexcept { return error_; }
  void mark_result_taken(const char* what) { claim_result(word_, what, "future"); }

  // ---- completion (any thread; the first of set, fail and cancel wins)

  /// Constructs the value from `args`; false if the future is done. If the
  /// construction throws, the future stays pending and the exception
  /// propagates.
  template <class... Args>
  bool set_value(Args&&... args) {
    if (!claim()) return false;
    if constexpr (!std::is_void_v<T>) {
      try {
        this->value_.emplace(std::forward<Args>(args)...);
      } catch (...) {
        unclaim();
        throw;
      }
    }
    publish(k_succeeded);
    return true;
  }

  /// Ends the future with `error` (a cancelled_error ends it cancelled, as
  /// it ends a task whose body it escapes); false if it is done.
  bool set_exception(std::exception_ptr error) {
    if (!error) {
      throw invalid_argument_error(
          "future::set_exception(nullptr): pass the exception to store, e.g. "
          "std::current_exception() inside a catch block, or call set_value()");
    }
    if (!claim()) return false;
    std::uint64_t outcome = k_failed;
    try {
      std::rethrow_exception(error);
    } catch (const cancelled_error&) {
      outcome = k_cancelled;
    } catch (...) {
    }
    error_ = std::move(error);
    publish(outcome);
    return true;
  }

  /// Ends the future cancelled with `kind` and `message`; false if it is
  /// done (or being set).
  bool cancel(cancel_kind kind, std::string_view message) {
    const cancel_record* record = nullptr;  // made once this can be the first
    std::uint64_t w = word_.load(std::memory_order_acquire);
    for (;;) {
      if (!await_unclaimed(w)) {
        free_record(record);
        return false;
      }
      if (record == nullptr) record = make_record(kind, message);
      const std::uint64_t next =
          w | k_cancel_requested | record_bits(record) | k_done | k_cancelled;
      // acq_rel: the release half publishes *record to readers of the word;
      // the acquire half orders this after a set that was undone.
      if (word_.compare_exchange_weak(w, next, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        waiters_.close_and_wake_all();
        return true;
      }
    }
  }

  // ---- waiters

  waiter_list& waiters() noexcept { return waiters_; }

 private:
  /// Reads `w` until no set is writing the result: true if the future is
  /// still pending (`w` then holds the word), false if it is done. A claim
  /// lasts as long as the value's construction, so this waits briefly.
  bool await_unclaimed(std::uint64_t& w) const noexcept {
    for (unsigned looks = 0;;) {
      if ((w & k_done) != 0) return false;
      if ((w & k_started) == 0) return true;
      wait_pause(looks);
      w = word_.load(std::memory_order_acquire);
    }
  }

  bool claim() noexcept {
    std::uint64_t w = word_.load(std::memory_order_acquire);
    for (;;) {
      if (!await_unclaimed(w)) return false;
      // acquire: nothing to publish yet; the value is written after this.
      if (word_.compare_exchange_weak(w, w | k_started, std::memory_order_acquire,
                                      std::memory_order_acquire)) {
        return true;
      }
    }
  }
  void unclaim() noexcept { word_.fetch_and(~k_started, std::memory_order_release); }

  void publish(std::uint64_t outcome) noexcept {
    // release: pairs with the acquire in load(); publishes the result.
    word_.fetch_or(k_done | outcome, std::memory_order_release);
    waiters_.close_and_wake_all();
  }

  // Written by the claimant (set/fail) and by cancel's CAS; read by all.
  atomic<std::uint64_t> word_{0};
  atomic<std::uint32_t> refs_{1};
  // Written by set_exception() before publish(); read after done.
  std::exception_ptr error_;
  // Awaiting tasks, blocked threads and done callbacks (waiter_list.hpp).
  waiter_list waiters_;
};

}  // namespace weft::detail
