// The task registry (task_registry.hpp), the scheduler's entry points to
// it, and the process-wide task ids.

#include "task_registry.hpp"

#include <atomic>

#include <weft/detail/runtime.hpp>

namespace weft::detail {

std::uint64_t next_task_id() noexcept {
  // Handed out in blocks so that threads rarely share the counter's line.
  static std::atomic<std::uint64_t> next_block{0};
  constexpr std::uint64_t k_block = 1024;
  thread_local std::uint64_t next = 0, end = 0;
  if (next == end) {
    next = next_block.fetch_add(1, std::memory_order_relaxed) * k_block + 1;
    end = next + k_block;
  }
  return next++;
}

void task_registry::track(task_state* task) {
  std::lock_guard lock(tracked_mutex_);
  tracked_.insert(task);
}

void task_registry::forget(task_state* task) noexcept {
  std::lock_guard lock(tracked_mutex_);
  tracked_.erase(task);
}

void task_registry::write(std::ostream& out,
                          const std::unordered_set<const task_state*>& running) const {
  std::lock_guard lock(tracked_mutex_);
  out << "  " << tracked_.size() << " live tasks:\n";
  // Registered states are alive: a task leaves the registry before its run
  // reference (which keeps the frame) is dropped.
  for (task_state* t : tracked_) {
    const std::uint64_t word = t->load();
    out << "  task " << t->id();
    if (!t->name().empty()) out << " \"" << t->name() << '"';
    out << ": ";
    if ((word & k_done) != 0) {
      out << "ended (leaving the list)";  // terminal; its waiters are being woken
    } else if ((word & k_started) == 0) {
      out << "queued";
    } else if (running.count(t) != 0) {
      out << "running";
    } else {
      switch (t->waiting_on()) {
        case wait_kind::task: out << "suspended on a task"; break;
        case wait_kind::sleep: out << "suspended in sleep"; break;
        case wait_kind::join: out << "suspended in when_all/when_any/timeout"; break;
        case wait_kind::group: out << "suspended in task_group::join"; break;
        case wait_kind::shield: out << "suspended in shield"; break;
        case wait_kind::future: out << "suspended on a future"; break;
        case wait_kind::event: out << "suspended in event::wait"; break;
        case wait_kind::semaphore: out << "suspended in semaphore::acquire"; break;
        case wait_kind::mutex: out << "suspended in mutex::lock"; break;
        case wait_kind::queue_push: out << "suspended in queue::push (full)"; break;
        case wait_kind::queue_pop: out << "suspended in queue::pop (empty)"; break;
        case wait_kind::blocking_call: out << "suspended in to_thread"; break;
        case wait_kind::io: out << "suspended on an I/O operation (weft::use_task)"; break;
        case wait_kind::nothing: out << "runnable (queued to resume)"; break;
      }
    }
    if ((word & k_cancel_requested) != 0) {
      const cancel_reason& r = task_state::reason_in(word);
      out << ", cancel requested (" << to_string(r.kind);
      if (!r.message.empty()) out << ": " << r.message;
      out << ')';
    }
    out << '\n';
  }
}

void task_registry::note_foreign_wait(task_state* root) {
  std::lock_guard lock(foreign_mutex_);
  foreign_waits_.insert(root);
}

void task_registry::forget_foreign_wait(task_state* root) noexcept {
  std::lock_guard lock(foreign_mutex_);
  if (auto it = foreign_waits_.find(root); it != foreign_waits_.end()) foreign_waits_.erase(it);
}

void task_registry::cancel_foreign_waits() noexcept {
  // Under the lock: a registered root stays alive until it unregisters,
  // which it does after resuming (and the cancel below only schedules it).
  // Cleanup that shutdown does not cancel (uncancellable) is skipped here as
  // at its own suspension points: cancelling one of its children would end
  // that child while a sibling may wait for what it was about to do.
  std::lock_guard lock(foreign_mutex_);
  for (task_state* root : foreign_waits_) {
    if (!root->shutdown_immune_) root->request_cancel(cancel_kind::shutdown, {});
  }
}

void scheduler_base::track(task_state* task) { registry_->track(task); }

void scheduler_base::note_foreign_wait(task_state* root) { registry_->note_foreign_wait(root); }

void scheduler_base::forget_foreign_wait(task_state* root) noexcept {
  registry_->forget_foreign_wait(root);
}

}  // namespace weft::detail
