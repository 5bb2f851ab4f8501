// Torture: random programs of tasks mixing every weft feature, from worker
// and non-worker threads, with cancel() racing start, suspension, wake-up
// and completion, and exceptions thrown at random depths. After every
// round the invariants are checked:
//   - every task reached exactly one terminal state, the one its body's own
//     record says it ended in (returned / threw a fault / let a
//     cancelled_error escape / never ran because cancelled first), and the
//     handle's queries agree with each other;
//   - every done callback ran exactly once, after the task was done;
//   - scheduler::stats() counts each task once in the right outcome and
//     each callback exception once;
//   - every frame was freed (a counting object lives in every frame);
//   - no task is left suspended: a watchdog prints the stuck tasks (id,
//     state, what they were doing) and fails the run instead of hanging.
// One round in six destroys the scheduler under full load instead of
// waiting: every task must still be terminal and match its body.
//
// Usage: torture [gtest flags] [--seed S] [--seconds N] [--rounds N]
//   --seed S       replay the random choices of a run (printed at start;
//                  the interleavings still vary, chaos mode varies them more)
//   --seconds N    soak: run rounds until N seconds have passed
//   --rounds N     run exactly N rounds
//   default        at most 400 rounds and about 3 seconds (a short ctest)
//   WEFT_CHAOS=1   the schedulers inject random yields, sleeps, failed steals
//   WEFT_STRESS_STALL_S  seconds a round may take before the watchdog
//                  fails the run (default 60)
// The last line is the summary: tasks (created: spawned, and combinator
// children whether or not they got to run), cancels (cancel() calls),
// faults, rounds, seconds, failures; the outcome line counts the spawned
// tasks only.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "stress_support.hpp"
#include "support.hpp"

namespace {

using weft_test::counted;
using namespace std::chrono_literals;

// ---- options

weft_test::soak_flags g_flags;  // from the command line

constexpr long k_default_rounds = 400;
constexpr double k_default_seconds = 3.0;
constexpr int k_nodes_per_round = 192;   // spawned tasks per round (budget)
constexpr int k_callbacks_per_round = 512;
constexpr int k_external_threads = 2;    // non-worker threads per round
constexpr int k_roots_per_external = 16;
constexpr int k_max_depth = 3;           // nesting of inline awaits and combinators
constexpr int k_shutdown_every = 6;      // one round in six ends by ~scheduler()

using weft_test::env_double;
using weft_test::splitmix;

// A tiny deterministic generator that lives in coroutine frames.
struct rng {
  std::uint64_t s;
  explicit rng(std::uint64_t seed) : s(splitmix(seed) | 1) {}
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
  bool percent(int p) { return below(100) < p; }
};

// The exception the programs throw. `id` names the thrower (a task id, or
// -1 for a combinator child).
struct fault : std::runtime_error {
  explicit fault(int who) : std::runtime_error("torture fault from " + std::to_string(who)), id(who) {}
  int id;
};
struct callback_fault : std::runtime_error {
  callback_fault() : std::runtime_error("torture done-callback fault") {}
};

using weft_test::failure_log;

// ---- what each spawned task records about itself

enum body_end : int { k_end_none, k_end_returned, k_end_failed, k_end_cancelled, k_end_other };
const char* const k_end_names[] = {"none", "returned", "failed", "cancelled", "other"};

// What a program step is doing (for the watchdog).
enum op : int {
  op_idle, op_yield, op_sleep, op_inline, op_spawn, op_await, op_when_all, op_when_any, op_group,
  op_timeout, op_shield, op_uncancellable, op_fault, op_cancel, op_callback, op_check,
  op_when_all_tuple, op_semaphore, op_mutex, op_queue, op_future, op_to_thread, op_count
};
const char* const k_op_names[] = {"idle",    "yield",   "sleep",         "inline",   "spawn",
                                  "await",   "when_all", "when_any",     "group",    "timeout",
                                  "shield",  "uncancellable", "fault",   "cancel",   "callback",
                                  "check",   "when_all(tuple)", "semaphore", "mutex", "queue",
                                  "future",  "to_thread"};

// One spawned task. `id`, `expected`, `seed` are written by the spawner
// before spawn() (published to the task by the queue); `handle` is written
// after spawn() returns and published to other threads by `published`.
struct record {
  int id = 0;
  int expected = 0;
  std::uint64_t seed = 0;
  weft::task_handle<int> handle;
  std::atomic<bool> published{false};
  std::atomic<int> started{0};
  std::atomic<int> end{k_end_none};
  std::atomic<int> fault_id{-100};
  std::atomic<int> doing{op_idle};  // op * 10 + depth of the latest step
};

struct round_stats {
  // Spawned tasks, and the tasks created to run as combinator children
  // (when_all, when_any, timeout, uncancellable) or awaited inline.
  long tasks = 0, children = 0, inline_awaits = 0, cancels = 0, faults = 0;
  // How the tasks ended (to show the mix, not checked here).
  long succeeded = 0, failed = 0, cancelled = 0, never_ran = 0;
};

class round_ctx {
 public:
  round_ctx(long round, std::uint64_t seed, std::size_t workers, failure_log& log)
      : round_(round),
        seed_(seed),
        log_(log),
        records_(new record[k_nodes_per_round]),
        callback_runs_(new std::atomic<int>[k_callbacks_per_round]),
        sched_(std::make_unique<weft::scheduler>(workers)) {
    for (int i = 0; i < k_callbacks_per_round; ++i) callback_runs_[i].store(0);
  }

