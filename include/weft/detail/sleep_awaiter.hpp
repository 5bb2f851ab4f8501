#pragma once
// `co_await weft::sleep_until(t)`: the sleeper's timer entry (fired by the
// scheduler's timer thread) doubles as its cancel target.

#include <chrono>
#include <coroutine>

#include <weft/errors.hpp>
#include <weft/detail/drop.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/promise.hpp>
#include <weft/detail/timer.hpp>

namespace weft::detail {

/// A sleeping coroutine's timer and cancel target, in its frame.
class sleep_entry final : public timer_entry, public cancel_target {
 public:
  std::coroutine_handle<> handle;
  task_state* root = nullptr;
  work_node node;

  void fire() noexcept override {
    scheduler_base* sched = root->sched_;
    std::coroutine_handle<> h = handle;
    // The coroutine stays suspended until `node` is consumed, so the node
    // may be used after mark_fired().
    // Read before mark_fired(), like the handle (`root` is in the frame).
    const work_item item = resume_item(root, h);
    mark_fired();
    schedule(sched, item, node);
  }
  bool fire_on_shutdown() const noexcept override { return !root->shutdown_immune_; }

  /// The sleeper was cancelled: wake it now unless the timer got there
  /// first (in a drop_on_cancel region the worker drops it instead).
  void on_cancel(const cancel_reason&) noexcept override {
    if (root->sched_->remove_timer(*this)) schedule(root->sched_, resume_item(root, handle), node);
  }
};

struct sleep_awaiter {
  sleep_awaiter(task_state* r, std::chrono::steady_clock::time_point when) noexcept : root(r) {
    entry.when = when;
  }
  task_state* root;
  sleep_entry entry;
  bool drop = false;  // a cancel seen in a drop_on_cancel region

  bool await_ready() {
    if (root == nullptr) {
      throw invalid_state_error(
          "co_await weft::sleep_for/sleep_until outside a task running on a weft scheduler; "
          "sleep only inside a spawned task");
    }
    if (cancel_before_suspending(*root, drop)) return true;
    return !drop && entry.when <= std::chrono::steady_clock::now();
  }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> self) {
    if (drop) return transfer_to(drop_frame(self.promise()));
    entry.handle = self;
    entry.root = root;
    root->arm_cancel_target(&entry, wait_kind::sleep);
    // After arming (Dekker pair with request_cancel): a cancel from here on
    // reaches on_cancel(), which removes the entry, and add() refuses it.
    if (root->cancellation_point() || !root->sched_->add_timer(entry)) {
      root->disarm_cancel_target();
      root->sched_->remove_timer(entry);
      if (root->drops_on_cancel_ && root->cancellation_point()) {
        return transfer_to(drop_frame(self.promise()));
      }
      return self;  // resume at once: await_resume throws the cancel
    }
    return std::noop_coroutine();  // the timer thread or a canceller resumes us
  }
  void await_resume() {
    enter(root);
    root->disarm_cancel_target();
    throw_if_cancelled_after_resuming(*root);
  }
};

template <>
struct awaitable_traits<sleep_awaitable> {
  static sleep_awaiter transform(task_state* root, sleep_awaitable s) noexcept {
    return sleep_awaiter(root, s.when);
  }
};

}  // namespace weft::detail
