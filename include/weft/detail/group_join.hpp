#pragma once
// `co_await group.join()`: the owner waits for every child of its task_group.

#include <coroutine>
#include <exception>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/group_core.hpp>
#include <weft/detail/promise.hpp>

namespace weft::detail {

struct group_join_awaiter {
  group_core* core;
  task_state* root;

  // Always suspends through await_suspend: even a cancelled owner waits.
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> joiner) {
    root->arm_cancel_target(core, wait_kind::group);
    // After arming (Dekker pair with request_cancel): a cancel recorded
    // before reaches the children here.
    if (root->cancellation_point()) core->on_cancel(task_state::reason_in(root->load()));
    if (core->begin_join(joiner, root->sched_)) return true;
    root->disarm_cancel_target();
    return false;
  }
  void await_resume() {
    enter(root);
    root->disarm_cancel_target();
    core->end_join();
    if (root->cancellation_point()) root->throw_cancelled();
    if (core->failed()) std::rethrow_exception(core->first_failure());
  }
};

template <>
struct awaitable_traits<task_group_join> {
  static group_join_awaiter transform(task_state* root, task_group_join j) {
    if (root == nullptr) {
      throw invalid_state_error(
          "co_await task_group::join() outside a task running on a weft scheduler; join "
          "inside the task that owns the group");
    }
    return {&access::core(*j.group), root};
  }
};

}  // namespace weft::detail
