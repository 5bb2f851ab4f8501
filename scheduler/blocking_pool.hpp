#pragma once
// The threads that run weft::to_thread calls for one scheduler, so that a
// blocking call never holds a worker. Started on demand up to a maximum;
// calls beyond it wait in a FIFO queue; a thread idle for k_idle_timeout
// exits. Everything under one mutex: a blocking call costs a thread
// switch anyway.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <weft/detail/blocking_job.hpp>

namespace weft::detail {

class blocking_pool {
 public:
  explicit blocking_pool(std::size_t max_threads) noexcept : max_threads_(max_threads) {}
  /// Joins every thread. By then no job is queued or running: each is
  /// awaited by a task, and the scheduler waited for its tasks first.
  ~blocking_pool();
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  bool submit(blocking_job& job);
  void cancel(blocking_job& job) noexcept;

  static constexpr std::chrono::seconds k_idle_timeout{5};

 private:
  void run() noexcept;
  void push_back(blocking_job& job) noexcept;
  void unlink(blocking_job& job) noexcept;
  // Joins threads that exited on their own (under mutex_).
  void reap_exited() noexcept;

  const std::size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable work_;
  // Under mutex_:
  blocking_job* head_ = nullptr;  // the FIFO of queued jobs
  blocking_job* tail_ = nullptr;
  std::size_t threads_ = 0;  // running threads (busy or idle)
  std::size_t idle_ = 0;     // of which waiting for a job
  bool stopping_ = false;
  std::list<std::thread> running_;                   // every thread not yet joined
  std::vector<std::list<std::thread>::iterator> exited_;  // idle ones that left
};

}  // namespace weft::detail
