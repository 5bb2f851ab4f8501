// The Boost.Asio bridge: Asio operations awaited from weft tasks
// (weft::use_task) on a real io_context thread with real sockets on
// 127.0.0.1, and weft tasks awaited from Asio (weft::async_spawn).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <weft/asio.hpp>
#include <weft/weft.hpp>

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

namespace {

/// Counts the Asio operations started and completed through it, so that a
/// test can see that none is left pending when its task has resumed.
struct op_counter {
  std::atomic<int> started{0};
  std::atomic<int> completed{0};
};

/// `timer.async_wait`, counted.
struct counted_wait_initiation {
  asio::steady_timer* timer;
  op_counter* counter;
  auto get_executor() const { return timer->get_executor(); }
  template <class Handler>
  void operator()(Handler handler) {
    counter->started.fetch_add(1);
    auto slot = asio::get_associated_cancellation_slot(handler);
    timer->async_wait(asio::bind_cancellation_slot(
        slot, [h = std::move(handler), c = counter](error_code ec) mutable {
          c->completed.fetch_add(1);
          std::move(h)(ec);
        }));
  }
};
template <class Token>
auto counted_wait(asio::steady_timer& timer, op_counter& counter, Token&& token) {
  return asio::async_initiate<Token, void(error_code)>(counted_wait_initiation{&timer, &counter},
                                                       token);
}

/// `socket.async_read_some`, counted.
struct counted_read_initiation {
  tcp::socket* socket;
  op_counter* counter;
  auto get_executor() const { return socket->get_executor(); }
  template <class Handler>
  void operator()(Handler handler, asio::mutable_buffer b) {
    counter->started.fetch_add(1);
    auto slot = asio::get_associated_cancellation_slot(handler);
    socket->async_read_some(
        b, asio::bind_cancellation_slot(
               slot, [h = std::move(handler), c = counter](error_code ec, std::size_t n) mutable {
                 c->completed.fetch_add(1);
                 std::move(h)(ec, n);
               }));
  }
};
template <class Token>
auto counted_read(tcp::socket& socket, asio::mutable_buffer buffer, op_counter& counter,
                  Token&& token) {
  return asio::async_initiate<Token, void(error_code, std::size_t)>(
      counted_read_initiation{&socket, &counter}, token, buffer);
}

/// An io_context on its own thread, and a connected pair of TCP sockets on
/// 127.0.0.1 that live on it.
class io_thread {
 public:
  io_thread() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
    io_id_ = thread_.get_id();
  }
  ~io_thread() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    // The sockets are closed on the io thread, where their operations run.
    asio::post(io_, [this] {
      error_code ignored;
      client.close(ignored);
      server.close(ignored);
    });
    work_.reset();
    thread_.join();
  }

  /// Runs `fn` on the io thread and returns its result.
  template <class Fn>
  auto on_io(Fn fn) {
    return asio::post(io_, asio::use_future(std::move(fn))).get();
  }

  asio::io_context& context() { return io_; }
  std::thread::id id() const { return io_id_; }

  asio::io_context io_;
  tcp::socket client{io_};
  tcp::socket server{io_};

 private:
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::thread::id io_id_;
};

/// The worker threads of a scheduler, recorded by its start hook.
struct worker_ids {
  std::mutex m;
  std::set<std::thread::id> ids;
  bool contains(std::thread::id id) {
    std::lock_guard lock(m);
    return ids.count(id) != 0;
  }
};

weft::scheduler_options recording_workers(worker_ids& ids, std::size_t workers = 2) {
  weft::scheduler_options options;
  options.workers = workers;
  options.on_worker_start = [&ids](std::size_t) {
    std::lock_guard lock(ids.m);
    ids.ids.insert(std::this_thread::get_id());
  };
  return options;
}

/// Where a task resumed after its co_await.
struct resumed_on {
  std::atomic<bool> set{false};
  std::thread::id id;
  void here() {
    id = std::this_thread::get_id();
    set.store(true);
  }
};

