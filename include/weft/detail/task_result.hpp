#pragma once
// Reading a spawned task's end once it is done: its value, its exception,
// its cancel reason. Shared by task_handle's queries and by the awaiters of
// a handle (co_await handle, co_await shield(handle)), so that each says
// the same thing, with the name of the call that asked.

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

/// The state word of a task that is done; throws invalid_state_error
/// naming `what` if it is not.
inline std::uint64_t checked_done_word(const task_state& state, const char* what) {
  std::uint64_t word = state.load();
  if ((word & k_done) == 0) {
    throw invalid_state_error(std::string(what) +
                              " called before the task is done; co_await the handle or "
                              "call wait() first");
  }
  return word;
}

/// The cancelled_error of a task that ended cancelled: the one that
/// escaped its body (it carries its own reason), else one with the reason
/// of the first request.
[[noreturn]] inline void throw_cancelled(const task_state& state, std::uint64_t word) {
  if (state.error()) std::rethrow_exception(state.error());
  throw cancelled_error(task_state::reason_in(word));
}

/// The task's value once it is done; rethrows its failure or cancellation.
/// A move-only value is moved out: a second call throws invalid_state_error.
template <class T>
T take_result(promise<T>& p, const char* what) {
  std::uint64_t word = checked_done_word(p.state_, what);
  if (word_is_cancelled(word)) throw_cancelled(p.state_, word);
  if ((word & k_outcome_mask) == k_failed) std::rethrow_exception(p.state_.error());
  if constexpr (std::is_void_v<T>) {
    return;
  } else if constexpr (std::is_copy_constructible_v<T>) {
    return *p.value_;
  } else {
    p.state_.mark_result_taken(what);
    return std::move(*p.value_);
  }
}

/// task_handle::exception(): null if the task succeeded, its failure if it
/// failed; throws if it was cancelled or is not done.
inline std::exception_ptr exception_of(const task_state& state) {
  std::uint64_t word = checked_done_word(state, "exception()");
  if (word_is_cancelled(word)) throw_cancelled(state, word);
  if ((word & k_outcome_mask) == k_failed) return state.error();
  return nullptr;
}

/// task_handle::cancel_reason(): the first request's reason; for a task
/// that ended cancelled without one, the reason its cancelled_error
/// carries; nullopt otherwise.
inline std::optional<cancel_reason> cancel_reason_of(const task_state& state) {
  std::uint64_t word = state.load();
  if ((word & k_cancel_requested) != 0) return task_state::reason_in(word);
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
