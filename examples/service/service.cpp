#include "service.hpp"

#include <boost/asio/ip/address.hpp>

#include "service_state.hpp"

namespace service {
namespace {

weft::scheduler_options scheduler_options_for(const service_options& o) {
  weft::scheduler_options so;
  so.workers = o.workers;
  return so;
}

std::size_t slots_for(const service_options& o) { return o.max_inflight != 0 ? o.max_inflight : 4 * o.workers; }

}  // namespace

void atomic_counters::count_status(unsigned status) {
  auto& c = status < 300 ? status_2xx : status < 500 ? status_4xx : status_5xx;
  c.fetch_add(1, std::memory_order_relaxed);
}

service_state::service_state(service_options o)
    : options(std::move(o)),
      io(1),
      io_work(io.get_executor()),
      acceptor(io, {boost::asio::ip::make_address(options.address), options.port}),
      sched(scheduler_options_for(options)),
      slots_total(slots_for(options)),
      slots(slots_total) {}

service_counters service_state::snapshot() const {
  constexpr auto r = std::memory_order_relaxed;
  const atomic_counters& c = counters;
  service_counters out;
  out.connections = c.connections.load(r);
  out.connections_open = c.connections_open.load(r);
  out.connections_refused = c.connections_refused.load(r);
  out.requests = c.requests.load(r);
  out.status_2xx = c.status_2xx.load(r);
  out.status_4xx = c.status_4xx.load(r);
  out.status_5xx = c.status_5xx.load(r);
  out.computing = admitted.load(r);
  out.cancelled_by_disconnect = c.cancelled_by_disconnect.load(r);
  out.cancelled_by_deadline = c.cancelled_by_deadline.load(r);
  out.cancelled_by_shutdown = c.cancelled_by_shutdown.load(r);
  out.rejected_busy = c.rejected_busy.load(r);
  return out;
}

std::string stats_json(const service_state& s) {
  const weft::scheduler_stats t = s.sched.stats();
  const service_counters c = s.snapshot();
  auto field = [](std::string& out, const char* name, std::uint64_t v) {
    if (out.back() != '{') out += ',';
    out += '"';
    out += name;
    out += "\":" + std::to_string(v);
  };
  std::string out = "{\"scheduler\":{";
  field(out, "workers", s.sched.worker_count());
  field(out, "spawned", t.spawned);
  field(out, "succeeded", t.succeeded);
  field(out, "failed", t.failed);
  field(out, "cancelled", t.cancelled);
  field(out, "steals", t.steals);
  field(out, "parks", t.parks);
  out += "},\"service\":{";
  field(out, "connections", c.connections);
  field(out, "connections_open", c.connections_open);
  field(out, "connections_refused", c.connections_refused);
  field(out, "requests", c.requests);
  field(out, "status_2xx", c.status_2xx);
  field(out, "status_4xx", c.status_4xx);
  field(out, "status_5xx", c.status_5xx);
  field(out, "computing", c.computing);
  field(out, "cancelled_by_disconnect", c.cancelled_by_disconnect);
  field(out, "cancelled_by_deadline", c.cancelled_by_deadline);
  field(out, "cancelled_by_shutdown", c.cancelled_by_shutdown);
  field(out, "rejected_busy", c.rejected_busy);
  out += "}}";
  return out;
}

http_service::http_service(service_options options) : state_(std::make_unique<service_state>(std::move(options))) {
  service_state& s = *state_;
  port_ = s.acceptor.local_endpoint().port();
  s.accepting = s.sched.spawn(accept_connections(s), "accept");
  s.io_thread = std::thread([&s] { s.io.run(); });
}

http_service::~http_service() {
  if (!report_) stop(std::chrono::milliseconds(0));
}

unsigned short http_service::port() const { return port_; }

service_counters http_service::counters() const { return state_->snapshot(); }

std::string http_service::stats_json() const { return service::stats_json(*state_); }

final_report http_service::stop(std::chrono::milliseconds grace) {
  if (report_) return *report_;
  service_state& s = *state_;
  s.stopping.store(true, std::memory_order_relaxed);
  s.accepting.cancel("the service is stopping");
  s.accepting.wait();
  // No operation on the acceptor is left, so this thread may close it: new
  // connections are refused by the kernel from here on.
  boost::system::error_code ignored;
  s.acceptor.close(ignored);
  {
    std::unique_lock lock(s.idle_mutex);
    s.idle.wait_for(lock, grace, [&s] { return s.unanswered == 0; });
  }
  // What still computes is cancelled (reason shutdown) and answered 503 by
  // its connection; idle connections are closed.
  s.sched.shutdown();
  report_ = final_report{s.sched.stats(), s.snapshot()};
  s.io_work.reset();
  s.io.stop();
  s.io_thread.join();
  return *report_;
}

}  // namespace service
