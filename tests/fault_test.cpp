// Faults: a coroutine frame that cannot be allocated, an exception escaping
// a done callback, shutdown under full load, and handles used after their
// scheduler is gone. In each case the fault stays where it happened: the
// scheduler keeps working, other tasks complete, the stats stay consistent
// and every frame is freed.
//
// This binary replaces the global operator new with one that fails on the
// Nth allocation of the calling thread once armed (fail_nth_allocation), so
// allocations on other threads (the workers, unless a test arms one) are
// unaffected.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <latch>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

// ---- an operator new that fails on demand, per thread

namespace {
// 0: disarmed. N > 0: the Nth allocation from now on this thread throws
// std::bad_alloc (and disarms).
thread_local long t_fail_countdown = 0;

void* checked_malloc(std::size_t bytes) {
  if (t_fail_countdown > 0 && --t_fail_countdown == 0) throw std::bad_alloc();
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
void* checked_aligned(std::size_t bytes, std::align_val_t align) {
  if (t_fail_countdown > 0 && --t_fail_countdown == 0) throw std::bad_alloc();
  const auto a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (bytes + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
}  // namespace

// The replacements pair malloc with free. g++ at -O1 (the ThreadSanitizer
// build) inlines a caller's operator new and the delete below into one
// function and reports the pair it sees as mismatched.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t bytes) { return checked_malloc(bytes); }
void* operator new[](std::size_t bytes) { return checked_malloc(bytes); }
void* operator new(std::size_t bytes, std::align_val_t a) { return checked_aligned(bytes, a); }
void* operator new[](std::size_t bytes, std::align_val_t a) { return checked_aligned(bytes, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

using weft_test::contains;
using weft_test::counted;
using namespace std::chrono_literals;

/// Arms this thread's operator new to fail on its `n`th allocation from
/// now; disarms when destroyed (if that allocation never came).
struct fail_nth_allocation {
  explicit fail_nth_allocation(long n) { t_fail_countdown = n; }
  ~fail_nth_allocation() { t_fail_countdown = 0; }
  fail_nth_allocation(const fail_nth_allocation&) = delete;
  fail_nth_allocation& operator=(const fail_nth_allocation&) = delete;
};

using weft_test::counted_value_after_yield;

// A frame larger than any recycled size class (2 KiB), so that on a worker
// it comes from operator new in every build, never from the frame cache.
weft::task<int> big_frame(int v) {
  std::array<char, 4096> pad{};
  pad[static_cast<std::size_t>(v) % pad.size()] = 1;
  co_await weft::yield();
  co_return v + pad[static_cast<std::size_t>(v) % pad.size()] - 1;
}

template <class T>
T wait_result(const weft::task_handle<T>& h) {
  h.wait();
  return h.result();
}

void expect_stats_consistent(const weft::scheduler& sched, std::uint64_t spawned) {
  weft::scheduler_stats st = sched.stats();
  EXPECT_EQ(st.spawned, spawned);
  EXPECT_EQ(st.succeeded + st.failed + st.cancelled, st.spawned);
}

// Waits until every spawned task is accounted in stats() (its accounting
// may trail the terminal state wait() saw by a few instructions).
void settle(const weft::scheduler& sched) {
  for (;;) {
    weft::scheduler_stats st = sched.stats();
    if (st.succeeded + st.failed + st.cancelled == st.spawned) return;
    std::this_thread::yield();
  }
}

}  // namespace

// ---- allocation failure of a coroutine frame

TEST(Fault, CreatingATaskWhoseFrameCannotBeAllocatedThrowsBadAllocAndNothingElseIsAffected) {
  counted::reset();
  {
    weft::scheduler sched{2};
    // Work in flight on the workers while this thread's allocation fails.
    std::vector<weft::task_handle<int>> others;
    for (int i = 0; i < 50; ++i) others.push_back(sched.spawn(counted_value_after_yield(i)));
    {
      fail_nth_allocation arm(1);
      // The frame is the first allocation of `counted_value_after_yield(7)`:
      // the call throws before spawn() ever sees a task.
      EXPECT_THROW(static_cast<void>(sched.spawn(counted_value_after_yield(7))), std::bad_alloc);
    }
    for (int i = 0; i < 50; ++i) EXPECT_EQ(wait_result(others[static_cast<std::size_t>(i)]), i);
    EXPECT_EQ(weft::sync_wait(sched, counted_value_after_yield(8)), 8);
    settle(sched);
    expect_stats_consistent(sched, 51);
    EXPECT_EQ(sched.stats().failed, 0u);
  }
  EXPECT_EQ(counted::live.load(), 0) << "every frame and argument, including the refused one's";
}

TEST(Fault, SpawningAnAlreadyCreatedTaskAllocatesNothingSoItCannotFailForLackOfMemory) {
  weft::scheduler sched{2};
  weft::task<int> t = counted_value_after_yield(3);
  weft::task_handle<int> h;
  {
    // Any allocation by spawn() (from a thread that is not a worker: the
    // injection path) would throw here; the frame is the task's only one.
    fail_nth_allocation arm(1);
    h = sched.spawn(std::move(t));
  }
  EXPECT_EQ(wait_result(h), 3);
}

TEST(Fault, AnAwaitingTaskFailsWithBadAllocWhenAChildsFrameCannotBeAllocated) {
  counted::reset();
  {
    weft::scheduler sched{2};
    auto parent = [](counted token) -> weft::task<int> {
      co_await weft::yield();
      // Armed on the worker running this body, for the child's frame only.
      fail_nth_allocation arm(1);
      co_return co_await big_frame(token.value + 5);
    };
    auto h = sched.spawn(parent(counted{}));
    h.wait();
    ASSERT_TRUE(h.done());
    EXPECT_FALSE(h.cancelled());
    EXPECT_THROW(h.result(), std::bad_alloc);
    // The same worker goes on: a child of the same size allocates fine now.
    auto ok = [](counted token) -> weft::task<int> { co_return co_await big_frame(token.value + 6); };
    EXPECT_EQ(weft::sync_wait(sched, ok(counted{})), 6);
    settle(sched);
    expect_stats_consistent(sched, 2);
    EXPECT_EQ(sched.stats().failed, 1u);
  }
  EXPECT_EQ(counted::live.load(), 0);
}

TEST(Fault, ATaskCanCatchBadAllocFromASpawnAndGoOn) {
  weft::scheduler sched{2};
  auto parent = []() -> weft::task<int> {
    int refused = 0;
    try {
      fail_nth_allocation arm(1);
      static_cast<void>(weft::spawn(big_frame(1)));
    } catch (const std::bad_alloc&) {
      ++refused;
    }
    // The next spawn from the same worker works.
    int v = co_await weft::spawn(big_frame(41));
    co_return v + refused;
  };
  EXPECT_EQ(weft::sync_wait(sched, parent()), 42);
  settle(sched);
  expect_stats_consistent(sched, 2);
}

TEST(Fault, AWhenAllWhoseChildCannotBeCreatedFailsTheAwaiterAndStartsNoChild) {
  weft::scheduler sched{2};
  std::atomic<int> ran{0};
  auto counting = [](std::atomic<int>& ran, int v) -> weft::task<int> {
    ran.fetch_add(1);
    co_await weft::yield();
    co_return v;
  };
  auto parent = [&counting](std::atomic<int>& ran) -> weft::task<int> {
    std::vector<weft::task<int>> children;
    children.push_back(counting(ran, 1));
    {
      fail_nth_allocation arm(1);
      children.push_back(big_frame(2));  // throws: the vector's growth or the frame
    }
    auto values = co_await weft::when_all(std::move(children));
    co_return values[0];
  };
  auto h = sched.spawn(parent(ran));
  h.wait();
  EXPECT_THROW(h.result(), std::bad_alloc);
  EXPECT_EQ(ran.load(), 0) << "the child created before the failure is destroyed unstarted";
}

TEST(Fault, ACancelWhoseReasonCannotBeAllocatedThrowsBadAllocAndChangesNothing) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto pin = sched.spawn(weft_test::occupy_worker(started, release));
  started.wait();
  auto h = sched.spawn(counted_value_after_yield(9));  // queued behind the pin
  {
    fail_nth_allocation arm(1);  // the cancel_record holding the message
    EXPECT_THROW(static_cast<void>(h.cancel("a message that must be stored")), std::bad_alloc);
  }
  EXPECT_FALSE(h.done());
  EXPECT_EQ(h.cancelling(), 0u);
  EXPECT_FALSE(h.cancel_reason().has_value());
  EXPECT_TRUE(h.cancel("now it fits"));
  release.count_down();
  h.wait();
  EXPECT_TRUE(h.cancelled());
  ASSERT_TRUE(h.cancel_reason().has_value());
  EXPECT_EQ(h.cancel_reason()->message, "now it fits");
}

TEST(Fault, ADoneCallbackThatCannotBeAllocatedThrowsBadAllocAndIsNeverCalled) {
  weft::scheduler sched{2};
  std::latch release{1};
  auto gated = [](std::latch& release) -> weft::task<int> {
    release.wait();
    co_return 1;
  };
  auto h = sched.spawn(gated(release));
  std::atomic<int> calls{0};
  {
    fail_nth_allocation arm(1);  // the callback's node
    EXPECT_THROW(h.add_done_callback([&](const weft::task_handle<int>&) { calls.fetch_add(1); }),
                 std::bad_alloc);
  }
  h.add_done_callback([&](const weft::task_handle<int>&) { calls.fetch_add(10); });
  release.count_down();
  h.wait();
  EXPECT_EQ(h.result(), 1);
  // The registered callback may still be running after wait() returned.
  while (calls.load() == 0) std::this_thread::yield();
  EXPECT_EQ(calls.load(), 10);
}

// ---- exceptions escaping done callbacks
// (DoneCallback.AnExceptionOnTheWorkerIsReportedAndCountedAndTheOtherCallbacksStillRun
// in done_callback_test.cpp pins one throwing callback; these pin that the
// worker survives many, of any type, and the non-worker path.)

TEST(Fault, ManyThrowingDoneCallbacksNeverKillTheOnlyWorker) {
  constexpr int k_tasks = 200;
  weft::scheduler sched{1};
  std::atomic<int> quiet_calls{0};
  std::vector<weft::task_handle<int>> handles;
  std::latch started{1}, release{1};
  auto pin = sched.spawn(weft_test::occupy_worker(started, release));
  started.wait();
  for (int i = 0; i < k_tasks; ++i) {
    handles.push_back(sched.spawn(counted_value_after_yield(i)));
    auto& h = handles.back();
    h.add_done_callback([i](const weft::task_handle<int>&) {
      if (i % 2 == 0) throw std::runtime_error("callback " + std::to_string(i) + " blew up");
      throw i;  // not even a std::exception
    });
    h.add_done_callback([&](const weft::task_handle<int>&) { quiet_calls.fetch_add(1); });
  }
  ::testing::internal::CaptureStderr();
  release.count_down();
  for (int i = 0; i < k_tasks; ++i) EXPECT_EQ(wait_result(handles[static_cast<std::size_t>(i)]), i);
  while (quiet_calls.load() < k_tasks) std::this_thread::yield();
  // The worker is alive and runs new work.
  EXPECT_EQ(weft::sync_wait(sched, counted_value_after_yield(77)), 77);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(quiet_calls.load(), k_tasks) << "the callback after a throwing one always ran";
  EXPECT_EQ(sched.stats().callback_errors, static_cast<std::uint64_t>(k_tasks));
  EXPECT_TRUE(contains(err, "callback 0 blew up"));
  EXPECT_TRUE(contains(err, "not a std::exception"));
  EXPECT_TRUE(contains(err, "Catch exceptions inside done callbacks")) << "the report names the fix";
}

TEST(Fault, AThrowingDoneCallbackRunByACancelOnAPlainThreadIsReportedNotThrownFromCancel) {
  weft::scheduler sched{1};
  std::latch started{1}, release{1};
  auto pin = sched.spawn(weft_test::occupy_worker(started, release));
  started.wait();
  auto h = sched.spawn(counted_value_after_yield(1));  // never starts: the worker is pinned
  std::atomic<int> later{0};
  h.add_done_callback([](const weft::task_handle<int>&) { throw std::runtime_error("on the canceller"); });
  h.add_done_callback([&](const weft::task_handle<int>&) { later.fetch_add(1); });
  ::testing::internal::CaptureStderr();
  bool accepted = false;
  EXPECT_NO_THROW(accepted = h.cancel());  // ends the task here, running its callbacks
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(accepted);
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(later.load(), 1);
  EXPECT_EQ(sched.stats().callback_errors, 1u);
  EXPECT_TRUE(contains(err, "on the canceller"));
  release.count_down();
  pin.wait();
}

// ---- shutdown under full load

namespace {

weft::task<void> sleeper(counted) { co_await weft::sleep_for(1h); }

weft::task<void> spinner(counted, std::atomic<int>& ran) {
  ran.fetch_add(1);
  for (;;) co_await weft::yield();
}

weft::task<int> awaiter_of(weft::task_handle<void> h, counted) {
  co_await h;
  co_return 1;
}

weft::task<void> group_owner(counted, std::atomic<int>& ran) {
  weft::task_group g;
  for (int i = 0; i < 3; ++i) g.spawn(sleeper(counted{}));
  g.spawn(spinner(counted{}, ran));
  co_await g.join();
}

weft::task<void> fork_join(counted, std::atomic<int>& ran) {
  co_await weft::when_all(spinner(counted{}, ran), sleeper(counted{}),
                          counted_value_after_yield(1, counted{}));
}

weft::task<void> cleanup_after_cancel(counted, std::atomic<int>& cleaned) {
  std::exception_ptr cancelled;
  try {
    co_await weft::sleep_for(1h);
  } catch (const weft::cancelled_error&) {
    cancelled = std::current_exception();
  }
  co_await weft::uncancellable([](std::atomic<int>& cleaned) -> weft::task<void> {
    co_await weft::sleep_for(1ms);  // cleanup that suspends, during shutdown
    cleaned.fetch_add(1);
  }(cleaned));
  if (cancelled) std::rethrow_exception(cancelled);
}

weft::task<int> timed(counted) {
  try {
    co_return co_await weft::timeout(1h, counted_value_after_yield(2));
  } catch (const weft::timeout_error&) {
    co_return -1;
  }
}

}  // namespace

TEST(Fault, ShutdownUnderFullLoadEndsEveryTaskAndFreesEveryFrame) {
  counted::reset();
  weft_test::hang_guard guard(std::chrono::seconds(120), "shutdown under full load");
  constexpr int k_rounds = 20, k_each = 8;
  for (int round = 0; round < k_rounds; ++round) {
    std::atomic<int> ran{0}, cleaned{0};
    std::vector<weft::task_handle<void>> voids;
    std::vector<weft::task_handle<int>> ints;
    std::vector<weft::task_handle<void>> cleanups;
    {
      weft::scheduler sched{2};
      for (int i = 0; i < k_each; ++i) {
        voids.push_back(sched.spawn(sleeper(counted{})));
        auto spin = sched.spawn(spinner(counted{}, ran));
        voids.push_back(spin);
        ints.push_back(sched.spawn(awaiter_of(spin, counted{})));
        ints.push_back(sched.spawn(awaiter_of(voids.front(), counted{})));  // many on one
        voids.push_back(sched.spawn(group_owner(counted{}, ran)));
        voids.push_back(sched.spawn(fork_join(counted{}, ran)));
        cleanups.push_back(sched.spawn(cleanup_after_cancel(counted{}, cleaned)));
        ints.push_back(sched.spawn(timed(counted{})));
        for (int q = 0; q < 16; ++q) ints.push_back(sched.spawn(counted_value_after_yield(q, counted{})));
      }
      // Let some of it get going; the rest is still queued.
      while (ran.load() < round % 4) std::this_thread::yield();
    }  // ~scheduler under full load
    for (auto& h : voids) {
      ASSERT_TRUE(h.done()) << "round " << round;
      EXPECT_TRUE(h.cancelled()) << "round " << round << ": these never end on their own";
    }
    for (auto& h : ints) {
      ASSERT_TRUE(h.done()) << "round " << round;
      if (!h.cancelled()) {
        EXPECT_NO_THROW(static_cast<void>(h.result()));
      }
    }
    for (auto& h : cleanups) {
      ASSERT_TRUE(h.done() && h.cancelled()) << "round " << round;
      ASSERT_TRUE(h.cancel_reason().has_value());
      EXPECT_EQ(h.cancel_reason()->kind, weft::cancel_kind::shutdown);
    }
    // A cleanup that started ran to its end despite the shutdown, once.
    EXPECT_LE(cleaned.load(), k_each);
  }
  EXPECT_EQ(counted::live.load(), 0) << "every frame is freed";
  EXPECT_EQ(counted::double_destroyed.load(), 0);
}

// ---- handles after the scheduler is gone
// (TaskHandle.StaysValidAfterItsSchedulerIsDestroyed in task_handle_test.cpp
// pins result() of succeeded and failed tasks; this adds every other query,
// cancelled tasks, callbacks and awaiting such a handle from elsewhere.)

TEST(Fault, HandlesOfEveryOutcomeStillAnswerAfterTheSchedulerIsGone) {
  weft::task_handle<int> ok, failed, cancelled_unstarted, cancelled_running;
  {
    weft::scheduler sched{1};
    ok = sched.spawn(counted_value_after_yield(5));
    failed = sched.spawn([]() -> weft::task<int> {
      co_await weft::yield();
      throw std::runtime_error("failed before the scheduler went");
    }());
    cancelled_running = sched.spawn([]() -> weft::task<int> {
      co_await weft::sleep_for(1h);
      co_return 0;
    }());
    ok.wait();
    failed.wait();
    std::latch started{1}, release{1};
    auto pin = sched.spawn(weft_test::occupy_worker(started, release));
    started.wait();
    cancelled_unstarted = sched.spawn(counted_value_after_yield(6));
    EXPECT_TRUE(cancelled_unstarted.cancel("before it ran"));
    release.count_down();
    pin.wait();
  }  // cancelled_running is ended by the shutdown
  EXPECT_TRUE(ok.done());
  EXPECT_FALSE(ok.cancelled());
  EXPECT_EQ(ok.result(), 5);
  EXPECT_EQ(ok.exception(), nullptr);
  EXPECT_FALSE(ok.cancel());
  EXPECT_FALSE(ok.cancel_reason().has_value());
  ok.wait();

  EXPECT_TRUE(failed.done());
  EXPECT_FALSE(failed.cancelled());
  EXPECT_NE(failed.exception(), nullptr);
  WEFT_EXPECT_THROW_NAMING(failed.result(), std::runtime_error, "before the scheduler went");

  for (auto* h : {&cancelled_unstarted, &cancelled_running}) {
    EXPECT_TRUE(h->done());
    EXPECT_TRUE(h->cancelled());
    EXPECT_THROW(static_cast<void>(h->result()), weft::cancelled_error);
    EXPECT_THROW(static_cast<void>(h->exception()), weft::cancelled_error);
    EXPECT_FALSE(h->cancel());
    ASSERT_TRUE(h->cancel_reason().has_value());
  }
  EXPECT_EQ(cancelled_unstarted.cancel_reason()->message, "before it ran");
  EXPECT_EQ(cancelled_running.cancel_reason()->kind, weft::cancel_kind::shutdown);

  // A done callback on a handle whose scheduler is gone runs at once.
  int calls = 0;
  ok.add_done_callback([&](const weft::task_handle<int>& h) { calls += h.result(); });
  EXPECT_EQ(calls, 5);

  // And another scheduler's task may await it.
  weft::scheduler other{1};
  auto reader = [](weft::task_handle<int> h) -> weft::task<int> { co_return co_await h + 1; };
  EXPECT_EQ(weft::sync_wait(other, reader(ok)), 6);
}
