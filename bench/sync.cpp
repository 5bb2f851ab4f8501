// The primitives a task waits on: what an uncontended wait costs, how fast
// a queue moves items, how a contended mutex hands off, and how soon a
// cancel reaches a task waiting on each.
//
// sync_lock (ns_per_op; one task on a 1-worker scheduler, or a plain
// thread of a process that runs one): an uncontended pair in a loop; the
// column T1/T(serial) is the ratio to a std::mutex lock+unlock pair.
//   weft_semaphore    co_await sem.acquire(); sem.release()
//   weft_mutex        co_await m.lock(); m.unlock()
//   serial_std_mutex  std::mutex lock(); unlock()
// sync_queue (items_per_s): 1,000,000 ints through a queue of capacity
// 1024 from one producer to one consumer, the sum checked.
//   weft              a producer task and a consumer task (when_all)
//   tbb_bounded_queue tbb::concurrent_bounded_queue<int> between two plain
//                     threads (its blocking push and pop)
// sync_contended_mutex (handoffs_per_s): 10,000 tasks each take one
// weft::mutex 10 times (a counter under it is checked).
// sync_cancel (p50_us, p99_us over 2,000 samples): from just before
// cancel() to the cancelled_error caught in a task waiting on
//   weft_event, weft_semaphore, weft_mutex, weft_queue_pop,
//   weft_queue_push, weft_future
// with the pool idle (the workers park: the wake-up of a parked worker is
// in the figure), weft_event_busy_pool with a task looping on yield
// meanwhile, and weft_event_spinning_pool whose idle workers never park.
//   serial_thread_wake  the floor under the idle rows: a plain thread
//                       blocked in std::atomic::wait, woken by notify_one

#include <weft/weft.hpp>

#ifdef WEFT_BENCH_HAVE_TBB
#include <oneapi/tbb/concurrent_queue.h>
#endif

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_common.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

