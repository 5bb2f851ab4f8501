#pragma once
/// \file
/// weft's exception types. Every one derives from weft::error, and its
/// message says what went wrong and what to do instead.

#include <stdexcept>
#include <string>

#include <weft/cancel_reason.hpp>

namespace weft {

/// Base of every exception weft throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Thrown at a suspension point of a task whose cancellation was requested,
/// and by result()/exception() of a task that ended cancelled.
class cancelled_error : public error {
 public:
  /// An error carrying `reason`; what() describes it.
  explicit cancelled_error(cancel_reason reason)
      : error(describe(reason)), reason_(std::move(reason)) {}

  /// The reason of the cancellation: its kind and the root request's message.
  const cancel_reason& reason() const noexcept { return reason_; }

 private:
  static std::string describe(const cancel_reason& reason) {
    std::string text = "task cancelled (";
    text += to_string(reason.kind);
    text += ")";
    if (!reason.message.empty()) {
      text += ": ";
      text += reason.message;
    }
    return text;
  }

  cancel_reason reason_;
};

/// An operation was called in a state where it cannot work (result() before
/// the task is done, wait() on a worker thread, ...). The message names the fix.
class invalid_state_error : public error {
 public:
  using error::error;
};

/// A configuration value is out of range (a scheduler with 0 workers, ...).
class invalid_argument_error : public error {
 public:
  using error::error;
};

/// A push to a weft::queue that was closed, or a pop from one that is
/// closed and empty.
class queue_closed_error : public error {
 public:
  using error::error;
};

/// A weft::timeout expired and its child ended cancelled.
class timeout_error : public error {
 public:
  using error::error;
};

}  // namespace weft
