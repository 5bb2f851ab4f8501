#pragma once
// The frame at the top of a drop_on_cancel region (drop.hpp), spawned or
// awaited: it holds the region's shared state and awaits the body inline,
// so that every frame of the body, its first included, is destroyed where
// the cancel is seen, while this frame, which has no locals of the user's,
// stays until its owner lets it go (the last handle, or the awaiter).

#include <utility>

#include <weft/detail/access.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/task_awaiter.hpp>

namespace weft::detail {

template <class T>
task<T> region_root_body(task<T> body) {
  co_return co_await std::move(body);
}

/// `body` under a region root. Throws, naming `what`, if `body` is empty.
template <class T>
task<T> region_root(task<T>&& body, const char* what) {
  if (!body.valid()) static_cast<void>(access::release(body, what));  // throws, names the misuse
  return region_root_body(std::move(body));
}

}  // namespace weft::detail
