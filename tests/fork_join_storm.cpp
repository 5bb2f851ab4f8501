// Storm: random fork-join trees (fib-shaped, skynet-shaped, when_any
// searches, and a mix with when_any copies, timeouts and spawned subtrees),
// with failures at random leaves, and cancel() of roots and of subtrees
// racing them from plain threads and from a task on the pool. Roots are
// spawned from a plain thread and from a task. Half the roots and half the
// spawned subtrees are weft::drop_on_cancel regions (their cancelled
// frames are destroyed without an exception), the rest unwind by
// cancelled_error, so both paths and their meeting points race. After
// every round:
//   - every root ended in an outcome its shape allows: its serial value, a
//     failure of one of its failing leaves, or cancelled, and cancelled only
//     if a cancel() of that root took effect (a parent recovers from a
//     cancelled subtree by computing it serially, so a subtree cancel never
//     cancels its root);
//   - every spawned subtree is done (its parent awaited it, however the
//     parent ended), and a cancelled one carries the reason of a request
//     that can reach it (its own cancel, or one passed on from above);
//   - scheduler::stats() counts every spawned task once, in the outcome its
//     handle reports;
//   - every frame was destroyed exactly once (a counting object is a
//     parameter of every tree coroutine, so frames that never ran count too).
// A watchdog fails a round that does not end instead of hanging.
//
// Usage: fork_join_storm [gtest flags] [--seed S] [--seconds N] [--rounds N]
//   --seed S       replay the trees' shapes and the cancellers' choices (the
//                  seed is printed at start; interleavings still vary)
//   --seconds N    soak: run rounds until N seconds have passed
//   --rounds N     run exactly N rounds
//   default        up to 400 rounds and about 4 seconds (a short ctest)
//   WEFT_CHAOS=1   the schedulers inject random yields, sleeps, failed steals
// The last line is the summary: tasks (tree coroutines created), cancels
// (cancel() calls that took effect, of all calls), rounds, seconds, failures.

#include "stress_support.hpp"
#include "support.hpp"

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using weft_test::counted;
using weft_test::failure_log;
using weft_test::hang_guard;
using weft_test::spin;
using weft_test::splitmix;

weft_test::soak_flags g_flags;  // from the command line

constexpr long k_default_rounds = 400;
constexpr double k_default_seconds = 4.0;
constexpr int k_roots = 8;            // per round: half from a plain thread, half from a task
constexpr int k_slots = 1024;         // spawned subtrees a round can offer to the cancellers
constexpr int k_thread_cancellers = 2;

std::atomic<long> g_frames{0};  // tree coroutines created, over the whole run

std::uint64_t child_seed(std::uint64_t seed, int i) {
  return splitmix(seed ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1)));
}
std::uint64_t leaf_value(std::uint64_t seed) { return splitmix(seed) >> 40; }

struct leaf_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- the shapes

enum class style { fib, skynet, search, mixed };
const char* const k_style_names[] = {"fib", "skynet", "search", "mixed"};

// What a node of a tree does, a function of the tree's style, the node's
// seed and its depth alone (the serial answer below makes the same choice).
enum class kind { leaf, pair, fan, copies, search, timed, spawned };

struct tree_spec {
  style shape;
  std::uint64_t fail_mod;  // a leaf fails if its hash % fail_mod == 0; 0: never
};

kind kind_of(const tree_spec& t, std::uint64_t r, int depth) {
  if (depth <= 0 || (t.shape == style::fib && depth < 2)) return kind::leaf;
  const std::uint64_t extra = (r >> 4) % 16;  // every style has a few of these
  if (extra == 0) return kind::spawned;
  if (extra == 1) return kind::timed;
  switch (t.shape) {
    case style::fib:
      return kind::pair;
    case style::skynet:
      return kind::fan;
    case style::search:
      return (r >> 8) % 2 == 0 ? kind::search : kind::fan;
    case style::mixed:
      break;
  }
  if (r % 6 == 0) return kind::leaf;
  switch ((r >> 8) % 5) {
    case 0:
      return kind::pair;
    case 1:
      return kind::fan;
    case 2:
      return kind::copies;
    case 3:
      return kind::search;
    default:
      return kind::spawned;
  }
}

