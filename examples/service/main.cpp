// weft_service: the HTTP service on the command line. SIGINT or SIGTERM
// stops it: it stops accepting, gives computations --grace-ms, cancels the
// rest (answered 503), closes every connection and exits 0.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <pthread.h>

#include "service.hpp"

namespace {

[[noreturn]] void usage(std::string_view bad) {
  std::cerr << "weft_service: bad argument '" << bad << "'\n"
            << "usage: weft_service [--address A] [--port P] [--workers N] [--max-inflight N]\n"
               "         [--queue-limit N] [--max-connections N] [--header-limit BYTES]\n"
               "         [--header-timeout-ms MS] [--idle-timeout-ms MS] [--grace-ms MS]\n"
               "         [--no-cancel-on-disconnect]\n";
  std::exit(2);
}

unsigned long number(std::string_view flag, const char* text) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(text, &end, 10);
  if (end == text || *end != '\0') usage(std::string(flag) + " " + text);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  service::service_options o;
  unsigned long grace_ms = 2000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--no-cancel-on-disconnect") {
      o.cancel_on_disconnect = false;
      continue;
    }
    if (i + 1 >= argc) usage(a);
    const char* v = argv[++i];
    if (a == "--address") o.address = v;
    else if (a == "--port") o.port = static_cast<unsigned short>(number(a, v));
    else if (a == "--workers") o.workers = number(a, v);
    else if (a == "--max-inflight") o.max_inflight = number(a, v);
    else if (a == "--queue-limit") o.queue_limit = number(a, v);
    else if (a == "--max-connections") o.max_connections = number(a, v);
    else if (a == "--header-limit") o.header_limit = number(a, v);
    else if (a == "--header-timeout-ms") o.header_timeout = std::chrono::milliseconds(number(a, v));
    else if (a == "--idle-timeout-ms") o.idle_timeout = std::chrono::milliseconds(number(a, v));
    else if (a == "--grace-ms") grace_ms = number(a, v);
    else usage(a);
  }
  // Blocked before any thread starts, so every thread inherits the mask and
  // only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  service::http_service svc(o);
  std::cout << "weft_service: listening on http://" << o.address << ':' << svc.port() << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cout << "weft_service: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping (grace " << grace_ms
            << " ms)" << std::endl;
  const service::final_report r = svc.stop(std::chrono::milliseconds(grace_ms));
  const auto& c = r.counters;
  std::cout << "weft_service: stopped; " << weft::to_string(r.scheduler) << "; requests=" << c.requests
            << " 2xx=" << c.status_2xx << " 4xx=" << c.status_4xx << " 5xx=" << c.status_5xx
            << " cancelled_by_disconnect=" << c.cancelled_by_disconnect
            << " cancelled_by_deadline=" << c.cancelled_by_deadline
            << " cancelled_by_shutdown=" << c.cancelled_by_shutdown << std::endl;
  return 0;
}
