// The HTTP service (examples/service) started in-process on 127.0.0.1 with
// an ephemeral port and driven by a Beast client over real sockets: right
// answers, deadlines, hang-ups that stop the computation, bad input next to
// a good client, a full queue, and stopping under load.
#include <gtest/gtest.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <iostream>
#include <future>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "service.hpp"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

std::chrono::nanoseconds process_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// The outcomes the service reports, for a test thread to wait on.
struct outcomes {
  std::mutex m;
  std::condition_variable cv;
  std::vector<service::request_outcome> seen;

  std::function<void(const service::request_outcome&)> recorder() {
    return [this](const service::request_outcome& o) {
      std::lock_guard lock(m);
      seen.push_back(o);
      cv.notify_all();
    };
  }
  // The n-th outcome, waiting for it up to `limit` (nullopt if it did not come).
  std::optional<service::request_outcome> wait_for(std::size_t n, std::chrono::milliseconds limit) {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, limit, [&] { return seen.size() >= n; })) return std::nullopt;
    return seen[n - 1];
  }
};

// A client connection: blocking writes, and reads that give up after 20 s
// so that a broken server fails the test instead of hanging it.
class client {
 public:
  explicit client(unsigned short port) : sock_(io_) { sock_.connect({asio::ip::make_address("127.0.0.1"), port}); }
  void send_raw(std::string_view bytes) { asio::write(sock_, asio::buffer(bytes)); }
  void send_get(std::string_view target) {
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(sock_, req);
  }
  // The next response, or nullopt if the server closed the connection.
  std::optional<http::response<http::string_body>> read() {
    http::response<http::string_body> res;
    const boost::system::error_code ec = within_limit([&](auto done) { http::async_read(sock_, buf_, res, done); });
    if (ec) return std::nullopt;
    return res;
  }
  http::response<http::string_body> get(std::string_view target) {
    send_get(target);
    auto res = read();
    if (!res) throw std::runtime_error("connection closed before the answer to " + std::string(target));
    return *res;
  }
  // True if the server closed the connection (a read returns end of stream).
  bool closed_by_server() {
    char c;
    const boost::system::error_code ec = within_limit([&](auto done) { sock_.async_read_some(asio::buffer(&c, 1), done); });
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }
  void close() {
    boost::system::error_code ignored;
    sock_.close(ignored);
  }

 private:
  // Runs one read started by `start(handler)` for up to 20 s; a read that
  // has not ended by then is cancelled (operation_aborted).
  template <class Start>
  boost::system::error_code within_limit(Start start) {
    boost::system::error_code result = asio::error::operation_aborted;
    bool ended = false;
    start([&](boost::system::error_code ec, std::size_t) {
      result = ec;
      ended = true;
    });
    io_.restart();
    io_.run_for(20s);
    if (!ended) {
      sock_.cancel();
      io_.restart();
      io_.run();
    }
    return result;
  }

  asio::io_context io_;
  tcp::socket sock_;
  boost::beast::flat_buffer buf_;
};

service::service_options options_with(outcomes* seen = nullptr) {
  service::service_options o;
  o.workers = 2;
  if (seen != nullptr) o.on_request_end = seen->recorder();
  return o;
}

// Reference answers computed here, the plain way.
std::uint64_t fib_reference(int n) { return n < 2 ? n : fib_reference(n - 1) + fib_reference(n - 2); }

std::uint64_t mandelbrot_reference(int size) {
  std::uint64_t inside = 0;
  for (int row = 0; row < size; ++row) {
    for (int col = 0; col < size; ++col) {
      const double cr = -2.0 + col * (3.0 / size), ci = -1.5 + row * (3.0 / size);
      double zr = 0, zi = 0;
      int i = 0;
      for (; i < 256 && zr * zr + zi * zi <= 4.0; ++i) {
        const double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
      }
      inside += i == 256;
    }
  }
  return inside;
}

std::string result_field(std::uint64_t v) { return "\"result\":" + std::to_string(v) + ","; }