int fan_out(const tree_spec& t, std::uint64_t r) {
  return t.shape == style::skynet ? 4 + static_cast<int>((r >> 12) % 7)
                                  : 2 + static_cast<int>((r >> 12) % 2);
}
int answer_index(std::uint64_t r, int n) { return static_cast<int>((r >> 20) % static_cast<std::uint64_t>(n)); }
bool leaf_fails(const tree_spec& t, std::uint64_t seed) {
  return t.fail_mod != 0 && splitmix(seed ^ 0xFA11) % t.fail_mod == 0;
}

// The serial answer: the tree's value, and whether some leaf it depends
// on fails (then the tree fails: in a when_any every copy fails alike, and
// a search's searchers never finish).
std::uint64_t expected(const tree_spec& t, std::uint64_t seed, int depth, bool& fails) {
  const std::uint64_t r = splitmix(seed);
  switch (kind_of(t, r, depth)) {
    case kind::leaf:
      if (leaf_fails(t, seed)) fails = true;
      return leaf_value(seed);
    case kind::pair:
      return expected(t, child_seed(seed, 0), depth - 1, fails) +
             expected(t, child_seed(seed, 1), depth - 2, fails);
    case kind::fan: {
      std::uint64_t sum = 0;
      for (int i = 0, n = fan_out(t, r); i < n; ++i) sum += expected(t, child_seed(seed, i), depth - 1, fails);
      return sum;
    }
    case kind::copies:
    case kind::timed:
    case kind::spawned:
      return expected(t, child_seed(seed, 0), depth - 1, fails);
    case kind::search:
      return expected(t, child_seed(seed, answer_index(r, fan_out(t, r))), depth - 1, fails);
  }
  return 0;
}

// The serial answer where a parent recovers a lost subtree: throws as the
// subtree would have.
std::uint64_t recompute(const tree_spec& t, std::uint64_t seed, int depth) {
  bool fails = false;
  const std::uint64_t v = expected(t, seed, depth, fails);
  if (fails) throw leaf_failure("a recomputed subtree fails");
  return v;
}

// ---- a round

struct root_record {
  tree_spec spec{};
  std::uint64_t seed = 0;
  int depth = 0;
  std::uint64_t want = 0;
  bool fails = false;
  bool dropping = false;  // spawned as a weft::drop_on_cancel region
  weft::task_handle<std::uint64_t> handle;
  std::atomic<bool> published{false};
  std::atomic<bool> cancelled_by_request{false};  // a cancel() of it returned true
};

struct subtree_slot {
  weft::task_handle<std::uint64_t> handle;
  std::atomic<bool> published{false};
};

class storm_round {
 public:
  storm_round(long round, std::uint64_t seed, failure_log& log)
      : round_(round), seed_(seed), log_(log), slots_(new subtree_slot[k_slots]) {}

  long round() const { return round_; }
  std::uint64_t seed() const { return seed_; }
  root_record& root(int i) { return roots_[i]; }

  void fail(const std::string& what) {
    log_.add("round " + std::to_string(round_) + " (round seed " + std::to_string(seed_) +
             "): " + what);
  }

  // Counts a spawned subtree and offers it to the cancellers (not offered
  // when the slots are full: it still runs and is awaited).
  void offer(const weft::task_handle<std::uint64_t>& h) {
    spawned_.fetch_add(1, std::memory_order_relaxed);
    const int i = claimed_.fetch_add(1, std::memory_order_relaxed);
    if (i >= k_slots) return;
    slots_[i].handle = h;
    // release: pairs with the acquire in pick_subtree(); the handle is written.
    slots_[i].published.store(true, std::memory_order_release);
  }
  int offered() const { return std::min(claimed_.load(), k_slots); }
  long spawned() const { return spawned_.load(); }
  subtree_slot& slot(int i) { return slots_[i]; }

  // One cancel() of a random offered subtree, or now and then of a root
  // (about a third of the roots end cancelled).
  void cancel_something(std::uint64_t r) {
    if (r % 64 == 0) {
      root_record& target = roots_[(r >> 8) % k_roots];
      if (!target.published.load(std::memory_order_acquire)) return;
      count_cancel(target.handle.cancel("storm: root"), &target);
      return;
    }
    const int n = offered();
    if (n == 0) return;
    subtree_slot& s = slots_[(r >> 8) % static_cast<std::uint64_t>(n)];
    if (!s.published.load(std::memory_order_acquire)) return;
    count_cancel(s.handle.cancel("storm: subtree"), nullptr);
  }