/// What a cancelled operation's task saw: the reason, where it resumed,
/// and whether its operation was over by then.
struct cancelled_operation {
  op_counter counter;
  resumed_on where;
  std::optional<weft::cancel_kind> reason;
  bool over_at_resume = false;

  /// In the task's catch block.
  void saw(const weft::cancelled_error& e) {
    reason = e.reason().kind;
    over_at_resume = counter.completed.load() == counter.started.load();
    where.here();
  }
  /// After the task: one operation, over when the task resumed on a worker
  /// with `kind`.
  void expect(weft::cancel_kind kind, worker_ids& workers) {
    EXPECT_EQ(counter.started.load(), 1);
    EXPECT_EQ(counter.completed.load(), 1);
    EXPECT_TRUE(over_at_resume);
    ASSERT_TRUE(reason.has_value());
    EXPECT_EQ(*reason, kind);
    EXPECT_TRUE(workers.contains(where.id));
  }
};

/// The executor of an I/O object that holds the first post made through it
/// once armed (the start that the awaiting task's worker posts) until the
/// test lets it go, so that a cancel's post can overtake it; with `refuse`
/// set, that post then throws instead of posting.
class held_start_executor {
 public:
  struct gate {
    std::atomic<bool> armed{false};
    std::atomic<bool> refuse{false};
    std::latch posting{1};   // the held post has begun
    std::latch released{1};  // the test lets it go
  };

  held_start_executor(asio::io_context::executor_type inner, gate* g) noexcept : inner_(inner), gate_(g) {}

  asio::io_context& query(asio::execution::context_t) const noexcept { return inner_.context(); }
  static constexpr asio::execution::blocking_t query(asio::execution::blocking_t) noexcept {
    return asio::execution::blocking.never;
  }
  held_start_executor require(asio::execution::blocking_t::never_t) const noexcept { return *this; }

  template <class F>
  void execute(F f) const {
    if (gate_->armed.exchange(false)) {
      gate_->posting.count_down();
      gate_->released.wait();
      if (gate_->refuse.load()) throw std::runtime_error("the executor refused the post");
    }
    asio::post(inner_, std::move(f));
  }

  // Asio's executor concept requires ==; nothing in these tests calls it.
  [[maybe_unused]] friend bool operator==(const held_start_executor& a, const held_start_executor& b) noexcept {
    return a.inner_ == b.inner_ && a.gate_ == b.gate_;
  }

 private:
  asio::io_context::executor_type inner_;
  gate* gate_;
};

}  // namespace

TEST(AsioBridge, TimerWaitResumesOnAWorkerNotTheIoThread) {
  io_thread io;
  worker_ids workers;
  weft::scheduler sched{recording_workers(workers)};
  resumed_on where;
  auto body = [&]() -> weft::task<void> {
    asio::steady_timer timer(io.context(), 2ms);
    co_await timer.async_wait(weft::use_task);
    where.here();
  };
  weft::sync_wait(sched, body());
  ASSERT_TRUE(where.set.load());
  EXPECT_NE(where.id, io.id());
  EXPECT_TRUE(workers.contains(where.id));
}

TEST(AsioBridge, SocketReadReturnsTheBytesReadAndWriteTheBytesWritten) {
  io_thread io;
  weft::scheduler sched{2};
  auto body = [&]() -> weft::task<std::string> {
    const std::string hello = "hello, weft";
    const std::size_t written =
        co_await asio::async_write(io.client, asio::buffer(hello), weft::use_task);
    EXPECT_EQ(written, hello.size());
    std::string got(hello.size(), '\0');
    std::size_t total = 0;
    while (total < got.size()) {
      total += co_await io.server.async_read_some(asio::buffer(got.data() + total, got.size() - total),
                                                  weft::use_task);
    }
    co_return got;
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), "hello, weft");
}

