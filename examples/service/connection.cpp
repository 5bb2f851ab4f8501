// One task per connection: read a request (Beast's parser through
// weft::use_task), route it, run its computation as its own task while a
// read on the socket watches for the client hanging up, write the answer.
#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <weft/asio.hpp>
#include <weft/errors.hpp>
#include <weft/sleep.hpp>
#include <weft/this_task.hpp>
#include <weft/timeout.hpp>
#include <weft/uncancellable.hpp>

#include "compute.hpp"
#include "routes.hpp"
#include "service_state.hpp"

namespace service {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using response = http::response<http::string_body>;
constexpr auto as_code = asio::as_tuple(weft::use_task);
// A write at shutdown or to a client that stopped reading gives up after this.
constexpr std::chrono::seconds k_write_grace{1};

response json_response(unsigned status, std::string body, bool keep_alive) {
  response res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "weft-service");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

response error_response(unsigned status, std::string_view message, bool keep_alive) {
  return json_response(status, error_json(message), keep_alive);
}

weft::task<void> write_now(service_state& s, tcp::socket& sock, response res) {
  s.counters.count_status(res.result_int());
  // A failed write means the client is gone: nothing more to tell it.
  co_await http::async_write(sock, res, as_code);
}

weft::task<void> write_within_grace(service_state& s, tcp::socket& sock, response res) {
  try {
    co_await weft::uncancellable(write_now(s, sock, std::move(res)), k_write_grace);
  } catch (const weft::timeout_error&) {
  }
}

// Every answer is written whole, also by a task being cancelled (the 503
// at shutdown: awaiting a task is a suspension point, so the mask must be
// outside it), and gives up after k_write_grace on a client that does not
// read.
weft::uncancellable_awaitable<void> write(service_state& s, tcp::socket& sock, response res) {
  return weft::uncancellable(write_within_grace(s, sock, std::move(res)));
}

weft::task<std::uint64_t> compute(compute_request r) {
  switch (r.which) {
    case endpoint::fib: co_return co_await fib(r.arg);
    case endpoint::nqueens: co_return co_await nqueens(r.arg);
    case endpoint::mandelbrot: co_return co_await mandelbrot(r.arg);
  }
  co_return 0;
}

weft::task<std::uint64_t> compute_with_slot(service_state& s, compute_request r) {
  weft::semaphore::permit slot = co_await s.slots.scoped_acquire();
  co_return co_await compute(r);
}

// The request's own task: its deadline counts from arrival, the wait for
// this task to start (behind older requests) and for a slot included. A
// deadline already spent still starts the computation, which is then
// cancelled at its first suspension point.
weft::task<std::uint64_t> run_request(service_state& s, compute_request r,
                                      std::chrono::steady_clock::time_point arrived) {
  const auto left = r.deadline - (std::chrono::steady_clock::now() - arrived);
  co_return co_await weft::timeout(left, compute_with_slot(s, r));
}

// Reads from the socket while the request computes: end of stream or an
// error means the client hung up. Bytes of a pipelined next request are
// kept in `pending` for the next parse.
weft::task<void> watch_for_hang_up(tcp::socket& sock, boost::beast::flat_buffer& pending,
                                   weft::task_handle<std::uint64_t> request, std::size_t limit) {
  try {
    while (pending.size() < limit) {
      auto [ec, n] = co_await sock.async_read_some(pending.prepare(1024), as_code);
      if (ec) {
        request.cancel("client disconnected");
        co_return;
      }
      pending.commit(n);
    }
  } catch (const weft::cancelled_error&) {
    // Told to stop watching: the request has its answer.
  }
}

// A watcher cancelled before it started ends cancelled without running,
// and awaiting it then throws its cancellation: that is not this task's.
weft::task<void> await_watcher(weft::task_handle<void> watcher) {
  try {
    co_await watcher;
  } catch (const weft::cancelled_error&) {
  }
}

bool timed_out(const weft::task_handle<std::uint64_t>& h) {
  if (h.cancelled() || !h.exception()) return false;
  try {
    std::rethrow_exception(h.exception());
  } catch (const weft::timeout_error&) {
    return true;
  } catch (...) {
  }
  return false;
}

void record_end(service_state& s, const weft::task_handle<std::uint64_t>& h, endpoint e) {
  std::optional<weft::cancel_reason> reason;
  if (h.cancelled()) {
    reason = h.cancel_reason();
  } else if (timed_out(h)) {
    reason = weft::cancel_reason{weft::cancel_kind::timeout, {}};  // its computation was cancelled so
  }
  if (h.cancelled() && reason) {
    if (reason->kind == weft::cancel_kind::user) s.counters.cancelled_by_disconnect.fetch_add(1, std::memory_order_relaxed);
    if (reason->kind == weft::cancel_kind::shutdown) s.counters.cancelled_by_shutdown.fetch_add(1, std::memory_order_relaxed);
  }
  if (s.options.on_request_end) s.options.on_request_end({std::string(name_of(e)), reason, std::chrono::steady_clock::now()});
  s.admitted.fetch_sub(1, std::memory_order_relaxed);
}

// A request read and not yet answered, for stop()'s grace: it waits until
// none is left (an answer written, or its client gone).
class unanswered_request {
 public:
  explicit unanswered_request(service_state& s) : s_(s) {
    std::lock_guard lock(s_.idle_mutex);
    ++s_.unanswered;
  }
  ~unanswered_request() {
    {
      std::lock_guard lock(s_.idle_mutex);
      --s_.unanswered;
    }
    s_.idle.notify_all();
  }
  unanswered_request(const unanswered_request&) = delete;
  unanswered_request& operator=(const unanswered_request&) = delete;

