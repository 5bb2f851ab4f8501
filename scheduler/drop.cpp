// The inline return of a task whose root's cancel is requested
// (promise_base::return_cancelled): out of line, off every coroutine's
// final_suspend path.

#include <weft/detail/drop.hpp>

namespace weft::detail {

std::coroutine_handle<> promise_base::return_cancelled(promise_base& p) noexcept {
  // In a region this frame, which has ended, goes first, then the chain
  // above it.
  if (p.root_->drops_on_cancel_) return transfer_to(drop_frame(p));
  p.end_.outcome = k_cancelled;  // the parent's await_resume throws the root's cancel
  return transfer_to(p.continuation_);
}

}  // namespace weft::detail
