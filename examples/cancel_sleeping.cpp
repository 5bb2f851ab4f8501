// asyncio's "cancel a sleeping coroutine that catches, cleans up and
// re-raises", in weft:
//
//   async def sleeper():
//       try:
//           await asyncio.sleep(3600)
//       except asyncio.CancelledError:
//           await cleanup()          # C++: no co_await inside catch, so the
//           raise                    # error is kept and rethrown after it
//   t = asyncio.create_task(sleeper())
//   t.cancel("stop")
//   await t                          # raises CancelledError

#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <latch>

using namespace std::chrono_literals;

namespace {

weft::task<void> cleanup() {
  co_await weft::sleep_for(1ms);  // cleanup that must suspend (flush, close)
  std::printf("cleanup: done\n");
}

weft::task<void> sleeper(std::latch& asleep) {
  std::exception_ptr cancelled;
  try {
    std::printf("sleeper: going to sleep for an hour\n");
    asleep.count_down();
    co_await weft::sleep_for(1h);
  } catch (const weft::cancelled_error& e) {
    std::printf("sleeper: caught cancelled_error: %s\n", e.what());
    cancelled = std::current_exception();
  }
  // The cleanup runs to its end although the task is cancelled.
  co_await weft::uncancellable(cleanup());
  std::printf("sleeper: re-raising\n");
  if (cancelled) std::rethrow_exception(cancelled);
}

}  // namespace

int main() {
  weft::scheduler sched{2};
  std::latch asleep{1};
  weft::task_handle<void> t = sched.spawn(sleeper(asleep));
  asleep.wait();
  auto start = std::chrono::steady_clock::now();
  bool accepted = t.cancel("stop");
  t.wait();
  std::printf("main: cancel() returned %s\n", accepted ? "true" : "false");
  bool prompt = std::chrono::steady_clock::now() - start < 10s;
  std::printf("main: woken %s; cancelled() = %s\n", prompt ? "promptly" : "late",
              t.cancelled() ? "true" : "false");
  try {
    t.result();
  } catch (const weft::cancelled_error& e) {
    std::printf("main: result() threw cancelled_error: %s\n", e.what());
  }
  return t.cancelled() && prompt ? 0 : 1;
}
