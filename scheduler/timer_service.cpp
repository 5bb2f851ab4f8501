// The timer thread of a scheduler (timer_service.hpp) and the scheduler's
// entry points to it.

#include "timer_service.hpp"

#include <utility>

#include <weft/detail/runtime.hpp>

namespace weft::detail {

timer_service::timer_service() : thread_([this] { run(); }) {}

timer_service::~timer_service() {
  {
    std::lock_guard lock(mutex_);
    exit_ = true;
  }
  changed_.notify_one();
  thread_.join();
}

bool timer_service::add(timer_entry& entry) {
  std::unique_lock lock(mutex_);
  if (entry.state.load(std::memory_order_relaxed) == timer_entry::k_removed) return false;
  if (shutting_down_ && entry.fire_on_shutdown()) return false;
  entry.state.store(timer_entry::k_queued, std::memory_order_relaxed);
  heap_.push_back(nullptr);
  place(heap_.size() - 1, &entry);
  sift_up(heap_.size() - 1);
  const bool earliest = heap_.front() == &entry;
  lock.unlock();
  if (earliest) changed_.notify_one();
  return true;
}

bool timer_service::remove(timer_entry& entry) noexcept {
  {
    std::lock_guard lock(mutex_);
    switch (entry.state.load(std::memory_order_relaxed)) {
      case timer_entry::k_queued:
        erase_at(entry.heap_index);
        entry.state.store(timer_entry::k_removed, std::memory_order_relaxed);
        return true;
      case timer_entry::k_idle:
        // Not added yet: add() will refuse it and its caller acts.
        entry.state.store(timer_entry::k_removed, std::memory_order_relaxed);
        return false;
      default:
        break;
    }
  }
  // Firing on the timer thread: wait until fire() has let go of the entry.
  // acquire: pairs with mark_fired().
  while (entry.state.load(std::memory_order_acquire) == timer_entry::k_firing) {
    std::this_thread::yield();
  }
  return false;
}

void timer_service::begin_shutdown() noexcept {
  std::vector<timer_entry*> due;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    std::vector<timer_entry*> keep;
    for (timer_entry* e : heap_) {
      if (e->fire_on_shutdown()) {
        e->state.store(timer_entry::k_firing, std::memory_order_relaxed);
        due.push_back(e);
      } else {
        keep.push_back(e);
      }
    }
    heap_.clear();
    for (timer_entry* e : keep) {
      heap_.push_back(e);
      place(heap_.size() - 1, e);
      sift_up(heap_.size() - 1);
    }
  }
  changed_.notify_one();
  for (timer_entry* e : due) e->fire();
}

void timer_service::run() noexcept {
  std::unique_lock lock(mutex_);
  while (!exit_) {
    if (heap_.empty()) {
      changed_.wait(lock);
      continue;
    }
    timer_entry* first = heap_.front();
    // A copy: wait_until reads its argument after waking, when the entry
    // may have been removed and its frame freed.
    const timer_entry::clock::time_point when = first->when;
    if (timer_entry::clock::now() < when) {
      changed_.wait_until(lock, when);
      continue;
    }
    erase_at(0);
    first->state.store(timer_entry::k_firing, std::memory_order_relaxed);
    // Fire outside the lock: fire() may cancel a task, whose own timers
    // are then removed through this service.
    lock.unlock();
    first->fire();
    lock.lock();
  }
}

void timer_service::sift_up(std::size_t i) noexcept {
  timer_entry* e = heap_[i];
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (!(e->when < heap_[parent]->when)) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void timer_service::sift_down(std::size_t i) noexcept {
  timer_entry* e = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->when < heap_[child]->when) ++child;
    if (!(heap_[child]->when < e->when)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, e);
}

void timer_service::erase_at(std::size_t i) noexcept {
  timer_entry* last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;  // it was the last one
  place(i, last);
  if (i > 0 && last->when < heap_[(i - 1) / 2]->when) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

bool scheduler_base::add_timer(timer_entry& entry) { return timers_->add(entry); }

bool scheduler_base::remove_timer(timer_entry& entry) noexcept { return timers_->remove(entry); }

}  // namespace weft::detail
