#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>

weft::task<long> fib(int n) {
  if (n < 2) co_return n;
  auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));  // in parallel on the pool
  co_return a + b;
}

weft::task<void> poll_forever() {
  for (;;) co_await weft::sleep_for(std::chrono::milliseconds(1));  // a cancellation point
}

int main() {
  weft::scheduler sched;                                     // one worker per hardware thread
  std::printf("fib(25) = %ld\n", weft::sync_wait(sched, fib(25)));  // asyncio.run

  weft::task_handle<void> h = sched.spawn(poll_forever());  // asyncio.create_task
  h.cancel("no longer needed");                             // from any thread
  h.wait();
  std::printf("done: %d, cancelled: %d\n", h.done(), h.cancelled());
  try {
    h.result();
  } catch (const weft::cancelled_error& e) {
    std::printf("%s\n", e.what());                           // task cancelled (user): no longer needed
  }
}
