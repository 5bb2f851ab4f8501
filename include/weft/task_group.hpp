#pragma once
/// \file
/// weft::task_group: structured concurrency (asyncio.TaskGroup).

#include <cstddef>
#include <utility>

#include <weft/task.hpp>
#include <weft/task_handle.hpp>
#include <weft/detail/group_core.hpp>

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

  ~task_group() { core_->owner_destroyed(); }

  /// Spawns `t` on the current task's scheduler as a child of this group.
  /// Throws invalid_state_error outside a task.
  template <class T>
  task_handle<T> spawn(task<T> t) {
    return detail::spawn_into_group(*core_, std::move(t));
  }

  /// `co_await group.join()`: waits until every child has ended; rethrows
  /// the first failure, or throws cancelled_error if the owner was
  /// cancelled (in that case children's failures stay on their handles).
  task_group_join join() noexcept { return {this}; }

  /// Children spawned so far.
  std::size_t size() const { return core_->size(); }

 private:
  friend struct detail::access;
  detail::group_core* core_;
};

}  // namespace weft

// The join awaiter comes after task_group_join and task_group: its
// awaitable_traits specialization is not a template, so it needs both.
#include <weft/detail/group_join.hpp>
