#pragma once
/// \file
/// Boost.Asio and weft, both ways (CMake target weft::asio, Boost >= 1.81):
/// weft::use_task makes an Asio operation awaitable in a weft task, and
/// weft::async_spawn runs a weft task as an Asio operation.

#include <exception>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/version.hpp>

#include <weft/errors.hpp>
#include <weft/scheduler.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>
#include <weft/detail/asio_operation.hpp>

static_assert(BOOST_VERSION >= 108100,
              "weft/asio.hpp needs Boost 1.81 or newer (per-operation cancellation)");

namespace weft {

/// The completion token that turns an Asio asynchronous operation into an
/// awaitable of a weft task (as asio::use_awaitable does for Asio's own
/// coroutines):
///
///     std::size_t n = co_await sock.async_read_some(buf, weft::use_task);
///     auto [ec, n] = co_await sock.async_read_some(buf, asio::as_tuple(weft::use_task));
///
/// The operation is started on its I/O object's executor (an io_context
/// running on its own thread, or a strand of one: the executor must run
/// one handler at a time); the task holds no worker meanwhile and resumes
/// on one of its scheduler's workers, never on the I/O thread. `co_await`
/// returns what the completion carries after its leading error, which it
/// throws instead (boost::system::system_error, or the exception_ptr's
/// exception): nothing, the one value, or a tuple of several.
///
/// A cancellation point. Cancelling the task (cancel(), a timeout, a
/// failing sibling, shutdown) emits Asio's terminal per-operation
/// cancellation on the operation's executor, and the task resumes with
/// cancelled_error once the operation has completed: no operation outlives
/// the task that started it. If the operation completes first, the cancel
/// still wins at the resume (its result is dropped, as asyncio drops the
/// result of a future whose awaiter was cancelled). The io_context must
/// keep running while tasks await its operations.
struct use_task_t {
  constexpr use_task_t() noexcept = default;
};

/// See use_task_t.
inline constexpr use_task_t use_task{};

/// What an operation started with weft::use_task returns: co_await it in a
/// weft task, once. An operation that is never awaited is never started.
template <class Signature>
class [[nodiscard]] asio_operation {
 public:
  explicit asio_operation(detail::asio_operation_state<Signature>* op) noexcept : op_(op) {}
  asio_operation(asio_operation&& other) noexcept : op_(std::exchange(other.op_, nullptr)) {}
  asio_operation(const asio_operation&) = delete;
  asio_operation& operator=(const asio_operation&) = delete;
  asio_operation& operator=(asio_operation&&) = delete;
  ~asio_operation() { delete op_; }

 private:
  friend struct detail::awaitable_traits<asio_operation>;
  detail::asio_operation_state<Signature>* op_;
};

namespace detail {

template <class Signature>
struct awaitable_traits<asio_operation<Signature>> {
  static asio_awaiter<Signature> transform(task_state* root, asio_operation<Signature>&& a) {
    // Taken over, leaving the operand empty: g++ 12 may destroy it twice.
    asio_operation_state<Signature>* op = std::exchange(a.op_, nullptr);
    if (op == nullptr) {
      throw invalid_state_error(
          "co_await on an Asio operation that was awaited already; start the operation again "
          "(each call with weft::use_task can be awaited once)");
    }
    if (root == nullptr) {
      delete op;
      throw invalid_state_error(
          "co_await on an Asio operation started with weft::use_task outside a task running on "
          "a weft scheduler; await it inside a spawned task (in an Asio coroutine use "
          "asio::use_awaitable)");
    }
    return {op, root};
  }
  static asio_awaiter<Signature> transform(task_state* root, asio_operation<Signature>& a) {
    return transform(root, std::move(a));
  }
};

/// The completion signature of async_spawn for a task<T>.
template <class T>
struct spawn_signature {
  using type = void(std::exception_ptr, T);
};
template <>
struct spawn_signature<void> {
  using type = void(std::exception_ptr);
};

}  // namespace detail

/// Runs `t` on `sched` as an Asio asynchronous operation, for code that
/// lives on an I/O thread: the completion is `void(std::exception_ptr, T)`
/// (`void(std::exception_ptr)` for task<void>), as asio::co_spawn's, so an
/// Asio coroutine can write
///
///     int v = co_await weft::async_spawn(sched, compute(), asio::use_awaitable);
///
/// The completion handler runs on its associated executor (an Asio
/// coroutine's own; Asio's system executor, that is the weft worker that
/// ends the task, for a handler with none). The task's exception, a
/// cancelled_error included, is passed as the exception_ptr, with a
/// value-initialized T (T must be default-constructible, as for co_spawn). The handler's
/// cancellation slot, if connected, cancels the task (reason user,
/// "cancelled through Asio"); the completion then comes once the task has
/// ended. Throws what scheduler::spawn() throws (a stopping scheduler).
template <class T, class Token>
auto async_spawn(scheduler& sched, task<T> t, Token&& token) {
  using signature = typename detail::spawn_signature<T>::type;
  return boost::asio::async_initiate<Token, signature>(
      [&sched](auto handler, task<T> body) {
        auto executor = boost::asio::get_associated_executor(handler);
        auto work = boost::asio::make_work_guard(executor);
        task_handle<T> h = sched.spawn(std::move(body));
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) {
          // Runs on the thread that emits the signal; cancel() is thread-safe.
          slot.assign([h](boost::asio::cancellation_type) { h.cancel("cancelled through Asio"); });
        }
        h.add_done_callback([handler = std::move(handler), work = std::move(work)](
                                const task_handle<T>& done) mutable {
          auto ex = work.get_executor();
          boost::asio::dispatch(
              ex, [handler = std::move(handler), done, work = std::move(work)]() mutable {
                // On the handler's executor, where its slot may be touched.
                auto s = boost::asio::get_associated_cancellation_slot(handler);
                if (s.is_connected()) s.clear();
                std::exception_ptr error;
                try {
                  error = done.exception();
                } catch (...) {  // it was cancelled: exception() throws cancelled_error
                  error = std::current_exception();
                }
                if constexpr (std::is_void_v<T>) {
                  std::move(handler)(error);
                } else {
                  using value = std::decay_t<T>;
                  if (error) {
                    std::move(handler)(error, value{});
                  } else {
                    std::move(handler)(error, done.result());
                  }
                }
              });
        });
      },
      token, std::move(t));
}

}  // namespace weft

/// weft::use_task as an Asio completion token: the operation's initiation
/// and arguments are kept, and started when the task awaits them.
template <class... Args>
struct boost::asio::async_result<weft::use_task_t, void(Args...)> {
  template <class Initiation, class... InitArgs>
  static weft::asio_operation<void(Args...)> initiate(Initiation&& init, weft::use_task_t,
                                                      InitArgs&&... args) {
    static_assert(weft::detail::has_operation_executor<std::decay_t<Initiation>,
                                                       std::decay_t<InitArgs>...>,
                  "weft::use_task: cannot find the executor of this operation's I/O object "
                  "(its initiation has no get_executor(), and no argument points to a stream "
                  "that has one); bind the operation to its executor, or await it through a "
                  "weft::future completed from its handler");
    return weft::asio_operation<void(Args...)>(
        new weft::detail::asio_operation_of<void(Args...), std::decay_t<Initiation>,
                                            std::decay_t<InitArgs>...>(
            std::forward<Initiation>(init), std::forward<InitArgs>(args)...));
  }
};
