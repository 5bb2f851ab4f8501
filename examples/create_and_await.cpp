// asyncio's "create a task and await it", in weft:
//
//   async def work(x):                    weft::task<int> work(int x)
//       await asyncio.sleep(0.01)
//       return x * 2
//   async def main():
//       t = asyncio.create_task(work(21))  weft::spawn(work(21))
//       print(await t)                     co_await t
//   asyncio.run(main())                    weft::sync_wait(sched, main_task())

#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>

using namespace std::chrono_literals;

namespace {

weft::task<int> work(int x) {
  co_await weft::sleep_for(10ms);
  co_return x * 2;
}

weft::task<int> main_task() {
  weft::task_handle<int> t = weft::spawn(work(21));  // asyncio.create_task
  std::printf("created the task\n");
  int v = co_await t;  // await t
  std::printf("awaited the task: %d\n", v);
  co_return v;
}

}  // namespace

int main() {
  weft::scheduler sched{2};
  int v = weft::sync_wait(sched, main_task());  // asyncio.run
  std::printf("main returned %d\n", v);
  return v == 42 ? 0 : 1;
}