// Beast's operations name their stream through a pointer argument: the
// bridge finds its executor there.
TEST(AsioBridge, BeastHttpRequestAndResponseRoundTrip) {
  namespace http = boost::beast::http;
  io_thread io;
  weft::scheduler sched{2};
  auto server = [&]() -> weft::task<void> {
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    co_await http::async_read(io.server, buffer, request, weft::use_task);
    http::response<http::string_body> response{http::status::ok, request.version()};
    response.body() = "echo " + std::string(request.target());
    response.prepare_payload();
    co_await http::async_write(io.server, response, weft::use_task);
  };
  auto client = [&]() -> weft::task<std::string> {
    http::request<http::empty_body> request{http::verb::get, "/fib?n=10", 11};
    request.set(http::field::host, "127.0.0.1");
    co_await http::async_write(io.client, request, weft::use_task);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    co_await http::async_read(io.client, buffer, response, weft::use_task);
    EXPECT_EQ(response.result(), http::status::ok);
    co_return response.body();
  };
  auto served = sched.spawn(server());
  EXPECT_EQ(weft::sync_wait(sched, client()), "echo /fib?n=10");
  served.wait();
  EXPECT_NO_THROW(served.result());
}

TEST(AsioBridge, AnErrorThrowsSystemErrorAndAsTupleReturnsTheCode) {
  io_thread io;
  weft::scheduler sched{2};
  io.on_io([&] { io.client.close(); });  // the server's read sees end of file
  auto body = [&]() -> weft::task<void> {
    char byte = 0;
    auto [ec, n] =
        co_await io.server.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(weft::use_task));
    EXPECT_EQ(ec, asio::error::eof);
    EXPECT_EQ(n, 0u);
    // (Not a second read at end of file: Asio's epoll reactor may wait for
    // a readiness edge that never comes. A read on a closed socket fails.)
    io.on_io([&] { io.server.close(); });
    try {
      co_await io.server.async_read_some(asio::buffer(&byte, 1), weft::use_task);
      ADD_FAILURE() << "a read on a closed socket returned";
    } catch (const boost::system::system_error& e) {
      EXPECT_EQ(e.code(), asio::error::bad_descriptor);
    }
  };
  weft::sync_wait(sched, body());
}

TEST(AsioBridge, TimeoutCancelsATimerWaitAndResumesOnAWorkerWithTheOperationCompleted) {
  io_thread io;
  worker_ids workers;
  weft::scheduler sched{recording_workers(workers)};
  // The deadline must pass after the wait has started (a task whose
  // deadline passed before never starts its operation): if it passed
  // before, the round is run again with twice the time.
  for (auto limit = 20ms;; limit *= 2) {
    cancelled_operation op;
    auto wait_an_hour = [&]() -> weft::task<void> {
      asio::steady_timer timer(io.context(), 1h);
      try {
        co_await counted_wait(timer, op.counter, weft::use_task);
      } catch (const weft::cancelled_error& e) {
        op.saw(e);
        throw;
      }
    };
    auto body = [&]() -> weft::task<void> { co_await weft::timeout(limit, wait_an_hour()); };
    EXPECT_THROW(weft::sync_wait(sched, body()), weft::timeout_error);
    if (op.counter.started.load() == 0 && limit < 60s) continue;
    op.expect(weft::cancel_kind::timeout, workers);
    break;
  }
}

TEST(AsioBridge, AFailingSiblingInWhenAllCancelsASocketRead) {
  io_thread io;
  worker_ids workers;
  weft::scheduler sched{recording_workers(workers)};
  cancelled_operation op;
  auto read_forever = [&]() -> weft::task<std::size_t> {
    char byte = 0;
    try {
      co_return co_await counted_read(io.server, asio::buffer(&byte, 1), op.counter,
                                      weft::use_task);
    } catch (const weft::cancelled_error& e) {
      op.saw(e);
      throw;
    }
  };
  auto fail_soon = [&]() -> weft::task<int> {
    // Once the read has started, so that the cancel aborts it.
    while (op.counter.started.load() == 0) co_await weft::yield();
    throw std::runtime_error("sibling failed");
  };
  auto body = [&]() -> weft::task<void> { co_await weft::when_all(read_forever(), fail_soon()); };
  try {
    weft::sync_wait(sched, body());
    ADD_FAILURE() << "when_all returned";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "sibling failed");
  }
  op.expect(weft::cancel_kind::sibling_failed, workers);
}

