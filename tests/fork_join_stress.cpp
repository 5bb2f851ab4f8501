// Stress: the three protocols of the fork-join hot path, each race made to
// happen many times and checked every round.
//
//   the steal-counting join (detail/join.hpp): a chain of children run
//     back to back touches no shared counter, detached children do; the
//     parent must resume exactly once, after every child, with every result;
//   the cancel slot's Dekker pair (detail/cancel_slot.hpp): an owner
//     arming or disarming what it waits on against a canceller; a lost
//     race leaves a task asleep for an hour (caught by a hang guard) or lets
//     on_cancel() touch a freed target (caught by ASan);
//   the wake-up of a parked worker after a push (detail/idle_state.hpp): a
//     worker that pushes and then blocks in user code needs another worker
//     to take the item; a lost wake-up hangs the round.
// Whole random trees with failures and cancels racing them are the storm
// of tests/fork_join_storm.cpp.
//
// Usage: fork_join_stress [gtest flags] [--seed S]
//   --seed S            replay the trees' shapes and the cancel moments (the
//                       seed is printed at start; interleavings still vary)
//   WEFT_STRESS_SCALE   multiplies the round counts (default 1; 0.25 in the
//                       sanitizer builds unless set)
//   WEFT_ASYMMETRIC_FENCES=0 runs the same with symmetric seq_cst fences
//                       (ctest runs it both ways)

#include "stress_support.hpp"
#include "support.hpp"

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using weft_test::failure_log;
using weft_test::hang_guard;
using weft_test::spin;
using weft_test::splitmix;
using weft_test::wait_spinning_then_yielding;

// Round counts: a quarter in the sanitizer builds unless WEFT_STRESS_SCALE
// is set.
long scaled(long n) { return weft_test::scaled_count(n, 10, 0.25); }

// Test `test`'s stream of the run's seed (the first call prints the seed).
std::uint64_t test_seed(std::uint64_t test) { return splitmix(weft_test::seed_for_test(test)); }

// A delay of about `cycles` cycles, finer than spin() (a pause is tens of
// cycles): for offsets within a store buffer's drain time.
void short_delay(std::uint64_t cycles) {
  for (std::uint64_t i = 0; i < cycles; ++i) std::atomic_signal_fence(std::memory_order_seq_cst);
}

// ---- the steal-counting join

// A random tree, its shape a function of `seed` alone: an inner node forks
// 1-4 children with when_all (a tuple of two, or a vector), a leaf spins a
// little, sometimes yields (so its chain moves to another worker when it is
// resumed there) and sometimes spawns a detached task (so the chain pops
// something that is not its next child). Returns the sum of its leaves'
// values; `leaves` counts leaf bodies run, `detached` the detached tasks.
struct tree_counters {
  std::atomic<long> leaves{0};
  std::atomic<long> detached_started{0};
  std::atomic<long> detached_done{0};
};

std::uint64_t leaf_value(std::uint64_t seed) { return splitmix(seed) >> 40; }

weft::task<void> detached_leaf(tree_counters& c) {
  c.detached_done.fetch_add(1, std::memory_order_release);
  co_return;
}

weft::task<std::uint64_t> tree(std::uint64_t seed, int depth, tree_counters& c) {
  const std::uint64_t r = splitmix(seed);
  if (depth == 0 || r % 7 == 0) {
    c.leaves.fetch_add(1, std::memory_order_relaxed);
    spin(r % 64);
    if ((r >> 8) % 8 == 0) co_await weft::yield();
    if ((r >> 12) % 16 == 0) {
      c.detached_started.fetch_add(1, std::memory_order_relaxed);
      static_cast<void>(weft::spawn(detached_leaf(c)));
    }
    co_return leaf_value(seed);
  }
  if ((r >> 16) % 2 == 0) {
    auto [a, b] = co_await weft::when_all(tree(seed * 3 + 1, depth - 1, c),
                                          tree(seed * 3 + 2, depth - 1, c));
    co_return a + b;
  }
  const int fan_out = 1 + static_cast<int>((r >> 20) % 4);
  std::vector<weft::task<std::uint64_t>> children;
  for (int i = 0; i < fan_out; ++i) {
    children.push_back(tree(seed * 5 + 1 + static_cast<std::uint64_t>(i), depth - 1, c));
  }
  std::uint64_t sum = 0;
  for (std::uint64_t v : co_await weft::when_all(std::move(children))) sum += v;
  co_return sum;
}

