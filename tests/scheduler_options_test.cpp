// weft::scheduler_options: worker thread names, start and stop hooks, CPU
// pinning, the spin budget, and the errors for bad values.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <latch>
#include <limits>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

#include "support.hpp"

using weft_test::contains;

namespace {

// The worker index of this thread, set by the on_worker_start hooks below
// (-1 on threads that are not workers of a test scheduler).
thread_local long tls_index = -1;

std::string this_thread_name() {
#if defined(__linux__)
  char buf[32] = {};
  pthread_getname_np(pthread_self(), buf, sizeof buf);
  return buf;
#else
  return {};
#endif
}

using weft_test::spawning_fib;

std::string invalid_argument_message(const weft::scheduler_options& options) {
  try {
    weft::scheduler sched{options};
  } catch (const weft::invalid_argument_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no exception";
}

}  // namespace

#if defined(__linux__)

TEST(SchedulerOptions, WorkerThreadsAreNamedPrefixPlusIndexBeforeTheStartHookRuns) {
  // Services log the thread name from the hook, so the name must be set
  // when it runs; repeated, because a rename racing the hook shows rarely.
  for (int round = 0; round < 20; ++round) {
    std::mutex mutex;
    std::vector<std::string> names(3);
    weft::scheduler_options options;
    options.workers = 3;
    options.on_worker_start = [&](std::size_t i) {
      std::lock_guard lock(mutex);
      names[i] = this_thread_name();
    };
    { weft::scheduler sched{options}; }
    ASSERT_EQ(names, (std::vector<std::string>{"weft-w0", "weft-w1", "weft-w2"}))
        << "round " << round;
  }
}

TEST(SchedulerOptions, ACustomPrefixNamesTheThreadsThatRunTasks) {
  weft::scheduler_options options;
  options.workers = 2;
  options.thread_name_prefix = "svc-io-";
  options.on_worker_start = [](std::size_t i) { tls_index = static_cast<long>(i); };
  weft::scheduler sched{options};
  auto probe = []() -> weft::task<std::string> {
    co_return this_thread_name() + " " + std::to_string(tls_index);
  };
  for (int i = 0; i < 16; ++i) {
    const std::string seen = weft::sync_wait(sched, probe());
    const std::size_t space = seen.find(' ');
    ASSERT_NE(space, std::string::npos) << seen;
    // "svc-io-<i> <i>": the name carries the index the hook was given.
    EXPECT_EQ(seen.substr(0, space), "svc-io-" + seen.substr(space + 1));
  }
}

TEST(SchedulerOptions, APrefixOfExactlyTheLongestAllowedLengthIsAccepted) {
  weft::scheduler_options options;
  options.workers = 10;                            // indices 0..9: one digit
  options.thread_name_prefix = "abcdefghijklmn";  // 14 + 1 = 15 characters
  std::mutex mutex;
  std::set<std::string> names;
  options.on_worker_start = [&](std::size_t) {
    std::lock_guard lock(mutex);
    names.insert(this_thread_name());
  };
  { weft::scheduler sched{options}; }
  EXPECT_EQ(names.size(), 10u);
  EXPECT_EQ(names.count("abcdefghijklmn9"), 1u);
}

TEST(SchedulerOptions, PinnedWorkersRunTasksOnTheirOwnCpu) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  std::vector<int> cpus;  // the CPUs this process may use, in order
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  ASSERT_FALSE(cpus.empty());