  void recovered() { recovered_.fetch_add(1, std::memory_order_relaxed); }

  // Set once every root is done: the cancellers stop.
  std::atomic<bool> finished{false};

  long cancels() const { return cancels_.load(); }
  long effective() const { return effective_.load(); }
  long recoveries() const { return recovered_.load(); }

 private:
  void count_cancel(bool took_effect, root_record* root) {
    cancels_.fetch_add(1, std::memory_order_relaxed);
    if (!took_effect) return;
    effective_.fetch_add(1, std::memory_order_relaxed);
    if (root != nullptr) root->cancelled_by_request.store(true, std::memory_order_relaxed);
  }

  long round_;
  std::uint64_t seed_;
  failure_log& log_;
  root_record roots_[k_roots];
  std::unique_ptr<subtree_slot[]> slots_;
  std::atomic<int> claimed_{0};
  std::atomic<long> cancels_{0}, effective_{0}, recovered_{0}, spawned_{0};
};

// ---- the trees

weft::task<std::uint64_t> node(storm_round& c, const tree_spec& t, std::uint64_t seed, int depth,
                               counted alive);
weft::task<std::uint64_t> searcher(std::uint64_t seed, int depth, counted alive);

weft::task<std::uint64_t> make_node(storm_round& c, const tree_spec& t, std::uint64_t seed,
                                    int depth) {
  g_frames.fetch_add(1, std::memory_order_relaxed);
  return node(c, t, seed, depth, counted{depth});
}
weft::task<std::uint64_t> make_searcher(std::uint64_t seed, int depth) {
  g_frames.fetch_add(1, std::memory_order_relaxed);
  return searcher(seed, depth, counted{depth});
}

// A branch of a search that never finds the answer: it yields (or forks
// more searchers) until it is cancelled, as the loser of its when_any.
weft::task<std::uint64_t> searcher(std::uint64_t seed, int depth, counted alive) {
  static_cast<void>(alive);
  const std::uint64_t r = splitmix(seed);
  if (depth <= 0 || r % 2 == 0) {
    for (;;) co_await weft::yield();
  }
  co_await weft::when_all(make_searcher(child_seed(seed, 0), depth - 1),
                          make_searcher(child_seed(seed, 1), depth - 1));
  co_return 0;
}

weft::task<std::uint64_t> node(storm_round& c, const tree_spec& t, std::uint64_t seed, int depth,
                               counted alive) {
  static_cast<void>(alive);
  const std::uint64_t r = splitmix(seed);
  switch (kind_of(t, r, depth)) {
    case kind::leaf:
      spin(r % 48);
      if ((r >> 8) % 8 == 0) co_await weft::yield();
      if (leaf_fails(t, seed)) throw leaf_failure("leaf " + std::to_string(seed));
      co_return leaf_value(seed);
    case kind::pair: {
      auto [a, b] = co_await weft::when_all(make_node(c, t, child_seed(seed, 0), depth - 1),
                                            make_node(c, t, child_seed(seed, 1), depth - 2));
      co_return a + b;
    }
    case kind::fan: {
      std::vector<weft::task<std::uint64_t>> children;
      for (int i = 0, n = fan_out(t, r); i < n; ++i) {
        children.push_back(make_node(c, t, child_seed(seed, i), depth - 1));
      }
      std::uint64_t sum = 0;
      for (std::uint64_t v : co_await weft::when_all(std::move(children))) sum += v;
      co_return sum;
    }
    case kind::copies: {
      std::vector<weft::task<std::uint64_t>> copies;
      for (int i = 0, n = fan_out(t, r); i < n; ++i) {
        copies.push_back(make_node(c, t, child_seed(seed, 0), depth - 1));
      }
      co_return (co_await weft::when_any(std::move(copies))).second;
    }
    case kind::search: {
      const int n = fan_out(t, r), answer = answer_index(r, n);
      std::vector<weft::task<std::uint64_t>> branches;
      for (int i = 0; i < n; ++i) {
        branches.push_back(i == answer ? make_node(c, t, child_seed(seed, i), depth - 1)
                                       : make_searcher(child_seed(seed, i), depth - 1));
      }
      auto [index, v] = co_await weft::when_any(std::move(branches));
      if (static_cast<int>(index) != answer) c.fail("a search was won by a branch that never finds");
      co_return v;
    }
    case kind::timed: {
      const std::uint64_t child = child_seed(seed, 0);
      try {
        co_return co_await weft::timeout(std::chrono::microseconds((r >> 24) % 400),
                                         make_node(c, t, child, depth - 1));
      } catch (const weft::timeout_error&) {
      }
      c.recovered();
      co_return recompute(t, child, depth - 1);
    }
    case kind::spawned: {
      const std::uint64_t child = child_seed(seed, 0);
      weft::task_handle<std::uint64_t> h =
          ((r >> 20) & 1) != 0 ? weft::spawn(weft::drop_on_cancel(make_node(c, t, child, depth - 1)))
                               : weft::spawn(make_node(c, t, child, depth - 1));
      c.offer(h);
      try {
        co_return co_await h;
      } catch (const weft::cancelled_error&) {
        // The subtree was cancelled from outside: recover it, unless this
        // task is being cancelled itself (then the error is ours).
        if (weft::this_task::cancellation_requested()) throw;
      }
      c.recovered();
      co_return recompute(t, child, depth - 1);
    }
  }
  co_return 0;
}