void wait_until_computing(const service::http_service& svc, std::uint64_t n) {
  // Polls a counter the service publishes; bounded so a broken service fails.
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (svc.counters().computing < n) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the request never started computing";
    std::this_thread::yield();
  }
}

void wait_until_idle(const service::http_service& svc) {
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (svc.counters().computing != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "a request never ended";
    std::this_thread::yield();
  }
}

TEST(Service, AnswersEachEndpointWithTheRightResultAsJson) {
  service::http_service svc(options_with());
  client c(svc.port());
  auto fib = c.get("/fib?n=27&deadline_ms=60000");
  EXPECT_EQ(fib.result_int(), 200u);
  EXPECT_EQ(fib[http::field::content_type], "application/json");
  EXPECT_NE(fib.body().find(result_field(fib_reference(27))), std::string::npos) << fib.body();
  auto queens = c.get("/nqueens?n=8&deadline_ms=60000");  // same connection: kept alive
  EXPECT_EQ(queens.result_int(), 200u);
  EXPECT_NE(queens.body().find(result_field(92)), std::string::npos) << queens.body();
  auto mandel = c.get("/mandelbrot?size=100&deadline_ms=60000");
  EXPECT_EQ(mandel.result_int(), 200u);
  EXPECT_NE(mandel.body().find(result_field(mandelbrot_reference(100))), std::string::npos) << mandel.body();
  auto stats = c.get("/stats");
  EXPECT_EQ(stats.result_int(), 200u);
  EXPECT_NE(stats.body().find("\"requests\":4"), std::string::npos) << stats.body();
  EXPECT_NE(stats.body().find("\"status_2xx\":3"), std::string::npos) << stats.body();
  EXPECT_NE(stats.body().find("\"workers\":2"), std::string::npos) << stats.body();
}

TEST(Service, ManyInstantRequestsOnOneConnectionAreEachAnswered200) {
  // Each request ends about when its hang-up watcher starts its read: the
  // watcher is cancelled unstarted, or while its read is being started,
  // which must neither close the connection, turn the answer into a 503,
  // nor leave the read pending (the answer lost).
  service::http_service svc(options_with());
  client c(svc.port());
  for (int i = 0; i < 5000; ++i) {
    auto res = c.get("/fib?n=1&deadline_ms=60000");
    ASSERT_EQ(res.result_int(), 200u) << "request " << i << ": " << res.body();
  }
  const auto n = svc.counters();
  EXPECT_EQ(n.connections, 1u);
  EXPECT_EQ(n.status_5xx, 0u);
  EXPECT_EQ(n.status_2xx, 5000u);
}

TEST(Service, AnExpiredDeadlineAnswers504AndCancelsTheComputationWithReasonTimeout) {
  outcomes seen;
  service::http_service svc(options_with(&seen));
  client c(svc.port());
  auto res = c.get("/fib?n=40&deadline_ms=5");
  EXPECT_EQ(res.result_int(), 504u);
  EXPECT_NE(res.body().find("deadline of 5 ms exceeded"), std::string::npos) << res.body();
  auto o = seen.wait_for(1, 20s);
  ASSERT_TRUE(o.has_value());
  ASSERT_TRUE(o->reason.has_value());
  EXPECT_EQ(o->reason->kind, weft::cancel_kind::timeout);
  EXPECT_EQ(svc.counters().cancelled_by_deadline, 1u);
}

// On one worker a request queues behind the computation under way (its
// task is enqueued, not forked): that wait counts against its deadline.
TEST(Service, ADeadlineCountsTheWaitBehindOlderRequests) {
  service::service_options o = options_with();
  o.workers = 1;
  service::http_service svc(o);
  client computing(svc.port()), queued(svc.port());
  computing.send_get("/mandelbrot?size=2048&deadline_ms=60000");
  wait_until_computing(svc, 1);
  auto res = queued.get("/fib?n=15&deadline_ms=2");
  EXPECT_EQ(res.result_int(), 504u) << res.body();
  auto first = computing.read();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->result_int(), 200u);
}