 private:
  service_state& s_;
};

// The answer to a computation, or nothing if the client hung up.
weft::task<std::optional<response>> answer(service_state& s, tcp::socket& sock, boost::beast::flat_buffer& pending,
                                           compute_request r, bool keep_alive) {
  const std::size_t capacity = s.options.queue_limit + s.slots_total;
  if (s.admitted.fetch_add(1, std::memory_order_relaxed) >= capacity) {
    s.admitted.fetch_sub(1, std::memory_order_relaxed);
    s.counters.rejected_busy.fetch_add(1, std::memory_order_relaxed);
    co_return error_response(503, "busy: every computing slot is taken and the queue is full; retry later", keep_alive);
  }
  const auto started = std::chrono::steady_clock::now();
  weft::task_handle<std::uint64_t> request = s.sched.spawn(run_request(s, r, started), name_of(r.which));
  request.add_done_callback([&s, e = r.which](const weft::task_handle<std::uint64_t>& h) { record_end(s, h, e); });
  weft::task_handle<void> watcher;
  if (s.options.cancel_on_disconnect) {
    // Forked, so it runs next on this worker (this task suspends below) and
    // its read is posted at once; the request itself is enqueued behind
    // older requests (scheduler::spawn) and does not overtake their trees.
    watcher = weft::spawn(watch_for_hang_up(sock, pending, request, s.options.header_limit), "hang-up watch");
  }
  std::optional<response> res;
  std::exception_ptr error;
  try {
    const std::uint64_t value = co_await request;
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    res = json_response(200,
                        "{\"endpoint\":\"" + std::string(name_of(r.which)) + "\",\"arg\":" + std::to_string(r.arg) +
                            ",\"result\":" + std::to_string(value) + ",\"elapsed_ms\":" + std::to_string(ms) + "}",
                        keep_alive);
  } catch (const weft::timeout_error&) {
    s.counters.cancelled_by_deadline.fetch_add(1, std::memory_order_relaxed);
    res = error_response(504, "deadline of " + std::to_string(r.deadline.count()) + " ms exceeded (reason timeout)", keep_alive);
  } catch (const weft::cancelled_error& e) {
    // Shutdown (of this connection's task or of the request's) is answered
    // by serve(); a request cancelled on its own was cancelled because its
    // client hung up: no answer.
    if (weft::this_task::cancellation_requested() || e.reason().kind == weft::cancel_kind::shutdown) {
      error = std::current_exception();
    }
  }
  // The watcher reads into `pending` and `sock`: it must end before either
  // is used again or destroyed, also when this task is cancelled.
  if (watcher) {
    watcher.cancel();
    co_await weft::uncancellable(await_watcher(watcher));
  }
  if (error) std::rethrow_exception(error);
  co_return res;
}

weft::task<response> respond(service_state& s, tcp::socket& sock, boost::beast::flat_buffer& pending,
                             const http::request<http::empty_body>& req, bool& hung_up) {
  const bool keep_alive = req.keep_alive() && !s.stopping.load(std::memory_order_relaxed);
  s.counters.requests.fetch_add(1, std::memory_order_relaxed);
  routed_request routed = route(std::string_view(req.method_string()), std::string_view(req.target()));
  if (auto* rejected = std::get_if<rejected_request>(&routed)) co_return error_response(rejected->status, rejected->message, keep_alive);
  if (std::holds_alternative<stats_request>(routed)) co_return json_response(200, stats_json(s), keep_alive);
  if (s.stopping.load(std::memory_order_relaxed)) co_return error_response(503, "the server is shutting down", false);
  std::optional<response> res = co_await answer(s, sock, pending, std::get<compute_request>(routed), keep_alive);
  hung_up = !res.has_value();
  co_return res ? std::move(*res) : response{};
}

weft::task<boost::system::error_code> read_header(tcp::socket& sock, boost::beast::flat_buffer& buf,
                                                  http::request_parser<http::empty_body>& parser) {
  auto [ec, n] = co_await http::async_read_header(sock, buf, parser, as_code);
  co_return ec;
}

weft::task<boost::system::error_code> wait_readable(tcp::socket& sock) {
  auto [ec] = co_await sock.async_wait(tcp::socket::wait_read, as_code);
  co_return ec;
}

// The status for a request that could not be parsed, 0 for a lost client.
unsigned status_of_parse_error(const boost::system::error_code& ec) {
  if (ec == http::error::end_of_stream || ec == asio::error::connection_reset || ec == asio::error::eof) return 0;
  if (ec == http::error::header_limit) return 431;
  return 400;
}

weft::task<void> serve(service_state& s, tcp::socket sock) {
  boost::beast::flat_buffer buf;
  std::exception_ptr cancelled;
  bool answering = false;  // a request was read and its answer not yet written
  try {
    for (;;) {
      if (buf.size() == 0) {
        try {
          // A named result, not `if (co_await ...)`: g++ 12 miscompiles a
          // co_await in the condition of an if with a lone statement.
          const boost::system::error_code ec = co_await weft::timeout(s.options.idle_timeout, wait_readable(sock));
          if (ec) break;
        } catch (const weft::timeout_error&) {
          break;  // an idle kept-alive connection is closed without an answer
        }
      }
      http::request_parser<http::empty_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(s.options.header_limit));
      boost::system::error_code ec;
      bool slow = false;
      try {
        ec = co_await weft::timeout(s.options.header_timeout, read_header(sock, buf, parser));
      } catch (const weft::timeout_error&) {
        slow = true;
      }
      if (slow) {
        co_await write(s, sock, error_response(408, "the request header took longer than " + std::to_string(s.options.header_timeout.count()) + " ms", false));
        break;
      }
      if (ec) {
        if (const unsigned status = status_of_parse_error(ec)) {
          // Built before the co_await: g++ 12 destroys a conditional
          // expression's string temporaries twice inside a co_await.
          std::string message = status == 431 ? "request header larger than " + std::to_string(s.options.header_limit) + " bytes"
                                              : "malformed request: " + ec.message();
          co_await write(s, sock, error_response(status, message, false));
        }
        break;
      }
      if (!parser.is_done()) {  // a body on a GET: not served
        co_await write(s, sock, error_response(400, "a request body is not accepted", false));
        break;
      }
      bool hung_up = false;
      answering = true;
      bool keep = false;
      {
        const unanswered_request pending(s);
        response res = co_await respond(s, sock, buf, parser.get(), hung_up);
        if (hung_up) break;
        keep = res.keep_alive();
        co_await write(s, sock, std::move(res));
      }
      answering = false;
      if (!keep) break;
    }
  } catch (const weft::cancelled_error&) {
    cancelled = std::current_exception();  // shutdown: the socket closes below
  }
  if (cancelled && answering) co_await write(s, sock, error_response(503, "the server is shutting down", false));
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  sock.close(ignored);
  s.counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
  if (cancelled) std::rethrow_exception(cancelled);
}

weft::task<void> refuse(service_state& s, tcp::socket sock) {
  co_await write(s, sock, error_response(503, "too many connections; retry later", false));
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  s.counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace

weft::task<void> accept_connections(service_state& s) {
  for (;;) {
    auto [ec, sock] = co_await s.acceptor.async_accept(as_code);
    if (ec) {
      // Out of descriptors or similar: let connections end, then go on.
      co_await weft::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    s.counters.connections.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t open = s.counters.connections_open.fetch_add(1, std::memory_order_relaxed);
    // Forked (weft::spawn): a connection's task does I/O and starts at once
    // (this task suspends in its next accept); only computations queue.
    if (open >= s.options.max_connections) {
      s.counters.connections_refused.fetch_add(1, std::memory_order_relaxed);
      weft::spawn(refuse(s, std::move(sock)), "refuse");
    } else {
      weft::spawn(serve(s, std::move(sock)), "connection");
    }
  }
}

}  // namespace service
