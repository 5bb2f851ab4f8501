#pragma once
// An Asio asynchronous operation awaited by a weft task (weft::use_task).
//
// The operation's state is allocated when the operation is initiated (the
// call with weft::use_task returns an awaitable holding it) and deleted by
// the awaiter's await_resume. Everything that touches the I/O object runs
// on the I/O object's executor: the initiation is posted there, and so is
// the emission of Asio's per-operation cancellation when the task is
// cancelled. The task resumes on its weft worker once the completion
// handler has run and nothing posted for the operation is outstanding, so
// no operation, and no piece of its cancellation, outlives the task.
//
// `pending_` counts what must happen before the task resumes: the posted
// start and the completion handler (2 at the start), plus one for each
// cancellation posted to the executor. Whoever brings it to 0 resumes the
// task. A cancel only adds to it while it is non-zero: once the operation
// is over there is nothing to cancel, and the task, resumed or about to be,
// sees the request at its cancellation check.

#include <atomic>
#include <coroutine>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <weft/errors.hpp>
#include <weft/detail/cancel_slot.hpp>
#include <weft/detail/exception_text.hpp>
#include <weft/detail/promise.hpp>
#include <weft/detail/runtime.hpp>
#include <weft/detail/task_state.hpp>

namespace weft::detail {

// ---- finding the executor of the operation's I/O object

template <class T>
concept has_executor = requires(const T& t) { t.get_executor(); };
template <class T>
concept points_to_executor = std::is_pointer_v<T> && requires(const T& t) { t->get_executor(); };
template <class T>
concept wraps_initiation = requires(const T& t) { t.initiation_; };

/// The executor of the first argument that points to a stream (void if
/// none does).
template <class... Args>
  requires(sizeof...(Args) == 0)
void first_stream_executor(const Args&...) {}

template <class First, class... Rest>
decltype(auto) first_stream_executor(const First& first, const Rest&... rest) {
  if constexpr (points_to_executor<First>) {
    return first->get_executor();
  } else {
    return first_stream_executor(rest...);
  }
}

/// The executor that owns the operation: the initiation's (Asio's own I/O
/// objects and free functions), the wrapped initiation's (Asio's token
/// adapters: as_tuple, redirect_error), or that of the stream a pointer
/// argument points to (Beast's HTTP operations).
template <class Initiation, class... Args>
decltype(auto) executor_of(const Initiation& init, const Args&... args) {
  if constexpr (has_executor<Initiation>) {
    return init.get_executor();
  } else if constexpr (wraps_initiation<Initiation>) {
    return executor_of(init.initiation_, args...);
  } else {
    return first_stream_executor(args...);
  }
}

template <class Initiation, class... Args>
inline constexpr bool has_operation_executor =
    !std::is_void_v<decltype(executor_of(std::declval<const Initiation&>(),
                                         std::declval<const Args&>()...))>;

// ---- what co_await returns for a completion signature

/// The value of `co_await op` for a completion `void(Args...)`: an error
/// code or exception_ptr first is thrown, not returned; of the rest, none
/// is void, one is that value, more are a tuple.
template <class... Args>
struct asio_outcome {
  using values = std::tuple<Args...>;
  static constexpr bool has_error = false;
};
template <class... Args>
struct asio_outcome<boost::system::error_code, Args...> {
  using values = std::tuple<Args...>;
  static constexpr bool has_error = true;
};
template <class... Args>
struct asio_outcome<std::exception_ptr, Args...> {
  using values = std::tuple<Args...>;
  static constexpr bool has_error = true;
};

template <class Tuple>
struct value_of_tuple;
template <>
struct value_of_tuple<std::tuple<>> {
  using type = void;
};
template <class T>
struct value_of_tuple<std::tuple<T>> {
  using type = T;
};
template <class T, class U, class... V>
struct value_of_tuple<std::tuple<T, U, V...>> {
  using type = std::tuple<T, U, V...>;
};

inline void throw_if_error(const boost::system::error_code& ec) {
  if (ec) throw boost::system::system_error(ec);
}
inline void throw_if_error(const std::exception_ptr& e) {
  if (e) std::rethrow_exception(e);
}

template <class Signature>
class asio_operation_state;

/// The handler that the initiation gets. It completes the operation once;
/// destroyed without having been called (its io_context was destroyed with
/// the operation pending), it completes it as abandoned, so that the task
/// never waits for a completion that cannot come.
template <class State>
class asio_completion {
 public:
  using cancellation_slot_type = boost::asio::cancellation_slot;

