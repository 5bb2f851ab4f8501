#pragma once
// weft::to_thread's call: a job that a scheduler's blocking threads run
// while the task that awaits it is suspended, holding no worker.
//
// The job's status, written under the blocking pool's lock:
//   fresh      armed as the task's cancel target, not submitted yet
//   queued     waiting for a blocking thread
//   running    a blocking thread runs the function
//   finished   the function returned (or threw); the thread resumes the task
//   withdrawn  a cancel took it out of (or kept it from) the queue: it never
//              runs, and the canceller resumes the task
// A cancel of a running job requests stop on its stop_source instead; the
// task resumes when the function returns, so nothing it touches is left
// running behind the task.
//
// Lifetime: the job lives in the coroutine frame of weft::to_thread, which
// stays suspended until it is resumed by the thread that finishes or
// withdraws the job; that thread touches the job no more after resume().

#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <weft/errors.hpp>
#include <weft/detail/cancel_slot.hpp>
#include <weft/detail/promise.hpp>
#include <weft/detail/runtime.hpp>
#include <weft/detail/task_state.hpp>

namespace weft::detail {

enum class job_status : std::uint8_t { fresh, queued, running, finished, withdrawn };

class blocking_job : public cancel_target {
 public:
  /// The awaiting task was cancelled: withdraw the job, or ask it to stop.
  void on_cancel(const cancel_reason&) noexcept override { sched->cancel_blocking(*this); }

  /// On a blocking thread: calls the function, keeping its result or
  /// exception for the awaiter.
  virtual void run() noexcept = 0;

  void resume() noexcept { schedule(sched, as_work(handle), node); }

  // Set by the awaiter before submitting; read-only afterwards.
  std::coroutine_handle<> handle;
  scheduler_base* sched = nullptr;
  work_node node;
  // Passed to a function that takes a std::stop_token; stop is requested
  // by a cancel while it runs.
  std::stop_source stop;
  // Under the blocking pool's lock.
  job_status status = job_status::fresh;
  blocking_job* next = nullptr;  // the pool's queue
  blocking_job* prev = nullptr;

 protected:
  ~blocking_job() = default;
};

/// A call of `fn(args...)` (or `fn(stop_token, args...)`) returning R.
template <class R, class Fn, class... Args>
class blocking_call final : public blocking_job {
 public:
  blocking_call(Fn& fn, std::tuple<Args...>& args) noexcept : fn_(fn), args_(args) {}

  void run() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        call();
      } else {
        value_.emplace(call());
      }
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  /// The result, once the job finished (rethrows its exception).
  R take() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<R>) return std::move(*value_);
  }

 private:
  decltype(auto) call() {
    return std::apply(
        [this](Args&... a) -> decltype(auto) {
          if constexpr (std::is_invocable_v<Fn&, std::stop_token, Args&...>) {
            return std::invoke(fn_, stop.get_token(), a...);
          } else {
            return std::invoke(fn_, a...);
          }
        },
        args_);
  }

  Fn& fn_;
  std::tuple<Args...>& args_;
  std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> value_{};
  std::exception_ptr error_;
};

/// `co_await` on a blocking job, inside weft::to_thread's coroutine.
/// Trivially destructible (see task_awaiter).
struct blocking_awaiter {
  task_state* root;
  blocking_job* job;

  bool await_ready() { return root->cancellation_point(); }  // await_resume throws
  bool await_suspend(std::coroutine_handle<> h) {
    job->handle = h;
    job->sched = root->sched_;
    // The pool is this scheduler's, but shutdown reaches a task waiting
    // there only through the registry of waits it does not drive.
    root->arm_foreign_wait(job, wait_kind::blocking_call);
    // After arming (Dekker pair with request_cancel): a cancel from here on
    // reaches cancel_blocking(), which keeps the job from running.
    if (root->cancellation_point()) return false;
    try {
      return root->sched_->submit_blocking(*job);
    } catch (...) {  // no thread could be started: the co_await throws
      root->disarm_foreign_wait();
      throw;
    }
  }
  void await_resume() {
    enter(root);
    if (job->handle) root->disarm_foreign_wait();
    // A cancelled call: its result (if it ran) is dropped with the frame.
    if (root->cancellation_point()) root->throw_cancelled();
  }
};

/// The operand of blocking_awaiter (weft::to_thread's own co_await).
struct blocking_awaitable {
  blocking_job* job;
};

template <>
struct awaitable_traits<blocking_awaitable> {
  static blocking_awaiter transform(task_state* root, blocking_awaitable a) {
    if (root == nullptr) {
      throw invalid_state_error(
          "co_await weft::to_thread(...) outside a task running on a weft scheduler; await "
          "it inside a spawned task, or run it with weft::sync_wait(sched, ...)");
    }
    return {root, a.job};
  }
};

}  // namespace weft::detail
