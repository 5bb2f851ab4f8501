#pragma once
// `co_await m.lock()` and `co_await m.scoped_lock()`. Included at the end
// of mutex.hpp: the awaitable_traits below need it complete.

#include <string>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/current_task.hpp>
#include <weft/detail/permit_awaiter.hpp>

namespace weft::detail {

struct mutex_permit {
  static constexpr wait_kind k_kind = wait_kind::mutex;
  // The lock was handed to this waiter, so it is taken: give(1) succeeds.
  static void give_back(mutex& m) noexcept {
    permit_pool& pool = access::pool(m);
    pool.holder.store(nullptr, std::memory_order_relaxed);
    pool.give(1);
  }
};
struct mutex_lock : mutex_permit {
  static void result(mutex&) noexcept {}
};
struct mutex_scoped_lock : mutex_permit {
  static mutex::guard result(mutex& m) noexcept { return access::make_guard<mutex::guard>(m); }
};

template <class Policy>
permit_awaiter<Policy, mutex> await_lock(task_state* root, mutex* m, const char* what) {
  sync_wait::checked_root(root, what);
  permit_pool& pool = access::pool(*m);
  // The holder tag is read only after an acquire load showed the lock
  // taken, so a tag cleared by an unlock before that is seen.
  if (pool.taken() && pool.holder.load(std::memory_order_relaxed) == root) {
    throw invalid_state_error(std::string(what) +
                              " by the task that already holds the lock would wait for itself "
                              "forever (weft::mutex is not recursive); unlock it first, or "
                              "keep the code that needs it inside the one locked section");
  }
  return {{root}, m, &pool};
}

template <>
struct awaitable_traits<mutex::lock_awaitable> {
  static auto transform(task_state* root, mutex::lock_awaitable a) {
    return await_lock<mutex_lock>(root, a.m, "weft::mutex::lock()");
  }
};
template <>
struct awaitable_traits<mutex::scoped_lock_awaitable> {
  static auto transform(task_state* root, mutex::scoped_lock_awaitable a) {
    return await_lock<mutex_scoped_lock>(root, a.m, "weft::mutex::scoped_lock()");
  }
};

}  // namespace weft::detail

namespace weft {

inline bool mutex::try_lock() noexcept {
  if (!pool_.try_take()) return false;
  // Tagged as lock() tags it, so that lock() in the same task is refused
  // (no task on a plain thread: null).
  pool_.holder.store(detail::running_task_or_null(), std::memory_order_relaxed);
  return true;
}

}  // namespace weft
