#pragma once
/// \file
/// weft::drop_on_cancel: cancellation that ends frames without an exception.

#include <weft/task.hpp>
#include <weft/detail/solo_join.hpp>

namespace weft {

/// The operand of `co_await weft::drop_on_cancel(t)` and of
/// `spawn(weft::drop_on_cancel(t))`.
template <class T>
struct drop_on_cancel_awaitable {
  task<T> child;  ///< the body of the region
};

/// Runs `body` as a drop_on_cancel region: when the region is cancelled,
/// each of its frames ends at the suspension point where it sees the
/// cancel by being destroyed (the destructors of its live locals run; no
/// catch block and no code after that point runs), without a C++
/// exception, and its parent learns "stopped" the same way, up to the
/// region's boundary. The region is `body` and everything it runs: its
/// inline awaits, and the children of its when_all, when_any, timeout and
/// uncancellable (whose meaning is kept: the outer cancel does not reach
/// an uncancellable child). Tasks it spawns are not in it.
///
/// At the boundary the usual contract holds: `co_await
/// weft::drop_on_cancel(body)` throws cancelled_error once when the region
/// was cancelled, and a task spawned as `spawn(weft::drop_on_cancel(body))`
/// ends cancelled() with its cancel_reason(), seen by its handles, waiters
/// and done callbacks as any cancelled task. A failure (an exception other
/// than cancelled_error) propagates as an exception, as outside.
///
/// Choose it where no frame of the region needs to catch its cancellation
/// (RAII cleans up); keep the default where a `catch (const
/// weft::cancelled_error&)` must run. Suspension points that end a frame
/// without an exception: co_await of a task (before the child starts, and
/// when it returns), when_all, when_any, timeout, uncancellable,
/// drop_on_cancel, yield, sleep, and the parallel loops. The others (a
/// handle, a future, event, semaphore, mutex, queue, task_group,
/// to_thread, Asio) still deliver the cancel as cancelled_error, which
/// ends the region's frames by unwinding, as outside one.
///
/// A child of a when_all or when_any in the region that is dropped keeps
/// its own frame (not the frames it awaits inline) until its siblings have
/// ended, as after any end of a child: a lock held by a local of that frame
/// is released then, not at the drop.
template <class T>
drop_on_cancel_awaitable<T> drop_on_cancel(task<T> body) {
  return {std::move(body)};
}

}  // namespace weft
