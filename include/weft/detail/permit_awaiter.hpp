#pragma once
// `co_await` on a permit_pool (semaphore::acquire, mutex::lock and their
// scoped forms): the fast path takes a permit without suspending; else the
// task queues as a sync_waiter. A cancelled wait gives back a permit that a
// release handed to it in the meantime (a cancelled wait takes nothing).

#include <coroutine>

#include <weft/detail/permit_pool.hpp>
#include <weft/detail/sync_waiter.hpp>

namespace weft::detail {

/// `Policy` says what the permit means: its wait_kind, how it is given
/// back (give_back(pool)), and what the await returns (result(), of the
/// public primitive `owner`). Trivially destructible (see task_awaiter).
template <class Policy, class Primitive>
struct permit_awaiter : sync_wait {
  Primitive* owner;
  permit_pool* pool;
  node_type waiter{};
  bool took = false;  // on the fast path

  bool await_ready() {
    if (root->cancellation_point()) return true;  // await_resume throws
    took = pool->try_take();
    if (took) pool->holder.store(root, std::memory_order_relaxed);
    return took;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    if (!arm(waiter, *pool, h, Policy::k_kind)) return false;
    return pool->take_or_enqueue(waiter);
  }
  auto await_resume() {
    disarm(waiter);
    if (root->cancellation_point()) {
      if (took || waiter.status == wait_status::granted) Policy::give_back(*owner);
      leave(waiter);
      root->throw_cancelled();
    }
    leave(waiter);
    return Policy::result(*owner);
  }
};

}  // namespace weft::detail
