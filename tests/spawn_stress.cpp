// Stress: at least 1,000,000 tasks spawned from 4 threads that are not
// workers and from inside tasks, with random cancels racing completion.
// Every task must reach exactly one terminal state, agree with what its
// canceller was told, and be counted once by scheduler::stats().
//
// Usage: spawn_stress [gtest flags] [--seed S]
//   --seed S            replay the random choices of a run (the seed is
//                       printed at start; interleavings still vary)
//   WEFT_STRESS_SCALE   multiplies the task count (default 1, which ctest
//                       uses in every build, the sanitizer ones included)
//   WEFT_STRESS_STALL_S seconds without progress before the watchdog
//                       prints the stuck tasks and fails (default 60)

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "stress_support.hpp"
#include "support.hpp"

namespace {

using weft_test::counted;

// ---- configuration

constexpr long k_default_tasks = 1'000'000;
constexpr int k_producers = 4;
constexpr int k_parents_per_round = 256;
constexpr int k_children = 3;

using weft_test::env_double;
using weft_test::splitmix;

// ---- what each task records about itself

enum class leaf_kind : std::uint8_t {
  immediate,    // co_return, no suspension point
  yields,       // 1-3 yields, then co_return
  fails,        // a yield, then throws
  inline_child, // co_awaits an inline child, then co_return
};
constexpr int k_leaf_kinds = 4;

const char* const k_failure_text = "stress failure";
const char* const k_child_cancel_text = "child-cancel";

// One spawned task. `handle` is written by its spawner before the spawner
// finishes (a producer thread, or the parent task); everything else the
// task writes is atomic.
struct record {
  weft::task_handle<int> handle;
  std::atomic<int> ran{0};
  // -1: nobody called cancel(); 0/1: what the only cancel() returned.
  std::atomic<int> cancel_result{-1};
  leaf_kind kind = leaf_kind::immediate;
  int yields = 0;
  bool plan_cancel = false;  // the spawner cancels it
  bool cancel_late = false;  // a child: after its parent's yield, not at spawn
  int expected = 0;
  std::string cancel_message;  // parents cancelled by a producer
};

struct round_state {
  std::vector<record> parents;
  std::vector<record> children;  // k_children per parent
  round_state() : parents(k_parents_per_round), children(k_parents_per_round * k_children) {}
};

weft::task<int> inline_leaf(int v) { co_return v; }

weft::task<int> leaf(record& r, counted token) {
  r.ran.fetch_add(1, std::memory_order_relaxed);
  switch (r.kind) {
    case leaf_kind::immediate:
      break;
    case leaf_kind::yields:
      for (int i = 0; i < r.yields; ++i) co_await weft::yield();
      break;
    case leaf_kind::fails:
      co_await weft::yield();
      throw std::runtime_error(k_failure_text);
    case leaf_kind::inline_child:
      co_return co_await inline_leaf(r.expected) + token.value;
  }
  co_return r.expected + token.value;
}

// Spawns its children from inside a task, cancels some of them at once
// (racing their start on the other workers), yields, then awaits child 0's
// handle (passing its own cancellation on to it, if any).
weft::task<int> parent(record& self, record* children, std::atomic<long>& errors, counted token) {
  self.ran.fetch_add(1, std::memory_order_relaxed);
  for (int j = 0; j < k_children; ++j) {
    record& c = children[j];
    c.handle = weft::spawn(leaf(c, counted{0}));
    if (c.plan_cancel && !c.cancel_late) {
      c.cancel_result = c.handle.cancel(k_child_cancel_text) ? 1 : 0;
    }
  }
  co_await weft::yield();
  for (int j = 0; j < k_children; ++j) {
    record& c = children[j];
    if (c.plan_cancel && c.cancel_late) {
      c.cancel_result = c.handle.cancel(k_child_cancel_text) ? 1 : 0;
    }
  }
  try {
    int v = co_await children[0].handle;
    if (v != children[0].expected) errors.fetch_add(1);
  } catch (const std::runtime_error& e) {
    const auto* cancelled = dynamic_cast<const weft::cancelled_error*>(&e);
    if (cancelled != nullptr) {
      if (weft::this_task::cancellation_requested()) throw;  // ours: end cancelled
    } else if (std::strcmp(e.what(), k_failure_text) != 0) {
      errors.fetch_add(1);
    }
  }
  co_return self.expected + token.value;
}

// ---- checking

struct tally {
  long spawned = 0, succeeded = 0, failed = 0, cancelled = 0;
  // How the races came out (to show they happened, not checked).
  long cancel_lost = 0;             // cancel() returned false: already done
  long recorded_but_completed = 0;  // cancel() true, yet the task succeeded/failed
  long passed_on = 0;               // a child cancelled through its parent
  tally& operator+=(const tally& o) {
    spawned += o.spawned;
    succeeded += o.succeeded;
    failed += o.failed;
    cancelled += o.cancelled;
    cancel_lost += o.cancel_lost;
    recorded_but_completed += o.recorded_but_completed;
    passed_on += o.passed_on;
    return *this;
  }
};

using weft_test::failure_log;

using weft_test::outcome;

// Reads the terminal state through the public API only, checking that the
// queries agree with each other; `message` is the cancel message or what().
std::optional<outcome> classify(const record& r, std::string& why, std::string& message) {
  const auto& h = r.handle;
  std::optional<outcome> o = weft_test::terminal_outcome(h, why, &message);
  if (o == outcome::failed) {
    try {
      std::rethrow_exception(h.exception());
    } catch (const std::exception& ex) {
      message = ex.what();
    }
  }
  if (!o && !h.done()) why = "not done after wait()";
  return o;
}

struct producer_status {
  std::mutex mutex;
  round_state* current = nullptr;  // published while waiting on a round
  // Set with `current`: once the children's handles are stable (every
  // parent is done), the watchdog may read them too.
  bool children_stable = false;
  long round = 0;
  long spawned = 0;
};

class stress_run {
 public:
  stress_run(std::uint64_t seed, long target, std::size_t workers)
      : seed_(seed), target_(target), sched_(workers) {}

