// A semaphore bounds how many requests run at once (asyncio.Semaphore as
// `async with sem`): 20 requests arrive together, at most 4 compute at any
// moment, the others wait for a permit without holding a worker.

#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct load_meter {
  std::atomic<int> in_flight{0};
  std::atomic<int> most{0};

  void enter() {
    const int now = ++in_flight;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
  }
  void leave() { --in_flight; }
};

weft::task<int> handle_request(int id, weft::semaphore& limit, load_meter& meter) {
  auto permit = co_await limit.scoped_acquire();  // released when the request ends
  meter.enter();
  co_await weft::sleep_for(5ms);  // stands in for the request's I/O and compute
  meter.leave();
  co_return id * id;
}

weft::task<long> serve(int requests, weft::semaphore& limit, load_meter& meter) {
  std::vector<weft::task<int>> batch;
  for (int id = 0; id < requests; ++id) batch.push_back(handle_request(id, limit, meter));
  long total = 0;
  for (int answer : co_await weft::when_all(std::move(batch))) total += answer;
  co_return total;
}

}  // namespace

int main() {
  weft::scheduler sched{2};
  weft::semaphore limit{4};
  load_meter meter;
  const long total = weft::sync_wait(sched, serve(20, limit, meter));
  std::printf("served 20 requests, sum of answers %ld\n", total);
  std::printf("at most %d in flight (limit 4); %zu permits free afterwards\n", meter.most.load(),
              limit.available());
  return 0;
}
