#pragma once
// The task whose body runs on this thread, for weft::this_task.

#include <string>

#include <weft/errors.hpp>
#include <weft/detail/runtime.hpp>
#include <weft/detail/task_state.hpp>

namespace weft::detail {
/// The task whose body runs on this thread, or nullptr on a thread that is
/// not running one.
inline task_state* running_task_or_null() noexcept {
  worker_context* w = tls_worker;
  return w != nullptr ? w->current_task() : nullptr;
}

/// The task whose body runs on this thread; throws outside one.
inline task_state& current_task(const char* what) {
  task_state* current = running_task_or_null();
  if (current == nullptr) {
    throw invalid_state_error(std::string(what) +
                              " called outside a weft task; call it from the body of a task "
                              "running on a scheduler");
  }
  return *current;
}
}  // namespace weft::detail