// ---- the threads and tasks of a round

void cancel_from_thread(storm_round& c, std::uint64_t seed) {
  std::uint64_t r = seed | 1;
  while (!c.finished.load(std::memory_order_acquire)) {
    r = splitmix(r);
    spin(r % 2048);
    c.cancel_something(r >> 16);
    if ((r >> 12) % 8 == 0) std::this_thread::yield();  // let the workers have the cores
  }
}

weft::task<void> cancel_from_task(storm_round& c, std::uint64_t seed) {
  std::uint64_t r = seed | 1;
  while (!c.finished.load(std::memory_order_acquire)) {
    r = splitmix(r);
    c.cancel_something(r >> 16);
    co_await weft::yield();
  }
}

void describe_root(root_record& rec, std::uint64_t seed) {
  const std::uint64_t r = splitmix(seed);
  rec.seed = seed;
  rec.spec.shape = static_cast<style>(r % 4);
  rec.spec.fail_mod = (r >> 8) % 5 == 0 ? 64 + (r >> 16) % 512 : 0;  // one tree in five may fail
  switch (rec.spec.shape) {
    case style::fib:
      rec.depth = 6 + static_cast<int>((r >> 32) % 12);
      break;
    case style::skynet:
      rec.depth = 1 + static_cast<int>((r >> 32) % 4);
      break;
    case style::search:
      rec.depth = 3 + static_cast<int>((r >> 32) % 5);
      break;
    case style::mixed:
      rec.depth = 3 + static_cast<int>((r >> 32) % 6);
      break;
  }
  rec.want = expected(rec.spec, rec.seed, rec.depth, rec.fails);
  rec.dropping = ((r >> 40) & 1) != 0;
}

/// The root task of `rec`, as a region or not.
template <class Spawn>
weft::task_handle<std::uint64_t> spawn_root(storm_round& c, root_record& rec, Spawn spawn) {
  if (rec.dropping) return spawn(weft::drop_on_cancel(make_node(c, rec.spec, rec.seed, rec.depth)));
  return spawn(make_node(c, rec.spec, rec.seed, rec.depth));
}

void publish_root(root_record& rec, weft::task_handle<std::uint64_t> h) {
  rec.handle = std::move(h);
  // release: pairs with the acquire in cancel_something(); the handle is written.
  rec.published.store(true, std::memory_order_release);
}

weft::task<void> spawn_roots_from_task(storm_round& c, int first, int last) {
  for (int i = first; i < last; ++i) {
    root_record& rec = c.root(i);
    publish_root(rec, spawn_root(c, rec, [](auto t) { return weft::spawn(std::move(t)); }));
  }
  co_return;
}

// ---- checking a round

