// A pipeline of tasks joined by queues (asyncio.Queue, with Python 3.13's
// shutdown as close()): a producer reads "lines", three workers parse them,
// one consumer totals the results. Each stage closes its output when its
// input is drained, so the whole pipeline shuts down in order.

#include <weft/weft.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

weft::task<void> produce(weft::queue<std::string>& lines) {
  for (int i = 1; i <= 100; ++i) co_await lines.push("item " + std::to_string(i));
  lines.close();  // no more lines: the workers drain what is left
}

weft::task<int> parse(weft::queue<std::string>& lines, weft::queue<int>& numbers) {
  int parsed = 0;
  try {
    for (;;) {
      std::string line = co_await lines.pop();
      co_await numbers.push(std::stoi(line.substr(5)));
      ++parsed;
    }
  } catch (const weft::queue_closed_error&) {
    // closed and drained: this worker is done
  }
  co_return parsed;
}

weft::task<long> total(weft::queue<int>& numbers) {
  long sum = 0;
  try {
    for (;;) sum += co_await numbers.pop();
  } catch (const weft::queue_closed_error&) {
  }
  co_return sum;
}

/// Three parsers over one input queue; closes the output once all are done.
weft::task<int> parse_all(weft::queue<std::string>& lines, weft::queue<int>& numbers) {
  std::vector<weft::task<int>> workers;
  for (int w = 0; w < 3; ++w) workers.push_back(parse(lines, numbers));
  int count = 0;
  for (int parsed : co_await weft::when_all(std::move(workers))) count += parsed;
  numbers.close();  // every worker is done: the consumer drains and ends
  co_return count;
}

weft::task<void> pipeline() {
  weft::queue<std::string> lines{8};  // bounded: the producer waits for the workers
  weft::queue<int> numbers{8};
  auto [produced, parsed, sum] =
      co_await weft::when_all(produce(lines), parse_all(lines, numbers), total(numbers));
  static_cast<void>(produced);
  std::printf("3 workers parsed %d lines\n", parsed);
  std::printf("consumer total: %ld\n", sum);
}

}  // namespace

int main() {
  weft::scheduler sched{2};
  weft::sync_wait(sched, pipeline());
  return 0;
}
