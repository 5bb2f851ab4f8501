// weft::to_thread: asyncio.to_thread, a blocking call off the workers.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"
#include "wait_contract.hpp"

using namespace std::chrono_literals;

namespace {

weft::scheduler_options with_blocking_threads(std::size_t workers, std::size_t blocking) {
  weft::scheduler_options options;
  options.workers = workers;
  options.max_blocking_threads = blocking;
  return options;
}

/// Blocks its blocking thread until `release` opens; counts `started` down.
weft::task<void> block_until(std::latch& started, std::latch& release) {
  co_await weft::to_thread([&] {
    started.count_down();
    release.wait();
  });
}

/// The threads of this process named `name` (as /proc shows them).
int threads_named(const std::string& name) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string text;
    std::getline(comm, text);
    if (text == name) ++n;
  }
  return n;
}

}  // namespace

TEST(ToThread, RunsTheCallOnABlockingThreadAndReturnsItsResult) {
  weft::scheduler sched{1};
  auto worker_id = []() -> weft::task<std::thread::id> { co_return std::this_thread::get_id(); };
  const auto worker = weft::sync_wait(sched, worker_id());
  auto body = []() -> weft::task<std::thread::id> {
    co_return co_await weft::to_thread([] { return std::this_thread::get_id(); });
  };
  const auto ran_on = weft::sync_wait(sched, body());
  EXPECT_NE(ran_on, worker);
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(ToThread, TheWorkerIsFreeWhileTheCallBlocks) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto h = sched.spawn(block_until(started, release));
  started.wait();
  EXPECT_EQ(weft::sync_wait(sched, weft_test::value_after_yield(6)), 6);  // the one worker
  release.count_down();
  h.wait();
  EXPECT_FALSE(h.cancelled());
}

TEST(ToThread, PassesArgumentsAndAStopTokenAndRethrows) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<int> {
    int a = co_await weft::to_thread([](int x, int y) { return x * y; }, 6, 7);
    int b = co_await weft::to_thread(
        [](std::stop_token st, int n) { return st.stop_possible() ? n : -1; }, 1);
    auto p = co_await weft::to_thread([] { return std::make_unique<int>(100); });
    co_return a + b + *p;
  };
  EXPECT_EQ(weft::sync_wait(sched, body()), 42 + 1 + 100);
  auto fails = []() -> weft::task<void> {
    co_await weft::to_thread([] { throw std::runtime_error("disk on fire"); });
  };
  EXPECT_THROW(weft::sync_wait(sched, fails()), std::runtime_error);
}

TEST(ToThread, ACallThatHasNotStartedNeverRunsWhenCancelled) {
  weft::scheduler sched{with_blocking_threads(1, 1)};
  std::latch started{1}, release{1};
  auto occupier = sched.spawn(block_until(started, release));
  started.wait();  // the only blocking thread is busy
  std::atomic<bool> ran{false};
  auto queued = [](std::atomic<bool>& ran) -> weft::task<void> {
    co_await weft::to_thread([&] { ran = true; });
  };
  auto h = sched.spawn(queued(ran));
  weft_test::run_queued_tasks(sched);  // it is queued behind the busy call
  EXPECT_TRUE(h.cancel("not needed"));
  h.wait();  // at once: the busy call is still blocked
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(h.cancel_reason()->message, "not needed");
  release.count_down();
  occupier.wait();
  EXPECT_FALSE(ran.load());
}

TEST(ToThread, CancellingARunningCallRequestsStopAndWaitsForItToReturn) {
  weft::scheduler sched{2};
  std::latch started{1};
  std::atomic<bool> returned{false};
  auto body = [](std::latch& started, std::atomic<bool>& returned) -> weft::task<int> {
    co_return co_await weft::to_thread([&](std::stop_token st) {
      started.count_down();
      while (!st.stop_requested()) std::this_thread::yield();
      returned = true;
      return 1;
    });
  };
  auto h = sched.spawn(body(started, returned));
  started.wait();
  EXPECT_TRUE(h.cancel("stop the query"));
  h.wait();
  EXPECT_TRUE(returned.load()) << "the task resumed before its call returned";
  EXPECT_TRUE(h.cancelled());
  EXPECT_THROW(h.result(), weft::cancelled_error);
}

