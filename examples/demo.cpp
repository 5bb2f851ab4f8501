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

weft::task<long> fib(int n) {
  if (n < 2) co_return n;
  if (n < 16) {  // small subproblems inline: no spawn
    long a = co_await fib(n - 1);
    long b = co_await fib(n - 2);
    co_return a + b;
  }
  weft::task_handle<long> left = weft::spawn(fib(n - 1));
  long b = co_await fib(n - 2);
  long a = co_await left;
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

  auto start = std::chrono::steady_clock::now();
  long value = weft::sync_wait(sched, fib(32));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  weft::scheduler_stats s = sched.stats();
  std::printf("fib(32) = %ld in %.3f s: %llu tasks spawned, %.1f M tasks/s, %llu steals\n", value,
              seconds, static_cast<unsigned long long>(s.spawned), s.spawned / seconds / 1e6,
              static_cast<unsigned long long>(s.steals));
  return value == 2178309 ? 0 : 1;
}