  // Worker i belongs on cpus[i mod cpus.size()], from before its hook runs.
  const std::size_t workers = 2;
  weft::scheduler_options options;
  options.workers = workers;
  options.pin_workers = true;
  std::mutex mutex;
  std::vector<std::string> problems;
  auto check_pinned = [&cpus](const char* where) -> std::string {
    cpu_set_t mine;
    CPU_ZERO(&mine);
    if (sched_getaffinity(0, sizeof mine, &mine) != 0) return "sched_getaffinity failed";
    const int expected = cpus[static_cast<std::size_t>(tls_index) % cpus.size()];
    if (CPU_COUNT(&mine) != 1 || !CPU_ISSET(expected, &mine)) {
      return std::string(where) + ": worker " + std::to_string(tls_index) +
             " is not pinned to CPU " + std::to_string(expected);
    }
    if (sched_getcpu() != expected) {
      return std::string(where) + ": worker " + std::to_string(tls_index) + " runs on CPU " +
             std::to_string(sched_getcpu()) + ", not " + std::to_string(expected);
    }
    return {};
  };
  options.on_worker_start = [&](std::size_t i) {
    tls_index = static_cast<long>(i);
    std::string p = check_pinned("on_worker_start");
    std::lock_guard lock(mutex);
    if (!p.empty()) problems.push_back(p);
  };
  {
    weft::scheduler sched{options};
    for (int round = 0; round < 8; ++round) {
      std::latch all{static_cast<std::ptrdiff_t>(workers)};
      std::vector<weft::task_handle<std::string>> probes;
      // Each probe meets the others first, so every worker runs one.
      for (std::size_t i = 0; i < workers; ++i) {
        probes.push_back(sched.spawn([](std::latch& all, auto check) -> weft::task<std::string> {
          all.arrive_and_wait();
          co_return check("in a task");
        }(all, check_pinned)));
      }
      for (auto& h : probes) {
        h.wait();
        const std::string p = h.result();
        std::lock_guard lock(mutex);
        if (!p.empty()) problems.push_back(p);
      }
    }
  }
  EXPECT_TRUE(problems.empty()) << problems.front();
}

#endif  // __linux__

TEST(SchedulerOptions, EachHookRunsOncePerWorkerOnThatWorkersThread) {
  constexpr std::size_t k_workers = 4;
  std::mutex mutex;
  std::vector<int> starts(k_workers), stops(k_workers);
  std::vector<std::thread::id> start_thread(k_workers), stop_thread(k_workers);
  std::set<std::thread::id> task_threads;
  weft::scheduler_options options;
  options.workers = k_workers;
  options.on_worker_start = [&](std::size_t i) {
    std::lock_guard lock(mutex);
    ++starts.at(i);
    start_thread[i] = std::this_thread::get_id();
  };
  options.on_worker_stop = [&](std::size_t i) {
    std::lock_guard lock(mutex);
    ++stops.at(i);
    stop_thread[i] = std::this_thread::get_id();
  };
  {
    weft::scheduler sched{options};
    std::latch all{k_workers};
    std::vector<weft::task_handle<std::thread::id>> handles;
    for (std::size_t i = 0; i < k_workers; ++i) {
      handles.push_back(sched.spawn([](std::latch& all) -> weft::task<std::thread::id> {
        all.arrive_and_wait();
        co_return std::this_thread::get_id();
      }(all)));
    }
    for (auto& h : handles) {
      h.wait();
      task_threads.insert(h.result());
    }
    std::lock_guard lock(mutex);
    // Every worker started before it ran a task; none has stopped yet.
    EXPECT_EQ(starts, std::vector<int>(k_workers, 1));
    EXPECT_EQ(stops, std::vector<int>(k_workers, 0));
    EXPECT_EQ(task_threads, std::set<std::thread::id>(start_thread.begin(), start_thread.end()));
  }
  EXPECT_EQ(starts, std::vector<int>(k_workers, 1));
  EXPECT_EQ(stops, std::vector<int>(k_workers, 1));
  EXPECT_EQ(stop_thread, start_thread);
}

TEST(SchedulerOptions, AThrowingHookIsReportedAndThePoolStillRuns) {
  weft::scheduler_options options;
  options.workers = 2;
  options.on_worker_start = [](std::size_t) { throw std::runtime_error("no logger"); };
  options.on_worker_stop = [](std::size_t) { throw 42; };
  testing::internal::CaptureStderr();
  {
    weft::scheduler sched{options};
    EXPECT_EQ(weft::sync_wait(sched, spawning_fib(15)), 610);
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "on_worker_start threw (no logger)"));
  EXPECT_TRUE(contains(err, "on_worker_stop threw"));
}

TEST(SchedulerOptions, ZeroSpinRoundsParksAtOnceAndStillRunsEverything) {
  weft::scheduler_options options;
  options.workers = 2;
  options.spin_rounds = 0;
  weft::scheduler sched{options};
  for (int round = 0; round < 20; ++round) {
    ASSERT_EQ(weft::sync_wait(sched, spawning_fib(16)), 987);
  }
  // Idle workers park without searching; each round woke them again.
  weft_test::hang_guard guard{std::chrono::seconds(60), "waiting for a worker to park"};
  while (sched.stats().parks == 0) std::this_thread::yield();
  EXPECT_EQ(weft::sync_wait(sched, spawning_fib(16)), 987);
}

