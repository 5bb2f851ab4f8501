#pragma once
// One thread per scheduler that fires timer entries at their time: an
// indexed binary min-heap of entries under a mutex (each entry knows its
// position, so removal is O(log n)). A million pending sleepers cost a
// million heap slots, not threads.

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <weft/detail/timer.hpp>

namespace weft::detail {

class timer_service {
 public:
  timer_service();
  ~timer_service();  // stops and joins the thread
  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;

  bool add(timer_entry& entry);
  bool remove(timer_entry& entry) noexcept;

  /// Shutdown began: fires the entries that fire on shutdown now, and
  /// refuses new ones of that kind.
  void begin_shutdown() noexcept;

 private:
  void run() noexcept;
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void erase_at(std::size_t i) noexcept;
  void place(std::size_t i, timer_entry* e) noexcept {
    heap_[i] = e;
    e->heap_index = i;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<timer_entry*> heap_;  // under mutex_
  bool shutting_down_ = false;      // under mutex_
  bool exit_ = false;               // under mutex_
  std::thread thread_;
};

}  // namespace weft::detail
