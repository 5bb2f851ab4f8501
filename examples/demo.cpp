// weft's demo: spawn, cancel, done()/cancelled() from another thread, and
// the pool's throughput on a fork-join workload.

#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

namespace {

weft::task<int> answer() {
  co_await weft::yield();
  co_return 42;
}

weft::task<void> worker_loop(std::atomic<long>& iterations, std::atomic<bool>& cleaned) {
  try {
    for (;;) {
      iterations.fetch_add(1, std::memory_order_relaxed);
      co_await weft::yield();  // every co_await is a cancellation point
    }
  } catch (const weft::cancelled_error& e) {
    cleaned = true;  // cleanup that needs no suspension, then re-raise
    throw;
  }
}

// Fork-join: both halves run in parallel on the pool (when_all). Every
// call is a task: fib(n) makes 2 * fib(n + 1) - 1 of them.
weft::task<long> fib(int n) {
  if (n < 2) co_return n;
  auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));
  co_return a + b;
}

}  // namespace

int main() {
  weft::scheduler sched;  // one worker per hardware thread
  std::printf("weft demo: %zu workers\n", sched.worker_count());

  weft::task_handle<int> h = sched.spawn(answer());
  h.wait();
  std::printf("spawn + wait:  done=%d cancelled=%d result=%d\n", h.done(), h.cancelled(),
              h.result());

  std::atomic<long> iterations{0};
  std::atomic<bool> cleaned{false};
  auto looping = sched.spawn(worker_loop(iterations, cleaned));
  while (iterations.load() < 1000) std::this_thread::yield();  // let it run a while
  bool accepted = looping.cancel("shutting down");
  // Another thread watches the terminal state: one atomic load per call.
  std::thread watcher([looping] {
    while (!looping.done()) std::this_thread::yield();
    std::printf("watcher thread: done=%d cancelled=%d\n", looping.done(), looping.cancelled());
  });
  looping.wait();
  watcher.join();
  try {
    looping.result();
  } catch (const weft::cancelled_error& e) {
    std::printf("cancel:        accepted=%d, cleanup ran=%d, result() threw \"%s\"\n", accepted,
                cleaned.load(), e.what());
  }
  std::printf("cancel again:  %s (already done)\n", looping.cancel() ? "true" : "false");

  constexpr int n = 30;
  auto start = std::chrono::steady_clock::now();
  long value = weft::sync_wait(sched, fib(n));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double tasks = 2.0 * 1346269 - 1;  // 2 * fib(31) - 1
  std::printf("throughput:    fib(%d) = %ld as %.0f tasks in %.3f s: %.1f M tasks/s, %llu steals\n",
              n, value, tasks, seconds, tasks / seconds / 1e6,
              static_cast<unsigned long long>(sched.stats().steals));
  return value == 832040 ? 0 : 1;
}
