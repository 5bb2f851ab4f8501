// Records a trace of the fib benchmark's fork-join (bench/fib.cpp,
// weft_spawn) and writes it as Chrome trace-event JSON:
//
//   trace_fib trace.json [n] [workers]
//
// Open trace.json in ui.perfetto.dev or chrome://tracing, or render it with
// `python3 bench/trace_to_html.py trace.json trace.html`. Three rounds with
// a short pause between them, so that the parks of the idle workers show.

#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace {

int fib_serial(int n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

weft::task<int> fib(int n) {
  if (n < 2) co_return n;
  weft::task_handle<int> first = weft::spawn(fib(n - 1));
  int b = co_await fib(n - 2);
  co_return co_await first + b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: %s TRACE.json [n=16] [workers=2]\n", argv[0]);
    return 2;
  }
  const int n = argc > 2 ? std::atoi(argv[2]) : 16;
  const std::size_t workers = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 2;
  weft::scheduler_options options;
  options.workers = workers;
  options.trace = true;  // record task runs, steals and parks
  weft::scheduler sched{options};
  for (int round = 0; round < 3; ++round) {
    if (round > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const int got = weft::sync_wait(sched, fib(n));
    if (got != fib_serial(n)) {
      std::fprintf(stderr, "fib(%d) = %d, expected %d\n", n, got, fib_serial(n));
      return 1;
    }
  }
  std::ofstream out(argv[1]);
  sched.write_trace(out);
  out.close();
  if (!out) {
    std::fprintf(stderr, "could not write %s\n", argv[1]);
    return 1;
  }
  std::printf("fib(%d) x3 on %zu workers: %s; trace in %s\n", n, workers,
              weft::to_string(sched.stats()).c_str(), argv[1]);
  return 0;
}