  explicit asio_completion(State* s) noexcept : state_(s) {}
  asio_completion(asio_completion&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  asio_completion(const asio_completion&) = delete;
  asio_completion& operator=(const asio_completion&) = delete;
  asio_completion& operator=(asio_completion&&) = delete;
  ~asio_completion() {
    if (state_ != nullptr) state_->abandon();
  }

  cancellation_slot_type get_cancellation_slot() const noexcept { return state_->slot(); }

  template <class... Values>
  void operator()(Values&&... values) {
    std::exchange(state_, nullptr)->complete(std::forward<Values>(values)...);
  }

 private:
  State* state_;
};

/// The part of an operation's state that does not depend on how it is
/// started: its result, its cancellation signal and the resumption.
template <class... Args>
class asio_operation_state<void(Args...)> : public cancel_target {
  using outcome = asio_outcome<std::decay_t<Args>...>;

 public:
  using value_type = typename value_of_tuple<typename outcome::values>::type;

  virtual ~asio_operation_state() = default;

  // ---- the awaiter (the awaiting task's worker)

  /// Posts the start to the executor; the task resumes when the operation
  /// is over. Returns false if the task must resume at once: the post threw
  /// (take() rethrows why) and no cancel had posted its emission meanwhile.
  /// If one had, the task resumes once that emission has run, which sees
  /// the operation never started and only counts itself done.
  bool begin(std::coroutine_handle<> h, scheduler_base* sched) noexcept {
    handle_ = h;
    sched_ = sched;
    // seq_cst: see on_cancel().
    pending_.store(2, std::memory_order_seq_cst);  // the start and the completion
    try {
      post_start();
    } catch (...) {
      // Neither the start nor the completion will come (the post threw, so
      // nothing runs start(); failure_ is this thread's until the resume).
      failure_ = std::current_exception();
      // acq_rel: as release(); 2 left means no emission is outstanding.
      return pending_.fetch_sub(2, std::memory_order_acq_rel) != 2;
    }
    return true;
  }

  /// After the task resumed: the operation's value, or its error thrown.
  value_type take() {
    if (failure_) std::rethrow_exception(failure_);
    return std::apply(
        [](auto&&... v) -> value_type {
          if constexpr (outcome::has_error) {
            return split_error(std::move(v)...);
          } else {
            return values(std::move(v)...);
          }
        },
        std::move(*result_));
  }

  // ---- the executor

  /// Runs the initiation with a handler bound to this state, then passes on
  /// a cancel that came while it ran.
  void start() noexcept {
    try {
      initiate(asio_completion<asio_operation_state>(this));
    } catch (...) {
      // The handler was destroyed unused: abandon() recorded that; this
      // error says why.
      failure_ = std::current_exception();
    }
    started_ = true;
    if (cancel_requested_.load(std::memory_order_seq_cst)) emit();
    release();
  }

  boost::asio::cancellation_slot slot() noexcept { return signal_.slot(); }

  template <class... Values>
  void complete(Values&&... values) {
    result_.emplace(std::forward<Values>(values)...);
    release();
  }

  void abandon() noexcept {
    if (!failure_) {
      failure_ = std::make_exception_ptr(invalid_state_error(
          "an Asio operation awaited with weft::use_task was destroyed without completing "
          "(its io_context was stopped and destroyed while it was pending); keep the "
          "io_context running until the tasks awaiting its operations are done"));
    }
    release();
  }

  // ---- a canceller (any thread)

  /// The awaiting task was cancelled: emit Asio's cancellation on the
  /// operation's executor, unless the operation is already over.
  void on_cancel(const cancel_reason&) noexcept override {
    // seq_cst, with begin()'s store and start()'s load: either this sees
    // the operation begun and posts the emission, or start() sees the
    // request and emits after the initiation (or both: emit() acts once,
    // and only after the start, whichever of the two posts ran first).
    cancel_requested_.store(true, std::memory_order_seq_cst);
    std::uint32_t n = pending_.load(std::memory_order_seq_cst);
    do {
      // Not begun (the awaiter sees the request itself and never begins),
      // or over (the task resumes and sees it).
      if (n == 0) return;
    } while (!pending_.compare_exchange_weak(n, n + 1, std::memory_order_seq_cst));
    try {
      post_emit();
    } catch (...) {
      const std::string text = with_cause(
          "weft: could not post the cancellation of an Asio operation to its executor",
          std::current_exception());
      std::fprintf(stderr, "%s; the operation runs to its completion\n", text.c_str());
      release();
    }
  }