  void run() {
    std::vector<std::thread> producers;
    for (int p = 0; p < k_producers; ++p) producers.emplace_back([this, p] { produce(p); });
    for (auto& t : producers) t.join();
  }

  weft::scheduler& sched() { return sched_; }
  const tally& totals() const { return totals_; }
  failure_log& failures() { return failures_; }
  long task_errors() const { return task_errors_.load(); }
  long rounds_done() const { return rounds_done_.load(); }

  /// The watchdog's view of what is stuck (called with progress stalled).
  std::string describe_stuck() {
    std::string text;
    for (int p = 0; p < k_producers; ++p) {
      producer_status& st = status_[p];
      std::lock_guard lock(st.mutex);
      text += "  producer " + std::to_string(p) + ": round " + std::to_string(st.round) +
              ", spawned " + std::to_string(st.spawned) + "\n";
      if (st.current == nullptr) continue;
      int shown = 0;
      for (int i = 0; i < k_parents_per_round; ++i) {
        record& r = st.current->parents[static_cast<std::size_t>(i)];
        bool stuck = !r.handle.done();
        std::string line = "    parent " + std::to_string(i) + (stuck ? " not done" : " done") +
                           ": ran=" + std::to_string(r.ran.load()) +
                           " cancel()=" + std::to_string(r.cancel_result.load()) + "; children";
        for (int j = 0; j < k_children; ++j) {
          record& c = st.current->children[static_cast<std::size_t>(i * k_children + j)];
          bool child_stuck = st.children_stable && c.handle.valid() && !c.handle.done();
          stuck = stuck || child_stuck;
          line += " [" + std::to_string(j) + ": kind=" + std::to_string(static_cast<int>(c.kind)) +
                  " ran=" + std::to_string(c.ran.load()) +
                  " cancel()=" + std::to_string(c.cancel_result.load()) +
                  (child_stuck ? " NOT DONE]" : "]");
        }
        if (stuck && shown++ < 10) text += line + "\n";
      }
      if (shown > 10) text += "    ... " + std::to_string(shown - 10) + " more parents\n";
    }
    return text;
  }

 private:
  void produce(int p) {
    std::mt19937_64 rng(splitmix(splitmix(seed_) ^ static_cast<std::uint64_t>(p)));
    const long share = (target_ + k_producers - 1) / k_producers;
    long spawned = 0;
    tally mine;
    for (long round = 0; spawned < share && failures_.count() == 0; ++round) {
      auto state = std::make_unique<round_state>();
      tally t = run_round(p, round, *state, rng);
      spawned += t.spawned;
      mine += t;
      {
        std::lock_guard lock(status_[p].mutex);
        status_[p].current = nullptr;
        status_[p].round = round + 1;
        status_[p].spawned = spawned;
      }
      rounds_done_.fetch_add(1);
    }
    std::lock_guard lock(totals_mutex_);
    totals_ += mine;
  }