// The same tree computed serially: the expected sum and leaf count.
std::uint64_t expected_tree(std::uint64_t seed, int depth, long& leaves) {
  const std::uint64_t r = splitmix(seed);
  if (depth == 0 || r % 7 == 0) {
    ++leaves;
    return leaf_value(seed);
  }
  if ((r >> 16) % 2 == 0) {
    return expected_tree(seed * 3 + 1, depth - 1, leaves) +
           expected_tree(seed * 3 + 2, depth - 1, leaves);
  }
  const int fan_out = 1 + static_cast<int>((r >> 20) % 4);
  std::uint64_t sum = 0;
  for (int i = 0; i < fan_out; ++i) {
    sum += expected_tree(seed * 5 + 1 + static_cast<std::uint64_t>(i), depth - 1, leaves);
  }
  return sum;
}

TEST(ForkJoinStress, StealCountingJoinResumesTheParentOnceWithEveryChildsResult) {
  const std::uint64_t seed = test_seed(1);
  const long rounds = scaled(2000);
  failure_log failures;
  long forks_checked = 0;
  weft::scheduler sched{2};
  hang_guard guard(120s, "the steal-counting join rounds");
  for (long round = 0; round < rounds; ++round) {
    const std::uint64_t tree_seed = splitmix(seed + static_cast<std::uint64_t>(round));
    const int depth = 6 + static_cast<int>(tree_seed % 5);
    long want_leaves = 0;
    const std::uint64_t want = expected_tree(tree_seed, depth, want_leaves);
    tree_counters c;
    // Two roots at once, from this thread and a second plain thread, so
    // both workers fork and steal from each other.
    std::uint64_t got_a = 0, got_b = 0;
    std::thread other([&] { got_b = weft::sync_wait(sched, tree(tree_seed, depth, c)); });
    got_a = weft::sync_wait(sched, tree(tree_seed, depth, c));
    other.join();
    if (got_a != want || got_b != want) {
      failures.add("round " + std::to_string(round) + ": sums " + std::to_string(got_a) + ", " +
                   std::to_string(got_b) + ", expected " + std::to_string(want));
    }
    if (c.leaves.load() != 2 * want_leaves) {
      failures.add("round " + std::to_string(round) + ": " + std::to_string(c.leaves.load()) +
                   " leaf bodies ran, expected " + std::to_string(2 * want_leaves));
    }
    // Detached tasks are not awaited: wait for them before the counters go.
    while (c.detached_done.load(std::memory_order_acquire) != c.detached_started.load()) {
      std::this_thread::yield();
    }
    forks_checked += 2 * want_leaves;
  }
  std::printf("fork_join_stress: %ld rounds, %ld leaves checked\n", rounds, forks_checked);
  EXPECT_EQ(failures.count(), 0) << failures.report();
}

// ---- the cancel slot

// Forks and joins `joins` times (each join arms and disarms the slot), then
// sleeps for an hour: only a cancel ends it.
weft::task<int> value_now(int v) { co_return v; }

weft::task<void> join_then_sleep(int joins) {
  for (int i = 0; i < joins; ++i) {
    auto [a, b] = co_await weft::when_all(value_now(i), value_now(1));
    if (a + b != i + 1) throw std::logic_error("wrong join result");
  }
  co_await weft::sleep_for(1h);
}

// Awaits the handle of a task that sleeps for an hour, after some joins.
weft::task<void> join_then_await(int joins, weft::task_handle<void> target) {
  for (int i = 0; i < joins; ++i) {
    auto [a, b] = co_await weft::when_all(value_now(i), value_now(2));
    if (a + b != i + 2) throw std::logic_error("wrong join result");
  }
  co_await target;
}

