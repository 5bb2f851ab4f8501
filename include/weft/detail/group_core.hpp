#pragma once
// The shared part of a weft::task_group: its children, the count of those
// still running, the first failure and the joiner. Reference-counted: the
// task_group holds one reference and every unfinished child one (through
// its waiter node), so a group destroyed without join() leaves nothing
// dangling behind the children it cancelled.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/exception_text.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/spawn.hpp>
#include <weft/detail/task_state.hpp>

namespace weft::detail {

class group_core final : public cancel_target {
 public:
  group_core() = default;
  group_core(const group_core&) = delete;
  group_core& operator=(const group_core&) = delete;

  ~group_core() {
    for (member& m : members_) m.child->release();
  }

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    // acq_rel: the last owner sees every member's writes before freeing.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  /// Adds a spawned child (its reference is added here). If the group has
  /// already failed, the child is cancelled at once (sibling_failed).
  void attach(task_state& child) {
    member* m;
    bool already_failed;
    bool cancelled;
    {
      // Under the lock with the failure's snapshot in child_finished():
      // either that snapshot has this child, or this sees the failure.
      std::lock_guard lock(mutex_);
      m = &members_.emplace_back();
      m->core = this;
      m->child = &child;
      child.add_ref();
      already_failed = failed_.load(std::memory_order_relaxed);
      cancelled = cancelled_;
    }
    add_ref();  // the member node's
    // Counted before registering, so the count cannot reach zero early.
    pending_.fetch_add(1, std::memory_order_relaxed);
    if (already_failed) {
      child.request_cancel(cancel_kind::sibling_failed, failure_message_);
    } else if (cancelled) {
      child.request_cancel(cancel_kind::parent_cancelled, cancel_message_);
    }
    if (!child.add_waiter(m)) child_finished(*m);  // already done
  }

  /// The owner was cancelled while joining: so is every child.
  void on_cancel(const cancel_reason& reason) noexcept override {
    std::vector<task_state*> targets;
    {
      std::lock_guard lock(mutex_);
      if (!cancelled_) {
        cancelled_ = true;
        cancel_message_ = reason.message;  // written once, under the lock
      }
      targets = snapshot(nullptr);
    }
    cancel(targets, cancel_kind::parent_cancelled, cancel_message_);
  }

  /// join(): false if every child has ended (do not suspend); else the
  /// joiner is resumed on `sched` when the last one ends.
  bool begin_join(std::coroutine_handle<> joiner, scheduler_base* sched) noexcept {
    joiner_ = joiner;
    joiner_sched_ = sched;
    // acq_rel: publishes joiner_ to the child that ends last; sees the
    // children's results if none is left.
    std::uint32_t old = pending_.fetch_or(k_joining, std::memory_order_acq_rel);
    if ((old & k_count_mask) != 0) return true;
    pending_.fetch_and(~k_joining, std::memory_order_relaxed);
    return false;
  }
  void end_join() noexcept {
    pending_.fetch_and(~k_joining, std::memory_order_acq_rel);
    unjoined_.store(0, std::memory_order_relaxed);
  }

  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
  std::exception_ptr first_failure() const noexcept { return first_failure_; }

  /// ~task_group(): cancels the children still running (a group destroyed
  /// without join(), reported on stderr in debug builds), then drops the
  /// owner's reference.
  void owner_destroyed() noexcept {
    std::size_t running = pending_.load(std::memory_order_acquire) & k_count_mask;
    if (running != 0) {
      cancel_all(cancel_kind::parent_cancelled, "task_group destroyed without join()");
    }
#ifndef NDEBUG
    if (unjoined() != 0) {
      std::fprintf(stderr,
                   "weft: task_group destroyed without join() (%zu children still running were "
                   "cancelled); co_await group.join() before the group goes out of scope\n",
                   running);
    }
#endif
    release();
  }
  std::size_t unjoined() const noexcept { return unjoined_.load(std::memory_order_relaxed); }
  void note_spawn() noexcept { unjoined_.fetch_add(1, std::memory_order_relaxed); }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return members_.size();
  }