  tally run_round(int p, long round, round_state& s, std::mt19937_64& rng) {
    const std::string where = "producer " + std::to_string(p) + " round " + std::to_string(round);
    std::uniform_int_distribution<int> percent(0, 99);
    for (int i = 0; i < k_parents_per_round; ++i) {
      record& r = s.parents[static_cast<std::size_t>(i)];
      r.expected = i;
      r.plan_cancel = percent(rng) < 25;
      if (r.plan_cancel) r.cancel_message = "stop " + where + " parent " + std::to_string(i);
      for (int j = 0; j < k_children; ++j) {
        record& c = s.children[static_cast<std::size_t>(i * k_children + j)];
        c.kind = static_cast<leaf_kind>(rng() % k_leaf_kinds);
        c.yields = 1 + static_cast<int>(rng() % 3);
        c.expected = i * 10 + j;
        c.plan_cancel = percent(rng) < 25;
        c.cancel_late = percent(rng) < 50;
      }
    }
    // Spawn. A planned cancel fires right after its task's spawn, some
    // spawns later, after the last spawn, or once half the round is done,
    // so it races the start, the run and the completion of its task.
    const int k_after_all = k_parents_per_round, k_after_half = k_parents_per_round + 1;
    std::vector<std::vector<int>> fire_at(k_parents_per_round + 2);
    auto fire = [&](int bucket) {
      for (int i : fire_at[static_cast<std::size_t>(bucket)]) {
        record& r = s.parents[static_cast<std::size_t>(i)];
        r.cancel_result = r.handle.cancel(r.cancel_message) ? 1 : 0;
      }
    };
    for (int i = 0; i < k_parents_per_round; ++i) {
      record& r = s.parents[static_cast<std::size_t>(i)];
      r.handle = sched_.spawn(parent(r, &s.children[static_cast<std::size_t>(i * k_children)],
                                     task_errors_, counted{0}));
      if (r.plan_cancel) {
        int when = percent(rng);
        int bucket = when < 25   ? i
                     : when < 50 ? std::min(k_after_all, i + 1 + static_cast<int>(rng() % 64))
                     : when < 75 ? k_after_all
                                 : k_after_half;
        fire_at[static_cast<std::size_t>(bucket)].push_back(i);
      }
      fire(i);
    }
    {
      std::lock_guard lock(status_[p].mutex);
      status_[p].current = &s;  // every parent handle is written
    }
    fire(k_after_all);
    for (int i = 0; i < k_parents_per_round / 2; ++i) {
      s.parents[static_cast<std::size_t>(i)].handle.wait();
    }
    fire(k_after_half);
    for (auto& r : s.parents) r.handle.wait();
    {
      std::lock_guard lock(status_[p].mutex);
      status_[p].children_stable = true;
    }
    // Children's handles were written by their parents, which are done.
    for (auto& c : s.children) {
      if (c.handle.valid()) c.handle.wait();
    }
    {
      std::lock_guard lock(status_[p].mutex);
      status_[p].current = nullptr;
      status_[p].children_stable = false;
    }
    return check_round(where, s);
  }

  void fail(const std::string& where, const std::string& what) {
    failures_.add(where + ": " + what + " (seed " + std::to_string(seed_) + ")");
  }

  static void count(tally& t, outcome o, int cancel_result) {
    if (cancel_result == 0) ++t.cancel_lost;
    if (cancel_result == 1 && o != outcome::cancelled) ++t.recorded_but_completed;
    ++t.spawned;
    if (o == outcome::succeeded) ++t.succeeded;
    if (o == outcome::failed) ++t.failed;
    if (o == outcome::cancelled) ++t.cancelled;
  }

  // The checks every record gets: classify it (nothing, reported, if its
  // queries disagree), count it into `t`, and its body ran at most once.
  std::optional<outcome> classify_and_count(const std::string& where, const record& r,
                                            std::string& message, tally& t) {
    std::string why;
    std::optional<outcome> o = classify(r, why, message);
    if (!o) {
      fail(where, why);
      return std::nullopt;
    }
    count(t, *o, r.cancel_result.load());
    const int ran = r.ran.load();
    if (ran > 1) fail(where, "body ran " + std::to_string(ran) + " times");
    return o;
  }