template <class T>
T median_of(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Waits until this process has used `cpu` more CPU time than at `since`
// (the computation under way is deep in its tree), for at most 20 s.
void wait_for_cpu(std::chrono::nanoseconds since, std::chrono::nanoseconds cpu) {
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (process_cpu() - since < cpu) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the computation used no CPU";
    std::this_thread::yield();
  }
}

// Each endpoint is hung up on k_hang_ups times, each time once the
// computation has used 40 ms of CPU. The request must end cancelled by the
// hang-up (its deadline is a minute away and each computation needs
// seconds), and nothing of it may be left running. How soon it ends, and
// the CPU used after the hang-up, are printed here and measured by
// bench/service/load.py (abandon): a bound on them would depend on the
// host's speed and load.
TEST(Service, AHangUpCancelsTheRequestAndItsComputationEnds) {
  constexpr int k_hang_ups = 5;
  for (const char* target : {"/fib?n=40&deadline_ms=60000", "/nqueens?n=15&deadline_ms=60000",
                             "/mandelbrot?size=4096&deadline_ms=60000"}) {
    SCOPED_TRACE(target);
    outcomes seen;
    service::http_service svc(options_with(&seen));
    std::vector<std::chrono::nanoseconds> latency, cpu;
    for (int i = 1; i <= k_hang_ups; ++i) {
      client c(svc.port());
      c.send_get(target);
      wait_until_computing(svc, 1);
      wait_for_cpu(process_cpu(), 40ms);
      const auto cpu_before = process_cpu();
      const auto hung_up = std::chrono::steady_clock::now();
      c.close();
      auto o = seen.wait_for(i, 60s);
      const auto cpu_after = process_cpu();
      ASSERT_TRUE(o.has_value()) << "the request did not end after its client hung up";
      ASSERT_TRUE(o->reason.has_value()) << "the request ran to its end after its client hung up";
      EXPECT_EQ(o->reason->kind, weft::cancel_kind::user);
      EXPECT_EQ(o->reason->message, "client disconnected");
      latency.push_back(o->ended - hung_up);
      cpu.push_back(cpu_after - cpu_before);
      wait_until_idle(svc);
    }
    EXPECT_EQ(svc.counters().cancelled_by_disconnect, static_cast<std::uint64_t>(k_hang_ups));
    // Stopping now cancels nothing: no computation outlived its request.
    const service::final_report end = svc.stop(0ms);
    EXPECT_EQ(end.counters.computing, 0u);
    EXPECT_EQ(end.counters.cancelled_by_shutdown, 0u) << "a computation outlived its request";
    std::cout << target << ": hang-up to end (ms)";
    for (auto d : latency) std::cout << ' ' << std::chrono::duration<double, std::milli>(d).count();
    std::cout << "; CPU after (ms)";
    for (auto d : cpu) std::cout << ' ' << std::chrono::duration<double, std::milli>(d).count();
    std::cout << '\n';
  }
}

TEST(Service, WithoutCancelOnDisconnectAHungUpRequestRunsToItsEnd) {
  outcomes seen;
  service::service_options o = options_with(&seen);
  o.cancel_on_disconnect = false;
  service::http_service svc(o);
  client c(svc.port());
  c.send_get("/fib?n=34&deadline_ms=60000");
  wait_until_computing(svc, 1);
  c.close();
  auto out = seen.wait_for(1, 60s);
  ASSERT_TRUE(out.has_value());
  EXPECT_FALSE(out->reason.has_value()) << "cancelled although cancel_on_disconnect is off";
  EXPECT_EQ(svc.counters().cancelled_by_disconnect, 0u);
}

// Runs a well-formed request on its own connection while `bad` runs; the
// good one must get its right answer.
template <class Bad>
void while_a_good_client_is_served(const service::http_service& svc, Bad bad) {
  auto good = std::async(std::launch::async, [&svc] {
    client c(svc.port());
    return c.get("/fib?n=30&deadline_ms=60000");
  });
  bad();
  auto res = good.get();
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_NE(res.body().find(result_field(fib_reference(30))), std::string::npos) << res.body();
}