void check_root(storm_round& c, int i) {
  root_record& rec = c.root(i);
  const std::string who = "root " + std::to_string(i) + " (" +
                          k_style_names[static_cast<int>(rec.spec.shape)] + ", seed " +
                          std::to_string(rec.seed) + ", depth " + std::to_string(rec.depth) + ")";
  const weft::task_handle<std::uint64_t>& h = rec.handle;
  if (!h.done()) {
    c.fail(who + " is not done after wait()");
    return;
  }
  if (h.cancelled()) {
    if (!rec.cancelled_by_request.load()) c.fail(who + " ended cancelled, but no cancel() of it took effect");
    std::optional<weft::cancel_reason> reason = h.cancel_reason();
    if (!reason || reason->kind != weft::cancel_kind::user || reason->message != "storm: root") {
      c.fail(who + " ended cancelled without the reason of its request");
    }
    return;
  }
  try {
    const std::uint64_t got = h.result();
    if (rec.fails) c.fail(who + " succeeded, but a leaf it depends on fails");
    if (got != rec.want) c.fail(who + " gave " + std::to_string(got) + ", expected " + std::to_string(rec.want));
  } catch (const leaf_failure&) {
    if (!rec.fails) c.fail(who + " failed, but none of its leaves fails");
  } catch (const std::exception& e) {
    c.fail(who + " failed with an unexpected exception: " + e.what());
  }
}

// How a done task ended, as its handle reports it.
enum outcome : int { k_succeeded, k_failed, k_cancelled };
template <class Handle>
outcome outcome_of(const Handle& h) {
  if (h.cancelled()) return k_cancelled;
  return h.exception() != nullptr ? k_failed : k_succeeded;
}

// A cancelled subtree carries the reason of a request that can reach it:
// a cancel() of it, or one passed on from above (a cancel() of the root or
// of an enclosing subtree, a when_any decision, a sibling's failure, or an
// expired timeout, whose reason has no message).
bool reason_can_reach_a_subtree(const weft::cancel_reason& r) {
  if (r.kind == weft::cancel_kind::user) return r.message == "storm: subtree";
  if (r.kind != weft::cancel_kind::parent_cancelled) return false;
  return r.message.empty() || r.message == "storm: root" || r.message == "storm: subtree" ||
         r.message.rfind("when_any: child ", 0) == 0 ||
         r.message.rfind("a sibling failed: ", 0) == 0;
}

// Checks every offered subtree and counts how they ended into `ends`.
void check_subtrees(storm_round& c, long (&ends)[3]) {
  for (int i = 0; i < c.offered(); ++i) {
    const weft::task_handle<std::uint64_t>& h = c.slot(i).handle;
    const std::string who = "subtree " + std::to_string(i);
    if (!h.done()) {
      c.fail(who + " is not done after its root");
      continue;
    }
    const outcome o = outcome_of(h);
    ++ends[o];
    if (o != k_cancelled) continue;
    const std::optional<weft::cancel_reason> reason = h.cancel_reason();
    if (!reason) {
      c.fail(who + " ended cancelled without a reason");
    } else if (!reason_can_reach_a_subtree(*reason)) {
      c.fail(who + " ended cancelled with a reason nothing in the storm gives: " +
             std::string(weft::to_string(reason->kind)) + " \"" + reason->message + "\"");
    }
  }
}

struct totals {
  long rounds = 0, cancels = 0, effective = 0, recovered = 0;
  long succeeded = 0, failed = 0, cancelled = 0;
};