TEST(ToThread, CallsBeyondTheMaximumWaitTheirTurn) {
  weft::scheduler sched{with_blocking_threads(2, 2)};
  std::atomic<int> running{0}, most{0};
  auto call = [](std::atomic<int>& running, std::atomic<int>& most) -> weft::task<void> {
    co_await weft::to_thread([&] {
      int now = ++running;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(2ms);  // a blocking call, as the API is for
      --running;
    });
  };
  std::vector<weft::task_handle<void>> handles;
  for (int i = 0; i < 12; ++i) handles.push_back(sched.spawn(call(running, most)));
  for (auto& h : handles) {
    h.wait();
    EXPECT_FALSE(h.cancelled());
  }
  EXPECT_LE(most.load(), 2);
  EXPECT_GE(most.load(), 1);
}

TEST(ToThread, APendingCancelThrowsAndNeverRunsTheCall) {
  std::atomic<bool> ran{false};
  weft_test::expect_pending_cancel_throws_before_waiting(
      [&]() -> weft::task<void> { co_await weft::to_thread([&] { ran = true; }); });
  EXPECT_FALSE(ran.load());
}

TEST(ToThread, SchedulerShutdownStopsRunningCallsAndWaitsForThem) {
  std::latch started{1};
  std::atomic<bool> returned{false};
  weft::task_handle<void> h;
  {
    weft::scheduler sched{1};
    auto body = [](std::latch& started, std::atomic<bool>& returned) -> weft::task<void> {
      co_await weft::to_thread([&](std::stop_token st) {
        started.count_down();
        while (!st.stop_requested()) std::this_thread::yield();
        returned = true;
      });
    };
    h = sched.spawn(body(started, returned));
    started.wait();
  }
  EXPECT_TRUE(returned.load()) << "~scheduler returned before the call did";
  ASSERT_TRUE(h.done());
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(h.cancel_reason()->kind, weft::cancel_kind::shutdown);
}

TEST(ToThread, IdleBlockingThreadsExitAfterAFewSeconds) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<void> { co_await weft::to_thread([] {}); };
  weft::sync_wait(sched, body());
  EXPECT_EQ(threads_named("weft-blocking"), 1);
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (threads_named("weft-blocking") != 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(50ms);  // a poll period, not synchronisation
  }
  EXPECT_EQ(threads_named("weft-blocking"), 0);
  weft::sync_wait(sched, body());  // a new one starts on demand
}

TEST(ToThread, ZeroBlockingThreadsIsRefusedNamingTheOption) {
  WEFT_EXPECT_THROW_NAMING(weft::scheduler{with_blocking_threads(1, 0)},
                           weft::invalid_argument_error, "max_blocking_threads");
}

TEST(ToThread, EveryCallEndsBeforeItsTaskWhileCancelsRace) {
  weft::scheduler sched{with_blocking_threads(2, 3)};
  for (int round = 0; round < 50; ++round) {
    constexpr int k_tasks = 16;
    std::vector<std::atomic<bool>> running(k_tasks);
    std::atomic<int> resumed_while_running{0};
    auto body = [](std::atomic<bool>& running, std::atomic<int>& bad) -> weft::task<void> {
      try {
        co_await weft::to_thread([&](std::stop_token st) {
          running = true;
          for (int i = 0; i < 200 && !st.stop_requested(); ++i) std::this_thread::yield();
          running = false;
        });
      } catch (const weft::cancelled_error&) {
        if (running.load()) bad++;  // its call must have returned (or never run)
        throw;
      }
    };
    std::vector<weft::task_handle<void>> handles;
    for (int i = 0; i < k_tasks; ++i) {
      handles.push_back(sched.spawn(body(running[i], resumed_while_running)));
    }
    for (int i = 0; i < k_tasks; i += 2) handles[i].cancel();
    for (auto& h : handles) h.wait();
    ASSERT_EQ(resumed_while_running.load(), 0);
    for (int i = 1; i < k_tasks; i += 2) ASSERT_FALSE(handles[i].cancelled());
  }
}
