#pragma once
/// \file
/// weft::task_group: structured concurrency (asyncio.TaskGroup).

#include <coroutine>
#include <cstdio>
#include <utility>

#include <weft/errors.hpp>
#include <weft/scheduler.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>
#include <weft/detail/group_core.hpp>
#include <weft/detail/promise.hpp>

namespace weft {

class task_group;

/// The operand of `co_await group.join()`.
struct task_group_join {
  task_group* group;  ///< the group joined
};

/// A set of child tasks that are awaited together.
///
///   weft::task_group g;
///   for (auto& u : urls) g.spawn(fetch(u));  // returns task_handle<T>
///   co_await g.join();
///
/// join() waits for every child. The first child failure (an exception
/// other than cancelled_error) cancels the other children (sibling_failed)
/// but not the owner's body; join() rethrows it once all have ended. A
/// child that ends cancelled is not a failure. Cancelling the owner while
/// it joins cancels every child (parent_cancelled), and join() still waits
/// for all of them before cancelled_error propagates: no child outlives the
/// join. Destroying a group with children spawned since the last join
/// cancels the unfinished ones (reported on stderr in debug builds).
///
/// Thread safety: spawn() may be called from the owner and from the
/// group's children concurrently; join() by the owner only.
class task_group {
 public:
  task_group() : core_(new detail::group_core) {}
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;

  ~task_group() {
    std::size_t running = core_->cancel_unfinished("task_group destroyed without join()");
#ifndef NDEBUG
    if (core_->unjoined() != 0) {
      std::fprintf(stderr,
                   "weft: task_group destroyed without join() (%zu children still running were "
                   "cancelled); co_await group.join() before the group goes out of scope\n",
                   running);
    }
#else
    static_cast<void>(running);
#endif
    core_->release();
  }

  /// Spawns `t` on the current task's scheduler as a child of this group.
  /// Throws invalid_state_error outside a task.
  template <class T>
  task_handle<T> spawn(task<T> t) {
    task_handle<T> handle = weft::spawn(std::move(t));
    core_->note_spawn();
    core_->attach(handle.promise_ptr()->state_);
    return handle;
  }

  /// `co_await group.join()`: waits until every child has ended; rethrows
  /// the first failure, or throws cancelled_error if the owner was
  /// cancelled (in that case children's failures stay on their handles).
  task_group_join join() noexcept { return {this}; }

  /// Children spawned so far.
  std::size_t size() const { return core_->size(); }

  /// Internal (the join awaiter): the group's shared state.
  detail::group_core& core() noexcept { return *core_; }

 private:
  detail::group_core* core_;
};

namespace detail {

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
    return {&j.group->core(), root};
  }
};

}  // namespace detail
}  // namespace weft
