#pragma once
/// \file
/// Why a task was cancelled: the typed reason carried by every cancellation.

#include <cstdint>
#include <string>
#include <string_view>

namespace weft {

/// How a task came to be cancelled.
enum class cancel_kind : std::uint8_t {
  user,              ///< a direct task_handle::cancel()
  timeout,           ///< the child of an expired timeout
  sibling_failed,    ///< a sibling in a group failed
  parent_cancelled,  ///< the task awaiting this one was cancelled
  shutdown,          ///< the scheduler is being destroyed
};

/// Readable name of a cancel_kind ("user", "timeout", ...).
constexpr std::string_view to_string(cancel_kind kind) noexcept {
  switch (kind) {
    case cancel_kind::user: return "user";
    case cancel_kind::timeout: return "timeout";
    case cancel_kind::sibling_failed: return "sibling_failed";
    case cancel_kind::parent_cancelled: return "parent_cancelled";
    case cancel_kind::shutdown: return "shutdown";
  }
  return "unknown";
}

/// The reason of a cancellation request. `message` is the message of the
/// request at the root of a chain of propagated cancellations.
struct cancel_reason {
  cancel_kind kind = cancel_kind::user;  ///< who or what asked for the cancellation
  std::string message;                   ///< the root request's message (may be empty)

  /// Equal when both the kind and the message are.
  friend bool operator==(const cancel_reason&, const cancel_reason&) = default;
};

}  // namespace weft