TEST(Service, AMalformedRequestLineIsAnswered400AndClosed) {
  service::http_service svc(options_with());
  while_a_good_client_is_served(svc, [&] {
    client c(svc.port());
    c.send_raw("GET /fib?n=3 HTTP/9.9 extra\r\n\r\n");
    auto res = c.read();
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->result_int(), 400u);
    EXPECT_NE(res->body().find("malformed request"), std::string::npos) << res->body();
    EXPECT_TRUE(c.closed_by_server());
  });
}

TEST(Service, AMalformedHeaderIsAnswered400) {
  service::http_service svc(options_with());
  while_a_good_client_is_served(svc, [&] {
    client c(svc.port());
    c.send_raw("GET /fib?n=3 HTTP/1.1\r\nno colon here\r\n\r\n");
    auto res = c.read();
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->result_int(), 400u);
  });
}

TEST(Service, HeadersOverTheLimitAreAnswered431) {
  service::service_options o = options_with();
  o.header_limit = 1024;
  service::http_service svc(o);
  while_a_good_client_is_served(svc, [&] {
    client c(svc.port());
    c.send_raw("GET /fib?n=3 HTTP/1.1\r\nX-Big: " + std::string(2048, 'a') + "\r\n\r\n");
    auto res = c.read();
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->result_int(), 431u);
    EXPECT_NE(res->body().find("larger than 1024 bytes"), std::string::npos) << res->body();
  });
}

TEST(Service, AnUnknownPathIsAnswered404NamingThePaths) {
  service::http_service svc(options_with());
  while_a_good_client_is_served(svc, [&] {
    client c(svc.port());
    auto res = c.get("/primes?n=3");
    EXPECT_EQ(res.result_int(), 404u);
    EXPECT_NE(res.body().find("/fib, /nqueens, /mandelbrot"), std::string::npos) << res.body();
    EXPECT_EQ(c.get("/fib?n=10&deadline_ms=60000").result_int(), 200u) << "the connection should stay usable";
  });
}

TEST(Service, AParameterOutOfRangeOrNotANumberIsAnswered400NamingItAndItsRange) {
  service::http_service svc(options_with());
  while_a_good_client_is_served(svc, [&] {
    client c(svc.port());
    auto out_of_range = c.get("/nqueens?n=99");
    EXPECT_EQ(out_of_range.result_int(), 400u);
    EXPECT_NE(out_of_range.body().find("parameter 'n' is out of range: it must be a whole number from 1 to 15"),
              std::string::npos)
        << out_of_range.body();
    auto not_a_number = c.get("/mandelbrot?size=12x");
    EXPECT_EQ(not_a_number.result_int(), 400u);
    EXPECT_NE(not_a_number.body().find("parameter 'size' is not a number"), std::string::npos) << not_a_number.body();
    auto deadline = c.get("/fib?n=3&deadline_ms=0");
    EXPECT_EQ(deadline.result_int(), 400u);
    EXPECT_NE(deadline.body().find("'deadline_ms'"), std::string::npos) << deadline.body();
  });
}

TEST(Service, AHeaderSentSlowerThanTheTimeoutIsAnswered408AndClosed) {
  service::service_options o = options_with();
  o.header_timeout = 200ms;
  service::http_service svc(o);
  while_a_good_client_is_served(svc, [&] {
    client c(svc.port());
    const auto sent = std::chrono::steady_clock::now();
    c.send_raw("GET /fib?n=3 HTTP/1.1\r\nHo");  // and nothing more
    auto res = c.read();
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->result_int(), 408u);
    EXPECT_GE(std::chrono::steady_clock::now() - sent, 200ms);
    EXPECT_TRUE(c.closed_by_server());
  });
}

TEST(Service, ConnectionsOverTheLimitAreAnswered503) {
  service::service_options o = options_with();
  o.max_connections = 2;
  service::http_service svc(o);
  client first(svc.port());
  EXPECT_EQ(first.get("/fib?n=5&deadline_ms=60000").result_int(), 200u);  // the connection is open now
  client second(svc.port());
  EXPECT_EQ(second.get("/fib?n=5&deadline_ms=60000").result_int(), 200u);
  client third(svc.port());
  auto res = third.read();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->result_int(), 503u);
  EXPECT_NE(res->body().find("too many connections"), std::string::npos) << res->body();
  EXPECT_EQ(first.get("/fib?n=6&deadline_ms=60000").result_int(), 200u) << "an admitted connection was disturbed";
  EXPECT_EQ(svc.counters().connections_refused, 1u);
}

