#pragma once
/// \file
/// weft::this_task: the running task's view of its own cancellation, for
/// compute loops that do not suspend.

#include <chrono>
#include <optional>

#include <weft/detail/current_task.hpp>

namespace weft::this_task {

/// True if the running task's cancellation was requested (or its scheduler
/// is shutting down). No suspension; an atomic load. Throws
/// invalid_state_error outside a task.
inline bool cancellation_requested() {
  return weft::detail::current_task("this_task::cancellation_requested()").cancellation_point();
}

/// Throws cancelled_error (with the request's reason) if the running task's
/// cancellation was requested. Throws invalid_state_error outside a task.
inline void throw_if_cancelled() {
  weft::detail::task_state& self = weft::detail::current_task("this_task::throw_if_cancelled()");
  if (self.cancellation_point()) self.throw_cancelled();
}

/// The earliest deadline of the weft::timeout calls enclosing the running
/// task (empty when there is none), so code can skip work that cannot
/// finish in time. Throws invalid_state_error outside a task.
inline std::optional<std::chrono::steady_clock::time_point> deadline() {
  weft::detail::task_state& self = weft::detail::current_task("this_task::deadline()");
  if (self.deadline_ == std::chrono::steady_clock::time_point::max()) return std::nullopt;
  return self.deadline_;
}

}  // namespace weft::this_task