void run_round(long round, std::uint64_t round_seed, failure_log& log, totals& sum) {
  std::uint64_t r = splitmix(round_seed);
  const std::size_t workers = 1 + static_cast<std::size_t>(r % 4);
  storm_round c(round, round_seed, log);
  for (int i = 0; i < k_roots; ++i) describe_root(c.root(i), child_seed(round_seed, i));
  std::vector<weft::task_handle<void>> helpers;
  {
    weft::scheduler sched{workers};
    std::vector<std::thread> cancellers;
    for (int t = 0; t < k_thread_cancellers; ++t) {
      cancellers.emplace_back(cancel_from_thread, std::ref(c), child_seed(round_seed, 100 + t));
    }
    helpers.push_back(sched.spawn(cancel_from_task(c, child_seed(round_seed, 200))));
    // Half the roots from a task on the pool, half from this thread.
    helpers.push_back(sched.spawn(spawn_roots_from_task(c, 0, k_roots / 2)));
    for (int i = k_roots / 2; i < k_roots; ++i) {
      root_record& rec = c.root(i);
      publish_root(rec, spawn_root(c, rec, [&sched](auto t) { return sched.spawn(std::move(t)); }));
    }
    helpers[1].wait();
    for (int i = 0; i < k_roots; ++i) c.root(i).handle.wait();
    c.finished.store(true, std::memory_order_release);
    for (auto& t : cancellers) t.join();
    helpers[0].wait();
    for (int i = 0; i < k_roots; ++i) check_root(c, i);
    long ends[3] = {0, 0, 0};
    check_subtrees(c, ends);
    for (int i = 0; i < k_roots; ++i) ++ends[outcome_of(c.root(i).handle)];
    for (auto& h : helpers) {
      if (!h.done() || outcome_of(h) != k_succeeded) c.fail("a helper task did not succeed");
      ++ends[k_succeeded];
    }
    // A task is accounted before its waiters are woken, and each task here
    // ended before a wait() above returned (a subtree before its parent).
    const weft::scheduler_stats st = sched.stats();
    auto expect = [&](const char* what, std::uint64_t got, std::uint64_t want) {
      if (got != want) {
        c.fail(std::string("stats().") + what + " is " + std::to_string(got) + ", expected " +
               std::to_string(want));
      }
    };
    const std::uint64_t spawned =
        static_cast<std::uint64_t>(k_roots + c.spawned()) + helpers.size();
    expect("spawned", st.spawned, spawned);
    expect("succeeded + failed + cancelled", st.succeeded + st.failed + st.cancelled, spawned);
    if (c.spawned() == c.offered()) {  // every task has a handle here: each outcome is known
      expect("succeeded", st.succeeded, static_cast<std::uint64_t>(ends[k_succeeded]));
      expect("failed", st.failed, static_cast<std::uint64_t>(ends[k_failed]));
      expect("cancelled", st.cancelled, static_cast<std::uint64_t>(ends[k_cancelled]));
    }
  }
  for (int i = 0; i < k_roots; ++i) {
    switch (outcome_of(c.root(i).handle)) {
      case k_succeeded: ++sum.succeeded; break;
      case k_failed: ++sum.failed; break;
      case k_cancelled: ++sum.cancelled; break;
    }
  }
  sum.cancels += c.cancels();
  sum.effective += c.effective();
  sum.recovered += c.recoveries();
}

}  // namespace

TEST(ForkJoinStorm, EveryRootEndsAsItsShapeAllowsEverySubtreeEndsAndEveryFrameIsFreed) {
  const std::uint64_t seed =
      g_flags.seed ? *g_flags.seed
                  : static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  const bool soak = g_flags.seconds.has_value();
  const double seconds = soak ? *g_flags.seconds : k_default_seconds;
  const long max_rounds = g_flags.rounds ? *g_flags.rounds : (soak ? -1 : k_default_rounds);
  std::printf("fork_join_storm: seed %llu (replay: --seed %llu)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  RecordProperty("seed", std::to_string(seed));

  counted::reset();
  g_frames = 0;
  failure_log log;
  totals sum;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  for (long round = 0;; ++round) {
    if (max_rounds >= 0 && round >= max_rounds) break;
    if (!g_flags.rounds && round > 0 && elapsed() >= seconds) break;
    if (log.count() != 0) break;
    {
      hang_guard guard(std::chrono::seconds(static_cast<long>(weft_test::env_double("WEFT_STRESS_STALL_S", 120))),
                       "fork_join_storm round " + std::to_string(round) + " (replay: --seed " +
                           std::to_string(seed) + ")");
      run_round(round, splitmix(seed + static_cast<std::uint64_t>(round)), log, sum);
    }
    ++sum.rounds;
    // Every frame (with its counting parameter) is gone with the handles.
    if (long live = counted::live.exchange(0); live != 0) {
      log.add("round " + std::to_string(round) + ": " + std::to_string(live) + " frames still alive");
    }
    if (long twice = counted::double_destroyed.exchange(0); twice != 0) {
      log.add("round " + std::to_string(round) + ": " + std::to_string(twice) + " frames destroyed twice");
    }
  }
  EXPECT_EQ(log.count(), 0) << log.report();
  EXPECT_GT(sum.rounds, 0);
  std::printf("fork_join_storm: roots: %ld succeeded, %ld failed, %ld cancelled; %ld subtrees recovered\n",
              sum.succeeded, sum.failed, sum.cancelled, sum.recovered);
  std::printf("fork_join_storm: tasks %ld, cancels %ld (of %ld cancel() calls), rounds %ld, seconds %.1f, "
              "failures %ld\n",
              g_frames.load(), sum.effective, sum.cancels, sum.rounds, elapsed(), log.count());
  std::fflush(stdout);
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);  // removes the gtest flags
  if (!weft_test::parse_soak_flags(argc, argv, "fork_join_storm", g_flags)) return 2;
  return RUN_ALL_TESTS();
}
