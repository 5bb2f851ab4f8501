// weft::event: setting it wakes every task that waits at that moment.

#include <weft/detail/event_state.hpp>

namespace weft::detail {

void event_state::set() noexcept {
  if (set_.load(std::memory_order_acquire)) return;  // nobody can be queued
  sync_waiter* woken = nullptr;
  {
    std::lock_guard lock(mutex_);
    // release: pairs with the acquire in is_set().
    set_.store(true, std::memory_order_release);
    woken = waiters_.take_all(wait_status::granted);
  }
  resume_chain(woken);
}

bool event_state::enqueue_unless_set(sync_waiter& w) noexcept {
  std::lock_guard lock(mutex_);
  if (w.status == wait_status::withdrawn || set_.load(std::memory_order_relaxed)) return false;
  enqueue(waiters_, w);
  return true;
}

}  // namespace weft::detail
