// Must not compile: weft::parallel_for returns a weft::task, which only a weft
// task can co_await (its await_transform makes the wait a cancellation
// point on the pool). Awaiting it from any other coroutine is rejected at
// compile time; from a plain thread, run it with weft::sync_wait(sched, ...).
// ctest builds this and expects the compiler to name the missing
// await_ready.

#include <coroutine>
#include <cstddef>
#include <exception>

#include <weft/weft.hpp>

/// The simplest coroutine that is not a weft task.
struct foreign_coroutine {
  struct promise_type {
    foreign_coroutine get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

foreign_coroutine awaits_parallel_for_outside_a_task() {
  co_await weft::parallel_for(0, 10, [](std::size_t) {});
}

int main() { return 0; }