  weft::scheduler* sched() { return sched_.get(); }
  void destroy_scheduler() { sched_.reset(); }
  long round() const { return round_; }
  std::uint64_t seed() const { return seed_; }

  void fail(const std::string& what) {
    log_.add("round " + std::to_string(round_) + ": " + what + " (seed " + std::to_string(g_seed) +
             ")");
  }
  static inline std::uint64_t g_seed = 0;

  // ---- records

  int claimed() const { return std::min(claimed_.load(), k_nodes_per_round); }
  record& at(int id) { return records_[id]; }

  // A record to spawn into, or null when the round's budget is spent.
  record* claim() {
    int id = claimed_.fetch_add(1);
    if (id >= k_nodes_per_round) return nullptr;
    record& r = records_[id];
    r.id = id;
    r.expected = id * 7 + 1;
    r.seed = splitmix(seed_ ^ (static_cast<std::uint64_t>(id) << 20));
    return &r;
  }
  void publish(record& r, weft::task_handle<int> h) {
    r.handle = std::move(h);
    // release: pairs with the acquire in published(); the handle is written.
    r.published.store(true, std::memory_order_release);
  }
  // A published record with an id in [lo, claimed), or null.
  record* pick(int lo, rng& g) {
    int n = claimed();
    if (lo >= n) return nullptr;
    record& r = records_[lo + g.below(n - lo)];
    return r.published.load(std::memory_order_acquire) ? &r : nullptr;
  }

  // ---- done callbacks

  // Registers a callback on `r` that counts its run in its own slot; some
  // cancel another task, one in a while throws.
  void add_callback(record& r, rng& g) {
    int slot = callbacks_claimed_.fetch_add(1);
    if (slot >= k_callbacks_per_round) return;
    const bool throws = g.percent(10) && throws_left_.fetch_sub(1) > 0;
    record* victim = g.percent(30) ? pick(0, g) : nullptr;
    try {
      r.handle.add_done_callback([this, slot, throws, victim](const weft::task_handle<int>& h) {
        if (!h.done()) fail("a done callback ran before its task was done");
        callback_runs_[slot].fetch_add(1);
        if (victim != nullptr) cancel(*victim, "cancelled by a done callback");
        if (throws) {
          callback_throws_.fetch_add(1);
          throw callback_fault();
        }
      });
    } catch (const callback_fault&) {
      // The task was already done: the callback ran here and its exception
      // propagates to the caller, as documented.
      callback_throws_inline_.fetch_add(1);
    }
  }
  int callbacks_claimed() const { return std::min(callbacks_claimed_.load(), k_callbacks_per_round); }
  int callback_runs(int slot) const { return callback_runs_[slot].load(); }
  long callback_throws() const { return callback_throws_.load(); }
  long callback_throws_inline() const { return callback_throws_inline_.load(); }
  void allow_throwing_callbacks(int n) { throws_left_.store(n); }

  // ---- cancels and faults