TEST(ForkJoinStress, CancelRacingArmAndDisarmAlwaysWakesTheTaskWhichEndsCancelledOnce) {
  const std::uint64_t seed = test_seed(2);
  const long rounds = scaled(6000);
  failure_log failures;
  weft::scheduler sched{2};
  constexpr int k_tasks = 4;
  for (long round = 0; round < rounds; ++round) {
    std::uint64_t r = splitmix(seed + static_cast<std::uint64_t>(round));
    std::vector<weft::task_handle<void>> handles;
    // Each awaiting task has a sleeper of its own: a cancel passed on to a
    // shared one would end the other awaiter before its own cancel.
    std::vector<weft::task_handle<void>> sleepers;
    for (int i = 0; i < k_tasks; ++i) {
      const int joins = static_cast<int>((r >> (8 * i)) % 24);
      if (i % 2 == 0) {
        handles.push_back(sched.spawn(join_then_sleep(joins)));
      } else {
        sleepers.push_back(sched.spawn(join_then_sleep(0)));
        handles.push_back(sched.spawn(join_then_await(joins, sleepers.back())));
      }
    }
    // Cancel each at a random moment: before it starts, during a join's
    // arm or disarm, or once it sleeps.
    for (int i = 0; i < k_tasks; ++i) {
      spin(splitmix(r + static_cast<std::uint64_t>(i)) % 3000);
      handles[static_cast<std::size_t>(i)].cancel();
    }
    {
      hang_guard guard(20s, "round " + std::to_string(round) + " of the cancel-slot race (seed " +
                                std::to_string(seed) + ")");
      for (auto& h : handles) h.wait();
      // An awaiting task passed its cancel on to its sleeper, unless it was
      // cancelled before it started.
      for (auto& s : sleepers) {
        s.cancel();
        s.wait();
      }
    }
    for (const auto& s : sleepers) {
      if (!s.cancelled()) failures.add("round " + std::to_string(round) + ": a sleeper survived");
    }
    for (int i = 0; i < k_tasks; ++i) {
      const auto& h = handles[static_cast<std::size_t>(i)];
      if (!h.cancelled()) {
        failures.add("round " + std::to_string(round) + ": task " + std::to_string(i) +
                     " ended but not cancelled");
      }
      if (h.cancelling() != 1) {
        failures.add("round " + std::to_string(round) + ": task " + std::to_string(i) +
                     " counts " + std::to_string(h.cancelling()) + " cancel requests, not 1");
      }
    }
  }
  const weft::scheduler_stats stats = sched.stats();
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_EQ(failures.count(), 0) << failures.report();
}

// The slot's protocol alone, on a bare task_state, so that the race of one
// arm (or disarm) against one cancel request is run millions of times at
// random offsets of a few nanoseconds. After arm + re-read, the owner must
// have seen the request or the canceller must have reached the target;
// after disarm returns, the canceller must not touch the target again.
class probe_target final : public weft::detail::cancel_target {
 public:
  void on_cancel(const weft::cancel_reason&) noexcept override {
    if (!alive.load(std::memory_order_relaxed)) touched_after_disarm.fetch_add(1);
    calls.fetch_add(1, std::memory_order_relaxed);
  }
  std::atomic<bool> alive{true};
  std::atomic<int> calls{0};
  std::atomic<long> touched_after_disarm{0};
};

/// The part of a scheduler a bare task_state touches (its cancel epoch),
/// without workers.
struct bare_scheduler final : weft::detail::scheduler_base {
  bare_scheduler() : scheduler_base(false, 1) {}
};

