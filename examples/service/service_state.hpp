#pragma once
// What the service's tasks share. Owned by http_service; outlives every
// task, because stop() shuts the scheduler down before it is destroyed.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <weft/scheduler.hpp>
#include <weft/semaphore.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>

#include "service.hpp"

namespace service {

struct atomic_counters {
  // Written by any task, read by stats; relaxed: independent counts.
  std::atomic<std::uint64_t> connections{0}, connections_open{0}, connections_refused{0};
  std::atomic<std::uint64_t> requests{0}, status_2xx{0}, status_4xx{0}, status_5xx{0};
  std::atomic<std::uint64_t> cancelled_by_disconnect{0}, cancelled_by_deadline{0}, cancelled_by_shutdown{0};
  std::atomic<std::uint64_t> rejected_busy{0};
  void count_status(unsigned status);
};

struct service_state {
  explicit service_state(service_options o);

  service_options options;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> io_work;
  boost::asio::ip::tcp::acceptor acceptor;
  weft::scheduler sched;
  std::size_t slots_total;
  weft::semaphore slots;  // computations at once: slots_total permits
  atomic_counters counters;
  // Set by stop(): requests that arrive from now on are answered 503.
  std::atomic<bool> stopping{false};

  // Computations admitted (computing or waiting for a slot): the queue
  // limit counts these.
  std::atomic<std::uint64_t> admitted{0};
  // Requests read and not yet answered (or abandoned by a hang-up): stop()
  // waits for these, within its grace. Decremented under `idle_mutex`, so
  // stop() cannot miss the last one.
  std::uint64_t unanswered = 0;  // guarded by idle_mutex
  std::mutex idle_mutex;
  std::condition_variable idle;

  weft::task_handle<void> accepting;
  std::thread io_thread;  // last: started once everything above exists

  service_counters snapshot() const;
};

/// GET /stats's body.
std::string stats_json(const service_state& s);

/// Accepts connections until cancelled; each is served by its own task.
weft::task<void> accept_connections(service_state& s);

}  // namespace service
