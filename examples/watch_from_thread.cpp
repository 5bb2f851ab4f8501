// asyncio's "detect cancellation from another thread with done() and
// cancelled()", in weft. done() and cancelled() are one atomic load each,
// safe from any thread. (Check cancelled(), not the type of exception():
// exception() of a cancelled task throws cancelled_error, in asyncio too.)

#include <weft/weft.hpp>

#include <cstdio>
#include <latch>
#include <thread>

namespace {

weft::task<void> busy(std::latch& started) {
  started.count_down();
  for (;;) co_await weft::yield();  // every co_await is a cancellation point
}

}  // namespace

int main() {
  weft::scheduler sched{2};
  std::latch started{1};
  weft::task_handle<void> t = sched.spawn(busy(started));
  started.wait();

  std::latch seen_running{1};
  std::thread watcher([&] {
    std::printf("watcher: done() = %s, cancelled() = %s\n", t.done() ? "true" : "false",
                t.cancelled() ? "true" : "false");
    seen_running.count_down();
    t.wait();  // blocks this plain thread until the task is terminal
    std::printf("watcher: done() = %s, cancelled() = %s\n", t.done() ? "true" : "false",
                t.cancelled() ? "true" : "false");
    try {
      static_cast<void>(t.exception());
    } catch (const weft::cancelled_error&) {
      std::printf("watcher: exception() throws cancelled_error; use cancelled()\n");
    }
  });
  seen_running.wait();
  bool accepted = t.cancel();
  watcher.join();
  std::printf("main: cancel() returned %s\n", accepted ? "true" : "false");
  std::printf("main: a second cancel() returned %s\n", t.cancel() ? "true" : "false");
  return t.cancelled() ? 0 : 1;
}
