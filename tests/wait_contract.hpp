#pragma once
// The contract that every wait on a primitive shares (event::wait,
// semaphore::acquire, mutex::lock, queue::push/pop, ...), as checks that
// each primitive's test runs on its own wait. `Wait` is a callable that
// returns a weft::task<void> which waits on the primitive under test once;
// the checks spawn it and look at how it ends.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

namespace weft_test {

/// The order in which waiters got through a primitive (any thread).
class arrival_log {
 public:
  void add(int index) {
    std::lock_guard lock(mutex_);
    order_.push_back(index);
  }
  std::vector<int> order() const {
    std::lock_guard lock(mutex_);
    return order_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<int> order_;
};

/// Spawns make(i) for i in [0, n) on a one-worker scheduler, each one
/// waiting in the primitive before the next is spawned, so their places in
/// its list are 0, 1, ..., n - 1.
template <class Make>
auto spawn_in_line(weft::scheduler& one_worker, int n, Make make) {
  std::vector<decltype(one_worker.spawn(make(0)))> handles;
  for (int i = 0; i < n; ++i) {
    handles.push_back(one_worker.spawn(make(i)));
    run_queued_tasks(one_worker);
  }
  return handles;
}

/// A task waiting in `wait` is woken at once by a cancel and ends
/// cancelled with the cancel's message and reason user.
template <class Wait>
void expect_cancel_wakes_the_waiter(Wait wait) {
  weft::scheduler sched{1};
  auto h = sched.spawn(wait());
  run_queued_tasks(sched);  // it waits now
  ASSERT_FALSE(h.done()) << "the wait under test did not wait";
  EXPECT_TRUE(h.cancel("no longer needed"));
  h.wait();
  ASSERT_TRUE(h.cancelled());
  EXPECT_EQ(h.cancel_reason()->kind, weft::cancel_kind::user);
  try {
    h.result();
  } catch (const weft::cancelled_error& e) {
    EXPECT_EQ(e.reason().message, "no longer needed");
  }
}

/// A task whose cancellation is pending throws cancelled_error at `wait`
/// even though `wait` would not have to wait (the caller makes it ready),
/// and what it would have taken stays.
template <class Wait>
void expect_pending_cancel_throws_before_waiting(Wait wait) {
  weft::scheduler sched{1};
  std::latch running{1}, cancelled{1};
  auto body = [](Wait wait, std::latch& running, std::latch& cancelled) -> weft::task<void> {
    running.count_down();
    cancelled.wait();  // holds the worker until the cancel is recorded
    co_await wait();
  };
  auto h = sched.spawn(body(wait, running, cancelled));
  running.wait();
  h.cancel("cancelled first");
  cancelled.count_down();
  h.wait();
  EXPECT_TRUE(h.cancelled());
}

/// ~scheduler cancels (reason shutdown) a task waiting in `wait`.
template <class Wait>
void expect_shutdown_cancels_the_waiter(Wait wait) {
  weft::task_handle<void> h;
  {
    weft::scheduler sched{1};
    h = sched.spawn(wait());
    run_queued_tasks(sched);
    ASSERT_FALSE(h.done()) << "the wait under test did not wait";
  }
  ASSERT_TRUE(h.done());
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(h.cancel_reason()->kind, weft::cancel_kind::shutdown);
}

/// Tasks of two one-worker schedulers wait in `wait`; after `release()`
/// (which must let both through) each resumes on a worker of its own
/// scheduler.
template <class Wait, class Release>
void expect_each_waiter_resumes_on_its_own_scheduler(Wait wait, Release release) {
  weft::scheduler a{1}, b{1};
  auto thread_id = []() -> weft::task<std::thread::id> { co_return std::this_thread::get_id(); };
  const auto a_worker = weft::sync_wait(a, thread_id());
  const auto b_worker = weft::sync_wait(b, thread_id());
  auto resumed_on = [](Wait wait) -> weft::task<std::thread::id> {
    co_await wait();
    co_return std::this_thread::get_id();
  };
  auto on_a = a.spawn(resumed_on(wait));
  auto on_b = b.spawn(resumed_on(wait));
  run_queued_tasks(a);
  run_queued_tasks(b);
  release();
  on_a.wait();
  on_b.wait();
  EXPECT_EQ(on_a.result(), a_worker);
  EXPECT_EQ(on_b.result(), b_worker);
}

}  // namespace weft_test
