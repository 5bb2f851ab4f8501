#pragma once
// An HTTP/1.1 service on Boost.Beast and weft: each request's computation
// runs on a weft scheduler under its deadline, a client that hangs up
// cancels its request, and stop() drains, cancels and closes everything.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <weft/cancel_reason.hpp>
#include <weft/scheduler_stats.hpp>

namespace service {

/// How a computation ended, reported to service_options::on_request_end
/// (on the worker that ended it) right after its task became terminal.
struct request_outcome {
  std::string endpoint;                       ///< "fib", "nqueens", "mandelbrot"
  std::optional<weft::cancel_reason> reason;  ///< set if the task ended cancelled
  std::chrono::steady_clock::time_point ended;
};

struct service_options {
  std::string address = "127.0.0.1";
  unsigned short port = 0;  ///< 0: an ephemeral port (see service::port())
  std::size_t workers = 2;
  std::size_t max_inflight = 0;  ///< computations at once; 0: 4 x workers
  std::size_t queue_limit = 64;  ///< computations waiting for a slot before 503
  std::size_t max_connections = 512;
  std::size_t header_limit = 8 * 1024;  ///< bytes of request line and headers before 431
  std::chrono::milliseconds header_timeout{5000};  ///< from a request's first byte to its end, or 408
  std::chrono::milliseconds idle_timeout{30000};   ///< a kept-alive connection's wait for a request
  bool cancel_on_disconnect = true;
  std::function<void(const request_outcome&)> on_request_end;
};

/// The service's counters (a snapshot; exact once it is stopped).
struct service_counters {
  std::uint64_t connections = 0, connections_open = 0, connections_refused = 0;
  std::uint64_t requests = 0, status_2xx = 0, status_4xx = 0, status_5xx = 0;
  std::uint64_t computing = 0;  ///< computations admitted and not yet ended
  std::uint64_t cancelled_by_disconnect = 0, cancelled_by_deadline = 0, cancelled_by_shutdown = 0;
  std::uint64_t rejected_busy = 0;  ///< 503 because the queue was full
};

/// What stop() leaves: the scheduler's final counters (every task terminal)
/// and the service's.
struct final_report {
  weft::scheduler_stats scheduler;
  service_counters counters;
};

struct service_state;

/// Listens on construction (throws boost::system::system_error if it cannot
/// bind); serves on one I/O thread and `workers` weft workers until stop().
class http_service {
 public:
  explicit http_service(service_options options);
  ~http_service();  ///< stop(0ms) if stop() was not called
  http_service(const http_service&) = delete;
  http_service& operator=(const http_service&) = delete;

  unsigned short port() const;
  service_counters counters() const;
  /// The body of GET /stats: {"scheduler": {...}, "service": {...}}.
  std::string stats_json() const;

  /// Stops accepting, gives computations `grace` to end, then shuts the
  /// scheduler down: what still computes is cancelled (reason shutdown) and
  /// answered 503, every connection is closed, the I/O thread ends. Call
  /// once, from a thread that is not a weft worker.
  final_report stop(std::chrono::milliseconds grace);

 private:
  std::unique_ptr<service_state> state_;
  unsigned short port_ = 0;
  std::optional<final_report> report_;
};

}  // namespace service
