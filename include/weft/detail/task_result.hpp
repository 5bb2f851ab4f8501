#pragma once
// Reading the end of a spawned task or a future once it is done: its
// value, its exception, its cancel reason. Shared by task_handle's and
// future's queries and by the awaiters of both (co_await, co_await
// shield(...)), so that each says the same thing, with the name of the call
// that asked.

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <weft/cancel_reason.hpp>
#include <weft/errors.hpp>
#include <weft/detail/promise.hpp>
#include <weft/detail/task_state.hpp>

namespace weft::detail {

inline bool word_is_cancelled(std::uint64_t word) noexcept {
  return (word & k_outcome_mask) == k_cancelled;
}

/// The state word of a task (or future) that is done; throws
/// invalid_state_error naming `what` if it is not. `State` is task_state or
/// future_state<T>: each says what to do instead (State::k_pending_hint).
template <class State>
std::uint64_t checked_done_word(const State& state, const char* what) {
  std::uint64_t word = state.load();
  if ((word & k_done) == 0) throw invalid_state_error(std::string(what) + State::k_pending_hint);
  return word;
}

/// The cancelled_error of an end that is cancelled: the one that escaped
/// the task's body (it carries its own reason), else one with the reason of
/// the first request.
template <class State>
[[noreturn]] void throw_cancelled(const State& state, std::uint64_t word) {
  if (state.error()) std::rethrow_exception(state.error());
  throw cancelled_error(record_of(word)->reason);
}

/// The value in `slot` once `state` is done; rethrows its failure or
/// cancellation. A move-only value is moved out: a second call throws
/// invalid_state_error.
template <class T, class State>
T take_value(State& state, result_slot<T>& slot, const char* what) {
  std::uint64_t word = checked_done_word(state, what);
  if (word_is_cancelled(word)) throw_cancelled(state, word);
  if ((word & k_outcome_mask) == k_failed) std::rethrow_exception(state.error());
  if constexpr (std::is_void_v<T>) {
    return;
  } else if constexpr (std::is_copy_constructible_v<T>) {
    return *slot.value_;
  } else {
    state.mark_result_taken(what);
    return std::move(*slot.value_);
  }
}

/// A spawned task's value once it is done (as take_value).
template <class T>
T take_result(promise<T>& p, const char* what) {
  return take_value<T>(p.state_, p, what);
}

/// exception(): null if it succeeded, its failure if it failed; throws if
/// it was cancelled or is not done.
template <class State>
std::exception_ptr exception_of(const State& state) {
  std::uint64_t word = checked_done_word(state, "exception()");
  if (word_is_cancelled(word)) throw_cancelled(state, word);
  if ((word & k_outcome_mask) == k_failed) return state.error();
  return nullptr;
}

/// cancel_reason(): the first request's reason; for an end that is
/// cancelled without one, the reason its cancelled_error carries; nullopt
/// otherwise.
template <class State>
std::optional<cancel_reason> cancel_reason_of(const State& state) {
  std::uint64_t word = state.load();
  if ((word & k_cancel_requested) != 0) return record_of(word)->reason;
  if (word_is_cancelled(word) && state.error()) {
    try {
      std::rethrow_exception(state.error());
    } catch (const cancelled_error& e) {
      return e.reason();
    }
  }
  return std::nullopt;
}

/// Throws invalid_state_error if the calling thread is a weft worker,
/// where blocking would deadlock the pool. `what` is the blocking call,
/// `instead` what to do there.
inline void refuse_blocking_on_worker(const char* what, const char* instead) {
  if (tls_worker != nullptr) {
    throw invalid_state_error(std::string(what) +
                              " called on a weft worker thread, where blocking would deadlock "
                              "the pool; " +
                              instead);
  }
}

/// The error of querying an empty task_handle.
[[noreturn, gnu::cold]] inline void throw_empty_handle() {
  throw invalid_state_error(
      "empty weft::task_handle (default-constructed or moved from); use the handle returned "
      "by spawn()");
}

}  // namespace weft::detail
