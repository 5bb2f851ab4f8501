#pragma once
/// \file
/// weft::shield: await a task without passing the caller's cancellation on.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <utility>

#include <weft/errors.hpp>
#include <weft/scheduler.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>
#include <weft/detail/promise.hpp>

namespace weft {

/// The operand of `co_await weft::shield(...)`.
template <class T>
struct shield_awaitable {
  task_handle<T> handle;
};

/// `co_await weft::shield(handle)` inside a task: waits for the task and
/// returns its result (or rethrows), like `co_await handle`, except that
/// cancelling the caller does not cancel the shielded task: the caller gets
/// cancelled_error at once and the task goes on (asyncio.shield).
template <class T>
shield_awaitable<T> shield(task_handle<T> handle) {
  return {std::move(handle)};
}

/// As above for a task: spawns it on the current scheduler first. Throws
/// invalid_state_error outside a task.
template <class T>
shield_awaitable<T> shield(task<T> t) {
  return {weft::spawn(std::move(t))};
}

namespace detail {

/// The shielded awaiter's wake-up, shared by the task's waiter list and the
/// awaiter (whichever comes first resumes it; the last owner frees it).
class shield_node final : public waiter, public cancel_target {
 public:
  shield_node(std::coroutine_handle<> h, scheduler_base* s) noexcept : handle_(h), sched_(s) {
    wake = &wake_from_task;
  }

  /// The caller was cancelled: resume it now; the task goes on.
  void on_cancel(const cancel_reason&) noexcept override { resume_once(); }

  void release() noexcept {
    // acq_rel: the last owner sees the other's use of the node.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 private:
  static void wake_from_task(waiter* w) noexcept {
    auto* self = static_cast<shield_node*>(w);
    self->resume_once();
    self->release();  // the waiter list's reference
  }
  void resume_once() noexcept {
    // acq_rel: exactly one of the task's end and the cancel resumes.
    if (!resumed_.exchange(true, std::memory_order_acq_rel)) {
      schedule(sched_, as_work(handle_), node_);
    }
  }

  std::coroutine_handle<> handle_;
  scheduler_base* sched_;
  work_node node_;
  std::atomic<std::uint32_t> refs_{2};  // the waiter list and the awaiter
  std::atomic<bool> resumed_{false};
};

/// Trivially destructible (see task_awaiter); the handle's reference was
/// moved in and is released in await_resume.
template <class T>
struct shield_awaiter {
  promise<T>* target;
  task_state* root;
  shield_node* node = nullptr;
  bool foreign = false;  // registered with note_foreign_wait()

  bool await_ready() const {
    return target->state_.done() || root->cancellation_point();
  }
  bool await_suspend(std::coroutine_handle<> awaiting) {
    node = new shield_node(awaiting, root->sched_);
    // Shutdown of our scheduler would not reach a task of another one.
    foreign = target->state_.sched_ != root->sched_;
    if (foreign) root->sched_->note_foreign_wait(root);
    root->arm_cancel_target(node);
    // After arming (Dekker pair with request_cancel).
    if (root->cancellation_point() || !target->state_.add_waiter(node)) {
      root->disarm_cancel_target();
      if (foreign) root->sched_->forget_foreign_wait(root);
      foreign = false;
      delete node;
      node = nullptr;
      return false;
    }
    return true;  // the node may resume us from here on
  }
  T await_resume() {
    enter(root);
    root->disarm_cancel_target();
    if (foreign) root->sched_->forget_foreign_wait(root);
    if (node != nullptr) node->release();
    struct release_on_exit {
      promise<T>* p;
      ~release_on_exit() { p->state_.release(); }
    } guard{target};
    if (root->cancellation_point()) root->throw_cancelled();
    return task_handle<T>::take_result(*target, "co_await weft::shield");
  }
};

template <class T>
struct awaitable_traits<shield_awaitable<T>> {
  static shield_awaiter<T> transform(task_state* root, shield_awaitable<T>& a) {
    if (root == nullptr) {
      throw invalid_state_error(
          "co_await weft::shield outside a task running on a weft scheduler; use wait() from "
          "a plain thread");
    }
    promise<T>* p = awaitable_traits<task_handle<T>>::detach(a.handle);
    if (p == nullptr) {
      throw invalid_state_error(
          "weft::shield of an empty task_handle; shield the handle returned by spawn()");
    }
    return shield_awaiter<T>{p, root};
  }
  static shield_awaiter<T> transform(task_state* root, shield_awaitable<T>&& a) {
    return transform(root, a);
  }
};

}  // namespace detail
}  // namespace weft
