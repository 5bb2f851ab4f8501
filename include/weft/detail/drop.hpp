#pragma once
// Ending cancelled frames without an exception (weft::drop_on_cancel).
//
// Inside a drop_on_cancel region (a root whose drops_on_cancel_ is set, and
// every frame awaited inline under it), a suspension point that sees the
// cancel does not throw cancelled_error: it hands its frame to drop_frame(),
// which destroys the frames of the inline chain from that frame up to the
// root's (each after the child it owns, so destructors of live locals run
// in the usual order and no catch block runs), then ends the root as
// cancelled the way its final_suspend would: a spawned root publishes and
// drops its run reference, a combinator child reports to its join. The
// root's own frame goes when its owner lets it go, as after any end.
//
// The destroying runs in a per-worker coroutine (the dropper) reached by
// symmetric transfer, so that a join whose last child was dropped can drop
// its parent in turn, and so on up, without growing the stack.

#include <coroutine>
#include <exception>
#include <utility>

#include <weft/detail/promise.hpp>
#include <weft/detail/runtime.hpp>
#include <weft/detail/task_state.hpp>

namespace weft::detail {

/// The cancellation check of an awaiter before it suspends: true if it must
/// not suspend (the cancel is requested; await_resume throws it). In a
/// drop_on_cancel region it sets `drop` instead and returns false, so that
/// await_suspend hands the frame to drop_frame().
inline bool cancel_before_suspending(task_state& root, bool& drop) {
  if (root.cancellation_point()) [[unlikely]] {
    if (!root.drops_on_cancel_) return true;
    drop = true;
  }
  return false;
}

/// Throws the root's cancel, except in a drop_on_cancel region (the caller
/// found it requested).
[[gnu::noinline, gnu::cold]] inline void throw_unless_dropping(const task_state& root) {
  if (!root.drops_on_cancel_) root.throw_cancelled();
}

/// The cancellation check of an awaiter after it resumed: throws the
/// task's cancel if it is requested, except in a drop_on_cancel region,
/// where a cancel that came after the wait ended is met at the next
/// suspension point, which can drop the frame.
inline void throw_if_cancelled_after_resuming(task_state& root) {
  if (root.cancellation_point()) [[unlikely]] throw_unless_dropping(root);
}

/// The promise of the weft task whose frame is `h`. Every promise<T>
/// begins with its promise_base and sits at the offset a promise_base
/// would (promise<T> asserts it: promise_offset), so the promise is where
/// coroutine_handle<promise_base> computes it.
inline promise_base& promise_of(std::coroutine_handle<> h) noexcept {
  return std::coroutine_handle<promise_base>::from_address(h.address()).promise();
}

/// Ends the root frame `root` as cancelled without running the rest of its
/// body; returns what to continue with.
inline std::coroutine_handle<> end_dropped(promise_base& root) noexcept {
  root.end_.outcome = k_cancelled;
  if (root.state_.join_ != nullptr) {
    const std::coroutine_handle<> parent = root.state_.finish_joined();
    return parent ? transfer_to(parent) : std::noop_coroutine();
  }
  return promise_base::final_awaiter::end_spawned(root.state_);
}

/// Destroys `p`'s frame and each frame awaiting it inline, child first, up
/// to the root's frame, then ends the root (end_dropped).
inline std::coroutine_handle<> drop_chain(promise_base* p) noexcept {
  while (p->root_ != &p->state_) {
    // An inline frame: its awaiter (a task_awaiter in the frame above,
    // trivially destructible) owns it and never destroys it, since the
    // frame above is destroyed at that await, right after this one.
    promise_base* up = &promise_of(p->continuation_);
    p->frame_.destroy();
    p = up;
  }
  return end_dropped(*p);
}

/// The dropper's body: one drop_chain per resume.
struct dropper {
  struct promise_type {
    dropper get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_always final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // nothing in it throws
  };
  struct step {
    worker_context* w;
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
      return drop_chain(std::exchange(w->drop_target, nullptr));
    }
    void await_resume() const noexcept {}
  };
  std::coroutine_handle<promise_type> frame;
};

inline dropper run_drops(worker_context* w) {
  for (;;) co_await dropper::step{w};
}

/// The frame of `p`, suspended at a point where it saw its root's cancel,
/// ends without an exception: returns the coroutine to continue with (the
/// dropper; an await_suspend returns it through transfer_to), which
/// destroys it and its inline awaiters. On a worker only. Out of line and
/// cold: inlined into every awaiter's await_suspend it would cost the
/// inline paths (register pressure in each coroutine's resume function).
[[gnu::noinline, gnu::cold]] inline std::coroutine_handle<> drop_frame(promise_base& p) noexcept {
  worker_context* w = tls_worker;
  w->drop_target = &p;
  return w->dropper;
}

/// The work item that resumes `h`, whose root is `root`: checked in a
/// drop_on_cancel region.
inline work_item resume_item(const task_state* root, std::coroutine_handle<> h) noexcept {
  return as_work(h) | (root->drops_on_cancel_ ? k_resume_checked : 0);
}

/// What the worker runs for a k_resume_checked item.
inline std::coroutine_handle<> resume_or_drop(work_item item) noexcept {
  const auto h = std::coroutine_handle<>::from_address(
      reinterpret_cast<void*>(item & ~k_resume_checked));
  promise_base& p = promise_of(h);
  task_state& root = *p.root_;
  if (!root.cancellation_point()) return h;
  enter(&root);  // destructors that ask this_task:: find it, as after a resume
  // As the awaiter's await_resume would: from here on no canceller touches
  // what the frame waited on (nothing armed after a yield: a short wait for
  // the canceller to finish passing its request on, if it has not).
  root.disarm_cancel_target();
  return drop_frame(p);
}

/// `co_await drop_if_cancelled{}` in weft's own coroutines, where they
/// would otherwise throw the task's cancelled_error: in a drop_on_cancel
/// region whose cancel is requested the frame is dropped here; elsewhere
/// nothing happens, and the caller goes on to throw.
struct drop_if_cancelled {};

struct drop_if_cancelled_awaiter {
  task_state* root;
  bool drop = false;

  bool await_ready() {
    if (root == nullptr || !root->drops_on_cancel_) return true;
    static_cast<void>(cancel_before_suspending(*root, drop));
    return !drop;
  }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> self) noexcept {
    return transfer_to(drop_frame(self.promise()));
  }
  void await_resume() const noexcept {}
};

template <>
struct awaitable_traits<drop_if_cancelled> {
  static drop_if_cancelled_awaiter transform(task_state* root, drop_if_cancelled) noexcept {
    return {root};
  }
};

}  // namespace weft::detail
