#pragma once
// The tasks a scheduler can name: the live spawned tasks behind dump()
// (with scheduler_options::track_tasks), and the roots waiting on what no
// worker of this scheduler drives (a task of another scheduler, a future, a
// semaphore, ...), which shutdown must cancel itself. Both under mutexes: nothing
// here is on a hot path.

#include <mutex>
#include <ostream>
#include <unordered_set>

#include <weft/detail/task_state.hpp>

namespace weft::detail {

class task_registry {
 public:
  /// A spawned task, until forget(). Any thread.
  void track(task_state* task);
  void forget(task_state* task) noexcept;
  /// One line per live task: id, name, state, its cancellation. `running`:
  /// the tasks on a worker now (a racy but safe snapshot).
  void write(std::ostream& out, const std::unordered_set<const task_state*>& running) const;

  /// A root waiting on what this scheduler does not drive, until
  /// forget_foreign_wait(). Any thread.
  void note_foreign_wait(task_state* root);
  void forget_foreign_wait(task_state* root) noexcept;
  /// Shutdown: requests the cancellation (reason shutdown) of every root
  /// registered by note_foreign_wait(), except shutdown-immune cleanup.
  void cancel_foreign_waits() noexcept;

 private:
  mutable std::mutex tracked_mutex_;
  std::unordered_set<task_state*> tracked_;  // under tracked_mutex_
  std::mutex foreign_mutex_;
  // A multiset: erased in O(1) when 10,000 tasks wait on one event.
  std::unordered_multiset<task_state*> foreign_waits_;  // under foreign_mutex_
};

}  // namespace weft::detail
