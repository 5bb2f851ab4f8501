// Stress: 1,000,000 semaphore and 1,000,000 mutex hand-offs and 1,000,000
// queue items between 2 workers and 2 plain threads, with random cancels
// and timeouts racing the hand-offs. At the end every permit, the lock and
// every item is accounted for exactly once.
//
// Usage: sync_stress [gtest flags] [--seed S]
//   --seed S           replay the random choices of a run (the seed is
//                      printed at start; interleavings still vary)
//   WEFT_STRESS_SCALE  multiplies the counts (default 1 in a release build;
//                      a sanitizer build runs a tenth)

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "stress_support.hpp"
#include "support.hpp"

using namespace std::chrono_literals;

namespace {

constexpr long k_hand_offs = 1'000'000;
constexpr long k_items = 1'000'000;
constexpr int k_tasks_per_round = 64;
constexpr int k_ops_per_task = 32;
constexpr std::size_t k_permits = 3;

long target(long n) { return weft_test::scaled_count(n, 2'000, 0.1); }

/// A round's random plan for one task: cancelled by the test thread after
/// `cancel_after` of the round's tasks were spawned, or run under a
/// timeout of `timeout_us`, or left alone.
struct plan {
  bool cancel = false;
  bool timeout = false;
  int timeout_us = 0;
};

plan draw(std::mt19937_64& rng) {
  plan p;
  const int r = static_cast<int>(rng() % 8);
  p.cancel = r < 2;
  p.timeout = r == 2;
  p.timeout_us = 5 + static_cast<int>(rng() % 200);
  return p;
}

/// Spawns `body(i)` for i in [0, k_tasks_per_round) on `sched`, cancels the
/// planned ones while the round runs, wraps the timed ones in
/// weft::timeout, and waits for all of them.
template <class Body>
void run_round(weft::scheduler& sched, std::mt19937_64& rng, Body body) {
  std::vector<plan> plans;
  for (int i = 0; i < k_tasks_per_round; ++i) plans.push_back(draw(rng));
  auto timed = [](Body body, int i, int us) -> weft::task<void> {
    try {
      co_await weft::timeout(std::chrono::microseconds(us), body(i));
    } catch (const weft::timeout_error&) {
    }
  };
  std::vector<weft::task_handle<void>> handles;
  for (int i = 0; i < k_tasks_per_round; ++i) {
    handles.push_back(plans[i].timeout ? sched.spawn(timed(body, i, plans[i].timeout_us))
                                       : sched.spawn(body(i)));
    weft_test::spin(rng() % 64);
  }
  for (int i = 0; i < k_tasks_per_round; ++i) {
    if (plans[i].cancel) handles[i].cancel("stress");
    weft_test::spin(rng() % 256);
  }
  for (auto& h : handles) h.wait();
}

/// A plain thread that calls `step()` until `stop` is set.
class plain_thread {
 public:
  template <class Step>
  plain_thread(std::atomic<bool>& stop, Step step)
      : thread_([&stop, step]() mutable {
          while (!stop.load(std::memory_order_relaxed)) step();
        }) {}
  ~plain_thread() { thread_.join(); }

 private:
  std::thread thread_;
};

}  // namespace

TEST(SyncStress, SemaphorePermitsAreNeverLostOrDoubled) {
  std::mt19937_64 rng(weft_test::seed_for_test(1));
  weft::scheduler sched{2};
  weft::semaphore sem{k_permits};
  std::atomic<int> holders{0};
  std::atomic<long> hand_offs{0};
  weft_test::failure_log failures;
  auto hold = [&] {
    const int now = ++holders;
    if (now > static_cast<int>(k_permits)) failures.add(std::to_string(now) + " holders");
    weft_test::spin(16);
    --holders;
    hand_offs.fetch_add(1, std::memory_order_relaxed);
  };
  auto body = [&](int i) -> weft::task<void> {
    for (int op = 0; op < k_ops_per_task; ++op) {
      if ((i + op) % 3 == 0) {
        auto permit = co_await sem.scoped_acquire();  // held across a suspension
        hold();
        co_await weft::yield();
      } else {
        co_await sem.acquire();
        hold();
        sem.release();
      }
    }
  };
  std::atomic<bool> stop{false};
  {
    std::vector<std::unique_ptr<plain_thread>> plain;
    for (int t = 0; t < 2; ++t) {
      plain.push_back(std::make_unique<plain_thread>(stop, [&] {
        if (sem.try_acquire()) {
          hold();
          sem.release();
        }
      }));
    }
    const long goal = target(k_hand_offs);
    while (hand_offs.load() < goal) run_round(sched, rng, body);
    stop = true;
  }
  EXPECT_EQ(failures.count(), 0) << failures.report();
  EXPECT_EQ(holders.load(), 0);
  EXPECT_EQ(sem.available(), k_permits) << "a permit was lost or made up";
}

TEST(SyncStress, MutexExcludesAndIsNeverLost) {
  std::mt19937_64 rng(weft_test::seed_for_test(2));
  weft::scheduler sched{2};
  weft::mutex m;
  long sections = 0;  // only ever touched under m: TSan sees any overlap
  std::atomic<long> entered{0};
  std::atomic<int> holders{0};
  weft_test::failure_log failures;
  auto hold = [&] {
    if (++holders != 1) failures.add("two holders of the mutex");
    ++sections;
    --holders;
    entered.fetch_add(1, std::memory_order_relaxed);
  };
  auto body = [&](int i) -> weft::task<void> {
    for (int op = 0; op < k_ops_per_task; ++op) {
      if ((i + op) % 3 == 0) {
        auto guard = co_await m.scoped_lock();
        hold();
        co_await weft::yield();  // held across a suspension
      } else {
        co_await m.lock();
        hold();
        m.unlock();
      }
    }
  };
  std::atomic<bool> stop{false};
  {
    std::vector<std::unique_ptr<plain_thread>> plain;
    for (int t = 0; t < 2; ++t) {
      plain.push_back(std::make_unique<plain_thread>(stop, [&] {
        if (m.try_lock()) {
          hold();
          m.unlock();
        }
      }));
    }
    const long goal = target(k_hand_offs);
    while (entered.load() < goal) run_round(sched, rng, body);
    stop = true;
  }
  EXPECT_EQ(failures.count(), 0) << failures.report();
  EXPECT_FALSE(m.locked()) << "the lock was lost";
  EXPECT_EQ(sections, entered.load());
}

TEST(SyncStress, EveryQueueItemArrivesExactlyOnce) {
  std::mt19937_64 rng(weft_test::seed_for_test(3));
  weft::scheduler sched{2};
  const long items = target(k_items);
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(items));
  std::mutex todo_mutex;
  std::vector<long> todo;  // items to push (again: a cancelled push queued nothing)
  for (long i = items - 1; i >= 0; --i) todo.push_back(i);
  auto take_todo = [&]() -> long {
    std::lock_guard lock(todo_mutex);
    if (todo.empty()) return -1;
    const long v = todo.back();
    todo.pop_back();
    return v;
  };
  auto give_back = [&](long v) {
    std::lock_guard lock(todo_mutex);
    todo.push_back(v);
  };
  std::atomic<long> arrived{0};
  auto arrive = [&](long v) {
    seen[static_cast<std::size_t>(v)].fetch_add(1, std::memory_order_relaxed);
    arrived.fetch_add(1, std::memory_order_relaxed);
  };
  while (arrived.load() < items) {
    // One queue per round: close() ends the round, so a consumer that
    // finds no more items leaves with queue_closed_error.
    weft::queue<long> q{16};
    auto producer = [&](int) -> weft::task<void> {
      for (int op = 0; op < k_ops_per_task; ++op) {
        const long v = take_todo();
        if (v < 0) co_return;
        try {
          co_await q.push(long(v));
        } catch (...) {  // cancelled or closed: nothing was queued
          give_back(v);
          throw;
        }
      }
    };
    auto consumer = [&](int) -> weft::task<void> {
      try {
        for (int op = 0; op < k_ops_per_task; ++op) arrive(co_await q.pop());
      } catch (const weft::queue_closed_error&) {
      }
    };
    std::atomic<bool> stop{false};
    {
      plain_thread plain_producer(stop, [&] {
        const long v = take_todo();
        if (v >= 0 && !q.try_push(long(v))) give_back(v);
      });
      plain_thread plain_consumer(stop, [&] {
        if (auto v = q.try_pop()) arrive(*v);
      });
      std::mt19937_64 consumer_rng(rng());  // each thread draws from its own
      auto consumers = std::thread([&] { run_round(sched, consumer_rng, consumer); });
      run_round(sched, rng, producer);
      q.close();
      consumers.join();
      stop = true;
    }
    while (auto v = q.try_pop()) arrive(*v);
  }
  long wrong = 0;
  for (long i = 0; i < items; ++i) wrong += seen[static_cast<std::size_t>(i)].load() != 1 ? 1 : 0;
  EXPECT_EQ(wrong, 0) << "items lost or delivered twice";
  EXPECT_EQ(arrived.load(), items);
}

int main(int argc, char** argv) { return weft_test::stress_main(argc, argv, "sync_stress"); }