  void cancel(record& r, const char* message) {
    cancels_.fetch_add(1, std::memory_order_relaxed);
    if (!r.handle.cancel(message) && !r.handle.done()) {
      fail("task " + std::to_string(r.id) + ": cancel() returned false while it was not done");
    }
  }
  [[noreturn]] void throw_fault(int who) {
    faults_.fetch_add(1, std::memory_order_relaxed);
    throw fault(who);
  }

  // A task created to run as a combinator's child, or awaited inline.
  void count_child(int n = 1) { children_.fetch_add(n, std::memory_order_relaxed); }
  void count_inline() { inline_awaits_.fetch_add(1, std::memory_order_relaxed); }

  round_stats totals() const {
    round_stats t;
    t.tasks = claimed();
    t.children = children_.load();
    t.inline_awaits = inline_awaits_.load();
    t.cancels = cancels_.load();
    t.faults = faults_.load() + callback_throws_.load();
    return t;
  }

 private:
  long round_;
  std::uint64_t seed_;
  failure_log& log_;
  std::unique_ptr<record[]> records_;
  std::atomic<int> claimed_{0};
  std::unique_ptr<std::atomic<int>[]> callback_runs_;
  std::atomic<int> callbacks_claimed_{0};
  std::atomic<int> throws_left_{0};
  std::atomic<long> callback_throws_{0}, callback_throws_inline_{0};
  std::atomic<long> cancels_{0}, faults_{0};
  std::atomic<long> children_{0}, inline_awaits_{0};

 public:
  // The primitives the programs share, checked at the end of the round: no
  // permit, lock or item lost or made up.
  static constexpr std::size_t k_permits = 2;
  weft::semaphore permits{k_permits};
  weft::mutex lock;
  long guarded = 0;                // touched only under `lock`
  std::atomic<long> sections{0};   // critical sections entered
  weft::queue<int> items{4};
  std::atomic<long> pushed{0}, popped{0};

