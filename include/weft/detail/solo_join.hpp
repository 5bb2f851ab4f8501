#pragma once
// One child run under a join, optionally with a timer that cancels it
// (reason timeout): the awaiter of weft::timeout and weft::uncancellable.

#include <chrono>
#include <optional>
#include <string>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/join.hpp>
#include <weft/detail/region_root.hpp>
#include <weft/detail/timer.hpp>

namespace weft::detail {

/// Cancels a task (reason timeout) when its time comes.
class timeout_entry final : public timer_entry {
 public:
  task_state* child = nullptr;
  void fire() noexcept override {
    child->request_cancel(cancel_kind::timeout, {});
    mark_fired();  // last touch: remove() waits for it
  }
};

inline std::chrono::steady_clock::time_point deadline_after(
    std::chrono::steady_clock::duration d) noexcept {
  auto now = std::chrono::steady_clock::now();
  if (d > std::chrono::steady_clock::time_point::max() - now) {
    return std::chrono::steady_clock::time_point::max();
  }
  return now + d;
}

/// The child's frame is owned here and destroyed in await_resume.
template <class T>
struct solo_join_awaiter : join_base {
  struct options {
    std::optional<std::chrono::steady_clock::duration> limit;  // cancel after this long
    bool shares_cancel;  // the parent's cancel reaches the child (timeout)
    bool immune;         // the child ignores shutdown (uncancellable)
    bool drops = false;  // the child starts a drop_on_cancel region
  };

  solo_join_awaiter(task_state* root, task<T>& t, options o, const char* what)
      : join_base(mode::all, root), frame(access::release(t, what)), slot(&frame.promise()) {
    children_ = &slot;
    count_ = 1;
    // A timed-out child still starts; a region cancelled first never runs.
    child_policy_ = o.drops ? unstarted_cancel::skip_body : unstarted_cancel::run_body;
    shares_cancel_ = o.shares_cancel;
    immune_children_ = o.immune;
    drop_children_on_cancel_ = o.drops;
    if (o.limit) {
      has_timer = true;
      expired_at_start = *o.limit <= std::chrono::steady_clock::duration::zero();
      child_deadline_ = deadline_after(*o.limit);
      timer.when = child_deadline_;
      limit = *o.limit;
    }
  }

  bool await_ready() { return ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
    return start(parent);
  }

  void before_start() noexcept override {
    if (!has_timer) return;
    task_state& child = frame.promise().state_;
    timer.child = &child;
    if (expired_at_start) {
      child.request_cancel(cancel_kind::timeout, {});
    } else {
      // Never refused: a timeout entry does not fire on shutdown.
      static_cast<void>(root_->sched_->add_timer(timer));
    }
  }

  void before_drop() noexcept override { disarm_timer(); }
  void disarm_timer() noexcept {
    if (has_timer && !expired_at_start) root_->sched_->remove_timer(timer);
  }

  T await_resume() {
    leave();
    disarm_timer();
    struct destroy_on_exit {
      typename promise<T>::handle_type f;
      ~destroy_on_exit() { f.destroy(); }
    } guard{frame};
    // The outcome from the promise: a child that never started (the parent
    // was cancelled first) has no task_state; it reads as succeeded here
    // and the parent's cancellation is thrown below.
    const std::uint64_t outcome = frame.promise().end_.outcome;
    if (outcome == k_failed) rethrow_child(frame.promise().state_);
    if (shares_cancel_) throw_if_parent_cancelled();
    if (outcome == k_succeeded) return frame.promise().take_value();
    task_state& child = frame.promise().state_;
    const std::uint64_t word = child.load();
    if (has_timer && (word & k_cancel_requested) != 0 &&
        task_state::reason_in(word).kind == cancel_kind::timeout) {
      throw timeout_error(
          "the task did not finish within " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()) +
          " ms and ended cancelled (weft::timeout); give it more time or handle "
          "weft::timeout_error");
    }
    rethrow_child(child);
  }

  typename promise<T>::handle_type frame;
  promise_base* slot;
  timeout_entry timer;
  std::chrono::steady_clock::duration limit{};
  bool has_timer = false;
  bool expired_at_start = false;
};

/// `co_await weft::timeout(limit, child)` and `co_await
/// weft::uncancellable(child[, grace])` are solo joins that differ in their
/// options: a timeout's timer cancels the child and the parent's cancel
/// reaches it; an uncancellable child ignores both the parent's cancel and
/// the scheduler's shutdown, with the grace, if any, as its timer.
template <class T>
struct awaitable_traits<timeout_awaitable<T>> {
  static solo_join_awaiter<T> transform(task_state* root, timeout_awaitable<T>& a) {
    return solo_join_awaiter<T>(root, a.child, {a.limit, true, false}, "weft::timeout");
  }
  static solo_join_awaiter<T> transform(task_state* root, timeout_awaitable<T>&& a) {
    return transform(root, a);
  }
};

/// `co_await weft::drop_on_cancel(child)`: a solo join whose child starts
/// a drop_on_cancel region (drop.hpp); the parent's cancel reaches it.
template <class T>
struct awaitable_traits<drop_on_cancel_awaitable<T>> {
  static solo_join_awaiter<T> transform(task_state* root, drop_on_cancel_awaitable<T>& a) {
    a.child = region_root(std::move(a.child), "weft::drop_on_cancel");
    return solo_join_awaiter<T>(root, a.child, {std::nullopt, true, false, true},
                                "weft::drop_on_cancel");
  }
  static solo_join_awaiter<T> transform(task_state* root, drop_on_cancel_awaitable<T>&& a) {
    return transform(root, a);
  }
};

template <class T>
struct awaitable_traits<uncancellable_awaitable<T>> {
  static solo_join_awaiter<T> transform(task_state* root, uncancellable_awaitable<T>& a) {
    return solo_join_awaiter<T>(root, a.child, {a.grace, false, true}, "weft::uncancellable");
  }
  static solo_join_awaiter<T> transform(task_state* root, uncancellable_awaitable<T>&& a) {
    return transform(root, a);
  }
};

}  // namespace weft::detail
