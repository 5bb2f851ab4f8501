// weft::to_thread's blocking threads: submitting a call, withdrawing or
// stopping it on cancel, and the threads' loop.

#include "blocking_pool.hpp"

#if defined(__linux__)
#include <pthread.h>
#endif

namespace weft::detail {

bool scheduler_base::submit_blocking(blocking_job& job) { return blocking_->submit(job); }

void scheduler_base::cancel_blocking(blocking_job& job) noexcept { blocking_->cancel(job); }

blocking_pool::~blocking_pool() {
  std::list<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(running_);
    exited_.clear();
  }
  work_.notify_all();
  for (std::thread& t : threads) t.join();
}

bool blocking_pool::submit(blocking_job& job) {
  std::unique_lock lock(mutex_);
  if (job.status == job_status::withdrawn) return false;  // cancelled first
  push_back(job);
  if (idle_ > 0) {
    lock.unlock();
    work_.notify_one();
    return true;
  }
  if (threads_ < max_threads_) {
    reap_exited();
    // Counted before it starts, so a burst of submits starts no more than
    // the maximum. If the thread cannot be started, the job waits for a
    // running one (there is one unless this was the first).
    ++threads_;
    try {
      running_.emplace_front([this] { run(); });
    } catch (...) {
      --threads_;
      if (threads_ == 0) {
        unlink(job);
        throw;
      }
    }
  }
  return true;
}

void blocking_pool::cancel(blocking_job& job) noexcept {
  bool running = false;
  {
    std::lock_guard lock(mutex_);
    switch (job.status) {
      case job_status::fresh:  // submit() will refuse it
        job.status = job_status::withdrawn;
        return;
      case job_status::queued:
        unlink(job);
        job.status = job_status::withdrawn;
        break;
      case job_status::running:
        running = true;
        break;
      default:  // finished or withdrawn: its task is resuming
        return;
    }
  }
  if (!running) {
    job.resume();  // withdrawn from the queue: it never ran
    return;
  }
  // Running: the job stays alive until this returns (the task's disarm
  // waits for its canceller), and its thread resumes the task when the
  // function returns. Outside the lock: stop callbacks are the user's.
  job.stop.request_stop();
}

void blocking_pool::run() noexcept {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "weft-blocking");
#endif
  std::unique_lock lock(mutex_);
  for (;;) {
    if (head_ == nullptr) {
      if (stopping_) break;
      ++idle_;
      const bool woken = work_.wait_for(lock, k_idle_timeout,
                                        [this] { return head_ != nullptr || stopping_; });
      --idle_;
      if (!woken) {  // idle for k_idle_timeout: leave, to be joined later
        for (auto it = running_.begin(); it != running_.end(); ++it) {
          if (it->get_id() == std::this_thread::get_id()) {
            exited_.push_back(it);
            break;
          }
        }
        break;
      }
      continue;
    }
    blocking_job& job = *head_;
    unlink(job);
    job.status = job_status::running;
    lock.unlock();
    job.run();
    lock.lock();
    job.status = job_status::finished;
    lock.unlock();
    // Not under the lock: a cancel that saw it running has returned (it
    // held the lock) or will see it finished.
    job.resume();
    lock.lock();
  }
  --threads_;
}

void blocking_pool::push_back(blocking_job& job) noexcept {
  job.status = job_status::queued;
  job.next = nullptr;
  job.prev = tail_;
  (tail_ != nullptr ? tail_->next : head_) = &job;
  tail_ = &job;
}

void blocking_pool::unlink(blocking_job& job) noexcept {
  (job.prev != nullptr ? job.prev->next : head_) = job.next;
  (job.next != nullptr ? job.next->prev : tail_) = job.prev;
  job.prev = job.next = nullptr;
}

void blocking_pool::reap_exited() noexcept {
  for (auto it : exited_) {
    // It left its loop under this lock and only returns from run() now.
    it->join();
    running_.erase(it);
  }
  exited_.clear();
}

}  // namespace weft::detail
