#pragma once
// `co_await ev.wait()`. Included at the end of event.hpp: the
// awaitable_traits below needs it complete.

#include <weft/detail/access.hpp>
#include <weft/detail/event_state.hpp>

namespace weft::detail {

template <>
struct awaitable_traits<event::wait_awaitable> {
  static event_awaiter transform(task_state* root, event::wait_awaitable a) {
    return {{sync_wait::checked_root(root, "weft::event::wait()")}, &access::state(*a.ev)};
  }
};

}  // namespace weft::detail