 private:
  static constexpr std::uint32_t k_joining = 1u << 31;
  static constexpr std::uint32_t k_count_mask = k_joining - 1;

  // A child's waiter node; lives in members_ (a deque: stable addresses).
  struct member : waiter {
    member() { wake = &on_child_end; }
    group_core* core = nullptr;
    task_state* child = nullptr;
  };

  static void on_child_end(waiter* w) noexcept {
    auto* m = static_cast<member*>(w);
    m->core->child_finished(*m);
  }

  void child_finished(member& m) noexcept {
    task_state& child = *m.child;
    if ((child.load() & k_outcome_mask) == k_failed) {
      std::vector<task_state*> siblings;
      bool first = false;
      {
        std::lock_guard lock(mutex_);
        if (!failed_.load(std::memory_order_relaxed)) {
          first = true;
          first_failure_ = child.error();
          failure_message_ = with_cause("a sibling in the task_group failed", child.error());
          // release: pairs with the acquire in failed().
          failed_.store(true, std::memory_order_release);
          siblings = snapshot(&child);
        }
      }
      // Outside the lock: failure_message_ is written once, above.
      if (first) cancel(siblings, cancel_kind::sibling_failed, failure_message_);
    }
    // acq_rel: the joiner, resumed by the last child, sees every result
    // and first_failure_.
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == (k_joining | 1)) {
      schedule(joiner_sched_, as_work(joiner_), joiner_node_);
    }
    release();  // the member node's reference
  }

  // Under mutex_: the children but `except`, each with a reference.
  std::vector<task_state*> snapshot(const task_state* except) {
    std::vector<task_state*> targets;
    targets.reserve(members_.size());
    for (member& m : members_) {
      if (m.child != except) {
        m.child->add_ref();
        targets.push_back(m.child);
      }
    }
    return targets;
  }

  // Outside the lock: a cancel may end a child at once, whose callbacks may
  // reach back into this group.
  static void cancel(const std::vector<task_state*>& targets, cancel_kind kind,
                     const std::string& message) noexcept {
    for (task_state* t : targets) {
      t->request_cancel(kind, message);
      t->release();
    }
  }

  void cancel_all(cancel_kind kind, const std::string& message) noexcept {
    std::vector<task_state*> targets;
    {
      std::lock_guard lock(mutex_);
      targets = snapshot(nullptr);
    }
    cancel(targets, kind, message);
  }

  std::atomic<std::uint32_t> refs_{1};  // the task_group's
  mutable std::mutex mutex_;            // guards members_ (and nothing on a hot path)
  std::deque<member> members_;
  // Bits 0-30: children not yet ended. Bit 31: a joiner is waiting.
  std::atomic<std::uint32_t> pending_{0};
  // Set once, under mutex_, by the first child that fails, after it wrote
  // first_failure_ and failure_message_ (never written again).
  std::atomic<bool> failed_{false};
  std::exception_ptr first_failure_;
  std::string failure_message_;
  // Under mutex_: the owner was cancelled; later children are cancelled too.
  bool cancelled_ = false;
  std::string cancel_message_;
  std::coroutine_handle<> joiner_;
  scheduler_base* joiner_sched_ = nullptr;
  work_node joiner_node_;
  // Spawns since the last join; spawn() may run on the owner and on
  // children at once, hence atomic (a count only: relaxed).
  std::atomic<std::size_t> unjoined_{0};
};

/// task_group::spawn: spawns `t` on the current task's scheduler as a
/// child of `core`.
template <class T>
task_handle<T> spawn_into_group(group_core& core, task<T>&& t) {
  task_handle<T> handle = spawn_task(current_scheduler("weft::spawn()"), std::move(t), {});
  core.note_spawn();
  core.attach(access::promise_of(handle)->state_);
  return handle;
}

}  // namespace weft::detail
