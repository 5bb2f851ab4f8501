#pragma once
// `co_await sem.acquire()` and `co_await sem.scoped_acquire()`. Included at
// the end of semaphore.hpp: the awaitable_traits below need it complete.

#include <weft/detail/access.hpp>
#include <weft/detail/permit_awaiter.hpp>

namespace weft::detail {

struct semaphore_permit {
  static constexpr wait_kind k_kind = wait_kind::semaphore;
  static void give_back(semaphore& s) noexcept { s.release(); }
};
struct semaphore_acquire : semaphore_permit {
  static void result(semaphore&) noexcept {}
};
struct semaphore_scoped_acquire : semaphore_permit {
  static semaphore::permit result(semaphore& s) noexcept {
    return access::make_guard<semaphore::permit>(s);
  }
};

template <class Policy>
permit_awaiter<Policy, semaphore> await_permit(task_state* root, semaphore* s, const char* what) {
  return {{sync_wait::checked_root(root, what)}, s, &access::pool(*s)};
}

template <>
struct awaitable_traits<semaphore::acquire_awaitable> {
  static auto transform(task_state* root, semaphore::acquire_awaitable a) {
    return await_permit<semaphore_acquire>(root, a.sem, "weft::semaphore::acquire()");
  }
};
template <>
struct awaitable_traits<semaphore::scoped_acquire_awaitable> {
  static auto transform(task_state* root, semaphore::scoped_acquire_awaitable a) {
    return await_permit<semaphore_scoped_acquire>(root, a.sem,
                                                  "weft::semaphore::scoped_acquire()");
  }
};

}  // namespace weft::detail