TEST(AsioBridge, ShutdownCancelsAPendingReadAndTheTaskEndsCancelled) {
  io_thread io;
  op_counter counter;
  std::optional<weft::task_handle<std::size_t>> handle;
  std::atomic<bool> reading{false};
  {
    weft::scheduler sched{2};
    auto read_forever = [&]() -> weft::task<std::size_t> {
      char byte = 0;
      reading.store(true);
      co_return co_await counted_read(io.server, asio::buffer(&byte, 1), counter, weft::use_task);
    };
    handle = sched.spawn(read_forever());
    while (counter.started.load() == 0) std::this_thread::yield();
  }  // ~scheduler cancels the read (reason shutdown) and waits for the task
  ASSERT_TRUE(handle->done());
  EXPECT_TRUE(handle->cancelled());
  ASSERT_TRUE(handle->cancel_reason().has_value());
  EXPECT_EQ(handle->cancel_reason()->kind, weft::cancel_kind::shutdown);
  EXPECT_EQ(counter.completed.load(), 1);
}

TEST(AsioBridge, ACancelledTaskNeverStartsItsOperation) {
  io_thread io;
  weft::scheduler sched{1};
  op_counter counter;
  auto body = [&]() -> weft::task<void> {
    asio::steady_timer timer(io.context(), 1h);
    // Running, not suspended, when the cancel comes.
    while (!weft::this_task::cancellation_requested()) std::this_thread::yield();
    co_await counted_wait(timer, counter, weft::use_task);
  };
  auto h = sched.spawn(body());
  h.cancel("before the operation");
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(counter.started.load(), 0);
}

// A cancel that races the operation's completion: each round ends in one
// terminal state, the value or cancelled_error, and the operation is over
// in either case. Half of the rounds cancel at a random moment after the
// wait started, half once its handler has run (the cancel then races the
// task's resume on a worker); rounds go on until each side has won a few
// times, so that both orders are checked whatever the machine's timing.
TEST(AsioBridge, ACancelRacingTheCompletionHasOneWinnerAndLeavesNothingPending) {
  io_thread io;
  weft::scheduler sched{2};
  op_counter counter;
  std::mt19937 rng(12345);
  int won_by_completion = 0;
  int won_by_cancel = 0;
  int rounds = 0;
  constexpr int k_min_rounds = 300, k_max_rounds = 30'000, k_min_wins = 5;
  while (rounds < k_min_rounds ||
         ((won_by_cancel < k_min_wins || won_by_completion < k_min_wins) && rounds < k_max_rounds)) {
    ++rounds;
    std::atomic<int> outcomes{0};
    std::atomic<bool> awaiting{false};
    const auto expiry = std::chrono::microseconds(rng() % 200);
    const bool after_the_handler = rng() % 2 == 0;
    const int completed_before = counter.completed.load();
    auto body = [&]() -> weft::task<int> {
      asio::steady_timer timer(io.context(), expiry);
      awaiting.store(true);
      try {
        co_await counted_wait(timer, counter, weft::use_task);
      } catch (const weft::cancelled_error&) {
        EXPECT_EQ(counter.completed.load(), counter.started.load());
        outcomes.fetch_add(1);
        throw;
      }
      EXPECT_EQ(counter.completed.load(), counter.started.load());
      outcomes.fetch_add(1);
      co_return 1;
    };
    auto h = sched.spawn(body());
    while (!awaiting.load()) std::this_thread::yield();
    if (after_the_handler) {
      while (counter.completed.load() == completed_before) std::this_thread::yield();
    }
    // A random moment, to vary the race (not a wait for anything).
    const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(rng() % 200);
    while (std::chrono::steady_clock::now() < spin_until) {
    }
    h.cancel("race");
    h.wait();
    EXPECT_EQ(outcomes.load(), 1);
    if (h.cancelled()) {
      ++won_by_cancel;
    } else {
      EXPECT_EQ(h.result(), 1);
      ++won_by_completion;
    }
  }
  EXPECT_EQ(counter.started.load(), counter.completed.load());
  EXPECT_EQ(won_by_cancel + won_by_completion, rounds);
  // Both sides won: the race was exercised both ways.
  EXPECT_GE(won_by_cancel, k_min_wins) << rounds << " rounds";
  EXPECT_GE(won_by_completion, k_min_wins) << rounds << " rounds";
}

