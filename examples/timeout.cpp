// weft::timeout (asyncio.wait_for / asyncio.timeout): a child that does not
// finish in time is cancelled, awaited, and timeout_error is thrown; one
// that finishes returns its value. this_task::deadline() shows the limit.

#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

namespace {

weft::task<int> slow(std::chrono::milliseconds d, int v) {
  auto deadline = weft::this_task::deadline();
  if (deadline && std::chrono::steady_clock::now() + d > *deadline) {
    std::printf("  slow(%lld ms): will not make it before the deadline, trying anyway\n",
                static_cast<long long>(d.count()));
  }
  co_await weft::sleep_for(d);
  co_return v;
}

weft::task<void> demo() {
  int v = co_await weft::timeout(1s, slow(1ms, 7));
  std::printf("fast child within 1 s: %d\n", v);
  try {
    co_await weft::timeout(20ms, slow(1h, 8));
    std::printf("slow child: returned (unexpected)\n");
  } catch (const weft::timeout_error&) {
    std::printf("slow child within 20 ms: timeout_error\n");
  }
}

}  // namespace

int main() {
  weft::scheduler sched{2};
  weft::sync_wait(sched, demo());
  return 0;
}