TEST(ForkJoinStress, ArmOrDisarmAgainstOneCancelRequestOneSideAlwaysSeesTheOther) {
  using weft::detail::task_state;
  const std::uint64_t seed = test_seed(4);
  const long rounds = scaled(2'000'000);
  weft::detail::body_end end;
  alignas(task_state) unsigned char storage[sizeof(task_state)];
  std::atomic<long> go{-1}, cancelled{-1};
  task_state* state = nullptr;
  probe_target target;
  long missed = 0, touched = 0;
  std::thread canceller([&] {
    std::uint64_t r = splitmix(seed + 1);
    for (long round = 0; round < rounds; ++round) {
      wait_spinning_then_yielding([&] { return go.load(std::memory_order_acquire) == round; });
      r = splitmix(r);
      short_delay(r % 256);
      state->request_cancel(weft::cancel_kind::user, {});
      cancelled.store(round, std::memory_order_release);
    }
  });
  std::uint64_t r = splitmix(seed);
  bare_scheduler sched;
  for (long round = 0; round < rounds; ++round) {
    // A started combinator child without a parent: a request neither ends
    // it nor touches its scheduler beyond the cancel epoch, it only records
    // and passes on.
    state = std::construct_at(
        reinterpret_cast<task_state*>(storage), std::coroutine_handle<>{}, end,
        weft::detail::child_root{&sched, nullptr, nullptr, 0, 0,
                                 weft::detail::unstarted_cancel::run_body,
                                 std::chrono::steady_clock::time_point::max(), false, false});
    target.alive.store(true, std::memory_order_relaxed);
    target.calls.store(0, std::memory_order_relaxed);
    r = splitmix(r);
    if (round % 2 == 0) {
      // Arm against the request: the slot stays armed until the canceller
      // is done, so the request came while armed or before.
      go.store(round, std::memory_order_release);
      short_delay(r % 256);
      state->arm_cancel_target(&target, weft::detail::wait_kind::sleep);
      const bool seen = (state->load() & weft::detail::k_cancel_requested) != 0;
      wait_spinning_then_yielding([&] { return cancelled.load(std::memory_order_acquire) == round; });
      if (!seen && target.calls.load() == 0) ++missed;
      state->disarm_cancel_target();
    } else {
      // Disarm against the request: once disarm returns the target is gone.
      state->arm_cancel_target(&target, weft::detail::wait_kind::sleep);
      go.store(round, std::memory_order_release);
      short_delay(r % 256);
      state->disarm_cancel_target();
      target.alive.store(false, std::memory_order_relaxed);
      wait_spinning_then_yielding([&] { return cancelled.load(std::memory_order_acquire) == round; });
    }
    std::destroy_at(state);
  }
  canceller.join();
  touched = target.touched_after_disarm.load();
  std::printf("fork_join_stress: %ld arm/cancel races\n", rounds);
  EXPECT_EQ(missed, 0) << "cancel requests neither seen by the owner nor passed to its target";
  EXPECT_EQ(touched, 0) << "on_cancel() ran on a target after disarm returned";
}

// ---- the wake-up after a push

// Spawns a task and blocks this worker in user code until it has run: it
// can only run on the other worker, which must be woken if it parked.
weft::task<void> set_flag(std::atomic<bool>& flag) {
  flag.store(true, std::memory_order_release);
  co_return;
}

weft::task<void> push_then_block(std::uint64_t delay) {
  spin(delay);
  std::atomic<bool> ran{false};
  weft::task_handle<void> child = weft::spawn(set_flag(ran));
  wait_spinning_then_yielding([&] { return ran.load(std::memory_order_acquire); });
  co_await child;
}

// The same through when_all: the chain's first child blocks until its
// sibling, pushed on this worker's deque, is stolen and has run.
weft::task<void> wait_flag(const std::atomic<bool>& flag) {
  wait_spinning_then_yielding([&] { return flag.load(std::memory_order_acquire); });
  co_return;
}

weft::task<void> fork_then_block(std::uint64_t delay) {
  spin(delay);
  std::atomic<bool> ran{false};
  co_await weft::when_all(wait_flag(ran), set_flag(ran));
}

TEST(ForkJoinStress, AWorkerThatBlocksAfterAPushIsAlwaysJoinedByAParkedWorker) {
  const std::uint64_t seed = test_seed(3);
  const long rounds = scaled(4000);
  weft::scheduler_options options;
  options.workers = 2;
  options.spin_rounds = 1;  // park almost at once, so pushes meet parking workers
  weft::scheduler sched{options};
  for (long round = 0; round < rounds; ++round) {
    const std::uint64_t r = splitmix(seed + static_cast<std::uint64_t>(round));
    hang_guard guard(20s, "round " + std::to_string(round) + " of the wake-up race (seed " +
                              std::to_string(seed) + ")");
    if (r % 2 == 0) {
      weft::sync_wait(sched, push_then_block(r % 4000));
    } else {
      weft::sync_wait(sched, fork_then_block(r % 4000));
    }
    // A gap of random length: the other worker is searching, parking or
    // parked when the next round pushes.
    spin((r >> 20) % 20000);
  }
  EXPECT_GT(sched.stats().parks, 0u);
}

}  // namespace

int main(int argc, char** argv) { return weft_test::stress_main(argc, argv, "fork_join_stress"); }