 protected:
  /// Emits the cancellation once (on the executor), after the start: a
  /// cancel that sees the operation begun may post its emission before
  /// begin() has posted the start (pending_ is set first). Such an early
  /// emission does nothing; start() emits, since it sees the request.
  void emit() noexcept {
    if (emitted_ || !started_) return;
    emitted_ = true;
    signal_.emit(boost::asio::cancellation_type::terminal);
  }
  /// One of the things the task waits for is done.
  void release() noexcept {
    // acq_rel: the last one sees every write to the result, and the
    // resumed task sees them through the schedule.
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      schedule(sched_, as_work(handle_), node_);
    }
  }

 private:
  virtual void initiate(asio_completion<asio_operation_state> handler) = 0;
  virtual void post_start() = 0;
  virtual void post_emit() = 0;

  template <class Error, class... Values>
  static value_type split_error(Error&& error, Values&&... v) {
    throw_if_error(error);
    return values(std::move(v)...);
  }
  template <class... Values>
  static value_type values(Values&&... v) {
    if constexpr (sizeof...(Values) == 1) {
      return (std::move(v), ...);
    } else if constexpr (sizeof...(Values) > 1) {
      return value_type(std::move(v)...);
    }
  }

  std::coroutine_handle<> handle_;
  scheduler_base* sched_ = nullptr;
  work_node node_;
  std::atomic<std::uint32_t> pending_{0};  // 0: not begun, or over
  std::atomic<bool> cancel_requested_{false};
  bool started_ = false;  // on the executor only
  bool emitted_ = false;  // on the executor only
  boost::asio::cancellation_signal signal_;
  std::optional<std::tuple<std::decay_t<Args>...>> result_;
  std::exception_ptr failure_;
};

/// One operation: its initiation and arguments, and its executor.
template <class Signature, class Initiation, class... InitArgs>
class asio_operation_of final : public asio_operation_state<Signature> {
  using base = asio_operation_state<Signature>;

 public:
  template <class I, class... A>
  explicit asio_operation_of(I&& init, A&&... args)
      : init_(std::forward<I>(init)), args_(std::forward<A>(args)...),
        executor_(std::apply([this](const auto&... a) { return executor_of(init_, a...); },
                             args_)) {}

 private:
  void initiate(asio_completion<base> handler) override {
    std::apply(
        [&](InitArgs&... a) { std::move(init_)(std::move(handler), std::move(a)...); },
        args_);
  }
  void post_start() override {
    boost::asio::post(executor_, [this] { this->start(); });
  }
  void post_emit() override {
    boost::asio::post(executor_, [this] {
      this->emit();
      this->release();
    });
  }

  Initiation init_;
  std::tuple<InitArgs...> args_;
  std::decay_t<decltype(executor_of(std::declval<const Initiation&>(),
                                    std::declval<const InitArgs&>()...))>
      executor_;
};

/// `co_await op` for an operation started with weft::use_task. Trivially
/// destructible (see task_awaiter): it owns the state through a raw
/// pointer and deletes it in await_resume, which every path reaches
/// (await_suspend never throws: an exception there would skip it).
template <class Signature>
struct asio_awaiter {
  asio_operation_state<Signature>* op;
  task_state* root;
  bool suspended = false;

  bool await_ready() { return root->cancellation_point(); }  // await_resume throws
  bool await_suspend(std::coroutine_handle<> h) {
    // No worker of this scheduler drives the operation, so shutdown reaches
    // it through the registry of such waits.
    root->arm_foreign_wait(op, wait_kind::io);
    suspended = true;
    // After arming (Dekker pair with request_cancel): from here on a cancel
    // reaches on_cancel().
    if (root->cancellation_point()) return false;
    // False: the start could not be posted; await_resume rethrows why.
    return op->begin(h, root->sched_);
  }
  typename asio_operation_state<Signature>::value_type await_resume() {
    enter(root);
    struct delete_on_exit {
      asio_operation_state<Signature>* op;
      ~delete_on_exit() { delete op; }
    } guard{op};
    if (suspended) root->disarm_foreign_wait();
    // A cancelled task: the operation is over (aborted, or it won the race
    // and its result is dropped, as a cancelled to_thread call's).
    if (root->cancellation_point()) root->throw_cancelled();
    return op->take();
  }
};

}  // namespace weft::detail