TEST(SchedulerOptions, TheLargestSpinBudgetIsAccepted) {
  weft::scheduler_options options;
  options.workers = 1;
  options.spin_rounds = 1'000'000;
  weft::scheduler sched{options};
  EXPECT_EQ(weft::sync_wait(sched, spawning_fib(10)), 55);
}

// ---- the worker count, given alone (scheduler{n}) or in the options

TEST(SchedulerOptions, ACountOfZeroWorkersThrowsInvalidArgumentNamingTheFix) {
  WEFT_EXPECT_THROW_NAMING(weft::scheduler{0}, weft::invalid_argument_error,
                           "pass a positive count");
}

TEST(SchedulerOptions, ACountAboveMaxWorkersThrowsInvalidArgumentNamingTheFix) {
  WEFT_EXPECT_THROW_NAMING(weft::scheduler{weft::scheduler::max_workers() + 1},
                           weft::invalid_argument_error, "one worker per hardware thread");
}

TEST(SchedulerOptions, AnAbsurdWorkerCountThrowsInvalidArgumentBeforeStartingAThread) {
  WEFT_EXPECT_THROW_NAMING(weft::scheduler{std::numeric_limits<std::size_t>::max()},
                           weft::invalid_argument_error, "one worker per hardware thread");
  WEFT_EXPECT_THROW_NAMING(weft::scheduler{std::size_t{1} << 40}, weft::invalid_argument_error,
                           "one worker per hardware thread");
}

TEST(SchedulerOptions, ZeroWorkersThrowsInvalidArgumentNamingTheFix) {
  weft::scheduler_options options;
  options.workers = 0;
  const std::string m = invalid_argument_message(options);
  EXPECT_TRUE(contains(m, "at least one worker"));
  EXPECT_TRUE(contains(m, "pass a positive count"));
}

TEST(SchedulerOptions, TooManyWorkersThrowsInvalidArgumentNamingTheFix) {
  weft::scheduler_options options;
  options.workers = weft::scheduler::max_workers() + 1;
  const std::string m = invalid_argument_message(options);
  EXPECT_TRUE(contains(m, std::to_string(weft::scheduler::max_workers() + 1) + " workers"));
  EXPECT_TRUE(contains(m, "use about one worker per hardware thread"));
}

// ---- the other values

TEST(SchedulerOptions, ATooLongThreadNamePrefixThrowsInvalidArgumentNamingTheFix) {
  weft::scheduler_options options;
  options.workers = 10;
  options.thread_name_prefix = "abcdefghijklmno";  // 15 + 1 digit = 16
  const std::string m = invalid_argument_message(options);
  EXPECT_TRUE(contains(m, "thread_name_prefix \"abcdefghijklmno\" is too long"));
  EXPECT_TRUE(contains(m, "use a shorter prefix"));
  // The index counts: 14 characters fit one-digit indices, not 11 workers.
  options.thread_name_prefix = "abcdefghijklmn";
  options.workers = 11;
  EXPECT_TRUE(contains(invalid_argument_message(options), "use a shorter prefix"));
}

TEST(SchedulerOptions, ATooLargeSpinBudgetThrowsInvalidArgumentNamingTheFix) {
  weft::scheduler_options options;
  options.workers = 1;
  options.spin_rounds = 1'000'001;
  const std::string m = invalid_argument_message(options);
  EXPECT_TRUE(contains(m, "spin_rounds is 1000001"));
  EXPECT_TRUE(contains(m, "use a value like 64"));
}

TEST(SchedulerOptions, ABadValueStartsNoThreadAndRunsNoHook) {
  std::atomic<int> hooks{0};
  weft::scheduler_options options;
  options.workers = 2;
  options.spin_rounds = 2'000'000;
  options.on_worker_start = [&](std::size_t) { ++hooks; };
  options.on_worker_stop = [&](std::size_t) { ++hooks; };
  EXPECT_THROW(weft::scheduler{options}, weft::invalid_argument_error);
  EXPECT_EQ(hooks.load(), 0);
}
