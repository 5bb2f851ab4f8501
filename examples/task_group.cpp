// weft::task_group (asyncio.TaskGroup): spawn children, join them all; the
// first failure cancels the others and is rethrown once every child ended.

#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

weft::task<int> fetch(int page) {
  co_await weft::sleep_for(std::chrono::milliseconds(page));
  co_return page * 10;
}

weft::task<int> fetch_or_fail(int page) {
  co_await weft::sleep_for(1ms);
  if (page == 3) throw std::runtime_error("page 3 is missing");
  co_await weft::sleep_for(1h);  // slow: cancelled by the failure
  co_return page;
}

weft::task<int> crawl_all() {
  weft::task_group g;
  std::vector<weft::task_handle<int>> pages;
  for (int p = 1; p <= 4; ++p) pages.push_back(g.spawn(fetch(p)));
  co_await g.join();  // waits for all
  int total = 0;
  for (auto& h : pages) total += h.result();
  co_return total;
}

weft::task<void> crawl_with_failure() {
  weft::task_group g;
  std::vector<weft::task_handle<int>> pages;
  for (int p = 1; p <= 4; ++p) pages.push_back(g.spawn(fetch_or_fail(p)));
  try {
    co_await g.join();
  } catch (const std::runtime_error& e) {
    std::printf("  join rethrew: %s\n", e.what());
  }
  // Every child has ended by now (no child outlives the join).
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const weft::task_handle<int>& h = pages[i];
    if (h.cancelled()) {
      std::printf("  page %zu: cancelled (%s)\n", i + 1,
                  std::string(weft::to_string(h.cancel_reason()->kind)).c_str());
    } else {
      std::printf("  page %zu: %s\n", i + 1, h.done() ? "failed" : "still running (bug)");
    }
  }
}

}  // namespace

int main() {
  weft::scheduler sched{2};
  std::printf("crawl_all: total = %d\n", weft::sync_wait(sched, crawl_all()));
  std::printf("crawl_with_failure:\n");
  weft::sync_wait(sched, crawl_with_failure());
  return 0;
}