/// A connected pair of sockets on `io`'s context: the server's executor is
/// a held_start_executor on `gate`. Both are closed on the io thread, where
/// their operations run, when it goes.
struct gated_connection {
  explicit gated_connection(io_thread& on) : io(on) {
    tcp::acceptor acceptor(io.context(), tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
  }
  ~gated_connection() {
    io.on_io([&] {
      error_code ignored;
      server.close(ignored);
      client.close(ignored);
      return 0;
    });
  }
  gated_connection(const gated_connection&) = delete;
  gated_connection& operator=(const gated_connection&) = delete;

  /// Reads one byte on the server socket with weft::use_task.
  weft::task<std::size_t> read_one_byte() {
    char byte = 0;
    co_return co_await server.async_read_some(asio::buffer(&byte, 1), weft::use_task);
  }

  io_thread& io;
  held_start_executor::gate gate;  // before `server`, whose executor points to it
  tcp::socket client{io.context()};
  asio::basic_stream_socket<tcp, held_start_executor> server{
      held_start_executor(io.context().get_executor(), &gate)};
};

// The start's post throws: the co_await throws that error, and the
// operation's state is freed (the ASan build's leak check would report it).
TEST(AsioBridge, AStartThatCannotBePostedThrowsItsErrorFromTheAwait) {
  io_thread io;
  weft::scheduler sched{2};
  gated_connection c(io);
  c.gate.refuse.store(true);
  c.gate.armed.store(true);
  c.gate.released.count_down();
  try {
    weft::sync_wait(sched, c.read_one_byte());
    ADD_FAILURE() << "the read returned";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "the executor refused the post");
  }
}

// A cancel that sees the operation begun posts its emission while the
// start's post is under way; that post then throws. The task must wait for
// the emission it owes and end cancelled, once; the operation's state must
// be freed after the emission ran (ASan: no leak, no use after free).
TEST(AsioBridge, ACancelRacingAStartThatCannotBePostedEndsTheTaskCancelled) {
  io_thread io;
  weft::scheduler sched{2};
  for (int round = 0; round < 20; ++round) {
    gated_connection c(io);
    c.gate.refuse.store(true);
    c.gate.armed.store(true);
    auto h = sched.spawn(c.read_one_byte());
    c.gate.posting.wait();  // the worker is in begin(), posting the start
    EXPECT_TRUE(h.cancel("refused and cancelled"));  // posts the emission
    c.gate.released.count_down();  // the start's post throws now
    h.wait();
    EXPECT_TRUE(h.cancelled()) << "round " << round;
  }
}

