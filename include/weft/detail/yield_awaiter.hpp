#pragma once
// `co_await weft::yield()`: the task goes to the back of its worker's
// yielded list (run once the deque is empty, and stealable from there).

#include <coroutine>

#include <weft/errors.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/promise.hpp>

namespace weft::detail {

struct yield_awaiter {
  task_state* root;

  bool await_ready() const { return root != nullptr && root->cancellation_point(); }
  void await_suspend(std::coroutine_handle<> self) const {
    worker_context* w = tls_worker;
    if (w == nullptr) {
      throw invalid_state_error(
          "co_await weft::yield() outside a weft worker; yield only inside a task that runs on "
          "a scheduler");
    }
    w->yielded.push_back(self);  // returning void goes back to the worker loop
  }
  void await_resume() const {
    enter(root);
    if (root != nullptr && root->cancellation_point()) root->throw_cancelled();
  }
};

template <>
struct awaitable_traits<yield_awaitable> {
  static yield_awaiter transform(task_state* root, yield_awaitable) noexcept { return {root}; }
};

}  // namespace weft::detail
