// The cost of cancellation itself, on fork-join trees that are cancelled
// while they run.
//
// Rows (weft only; every row checks how each run ended):
//   fib_full         fib(30) with when_all, not cancelled: the reference time
//   fib_cancelled    the same tree, its root cancelled at a random moment in
//                    [0, the reference time): time is spawn to done;
//                    cancel_p50_us / cancel_p99_us are from just before
//                    cancel() to the root's terminal state, stamped by a
//                    done callback on the thread that ended the root (the
//                    cancelling thread sleeps in the kernel meanwhile, so on
//                    a machine with as many cores as workers it does not
//                    take one from them, and its own wake-up is not counted)
//   skynet_full      skynet (1,000,000 leaves, fan-out 10) with when_all
//   skynet_cancelled the same, cancelled at a random moment
//   when_any_race    when_any over four fib subtrees of different sizes
//                    (27, 28, 29, 30): the first to finish wins and the other
//                    three are cancelled; win_p50_us / win_p99_us are the time
//                    from the winner's last instruction to the root done
//   *_drop           the cancelled rows with the tree run as
//                    weft::drop_on_cancel: its cancelled frames are
//                    destroyed without an exception
// A cancelled tree is expected to be done promptly however large it is:
// queued children are dropped unrun, only the frames on the running paths
// unwind.

#include <weft/weft.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