  tally check_round(const std::string& round_where, round_state& s) {
    tally t;
    for (int i = 0; i < k_parents_per_round; ++i) {
      record& pr = s.parents[static_cast<std::size_t>(i)];
      const std::string where = round_where + " parent " + std::to_string(i);
      std::string message;
      std::optional<outcome> o = classify_and_count(where, pr, message, t);
      if (!o) continue;
      const int ran = pr.ran.load();
      const int cancel = pr.cancel_result.load();
      if (*o == outcome::failed) fail(where, "a parent never fails, got: " + message);
      if (*o == outcome::cancelled) {
        if (cancel != 1) fail(where, "cancelled, but cancel() returned " + std::to_string(cancel));
        if (message != pr.cancel_message && message != k_child_cancel_text) {
          fail(where, "cancelled with message \"" + message + "\"");
        }
      } else {
        if (ran != 1) fail(where, "succeeded but its body ran " + std::to_string(ran) + " times");
        if (pr.handle.result() != pr.expected) fail(where, "wrong result");
      }
      if (cancel == 0 && *o != outcome::succeeded) {
        fail(where, "cancel() returned false but the task did not succeed");
      }
      if (cancel == 0 && !pr.handle.done()) fail(where, "cancel() returned false while not done");
      for (int j = 0; j < k_children; ++j) {
        record& c = s.children[static_cast<std::size_t>(i * k_children + j)];
        const std::string cwhere = where + " child " + std::to_string(j);
        if (!c.handle.valid()) {
          if (ran != 0) fail(cwhere, "its parent ran but did not spawn it");
          if (c.ran.load() != 0) fail(cwhere, "ran without being spawned");
          continue;
        }
        check_child(cwhere, c, j, pr, t);
      }
    }
    if (t.spawned != t.succeeded + t.failed + t.cancelled) fail(round_where, "counts disagree");
    return t;
  }

  void check_child(const std::string& where, record& c, int j, record& pr, tally& t) {
    std::string message;
    std::optional<outcome> o = classify_and_count(where, c, message, t);
    if (!o) return;
    const int ran = c.ran.load();
    const int cancel = c.cancel_result.load();
    switch (*o) {
      case outcome::succeeded:
        if (ran != 1) fail(where, "succeeded but its body ran " + std::to_string(ran) + " times");
        if (c.kind == leaf_kind::fails) fail(where, "a failing task succeeded");
        if (c.handle.result() != c.expected) fail(where, "wrong result");
        break;
      case outcome::failed:
        if (c.kind != leaf_kind::fails) fail(where, "failed: " + message);
        if (message != k_failure_text) fail(where, "failed with \"" + message + "\"");
        if (ran != 1) fail(where, "failed but its body ran " + std::to_string(ran) + " times");
        break;
      case outcome::cancelled: {
        if (c.kind == leaf_kind::immediate && ran != 0) {
          fail(where, "no suspension point, yet cancelled after its body ran");
        }
        std::optional<weft::cancel_reason> reason = c.handle.cancel_reason();
        if (!reason) {
          fail(where, "cancelled without a cancel reason");
          break;
        }
        bool by_parent_call = reason->kind == weft::cancel_kind::user && cancel == 1 &&
                              reason->message == k_child_cancel_text;
        bool passed_on = reason->kind == weft::cancel_kind::parent_cancelled && j == 0 &&
                         pr.cancel_result.load() == 1 && reason->message == pr.cancel_message;
        if (passed_on) ++t.passed_on;
        if (!by_parent_call && !passed_on) {
          fail(where, std::string("cancelled by nobody it should be: kind ") +
                          std::string(weft::to_string(reason->kind)) + ", message \"" +
                          reason->message + "\", cancel() returned " + std::to_string(cancel));
        }
        break;
      }
    }
    if (cancel == 0 && *o == outcome::cancelled) {
      // Only possible if the parent's cancellation reached it first.
      if (!(j == 0 && pr.cancel_result.load() == 1)) {
        fail(where, "cancel() returned false but the task ended cancelled");
      }
    }
    if (c.kind == leaf_kind::immediate && *o != outcome::cancelled && ran != 1) {
      fail(where, "not cancelled, yet its body did not run");
    }
  }

  const std::uint64_t seed_;
  const long target_;
  weft::scheduler sched_;
  producer_status status_[k_producers];
  std::atomic<long> task_errors_{0};
  std::atomic<long> rounds_done_{0};
  failure_log failures_;
  std::mutex totals_mutex_;
  tally totals_;
};

// Fails the run with a diagnostic when it stops making progress.
class watchdog {
 public:
  watchdog(stress_run& run, std::uint64_t seed, double stall_seconds)
      : run_(run), seed_(seed), stall_(stall_seconds),
        poll_(std::chrono::seconds(1), [this] { check(); }) {}