TEST(Service, BeyondTheQueueLimitARequestIsAnswered503AtOnce) {
  service::service_options o = options_with();
  o.max_inflight = 1;
  o.queue_limit = 1;
  service::http_service svc(o);
  client computing(svc.port()), waiting(svc.port()), refused(svc.port());
  computing.send_get("/mandelbrot?size=4096&deadline_ms=60000");
  waiting.send_get("/mandelbrot?size=4096&deadline_ms=60000");
  wait_until_computing(svc, 2);
  auto res = refused.get("/fib?n=3");
  EXPECT_EQ(res.result_int(), 503u);
  EXPECT_NE(res.body().find("queue is full"), std::string::npos) << res.body();
  EXPECT_EQ(svc.counters().rejected_busy, 1u);
  // stop() cancels the two (reason shutdown) and answers them 503.
  service::final_report r = svc.stop(0ms);
  for (client* c : {&computing, &waiting}) {
    auto answer = c->read();
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->result_int(), 503u);
    EXPECT_NE(answer->body().find("shutting down"), std::string::npos) << answer->body();
  }
  EXPECT_EQ(r.counters.cancelled_by_shutdown, 2u);
}

TEST(Service, StopLetsARequestFinishWithinTheGrace) {
  service::http_service svc(options_with());
  client c(svc.port());
  // A few hundred ms (seconds in a sanitizer build); stop() returns as
  // soon as it ends, so the grace and the deadline are long.
  c.send_get("/mandelbrot?size=2048&deadline_ms=60000");
  wait_until_computing(svc, 1);
  service::final_report r = svc.stop(300s);
  auto res = c.read();
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->result_int(), 200u) << res->body();
  EXPECT_EQ(res->body().find("keep-alive"), std::string::npos);
  EXPECT_TRUE(c.closed_by_server()) << "a connection was left open after stop()";
  EXPECT_EQ(r.counters.status_2xx, 1u);
}

TEST(Service, StopUnderLoadAnswersOrClosesEveryRequestAndLeavesEveryTaskTerminal) {
  service::http_service svc(options_with());
  constexpr int k_clients = 8;
  std::atomic<int> answered{0}, closed{0}, wrong{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  std::latch running{k_clients};
  for (int i = 0; i < k_clients; ++i) {
    clients.emplace_back([&, i] {
      client c(svc.port());
      running.count_down();
      const char* targets[] = {"/fib?n=32&deadline_ms=40", "/nqueens?n=11", "/mandelbrot?size=256", "/fib?n=25"};
      for (int k = 0; !stop.load(); ++k) {
        try {
          c.send_get(targets[(i + k) % 4]);
        } catch (const boost::system::system_error&) {
          ++closed;
          return;
        }
        auto res = c.read();
        if (!res) {
          ++closed;
          return;
        }
        const unsigned s = res->result_int();
        (s == 200 || s == 503 || s == 504 ? answered : wrong)++;
        if (!res->keep_alive()) {
          closed += c.closed_by_server() ? 1 : 0;
          return;
        }
      }
    });
  }
  running.wait();
  // Under way: a few rounds answered, and something computing right now.
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (answered.load() < 2 * k_clients && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  ASSERT_GE(answered.load(), 2 * k_clients) << "the clients were not answered";
  wait_until_computing(svc, 1);
  service::final_report r = svc.stop(0ms);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(closed.load(), k_clients) << "a client's connection was left open";
  EXPECT_GT(answered.load(), 0);
  const auto& s = r.scheduler;
  EXPECT_EQ(s.succeeded + s.failed + s.cancelled, s.spawned) << weft::to_string(s);
  EXPECT_EQ(r.counters.connections_open, 0u);
  EXPECT_EQ(r.counters.computing, 0u);
}

}  // namespace