std::int64_t pair_count() { return weft_bench::size<std::int64_t>(2'000'000, 1'000); }
std::int64_t queue_items() { return weft_bench::size<std::int64_t>(1'000'000, 1'000); }
std::int64_t latency_samples() { return weft_bench::size<std::int64_t>(2'000, 5); }
constexpr std::size_t k_queue_capacity = 1024;

// ---- sync_lock

weft::task<std::int64_t> semaphore_pairs(weft::semaphore& sem, std::int64_t n) {
  std::int64_t held = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    co_await sem.acquire();
    held += static_cast<std::int64_t>(sem.available() == 0);
    sem.release();
  }
  co_return held;
}

weft::task<std::int64_t> mutex_pairs(weft::mutex& m, std::int64_t n) {
  std::int64_t held = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    co_await m.lock();
    held += static_cast<std::int64_t>(m.locked());
    m.unlock();
  }
  co_return held;
}

template <class Loop>
void lock_pairs(benchmark::State& state, Loop loop) {
  weft::scheduler sched{1};
  const std::int64_t n = pair_count();
  for (auto _ : state) {
    const auto start = clock_type::now();
    const std::int64_t held = weft::sync_wait(sched, loop(n));
    const double seconds = weft_bench::seconds_since(start);
    state.SetIterationTime(seconds);
    if (!weft_bench::check_result(state, "sync_lock: pairs that held", held, n)) return;
    state.counters["ns_per_op"] = seconds * 1e9 / static_cast<double>(n);
  }
}

void lock_semaphore(benchmark::State& state) {
  weft::semaphore sem{1};
  lock_pairs(state, [&](std::int64_t n) { return semaphore_pairs(sem, n); });
}
void lock_mutex(benchmark::State& state) {
  weft::mutex m;
  lock_pairs(state, [&](std::int64_t n) { return mutex_pairs(m, n); });
}
void lock_std_mutex(benchmark::State& state) {
  // A process with a running pool, as for the weft rows: glibc locks with
  // plain stores while a process has a single thread, which no program
  // that uses weft is.
  weft::scheduler sched{1};
  std::mutex m;
  const std::int64_t n = pair_count();
  for (auto _ : state) {
    std::int64_t held = 0;
    const auto start = clock_type::now();
    for (std::int64_t i = 0; i < n; ++i) {
      m.lock();
      held += 1;
      benchmark::DoNotOptimize(held);
      m.unlock();
    }
    const double seconds = weft_bench::seconds_since(start);
    state.SetIterationTime(seconds);
    if (!weft_bench::check_result(state, "sync_lock: pairs", held, n)) return;
    state.counters["ns_per_op"] = seconds * 1e9 / static_cast<double>(n);
  }
}

// ---- sync_queue

weft::task<std::int64_t> produce(weft::queue<int>& q, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) co_await q.push(static_cast<int>(i & 0xffff));
  co_return 0;
}
weft::task<std::int64_t> consume(weft::queue<int>& q, std::int64_t n) {
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += co_await q.pop();
  co_return sum;
}
std::int64_t expected_sum(std::int64_t n) {
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += i & 0xffff;
  return sum;
}

weft::task<std::int64_t> pipe(weft::queue<int>& q, std::int64_t n) {
  auto [produced, consumed] = co_await weft::when_all(produce(q, n), consume(q, n));
  co_return produced + consumed;
}

void queue_weft(benchmark::State& state) {
  weft::scheduler sched{weft_bench::workers_of(state)};
  const std::int64_t n = queue_items();
  for (auto _ : state) {
    weft::queue<int> q{k_queue_capacity};
    const auto start = clock_type::now();
    const std::int64_t sum = weft::sync_wait(sched, pipe(q, n));
    const double seconds = weft_bench::seconds_since(start);
    state.SetIterationTime(seconds);
    if (!weft_bench::check_result(state, "sync_queue: sum", sum, expected_sum(n))) return;
    state.counters["items_per_s"] = static_cast<double>(n) / seconds;
  }
}

#ifdef WEFT_BENCH_HAVE_TBB
void queue_tbb(benchmark::State& state) {
  const std::int64_t n = queue_items();
  for (auto _ : state) {
    tbb::concurrent_bounded_queue<int> q;
    q.set_capacity(k_queue_capacity);
    std::int64_t sum = 0;
    const auto start = clock_type::now();
    std::thread producer([&] {
      for (std::int64_t i = 0; i < n; ++i) q.push(static_cast<int>(i & 0xffff));
    });
    for (std::int64_t i = 0; i < n; ++i) {
      int v = 0;
      q.pop(v);
      sum += v;
    }
    producer.join();
    const double seconds = weft_bench::seconds_since(start);
    state.SetIterationTime(seconds);
    if (!weft_bench::check_result(state, "sync_queue: sum", sum, expected_sum(n))) return;
    state.counters["items_per_s"] = static_cast<double>(n) / seconds;
  }
}
#endif

// ---- sync_contended_mutex

constexpr int k_contenders = 10'000;
constexpr int k_locks_each = 10;

weft::task<void> contend(weft::mutex& m, std::int64_t& counter) {
  for (int i = 0; i < k_locks_each; ++i) {
    co_await m.lock();
    ++counter;
    m.unlock();
  }
}

void contended_mutex(benchmark::State& state) {
  weft::scheduler sched{weft_bench::workers_of(state)};
  const int tasks = weft_bench::size(k_contenders, 100);
  for (auto _ : state) {
    weft::mutex m;
    std::int64_t counter = 0;
    std::vector<weft::task_handle<void>> handles;
    handles.reserve(tasks);
    const auto start = clock_type::now();
    for (int i = 0; i < tasks; ++i) handles.push_back(sched.spawn(contend(m, counter)));
    for (auto& h : handles) h.wait();
    const double seconds = weft_bench::seconds_since(start);
    state.SetIterationTime(seconds);
    const std::int64_t expected = std::int64_t{tasks} * k_locks_each;
    if (!weft_bench::check_result(state, "sync_contended_mutex: count", counter, expected)) {
      return;
    }
    state.counters["handoffs_per_s"] = static_cast<double>(expected) / seconds;
  }
}

// ---- sync_cancel

/// Each iteration takes latency_samples() samples of `one()` (seconds, or
/// nullopt once it has called SkipWithError); the iteration's time is
/// their mean, and p50_us / p99_us go beside it.
template <class Sample>
void sample_latencies(benchmark::State& state, Sample one) {
  const std::int64_t samples = latency_samples();
  for (auto _ : state) {
    std::vector<double> latencies;
    latencies.reserve(samples);
    double total = 0;
    for (std::int64_t i = 0; i < samples; ++i) {
      const std::optional<double> s = one();
      if (!s) return;
      latencies.push_back(*s);
      total += *s;
    }
    state.SetIterationTime(total / static_cast<double>(samples));
    weft_bench::report_quantiles(state, latencies);
  }
}

/// 50 µs of this thread yielding: the waiter measured next is asleep, not
/// on its way there.
void settle() {
  const auto until = clock_type::now() + std::chrono::microseconds(50);
  while (clock_type::now() < until) std::this_thread::yield();
}

/// Loops on yield until `stop`: keeps a worker awake.
weft::task<void> keep_busy(std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) co_await weft::yield();
}

/// How the pool spends the wait: its workers park (the default), a task
/// loops on yield meanwhile so a worker is awake (a service under load),
/// or idle workers keep looking for work instead of parking (as OpenMP's
/// and oneTBB's do for a while).
enum class pool_mode { idle, busy, spinning };

/// Measures cancel → cancelled_error in a task that waits via `wait()`
/// (a task<void> that blocks until cancelled), once per sample.
template <class Wait>
void cancel_latency(benchmark::State& state, Wait wait, pool_mode mode = pool_mode::idle) {
  weft::scheduler_options options;
  options.workers = weft_bench::workers_of(state);
  if (mode == pool_mode::spinning) options.spin_rounds = 1'000'000;
  weft::scheduler sched{options};
  std::atomic<bool> stop_busy{false};
  weft::task_handle<void> busy_task;
  if (mode == pool_mode::busy) busy_task = sched.spawn(keep_busy(stop_busy));
  struct stop_on_exit {
    std::atomic<bool>& stop;
    weft::task_handle<void>& task;
    ~stop_on_exit() {
      stop = true;
      if (task.valid()) task.wait();
    }
  } stopper{stop_busy, busy_task};
  sample_latencies(state, [&]() -> std::optional<double> {
    std::atomic<bool> waiting{false};
    clock_type::time_point caught{};
    auto body = [](Wait& wait, std::atomic<bool>& waiting,
                   clock_type::time_point& caught) -> weft::task<void> {
      waiting.store(true, std::memory_order_release);
      try {
        co_await wait();
      } catch (const weft::cancelled_error&) {
        caught = clock_type::now();
        throw;
      }
    };
    auto h = sched.spawn(body(wait, waiting, caught));
    while (!waiting.load(std::memory_order_acquire)) std::this_thread::yield();
    settle();  // lets it reach the wait list, a few microseconds past the flag
    const auto start = clock_type::now();
    h.cancel();
    h.wait();  // sleeps in the kernel: leaves the cores to the workers
    if (!h.cancelled() || caught == clock_type::time_point{}) {
      state.SkipWithError("sync_cancel: the waiting task did not end cancelled");
      return std::nullopt;
    }
    return std::chrono::duration<double>(caught - start).count();
  });
}

void cancel_event(benchmark::State& state) {
  weft::event never_set;
  cancel_latency(state, [&]() -> weft::task<void> { co_await never_set.wait(); });
}
void cancel_event_busy(benchmark::State& state) {
  weft::event never_set;
  cancel_latency(state, [&]() -> weft::task<void> { co_await never_set.wait(); },
                 pool_mode::busy);
}
void cancel_event_spinning(benchmark::State& state) {
  weft::event never_set;
  cancel_latency(state, [&]() -> weft::task<void> { co_await never_set.wait(); },
                 pool_mode::spinning);
}

/// The floor under the idle rows: a plain thread blocked on a futex
/// (std::atomic::wait), woken by this one; from just before notify_one()
/// to the woken thread's clock read.
void thread_wake(benchmark::State& state) {
  sample_latencies(state, [] {
    std::atomic<int> phase{0};  // 0 → 1: the sleeper is about to wait; 2: woken
    clock_type::time_point woke{};
    std::thread sleeper([&] {
      phase.store(1, std::memory_order_release);
      phase.wait(1, std::memory_order_acquire);
      woke = clock_type::now();
    });
    while (phase.load(std::memory_order_acquire) != 1) std::this_thread::yield();
    settle();
    const auto start = clock_type::now();
    phase.store(2, std::memory_order_release);
    phase.notify_one();
    sleeper.join();
    return std::optional<double>(std::chrono::duration<double>(woke - start).count());
  });
}
void cancel_semaphore(benchmark::State& state) {
  weft::semaphore none_free{0};
  cancel_latency(state, [&]() -> weft::task<void> { co_await none_free.acquire(); });
}
void cancel_mutex(benchmark::State& state) {
  weft::mutex held;
  static_cast<void>(held.try_lock());
  cancel_latency(state, [&]() -> weft::task<void> { co_await held.lock(); });
  held.unlock();
}
void cancel_queue_pop(benchmark::State& state) {
  weft::queue<int> empty{1};
  cancel_latency(state, [&]() -> weft::task<void> { co_await empty.pop(); });
}
void cancel_queue_push(benchmark::State& state) {
  weft::queue<int> full{1};
  static_cast<void>(full.try_push(0));
  cancel_latency(state, [&]() -> weft::task<void> { co_await full.push(1); });
}
void cancel_future(benchmark::State& state) {
  // A fresh future per sample: the cancel cancels the future it awaits.
  cancel_latency(state, []() -> weft::task<void> {
    weft::future<int> never_set;
    co_await never_set;
  });
}

void register_rows() {
  using weft_bench::timing;
  auto one_worker = [](benchmark::internal::Benchmark* b) {
    b->ArgName("workers")->Arg(1)->UseManualTime()->Unit(benchmark::kMillisecond);
    if (weft_bench::smoke()) b->Iterations(1);
  };
  one_worker(benchmark::RegisterBenchmark("sync_lock/weft_semaphore", lock_semaphore));
  one_worker(benchmark::RegisterBenchmark("sync_lock/weft_mutex", lock_mutex));
  one_worker(benchmark::RegisterBenchmark("sync_lock/serial_std_mutex", lock_std_mutex));

  weft_bench::add("sync_queue", "weft", queue_weft, timing::manual);
#ifdef WEFT_BENCH_HAVE_TBB
  auto* tbb_row = benchmark::RegisterBenchmark("sync_queue/tbb_bounded_queue", queue_tbb);
  tbb_row->ArgName("workers")->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond);
  if (weft_bench::smoke()) tbb_row->Iterations(1);
#endif
  weft_bench::add("sync_contended_mutex", "weft", contended_mutex, timing::manual);

  // One iteration is all the samples (its time is their mean); a
  // repetition is another iteration.
  for (auto [name, fn] : {std::pair{"weft_event", &cancel_event},
                          std::pair{"weft_semaphore", &cancel_semaphore},
                          std::pair{"weft_mutex", &cancel_mutex},
                          std::pair{"weft_queue_pop", &cancel_queue_pop},
                          std::pair{"weft_queue_push", &cancel_queue_push},
                          std::pair{"weft_future", &cancel_future},
                          std::pair{"weft_event_busy_pool", &cancel_event_busy},
                          std::pair{"weft_event_spinning_pool", &cancel_event_spinning}}) {
    weft_bench::add("sync_cancel", name, fn, timing::manual)->Iterations(1);
  }
  auto* floor_row = benchmark::RegisterBenchmark("sync_cancel/serial_thread_wake", thread_wake);
  floor_row->ArgName("workers")->Arg(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  floor_row->Iterations(1);
}

}  // namespace

WEFT_BENCH_MAIN(register_rows)