 private:
  // Called by poll_ only, so last_ and since_ need no lock.
  void check() {
    long now_done = run_.rounds_done();
    auto now = std::chrono::steady_clock::now();
    if (now_done != last_) {
      last_ = now_done;
      since_ = now;
      return;
    }
    if (now - since_ > std::chrono::duration<double>(stall_)) {
      weft::scheduler_stats st = run_.sched().stats();
      std::fprintf(stderr,
                   "spawn_stress WATCHDOG: no round finished for %.0f s (seed %llu, rounds "
                   "done %ld)\n  stats: spawned %llu succeeded %llu failed %llu cancelled %llu "
                   "steals %llu parks %llu\n%s",
                   stall_, static_cast<unsigned long long>(seed_), now_done,
                   static_cast<unsigned long long>(st.spawned),
                   static_cast<unsigned long long>(st.succeeded),
                   static_cast<unsigned long long>(st.failed),
                   static_cast<unsigned long long>(st.cancelled),
                   static_cast<unsigned long long>(st.steals),
                   static_cast<unsigned long long>(st.parks), run_.describe_stuck().c_str());
      std::fflush(stderr);
      std::_Exit(3);
    }
  }

  stress_run& run_;
  std::uint64_t seed_;
  double stall_;
  long last_ = -1;
  std::chrono::steady_clock::time_point since_ = std::chrono::steady_clock::now();
  weft_test::poll_thread poll_;  // last: polls only once the fields above exist
};

}  // namespace

TEST(SpawnStress, EveryTaskReachesExactlyOneTerminalStateUnderRacingCancels) {
  const std::uint64_t seed = weft_test::stress_seed();
  // Sanitizer builds run the full count too (no smaller default there).
  const long target = weft_test::scaled_count(k_default_tasks, 1000);
  const double stall = env_double("WEFT_STRESS_STALL_S", 60.0);
  const std::size_t workers =
      std::clamp<std::size_t>(std::thread::hardware_concurrency(), 2, 4);
  weft_test::print_stress_seed(", " + std::to_string(target) + " tasks, " + std::to_string(workers) +
                               " workers");
  SCOPED_TRACE("seed " + std::to_string(seed));
  RecordProperty("seed", std::to_string(seed));

  counted::reset();
  auto start = std::chrono::steady_clock::now();
  {
    stress_run run(seed, target, workers);
    {
      watchdog dog(run, seed, stall);
      run.run();
      // Accounting in stats() may trail the terminal state that wait()
      // observed by the few tasks whose completion is still returning.
      const tally& t = run.totals();
      auto settled = [&] {
        weft::scheduler_stats st = run.sched().stats();
        return st.succeeded + st.failed + st.cancelled == st.spawned;
      };
      while (!settled()) std::this_thread::yield();  // the watchdog bounds this
      weft::scheduler_stats st = run.sched().stats();
      EXPECT_EQ(run.failures().count(), 0) << run.failures().report();
      EXPECT_EQ(run.task_errors(), 0) << "a parent saw a wrong value from its child";
      EXPECT_GE(t.spawned, target);
      EXPECT_EQ(t.succeeded + t.failed + t.cancelled, t.spawned);
      EXPECT_EQ(st.spawned, static_cast<std::uint64_t>(t.spawned));
      EXPECT_EQ(st.succeeded, static_cast<std::uint64_t>(t.succeeded));
      EXPECT_EQ(st.failed, static_cast<std::uint64_t>(t.failed));
      EXPECT_EQ(st.cancelled, static_cast<std::uint64_t>(t.cancelled));
      std::printf(
          "spawn_stress: %ld tasks: %ld succeeded, %ld failed, %ld cancelled; races: %ld "
          "cancels lost, %ld recorded but completed, %ld passed on; %llu steals, %llu parks\n",
          t.spawned, t.succeeded, t.failed, t.cancelled, t.cancel_lost, t.recorded_but_completed,
          t.passed_on,
          static_cast<unsigned long long>(st.steals), static_cast<unsigned long long>(st.parks));
    }
  }
  // Every frame (and its argument) is gone with the handles and the pool.
  EXPECT_EQ(counted::live.load(), 0);
  EXPECT_EQ(counted::double_destroyed.load(), 0);
  std::printf("spawn_stress: %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

int main(int argc, char** argv) { return weft_test::stress_main(argc, argv, "spawn_stress"); }
