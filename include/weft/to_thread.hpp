#pragma once
/// \file
/// weft::to_thread: run a blocking call without holding a worker
/// (asyncio.to_thread, tokio's spawn_blocking).

#include <functional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>

#include <weft/task.hpp>
#include <weft/detail/blocking_job.hpp>

namespace weft {

namespace detail {
template <class Fn, class... Args>
struct blocking_result {
  using type = std::invoke_result_t<Fn&, Args&...>;
};
template <class Fn, class... Args>
  requires std::is_invocable_v<Fn&, std::stop_token, Args&...>
struct blocking_result<Fn, Args...> {
  using type = std::invoke_result_t<Fn&, std::stop_token, Args&...>;
};
}  // namespace detail

/// `co_await weft::to_thread(fn, args...)` inside a task: runs
/// `fn(args...)` on one of the scheduler's blocking threads (started on
/// demand, at most scheduler_options::max_blocking_threads; calls beyond
/// that queue) while the awaiting task holds no worker, then returns fn's
/// result or rethrows its exception. If fn takes a std::stop_token first,
/// it is passed one. `fn` and `args` are moved into the call.
///
/// A cancellation point. Cancelling the awaiting task: a call that has not
/// started never runs, and the task resumes at once with cancelled_error;
/// a running call gets stop requested on its token, and the task resumes
/// with cancelled_error once fn has returned (its result dropped), so
/// nothing fn touches outlives the task. ~scheduler cancels such tasks
/// (reason shutdown) and waits for their calls, as it waits for tasks.
/// Only a weft task can co_await it (from another coroutine it does not
/// compile); from a plain thread run it with weft::sync_wait(sched, ...).
template <class Fn, class... Args>
  requires std::is_invocable_v<Fn&, Args&...> ||
           std::is_invocable_v<Fn&, std::stop_token, Args&...>
task<std::decay_t<typename detail::blocking_result<Fn, Args...>::type>> to_thread(Fn fn,
                                                                               Args... args) {
  using result = std::decay_t<typename detail::blocking_result<Fn, Args...>::type>;
  std::tuple<Args...> packed(std::move(args)...);
  detail::blocking_call<result, Fn, Args...> call(fn, packed);
  co_await detail::blocking_awaitable{&call};
  co_return call.take();
}

}  // namespace weft