 private:
  // Declared last: destroyed first, while the records and primitives it
  // refers to live.
  std::unique_ptr<weft::scheduler> sched_;
};

// ---- the programs

weft::task<int> node(round_ctx& c, record& r, counted token);
weft::task<int> program(round_ctx& c, record& self, std::uint64_t seed, int depth, int ret);

// Spawns a new task (free weft::spawn inside a task), or null when the
// round's budget is spent.
record* spawn_node(round_ctx& c) {
  record* r = c.claim();
  if (r == nullptr) return nullptr;
  c.publish(*r, weft::spawn(node(c, *r, counted{r->id})));
  return r;
}

void check_value(round_ctx& c, const record& self, const char* what, int got, int want) {
  if (got != want) {
    c.fail("task " + std::to_string(self.id) + ": " + what + " gave " + std::to_string(got) +
           ", expected " + std::to_string(want));
  }
}

std::vector<weft::task<int>> programs(round_ctx& c, record& self, rng& g, int depth,
                                      std::vector<int>& values) {
  std::vector<weft::task<int>> tasks;
  int n = 2 + g.below(2);
  for (int i = 0; i < n; ++i) {
    values.push_back(g.below(1'000'000));
    tasks.push_back(program(c, self, g.next(), depth + 1, values.back()));
  }
  c.count_child(n);
  return tasks;
}

// One random step of a program. May throw fault or cancelled_error.
weft::task<void> step(round_ctx& c, record& self, rng& g, int depth) {
  // Weighted choice: nesting only above the depth limit, faults rare.
  static constexpr int k_weights[op_count] = {
      0, 10, 8, 8, 6, 8, 4, 4, 3, 4, 3, 3, 2, 5, 4, 2, 2, 2, 2, 2, 2, 1};
  int total = 0;
  for (int w : k_weights) total += w;
  int pick = g.below(total);
  int chosen = 0;
  while (pick >= k_weights[chosen]) pick -= k_weights[chosen++];
  const bool nests = chosen == op_inline || chosen == op_when_all || chosen == op_when_any ||
                     chosen == op_timeout || chosen == op_uncancellable ||
                     chosen == op_when_all_tuple;
  if (nests && depth >= k_max_depth) chosen = op_yield;
  self.doing.store(chosen * 10 + depth, std::memory_order_relaxed);

  switch (chosen) {
    case op_yield:
      co_await weft::yield();
      break;
    case op_sleep:
      co_await weft::sleep_for(std::chrono::microseconds(g.below(300)));
      break;
    case op_inline: {
      int v = g.below(1'000'000);
      c.count_inline();
      check_value(c, self, "an inline child", co_await program(c, self, g.next(), depth + 1, v), v);
      break;
    }
    case op_spawn: {
      record* child = spawn_node(c);
      if (child != nullptr && g.percent(50)) {
        // Awaiting the handle (moved in, or by reference).
        weft::task_handle<int> h = child->handle;
        int v = g.percent(50) ? co_await std::move(h) : co_await h;
        check_value(c, self, "its spawned child", v, child->expected);
      }
      break;
    }
    case op_await: {
      // Only later tasks: waits stay acyclic, so nothing can deadlock.
      if (record* target = c.pick(self.id + 1, g)) {
        weft::task_handle<int> h = target->handle;
        check_value(c, self, "an awaited handle", co_await h, target->expected);
      }
      break;
    }
    case op_when_all: {
      std::vector<int> values;
      std::vector<int> got = co_await weft::when_all(programs(c, self, g, depth, values));
      if (got != values) c.fail("task " + std::to_string(self.id) + ": when_all gave wrong values");
      break;
    }
    case op_when_all_tuple: {
      int a = g.below(1000), b = g.below(1000);
      c.count_child(2);
      auto [x, y] = co_await weft::when_all(program(c, self, g.next(), depth + 1, a),
                                            program(c, self, g.next(), depth + 1, b));
      check_value(c, self, "when_all(a, b).first", x, a);
      check_value(c, self, "when_all(a, b).second", y, b);
      break;
    }
    case op_when_any: {
      std::vector<int> values;
      auto [index, v] = co_await weft::when_any(programs(c, self, g, depth, values));
      if (index >= values.size()) {
        c.fail("task " + std::to_string(self.id) + ": when_any index out of range");
      } else {
        check_value(c, self, "when_any", v, values[index]);
      }
      break;
    }
    case op_group: {
      weft::task_group group;
      std::vector<record*> members;
      for (int i = 1 + g.below(3); i > 0; --i) {
        record* r = c.claim();
        if (r == nullptr) break;
        c.publish(*r, group.spawn(node(c, *r, counted{r->id})));
        members.push_back(r);
      }
      co_await group.join();
      for (record* r : members) {
        if (!r->handle.done()) {
          c.fail("task " + std::to_string(r->id) + " not done after its group's join()");
        }
      }
      break;
    }
    case op_timeout: {
      int v = g.below(1'000'000);
      c.count_child();
      try {
        check_value(c, self, "a timeout's child",
                    co_await weft::timeout(std::chrono::microseconds(g.below(600) - 50),
                                           program(c, self, g.next(), depth + 1, v)),
                    v);
      } catch (const weft::timeout_error&) {
      }
      break;
    }
    case op_shield: {
      record* target = g.percent(50) ? c.pick(self.id + 1, g) : spawn_node(c);
      if (target != nullptr) {
        check_value(c, self, "a shielded handle", co_await weft::shield(target->handle),
                    target->expected);
      }
      break;
    }
    case op_uncancellable: {
      int v = g.below(1'000'000);
      c.count_child();
      if (g.percent(30)) {
        try {
          check_value(c, self, "an uncancellable child with grace",
                      co_await weft::uncancellable(program(c, self, g.next(), depth + 1, v),
                                                   std::chrono::microseconds(g.below(2000))),
                      v);
        } catch (const weft::timeout_error&) {
        }
      } else {
        check_value(c, self, "an uncancellable child",
                    co_await weft::uncancellable(program(c, self, g.next(), depth + 1, v)), v);
      }
      break;
    }
    case op_fault:
      c.throw_fault(self.id);
      break;
    case op_cancel:
      if (record* target = c.pick(0, g)) c.cancel(*target, "cancelled by a task");
      break;
    case op_callback:
      if (record* target = c.pick(0, g)) c.add_callback(*target, g);
      break;
    case op_check:
      weft::this_task::throw_if_cancelled();
      break;
    case op_semaphore: {
      auto permit = co_await c.permits.scoped_acquire();
      if (c.permits.available() >= round_ctx::k_permits) c.fail("a permit held but not taken");
      co_await weft::yield();  // held across a suspension
      break;
    }
    case op_mutex: {
      auto guard = co_await c.lock.scoped_lock();
      ++c.guarded;
      c.sections.fetch_add(1, std::memory_order_relaxed);
      if (g.percent(50)) co_await weft::yield();
      break;
    }
    case op_queue: {
      // Each task pushes before it pops, so a popper always has an item
      // coming: the waits cannot deadlock.
      int v = g.below(1000);
      co_await c.items.push(std::move(v));
      c.pushed.fetch_add(1, std::memory_order_relaxed);
      static_cast<void>(co_await c.items.pop());
      c.popped.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    case op_future: {
      weft::future<int> f;
      const int v = g.below(1000);
      auto set = weft::to_thread([f, v] { f.set_value(v); });
      auto get = [](weft::future<int> f) -> weft::task<int> { co_return co_await f; };
      c.count_child(2);
      auto [set_done, got] = co_await weft::when_all(std::move(set), get(f));
      static_cast<void>(set_done);
      check_value(c, self, "a future set on a blocking thread", got, v);
      break;
    }
    case op_to_thread: {
      const int v = g.below(1000);
      check_value(c, self, "to_thread", co_await weft::to_thread([v] { return v; }), v);
      break;
    }
    default:
      break;
  }
}

// A sequence of steps; returns `ret` unless something escapes. Some levels
// catch faults and go on; a few catch cancelled_error and return at once
// (a task that does so without reaching another suspension point succeeds).
weft::task<int> program(round_ctx& c, record& self, std::uint64_t seed, int depth, int ret) {
  counted local{depth};  // freed with the frame
  rng g(seed);
  const bool catches_faults = g.percent(25);
  const bool swallows_cancel = g.percent(5);
  const int steps = 1 + g.below(depth == 0 ? 6 : 3);
  for (int i = 0; i < steps; ++i) {
    bool stop = false;
    try {
      co_await step(c, self, g, depth);
    } catch (const fault&) {
      if (!catches_faults) throw;
    } catch (const weft::cancelled_error&) {
      if (!swallows_cancel) throw;
      stop = true;
    }
    if (stop) break;
  }
  co_return ret;
}

// A spawned task: runs its program and records how its body ended.
weft::task<int> node(round_ctx& c, record& r, counted token) {
  r.started.fetch_add(1, std::memory_order_relaxed);
  try {
    int v = co_await program(c, r, r.seed, 0, r.expected);
    r.end.store(k_end_returned, std::memory_order_relaxed);
    co_return v + token.value - r.id;  // == expected
  } catch (const fault& f) {
    r.fault_id.store(f.id, std::memory_order_relaxed);
    r.end.store(k_end_failed, std::memory_order_relaxed);
    throw;
  } catch (const weft::cancelled_error&) {
    r.end.store(k_end_cancelled, std::memory_order_relaxed);
    throw;
  } catch (...) {
    r.end.store(k_end_other, std::memory_order_relaxed);
    throw;
  }
}

// ---- a non-worker thread's part of a round

void external(round_ctx& c, std::uint64_t seed) {
  rng g(seed);
  for (int i = 0; i < k_roots_per_external; ++i) {
    if (record* r = c.claim()) c.publish(*r, c.sched()->spawn(node(c, *r, counted{r->id})));
    // Then a few random acts on random tasks, racing them wherever they are.
    for (int acts = g.below(4); acts > 0; --acts) {
      record* target = c.pick(0, g);
      if (target == nullptr) continue;
      switch (g.below(6)) {
        case 0:
        case 1:
          c.cancel(*target, "cancelled by a thread");
          break;
        case 2:
          c.add_callback(*target, g);
          break;
        case 3:
          target->handle.wait();  // several threads may wait on one handle
          if (!target->handle.done()) c.fail("wait() returned before done");
          break;
        case 4:
          for (int spin = g.below(2000); spin > 0 && !target->handle.done(); --spin) {
            weft::detail::cpu_relax();
          }
          break;
        default:
          std::this_thread::yield();
          break;
      }
    }
  }
}

// ---- checking a round

using weft_test::outcome;

// The terminal state as the public API reports it, with the queries
// checked against each other; nullopt (and `why`) if they disagree.
std::optional<outcome> classify(const weft::task_handle<int>& h, std::string& why, int& value,
                                int& fault_id) {
  std::optional<outcome> o = weft_test::terminal_outcome(h, why);
  if (o == outcome::cancelled) {
    if (!h.cancel_reason()) {
      why = "cancelled without a cancel_reason()";
      return std::nullopt;
    }
    if (h.cancel()) {
      why = "cancel() of a done task returned true";
      return std::nullopt;
    }
  } else if (o == outcome::failed) {
    try {
      std::rethrow_exception(h.exception());
    } catch (const fault& f) {
      fault_id = f.id;
    } catch (const std::exception& x) {
      why = std::string("failed with an unexpected exception: ") + x.what();
      return std::nullopt;
    }
  } else if (o == outcome::succeeded) {
    value = h.result();
  }
  return o;
}

// Waits (bounded by the watchdog) for every task of the round to be done.
void wait_all(round_ctx& c) {
  for (int i = 0; i < c.claimed(); ++i) {
    record& r = c.at(i);
    // Claimed by a spawner that is still running: it publishes at once.
    while (!r.published.load(std::memory_order_acquire)) std::this_thread::yield();
    r.handle.wait();
  }
}

/// After every task of the round is terminal: every permit is back, the
/// lock is free and excluded, and every item pushed was popped or is left.
void check_primitives(round_ctx& c) {
  if (c.permits.available() != round_ctx::k_permits) {
    c.fail("the semaphore holds " + std::to_string(c.permits.available()) + " permits, not " +
           std::to_string(round_ctx::k_permits));
  }
  if (c.lock.locked()) c.fail("the mutex is still locked");
  if (c.guarded != c.sections.load()) c.fail("the mutex let two holders in");
  long left = 0;
  while (c.items.try_pop()) ++left;
  if (c.popped.load() + left != c.pushed.load()) {
    c.fail("queue: " + std::to_string(c.pushed.load()) + " pushed, " +
           std::to_string(c.popped.load()) + " popped and " + std::to_string(left) + " left");
  }
}

void check_round(round_ctx& c, bool shut_down, round_stats& mix) {
  check_primitives(c);
  long counts[3] = {0, 0, 0};
  for (int i = 0; i < c.claimed(); ++i) {
    record& r = c.at(i);
    const std::string who = "task " + std::to_string(i);
    if (!r.published.load(std::memory_order_acquire)) {
      c.fail(who + " was claimed but never spawned");
      continue;
    }
    std::string why;
    int value = -1, fault_id = -100;
    std::optional<outcome> o = classify(r.handle, why, value, fault_id);
    if (!o) {
      c.fail(who + ": " + why);
      continue;
    }
    ++counts[static_cast<int>(*o)];
    const int started = r.started.load();
    const int end = r.end.load();
    if (started > 1) c.fail(who + ": body started " + std::to_string(started) + " times");
    const std::string got = std::string(" but its body ") +
                            (started == 0 ? "never ran" : std::string("ended ") + k_end_names[end]);
    switch (*o) {
      case outcome::succeeded:
        if (end != k_end_returned) c.fail(who + " succeeded" + got);
        if (value != r.expected) c.fail(who + " succeeded with a wrong value");
        break;
      case outcome::failed:
        if (end != k_end_failed) c.fail(who + " failed" + got);
        if (fault_id != r.fault_id.load()) c.fail(who + " failed with another fault than its body's");
        break;
      case outcome::cancelled:
        if (started != 0 && end != k_end_cancelled) c.fail(who + " ended cancelled" + got);
        break;
    }
    if (started == 0 && *o != outcome::cancelled) c.fail(who + " is not cancelled, yet never ran");
    if (started == 0) ++mix.never_ran;
  }
  mix.succeeded += counts[0];
  mix.failed += counts[1];
  mix.cancelled += counts[2];
  // Every registered done callback ran exactly once. A callback runs on
  // the thread that ended its task, possibly just after wait() returned:
  // let the stragglers finish (the watchdog bounds this).
  for (int slot = 0; slot < c.callbacks_claimed(); ++slot) {
    while (c.callback_runs(slot) == 0) std::this_thread::yield();
    if (c.callback_runs(slot) != 1) {
      c.fail("done callback " + std::to_string(slot) + " ran " +
             std::to_string(c.callback_runs(slot)) + " times");
    }
  }
  if (shut_down) return;  // no scheduler left to ask for stats
  // The accounting of a task may trail its terminal state by a few
  // instructions: wait until it settles.
  auto settled = [&] {
    weft::scheduler_stats st = c.sched()->stats();
    return st.succeeded + st.failed + st.cancelled == st.spawned;
  };
  while (!settled()) std::this_thread::yield();
  weft::scheduler_stats st = c.sched()->stats();
  auto expect = [&](const char* what, std::uint64_t got, long want) {
    if (got != static_cast<std::uint64_t>(want)) {
      c.fail(std::string("stats().") + what + " is " + std::to_string(got) + ", expected " +
             std::to_string(want));
    }
  };
  expect("spawned", st.spawned, c.claimed());
  expect("succeeded", st.succeeded, counts[0]);
  expect("failed", st.failed, counts[1]);
  expect("cancelled", st.cancelled, counts[2]);
  expect("callback_errors", st.callback_errors, c.callback_throws() - c.callback_throws_inline());
}

// ---- the watchdog

class watchdog {
 public:
  explicit watchdog(double stall_seconds)
      : stall_(stall_seconds), poll_(500ms, [this] { check(); }) {}

  // The round being run and what the main thread is doing in it.
  void enter(round_ctx* c, const char* phase) {
    std::lock_guard lock(mutex_);
    if (c != current_) since_ = std::chrono::steady_clock::now();
    current_ = c;
    phase_ = phase;
  }

 private:
  void check() {
    std::lock_guard lock(mutex_);
    if (current_ == nullptr) return;
    auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - since_);
    if (elapsed.count() > stall_) dump_and_exit(*current_, elapsed.count());
  }

  void dump_and_exit(round_ctx& c, double seconds) {
    std::fprintf(stderr,
                 "torture WATCHDOG: round %ld stuck for %.0f s while the main thread was %s "
                 "(seed %llu, replay: --seed %llu)\n",
                 c.round(), seconds, phase_, static_cast<unsigned long long>(round_ctx::g_seed),
                 static_cast<unsigned long long>(round_ctx::g_seed));
    int shown = 0;
    for (int i = 0; i < c.claimed(); ++i) {
      record& r = c.at(i);
      if (!r.published.load(std::memory_order_acquire)) {
        std::fprintf(stderr, "  task %d: claimed, not spawned yet\n", i);
        continue;
      }
      if (r.handle.done()) continue;
      if (++shown > 40) continue;
      std::optional<weft::cancel_reason> reason = r.handle.cancel_reason();
      const int doing = r.doing.load();
      std::fprintf(stderr,
                   "  task %d NOT DONE: started=%d body_end=%s last step=%s at depth %d, "
                   "cancel requests=%u%s%s\n",
                   i, r.started.load(), k_end_names[r.end.load()], k_op_names[doing / 10],
                   doing % 10, r.handle.cancelling(), reason ? ", reason " : "",
                   reason ? std::string(weft::to_string(reason->kind)).c_str() : "");
    }
    if (shown > 40) std::fprintf(stderr, "  ... %d more not done\n", shown - 40);
    int stuck_callbacks = 0;
    for (int slot = 0; slot < c.callbacks_claimed(); ++slot) {
      if (c.callback_runs(slot) == 0) ++stuck_callbacks;
    }
    std::fprintf(stderr, "  done callbacks not run: %d of %d\n", stuck_callbacks,
                 c.callbacks_claimed());
    std::fflush(stderr);
    std::_Exit(3);
  }

  double stall_;
  std::mutex mutex_;  // guards current_, phase_ and since_ (enter() and check())
  round_ctx* current_ = nullptr;
  const char* phase_ = "idle";
  std::chrono::steady_clock::time_point since_;
  weft_test::poll_thread poll_;  // last: polls only once the fields above exist
};

}  // namespace