// A cancel that sees the operation begun posts its emission, and that post
// can reach the executor before the start that begin() is still posting:
// the emission must not be spent before the operation exists.
TEST(AsioBridge, ACancelWhoseEmissionOvertakesTheStartStillAbortsTheOperation) {
  io_thread io;
  weft::scheduler sched{2};
  gated_connection c(io);
  c.gate.armed.store(true);
  auto h = sched.spawn(c.read_one_byte());
  c.gate.posting.wait();     // the worker is in begin(), posting the start
  h.cancel("overtaking");    // sees the operation begun: posts its emission now
  c.gate.released.count_down();
  // A lost cancel leaves the read pending for good: 30 s without an end is one.
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (!h.done() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  const bool ended_by_cancel = h.done();
  if (!ended_by_cancel) asio::write(c.client, asio::buffer("x", 1));  // let the read end, to fail and not hang
  h.wait();
  EXPECT_TRUE(ended_by_cancel) << "the cancel was lost: the read stayed pending";
  EXPECT_TRUE(h.cancelled());
}

TEST(AsioBridge, AwaitingAnOperationTwiceThrowsInvalidState) {
  io_thread io;
  weft::scheduler sched{1};
  auto body = [&]() -> weft::task<void> {
    asio::steady_timer timer(io.context(), 1ms);
    auto op = timer.async_wait(weft::use_task);
    co_await op;
    co_await op;
  };
  try {
    weft::sync_wait(sched, body());
    ADD_FAILURE() << "the second co_await returned";
  } catch (const weft::invalid_state_error& e) {
    EXPECT_NE(std::string(e.what()).find("awaited already"), std::string::npos) << e.what();
  }
}

TEST(AsioBridge, AnOperationOfADestroyedIoContextThrowsInvalidStateInsteadOfHanging) {
  weft::scheduler sched{1};
  auto io = std::make_unique<io_thread>();
  op_counter counter;
  auto read_forever = [&]() -> weft::task<std::size_t> {
    char byte = 0;
    co_return co_await counted_read(io->server, asio::buffer(&byte, 1), counter, weft::use_task);
  };
  auto h = sched.spawn(read_forever());
  while (counter.started.load() == 0) std::this_thread::yield();
  // Stopped with the read pending (stop() closes the sockets on the io
  // thread, whose aborted completions are then never run), then destroyed.
  io->io_.stop();
  io->stop();
  io.reset();
  h.wait();
  try {
    h.result();
    ADD_FAILURE() << "the read returned";
  } catch (const weft::invalid_state_error& e) {
    EXPECT_NE(std::string(e.what()).find("io_context"), std::string::npos) << e.what();
  }
}

// ---- the other direction: a weft task as an Asio operation

TEST(AsioBridge, AnAsioCoroutineAwaitsAWeftTaskAndResumesOnItsExecutor) {
  io_thread io;
  weft::scheduler sched{2};
  auto compute = [](int x) -> weft::task<int> {
    co_await weft::yield();
    co_return 2 * x;
  };
  std::thread::id resumed;
  auto coroutine = [&]() -> asio::awaitable<int> {
    const int v = co_await weft::async_spawn(sched, compute(21), asio::use_awaitable);
    resumed = std::this_thread::get_id();
    co_return v;
  };
  EXPECT_EQ(asio::co_spawn(io.context(), coroutine(), asio::use_future).get(), 42);
  EXPECT_EQ(resumed, io.id());
}

TEST(AsioBridge, AWeftTasksExceptionReachesTheAsioCoroutine) {
  io_thread io;
  weft::scheduler sched{2};
  auto fail = []() -> weft::task<void> {
    co_await weft::yield();
    throw std::runtime_error("weft task failed");
  };
  auto coroutine = [&]() -> asio::awaitable<std::string> {
    try {
      co_await weft::async_spawn(sched, fail(), asio::use_awaitable);
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(asio::co_spawn(io.context(), coroutine(), asio::use_future).get(), "weft task failed");
}

TEST(AsioBridge, AsioCancellationCancelsTheWeftTask) {
  io_thread io;
  weft::scheduler sched{2};
  std::atomic<bool> running{false};
  auto forever = [&]() -> weft::task<int> {
    running.store(true);
    co_await weft::sleep_for(1h);
    co_return 0;
  };
  asio::cancellation_signal signal;
  std::promise<std::exception_ptr> outcome;
  io.on_io([&] {
    weft::async_spawn(sched, forever(),
                      asio::bind_cancellation_slot(
                          signal.slot(), asio::bind_executor(io.context(), [&](std::exception_ptr e, int) {
                            outcome.set_value(e);
                          })));
    return 0;
  });
  while (!running.load()) std::this_thread::yield();
  io.on_io([&] {
    signal.emit(asio::cancellation_type::terminal);
    return 0;
  });
  std::exception_ptr e = outcome.get_future().get();
  ASSERT_TRUE(e);
  try {
    std::rethrow_exception(e);
  } catch (const weft::cancelled_error& c) {
    EXPECT_EQ(c.reason().kind, weft::cancel_kind::user);
    EXPECT_EQ(c.reason().message, "cancelled through Asio");
  }
}
