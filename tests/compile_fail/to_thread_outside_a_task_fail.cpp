// Must not compile: weft::to_thread returns a weft::task, which only a weft
// task can co_await (its await_transform makes the wait a cancellation
// point on the pool). Awaiting it from any other coroutine is rejected at
// compile time; from a plain thread, run it with weft::sync_wait(sched, ...).
// ctest builds this and expects the compiler to name the missing
// await_ready.


#include <weft/weft.hpp>

#include "foreign_coroutine.hpp"

foreign_coroutine awaits_to_thread_outside_a_task() {
  co_await weft::to_thread([] { return 1; });
}

int main() { return 0; }