int fib_n() { return weft_bench::size(30, 15); }
std::uint64_t skynet_leaves() { return weft_bench::size<std::uint64_t>(1'000'000, 1'000); }
constexpr std::uint64_t k_fan_out = 10;

int fib_serial(int n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

weft::task<int> fib(int n) {
  if (n < 2) co_return n;
  auto [a, b] = co_await weft::when_all(fib(n - 1), fib(n - 2));
  co_return a + b;
}

weft::task<std::uint64_t> skynet(std::uint64_t num, std::uint64_t size) {
  if (size == 1) co_return num;
  const std::uint64_t child = size / k_fan_out;
  std::vector<weft::task<std::uint64_t>> children;
  children.reserve(k_fan_out);
  for (std::uint64_t i = 0; i < k_fan_out; ++i) children.push_back(skynet(num + i * child, child));
  std::uint64_t sum = 0;
  for (std::uint64_t v : co_await weft::when_all(std::move(children))) sum += v;
  co_return sum;
}

double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// Runs `make()` to completion each iteration; checks `check(value)`.
template <class Make, class Check>
void run_full(benchmark::State& state, Make make, Check check) {
  weft::scheduler sched{static_cast<std::size_t>(state.range(0))};
  for (auto _ : state) {
    const auto begin = clock_type::now();
    auto value = weft::sync_wait(sched, make());
    state.SetIterationTime(seconds_between(begin, clock_type::now()));
    if (!check(value)) {
      state.SkipWithError("cancel_tree: the uncancelled tree computed a wrong result");
      break;
    }
  }
}

/// Spawns `make()`, cancels it after a random delay below the tree's full
/// time (measured first), and times cancel() to done. A run the cancel
/// came too late for must have the right result; a cancelled run must end
/// cancelled, with its cleanup done (the handle is done only after that).
template <class Make, class Check>
void run_cancelled(benchmark::State& state, Make make, Check check, bool drop) {
  weft::scheduler sched{static_cast<std::size_t>(state.range(0))};
  const auto calibrate = clock_type::now();
  if (!check(weft::sync_wait(sched, make()))) {
    state.SkipWithError("cancel_tree: the calibration run computed a wrong result");
    return;
  }
  const double full = seconds_between(calibrate, clock_type::now());
  std::mt19937_64 rng(0xC0FFEE);
  std::uniform_real_distribution<double> moment(0.0, full);
  std::vector<double> latencies;
  long finished_first = 0;
  for (auto _ : state) {
    const auto delay = std::chrono::duration<double>(moment(rng));
    const auto begin = clock_type::now();
    auto handle = drop ? sched.spawn(weft::drop_on_cancel(make())) : sched.spawn(make());
    weft_bench::done_stamp done(handle);
    std::this_thread::sleep_for(delay);  // asleep, so the workers have the cores
    const auto cancel_at = clock_type::now();
    const bool requested = handle.cancel("cancel_tree");
    const auto end = done.when(handle);
    state.SetIterationTime(seconds_between(begin, end));
    if (!requested || !handle.cancelled()) {
      ++finished_first;
      if (handle.cancelled() || !check(handle.result())) {
        state.SkipWithError("cancel_tree: a run neither ended cancelled nor computed the result");
        break;
      }
      continue;
    }
    latencies.push_back(seconds_between(cancel_at, end));
  }
  weft_bench::report_quantiles(state, latencies, "cancel_");
  state.counters["finished_first"] = static_cast<double>(finished_first);
}

// ---- when_any race

struct race_clock {
  std::atomic<std::int64_t> first_end_ns{0};
  void mark() {
    std::int64_t expected = 0;
    const std::int64_t now = clock_type::now().time_since_epoch().count();
    first_end_ns.compare_exchange_strong(expected, now, std::memory_order_relaxed);
  }
};

weft::task<int> timed_fib(int n, race_clock& clock) {
  const int v = co_await fib(n);
  clock.mark();  // the last thing before the subtree ends
  co_return v;
}

weft::task<std::pair<std::size_t, int>> race(int n, race_clock& clock) {
  std::vector<weft::task<int>> subtrees;
  for (int d = 3; d >= 0; --d) subtrees.push_back(timed_fib(n - d, clock));
  co_return co_await weft::when_any(std::move(subtrees));
}

weft::task<std::pair<std::size_t, int>> race_dropping(int n, race_clock& clock) {
  co_return co_await weft::drop_on_cancel(race(n, clock));
}

void when_any_race(benchmark::State& state, bool drop) {
  weft::scheduler sched{static_cast<std::size_t>(state.range(0))};
  const int n = fib_n();
  std::vector<double> win_to_done;
  for (auto _ : state) {
    race_clock clock;
    const auto begin = clock_type::now();
    auto [index, value] =
        weft::sync_wait(sched, drop ? race_dropping(n, clock) : race(n, clock));
    const auto end = clock_type::now();
    state.SetIterationTime(seconds_between(begin, end));
    const int expected_n = n - 3 + static_cast<int>(index);
    if (value != fib_serial(expected_n)) {
      state.SkipWithError("cancel_tree: when_any's winner computed a wrong result");
      break;
    }
    const auto first = clock_type::time_point(clock_type::duration(clock.first_end_ns.load()));
    win_to_done.push_back(seconds_between(first, end));
  }
  weft_bench::report_quantiles(state, win_to_done, "win_");
}

void register_rows() {
  using weft_bench::timing;
  const auto fib_ok = [](int v) { return v == fib_serial(fib_n()); };
  const std::uint64_t leaves = skynet_leaves();
  const auto skynet_ok = [leaves](std::uint64_t v) { return v == leaves * (leaves - 1) / 2; };
  weft_bench::add(
      "cancel_tree", "fib_full",
      [=](benchmark::State& s) { run_full(s, [] { return fib(fib_n()); }, fib_ok); },
      timing::manual);
  for (const bool drop : {false, true}) {
    weft_bench::add(
        "cancel_tree", drop ? "fib_cancelled_drop" : "fib_cancelled",
        [=](benchmark::State& s) { run_cancelled(s, [] { return fib(fib_n()); }, fib_ok, drop); },
        timing::manual)
        ->Iterations(weft_bench::size(100, 3));
  }
  weft_bench::add(
      "cancel_tree", "skynet_full",
      [=](benchmark::State& s) {
        run_full(s, [leaves] { return skynet(0, leaves); }, skynet_ok);
      },
      timing::manual);
  for (const bool drop : {false, true}) {
    weft_bench::add(
        "cancel_tree", drop ? "skynet_cancelled_drop" : "skynet_cancelled",
        [=](benchmark::State& s) {
          run_cancelled(s, [leaves] { return skynet(0, leaves); }, skynet_ok, drop);
        },
        timing::manual)
        ->Iterations(weft_bench::size(100, 3));
  }
  for (const bool drop : {false, true}) {
    weft_bench::add(
        "cancel_tree", drop ? "when_any_race_drop" : "when_any_race",
        [drop](benchmark::State& s) { when_any_race(s, drop); }, timing::manual)
        ->Iterations(weft_bench::size(50, 3));
  }
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
