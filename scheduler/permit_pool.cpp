// The slow paths of weft::semaphore and weft::mutex: queueing a task that
// must wait, and handing a given permit to the oldest waiter.

#include <weft/detail/permit_pool.hpp>

namespace weft::detail {

bool permit_pool::take_or_enqueue(sync_waiter& w) noexcept {
  std::lock_guard lock(mutex_);
  if (w.status == wait_status::withdrawn) return false;  // cancelled first
  std::uint64_t word = word_.load(std::memory_order_relaxed);
  for (;;) {
    if ((word & k_waiting) != 0) break;  // others wait: queue behind them
    if (word >= k_one) {
      // acquire: as in try_take().
      if (word_.compare_exchange_weak(word, word - k_one, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        w.status = wait_status::granted;
        holder.store(w.task, std::memory_order_relaxed);
        return false;
      }
      continue;
    }
    // None free: announce a waiter, unless a give slipped in (then retry).
    if (word_.compare_exchange_weak(word, k_waiting, std::memory_order_relaxed)) break;
  }
  enqueue(waiters_, w);
  return true;
}

bool permit_pool::give_to_waiter(std::uint64_t limit) noexcept {
  sync_waiter* next = nullptr;
  {
    std::lock_guard lock(mutex_);
    std::uint64_t word = word_.load(std::memory_order_relaxed);
    // The list may have emptied (withdrawals) since the caller looked.
    while ((word & k_waiting) == 0) {
      if (word / k_one >= limit) return false;
      if (word_.compare_exchange_weak(word, word + k_one, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        return true;
      }
    }
    // Waiters, so the count is 0: the permit goes to the oldest directly.
    next = waiters_.front();
    waiters_.remove(*next, wait_status::granted);
    holder.store(next->task, std::memory_order_relaxed);
    // release: a later fast-path take sees what the giver wrote.
    if (waiters_.empty()) word_.store(0, std::memory_order_release);
  }
  next->resume();
  return true;
}

void permit_pool::on_list_emptied(wait_list&) noexcept {
  // The last waiter was withdrawn; the count is 0.
  word_.store(0, std::memory_order_relaxed);
}

}  // namespace weft::detail
