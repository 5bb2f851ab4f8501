// done() and cancelled() polled from other threads while tasks complete: the
// lock-free terminal state. 100,000 tasks each yield a few times and return
// their number; every fourth one is cancelled right after it is spawned
// (some before they start, some while they run).
//
// Rows:
//   weft_polled    as many polling threads as workers sweep every handle
//                  with done() and cancelled() until all are done; each
//                  checks that a handle seen done stays done with the same
//                  cancelled() answer (counter polls_per_s)
//   weft_unpolled  the same tasks with no pollers: the baseline that shows
//                  what polling costs the workers (cache-line sharing on the
//                  state word; done() itself is one load)
// Time runs from the first spawn until every task is done. Afterwards every
// handle is checked: cancelled() only if cancel() was accepted, and
// result() returns the task's number exactly when it did not end cancelled.

#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"

namespace {

constexpr int k_yields = 4;
constexpr std::size_t k_cancel_every = 4;

std::size_t task_count() { return weft_bench::size<std::size_t>(100'000, 1'000); }

weft::task<std::uint64_t> finish_after_yields(std::uint64_t value) {
  for (int i = 0; i < k_yields; ++i) co_await weft::yield();
  co_return value;
}

/// One polling thread: sweeps all handles until a sweep finds every one done.
/// Returns the number of handle polls, or -1 if a state went backwards.
long long poll_until_done(const std::vector<weft::task_handle<std::uint64_t>>& handles,
                          const std::atomic<std::size_t>& spawned) {
  // 0 = not seen done, 1 = seen done and not cancelled, 2 = seen cancelled.
  std::vector<unsigned char> seen(handles.size(), 0);
  long long polls = 0;
  for (;;) {
    const std::size_t visible = spawned.load(std::memory_order_acquire);
    bool all_done = visible == handles.size();
    for (std::size_t i = 0; i < visible; ++i) {
      const bool done = handles[i].done();
      const bool cancelled = handles[i].cancelled();
      polls += 2;
      if (cancelled && !done) return -1;
      if (seen[i] != 0) {
        if (!done || cancelled != (seen[i] == 2)) return -1;
        continue;
      }
      if (done) {
        // cancelled() was read after done(): re-read, a done task's outcome
        // never changes.
        seen[i] = handles[i].cancelled() ? 2 : 1;
      } else {
        all_done = false;
      }
    }
    if (all_done) return polls;
  }
}

void run(benchmark::State& state, bool polled) {
  const std::size_t workers = static_cast<std::size_t>(state.range(0));
  weft::scheduler sched{workers};
  const std::size_t n = task_count();
  std::atomic<long long> total_polls{0};
  double polled_seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<weft::task_handle<std::uint64_t>> handles(n);
    std::vector<char> accepted(n, 0);
    std::atomic<std::size_t> spawned{0};
    std::atomic<bool> went_backwards{false};
    std::vector<std::thread> pollers;
    if (polled) {
      for (std::size_t p = 0; p < workers; ++p) {
        pollers.emplace_back([&] {
          long long polls = poll_until_done(handles, spawned);
          if (polls < 0) {
            went_backwards = true;
          } else {
            total_polls.fetch_add(polls, std::memory_order_relaxed);
          }
        });
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      handles[i] = sched.spawn(finish_after_yields(i));
      if (i % k_cancel_every == 0) accepted[i] = handles[i].cancel() ? 1 : 0;
      spawned.store(i + 1, std::memory_order_release);  // release: publishes handles[i] to pollers
    }
    for (auto& h : handles) h.wait();
    for (auto& p : pollers) p.join();
    polled_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::string error;
    if (went_backwards) error = "state_poll: a handle's done()/cancelled() went backwards";
    for (std::size_t i = 0; i < n && error.empty(); ++i) {
      const auto& h = handles[i];
      if (h.cancelled()) {
        if (accepted[i] == 0) error = "state_poll: a task never cancelled ended cancelled";
      } else if (h.result() != i) {
        error = "state_poll: a task returned the wrong value";
      }
    }
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      break;
    }
  }
  if (polled) {
    // Over wall time: Google Benchmark's kIsRate would divide by the CPU time
    // of this (mostly waiting) thread.
    state.counters["polls_per_s"] =
        polled_seconds > 0 ? static_cast<double>(total_polls.load()) / polled_seconds : 0.0;
  }
}

void register_rows() {
  weft_bench::add("state_poll", "weft_polled", [](benchmark::State& state) { run(state, true); });
  weft_bench::add("state_poll", "weft_unpolled",
                  [](benchmark::State& state) { run(state, false); });
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