TEST(Torture, EveryTaskEndsAsItsBodyDidEveryCallbackRunsOnceAndEveryFrameIsFreed) {
  const std::uint64_t seed = g_flags.seed ? *g_flags.seed : std::random_device{}();
  round_ctx::g_seed = seed;
  const bool soak = g_flags.seconds.has_value();
  const double seconds = soak ? *g_flags.seconds : k_default_seconds;
  const long max_rounds = g_flags.rounds ? *g_flags.rounds : (soak ? -1 : k_default_rounds);
  const double stall = env_double("WEFT_STRESS_STALL_S", 60.0);
  const char* chaos = std::getenv("WEFT_CHAOS");
  std::printf("torture: seed %llu (replay: --seed %llu), %s, chaos %s\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed),
              soak ? ("soak of " + std::to_string(static_cast<long>(seconds)) + " s").c_str()
                   : ("up to " + std::to_string(max_rounds) + " rounds").c_str(),
              chaos != nullptr && *chaos != '\0' && std::string(chaos) != "0" ? "on" : "off");
  std::fflush(stdout);
  SCOPED_TRACE("seed " + std::to_string(seed));
  RecordProperty("seed", std::to_string(seed));

  counted::reset();
  failure_log log;
  round_stats total;
  long rounds = 0;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  {
    watchdog dog(stall);
    for (;; ++rounds) {
      if (max_rounds >= 0 && rounds >= max_rounds) break;
      // Time ends a soak; a default run stops after its few seconds too,
      // but g_flags.rounds makes the count exact.
      if (!g_flags.rounds && rounds > 0 && elapsed() >= seconds) break;
      if (log.count() != 0) break;
      const std::uint64_t round_seed = splitmix(seed + static_cast<std::uint64_t>(rounds));
      rng g(round_seed);
      const std::size_t workers = 1 + static_cast<std::size_t>(g.below(4));
      const bool shut_down = rounds % k_shutdown_every == k_shutdown_every - 1;
      round_stats r;
      {
        round_ctx c(rounds, round_seed, workers, log);
        c.allow_throwing_callbacks(rounds % 32 == 0 ? 1 : 0);  // each prints a report
        dog.enter(&c, "running the external threads");
        std::vector<std::thread> threads;
        for (int t = 0; t < k_external_threads; ++t) {
          threads.emplace_back(external, std::ref(c), g.next());
        }
        for (auto& t : threads) t.join();
        if (shut_down) {
          // Under full load: tasks sleeping, running, queued, in groups,
          // awaiting each other.
          dog.enter(&c, "destroying the scheduler under load");
          c.destroy_scheduler();
        }
        dog.enter(&c, "waiting for every task");
        wait_all(c);
        dog.enter(&c, "checking the round");
        r = c.totals();
        check_round(c, shut_down, r);
        dog.enter(&c, "destroying the scheduler");
        c.destroy_scheduler();
        dog.enter(nullptr, "freeing the round");  // the watchdog lets go of it first
      }
      // Every frame (with its counting object) is gone with the handles.
      if (long live = counted::live.exchange(0); live != 0) {
        log.add("round " + std::to_string(rounds) + ": " + std::to_string(live) +
                " frame objects still alive after the round (seed " + std::to_string(seed) + ")");
      }
      if (long twice = counted::double_destroyed.exchange(0); twice != 0) {
        log.add("round " + std::to_string(rounds) + ": " + std::to_string(twice) +
                " frame objects destroyed twice (seed " + std::to_string(seed) + ")");
      }
      total.tasks += r.tasks;
      total.children += r.children;
      total.inline_awaits += r.inline_awaits;
      total.cancels += r.cancels;
      total.faults += r.faults;
      total.succeeded += r.succeeded;
      total.failed += r.failed;
      total.cancelled += r.cancelled;
      total.never_ran += r.never_ran;
    }
  }
  EXPECT_EQ(log.count(), 0) << log.report();
  EXPECT_GT(rounds, 0);
  std::printf("torture: outcomes: %ld succeeded, %ld failed, %ld cancelled (%ld before they ran)\n",
              total.succeeded, total.failed, total.cancelled, total.never_ran);
  std::printf("torture: tasks created %ld (spawned %ld, combinator children %ld), inline awaits %ld\n",
              total.tasks + total.children, total.tasks, total.children, total.inline_awaits);
  std::printf("torture: tasks %ld, cancels %ld, faults %ld, rounds %ld, seconds %.1f, failures %ld\n",
              total.tasks + total.children, total.cancels, total.faults, rounds, elapsed(),
              log.count());
  std::fflush(stdout);
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);  // removes the gtest flags
  if (!weft_test::parse_soak_flags(argc, argv, "torture", g_flags)) return 2;
  return RUN_ALL_TESTS();
}
