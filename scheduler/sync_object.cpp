// The wait lists of the primitives a task can wait on (event, semaphore,
// mutex, queue): withdrawing a cancelled waiter, and the check that none is
// left when a primitive is destroyed.

#include <cstdio>
#include <exception>

#include <weft/detail/sync_waiter.hpp>

namespace weft::detail {

void sync_waiter::on_cancel(const cancel_reason&) noexcept { owner->withdraw(*this); }

void sync_object::withdraw(sync_waiter& w) noexcept {
  {
    std::lock_guard lock(mutex_);
    switch (w.status) {
      case wait_status::fresh:  // the awaiter will not queue it
        w.status = wait_status::withdrawn;
        return;
      case wait_status::queued: {
        wait_list& list = *w.list;
        list.remove(w, wait_status::withdrawn);
        if (list.empty()) on_list_emptied(list);
        break;
      }
#ifdef WEFT_WEAKEN_withdraw_granted
      // Deliberately broken, in a model test's build only: it must be caught.
      case wait_status::granted:
        break;
#endif
      default:  // granted or refused: its resumption is under way
        return;
    }
  }
  w.resume();
}

sync_object::~sync_object() {
  // acquire: pairs with leave(); a waiter that left touches this no more.
  if (in_wait_.load(std::memory_order_acquire) != 0) {
    std::fprintf(stderr,
                 "weft: a %s was destroyed while a task waits on it (or is waking from a wait "
                 "on it); the task would use freed memory. Keep the %s alive until every "
                 "task that waits on it has resumed: cancel and await those tasks first.\n",
                 name_, name_);
    std::terminate();
  }
}

}  // namespace weft::detail
