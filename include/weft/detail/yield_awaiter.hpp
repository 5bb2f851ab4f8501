#pragma once
// `co_await weft::yield()`: the task goes to the back of its worker's
// yielded list (run once the deque is empty, and stealable from there).

#include <coroutine>

#include <weft/errors.hpp>
#include <weft/detail/drop.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/promise.hpp>

namespace weft::detail {

struct yield_awaiter {
  task_state* root;
  bool drop = false;  // a cancel seen in a drop_on_cancel region

  bool await_ready() { return root != nullptr && cancel_before_suspending(*root, drop); }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> self) const {
    if (drop) return transfer_to(drop_frame(self.promise()));
    worker_context* w = tls_worker;
    if (w == nullptr) {
      throw invalid_state_error(
          "co_await weft::yield() outside a weft worker; yield only inside a task that runs on "
          "a scheduler");
    }
    // In a drop_on_cancel region the worker looks at the cancel before it
    // resumes the frame, and drops it instead.
    w->yielded.push_back(root != nullptr ? resume_item(root, self) : as_work(self));
    return std::noop_coroutine();  // back to the worker loop
  }
  void await_resume() const {
    enter(root);
    if (root != nullptr) throw_if_cancelled_after_resuming(*root);
  }
};

template <>
struct awaitable_traits<yield_awaitable> {
  static yield_awaiter transform(task_state* root, yield_awaitable) noexcept { return {root}; }
};

}  // namespace weft::detail
