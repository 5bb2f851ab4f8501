#pragma once
// Helpers shared by weft's tests: a counting type that catches leaks and
// double destruction, misuse checks that look at the type and the message,
// gates that pin a scheduler's workers without sleeping, small task bodies,
// probes that record what a cancelled child saw, the checks of a handle's
// terminal state, and a polling thread with the guard built on it that turns
// a hang into a report. The stress and soak programs add
// tests/stress_support.hpp.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <latch>
#include <string>
#include <string_view>
#include <utility>

namespace weft_test {

/// Counts live instances; every instance must be destroyed exactly once.
/// A destroyed instance is poisoned, so a second destruction is counted
/// (and, in the ASan build, reported as a use after free).
struct counted {
  static inline std::atomic<long> live{0};
  static inline std::atomic<long> double_destroyed{0};
  static constexpr std::uint32_t k_alive = 0xA11CE5u;
  static constexpr std::uint32_t k_dead = 0xDEADu;

  std::uint32_t tag = k_alive;
  int value = 0;

  counted() noexcept { live.fetch_add(1); }
  explicit counted(int v) noexcept : value(v) { live.fetch_add(1); }
  counted(const counted& o) noexcept : value(o.value) { live.fetch_add(1); }
  counted(counted&& o) noexcept : value(o.value) { live.fetch_add(1); }
  counted& operator=(const counted&) = default;
  counted& operator=(counted&&) = default;
  ~counted() {
    if (tag != k_alive) {
      double_destroyed.fetch_add(1);
      return;
    }
    tag = k_dead;
    live.fetch_sub(1);
  }

  /// Call at the start of a test that checks the counts at its end.
  static void reset() {
    live = 0;
    double_destroyed = 0;
  }
};

/// True if `text` contains `part`, with a readable failure otherwise.
inline ::testing::AssertionResult contains(std::string_view text, std::string_view part) {
  if (text.find(part) != std::string_view::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

/// A cancel message of `e` (the text of the root request).
inline std::string message_of(const weft::cancelled_error& e) { return e.reason().message; }

/// Blocks the worker that runs it until `release` opens: with a one-worker
/// scheduler, nothing else runs meanwhile, so "before it first runs" is
/// deterministic. Counts `started` down once it holds the worker.
inline weft::task<void> occupy_worker(std::latch& started, std::latch& release) {
  started.count_down();
  release.wait();
  co_return;
}

/// A task that yields until its cancellation throws (it never ends on its
/// own). `started` counts down once it runs; `cleaned` is set by its RAII
/// guard when it ends.
inline weft::task<void> yield_until_cancelled(std::latch& started, std::atomic<bool>& cleaned) {
  struct guard {
    std::atomic<bool>& flag;
    ~guard() { flag = true; }
  } g{cleaned};
  started.count_down();
  for (;;) co_await weft::yield();
}

/// Calls `check()` every `period` on a thread of its own until destroyed,
/// which stops and joins the thread (a check already running finishes
/// first). The period is a poll period, not synchronisation: `check` reads
/// the state it watches with its own locks or atomics. The loop of a
/// watchdog, whose check ends the process when it finds the run stuck.
class poll_thread {
 public:
  template <class Fn>
  poll_thread(std::chrono::milliseconds period, Fn check)
      : thread_([this, period, check = std::move(check)]() mutable {
          std::unique_lock lock(mutex_);
          while (!cv_.wait_for(lock, period, [this] { return stopped_; })) check();
        }) {}
  ~poll_thread() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  poll_thread(const poll_thread&) = delete;
  poll_thread& operator=(const poll_thread&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;  // last: starts once the fields above exist
};

/// Ends the process with `what` if not destroyed within `limit`: for tests
/// whose failure mode is a hang, so they report instead of waiting for the
/// ctest timeout. A failure detector only; it orders nothing.
class hang_guard {
 public:
  hang_guard(std::chrono::seconds limit, std::string what)
      : what_(std::move(what)), poll_(limit, [this, limit] {
          std::fprintf(stderr, "HANG: %s did not finish within %lld s\n", what_.c_str(),
                       static_cast<long long>(limit.count()));
          std::fflush(stderr);
          std::_Exit(4);
        }) {}

 private:
  std::string what_;
  poll_thread poll_;  // last: its first check comes after `limit`
};

/// Waits until `pred()` holds, for at most `limit` (a hang becomes a false
/// return, for the caller to fail on): for an event no latch can signal (a
/// counter the scheduler bumps on its own, a task's cancel seen from its
/// body). Yields between looks, so a waiter sharing a core with the thread
/// it waits for does not hold that thread off.
template <class Pred>
bool eventually(Pred pred, std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

/// Counts its run, then returns `v` without suspending.
inline weft::task<int> mark_and_return(std::atomic<int>& runs, int v) {
  runs.fetch_add(1);
  co_return v;
}

/// Runs `body()` (a task) on `sched` and returns the message of the
/// invalid_state_error it threw, or a description of what happened
/// instead ("no exception", "wrong exception type: ...").
template <class Body>
std::string misuse_message(weft::scheduler& sched, Body body) {
  auto probe = [](Body body) -> weft::task<std::string> {
    try {
      co_await body();
    } catch (const weft::invalid_state_error& e) {
      co_return e.what();
    } catch (const std::exception& e) {
      co_return std::string("wrong exception type: ") + e.what();
    }
    co_return "no exception";
  };
  return weft::sync_wait(sched, probe(std::move(body)));
}

/// Returns `v` after one yield (a suspension point).
inline weft::task<int> value_after_yield(int v) {
  co_await weft::yield();
  co_return v;
}

/// value_after_yield whose frame also holds a `counted` (a parameter, so
/// destroyed with the frame): a frame leaked or freed twice shows in
/// counted::live / counted::double_destroyed. Returns `v + token.value`.
inline weft::task<int> counted_value_after_yield(int v, counted token = counted{}) {
  co_await weft::yield();
  co_return v + token.value;
}

/// An empty task: what is left of a counted_value_after_yield(0) after a
/// move (the task it was moved into is destroyed unstarted).
inline weft::task<int> moved_from_task() {
  weft::task<int> t = counted_value_after_yield(0);
  weft::task<int> sink = std::move(t);
  return t;
}

/// Throws std::runtime_error(`what`) after one yield (a suspension point),
/// so it fails while running on a worker, never at spawn. `T` is the
/// result type the caller needs (a vector of task_handle<void>, say).
template <class T = int>
weft::task<T> fail_after_yield(std::string what = "failing on purpose") {
  co_await weft::yield();
  throw std::runtime_error(what);
}

/// What one child task saw; read after the child ended (its end publishes it).
struct child_probe {
  std::atomic<bool> started{false};
  std::atomic<bool> ended{false};  // set by the child's end_guard
  std::optional<weft::cancel_reason> seen;
};

/// Sets `flag` when destroyed: marks the end of the frame that holds it.
struct end_guard {
  std::atomic<bool>& flag;
  ~end_guard() { flag = true; }
};

/// Sleeps for an hour, so it ends only by cancellation, recording the reason
/// in `p.seen`. Sets `p.started` and counts `asleep` up (if given) first.
inline weft::task<int> sleep_for_an_hour(child_probe& p, std::atomic<int>* asleep = nullptr) {
  end_guard g{p.ended};
  p.started = true;
  if (asleep != nullptr) asleep->fetch_add(1);
  try {
    co_await weft::sleep_for(std::chrono::hours(1));
  } catch (const weft::cancelled_error& e) {
    p.seen = e.reason();
    throw;
  }
  co_return 0;
}

/// Counts `asleep` down, then sleeps for an hour (ends only by cancellation).
inline weft::task<int> count_down_and_sleep_an_hour(std::latch& asleep) {
  asleep.count_down();
  co_await weft::sleep_for(std::chrono::hours(1));
  co_return 0;
}

/// The caller-cancel contract of a combinator: `combine(p, asleep)` awaits
/// it over three sleep_for_an_hour(p[i], &asleep) children. Cancelling the
/// caller with `message` once all three sleep must cut their sleeps short,
/// reach each as parent_cancelled with `message`, and resume the caller only
/// once all three ended. Returns the caller's (cancelled) handle.
template <class Combine>
weft::task_handle<void> expect_caller_cancel_reaches_every_child(weft::scheduler& sched,
                                                                 Combine combine,
                                                                 const std::string& message) {
  child_probe p[3];
  std::atomic<int> asleep{0};
  std::atomic<int> ended_when_resumed{-1};
  auto body = [](Combine combine, child_probe* p, std::atomic<int>& asleep,
                 std::atomic<int>& ended) -> weft::task<void> {
    try {
      co_await combine(p, asleep);
    } catch (const weft::cancelled_error&) {
      ended = int(p[0].ended.load()) + int(p[1].ended.load()) + int(p[2].ended.load());
      throw;
    }
  };
  auto h = sched.spawn(body(std::move(combine), p, asleep, ended_when_resumed));
  while (asleep.load() < 3) std::this_thread::yield();
  // The children sleep an hour: the wait below ends only if the cancel
  // cut their sleeps short (the guard reports a hang long before).
  weft_test::hang_guard guard(std::chrono::seconds(60), "the cancelled caller's wait");
  EXPECT_TRUE(h.cancel(message));
  h.wait();
  EXPECT_TRUE(h.cancelled());
  EXPECT_EQ(ended_when_resumed.load(), 3);
  for (auto& c : p) {
    EXPECT_TRUE(c.seen.has_value());
    if (!c.seen) continue;
    EXPECT_EQ(c.seen->kind, weft::cancel_kind::parent_cancelled);
    EXPECT_EQ(c.seen->message, message);
  }
  return h;
}

/// Returns counted(`v`) after one yield (a suspension point).
inline weft::task<counted> counted_after_yield(int v) {
  co_await weft::yield();
  co_return counted(v);
}

/// sleep_for_an_hour(`p`) in a frame that also holds `c` (destroyed with the
/// frame); returns c.value should the sleep ever end.
inline weft::task<int> hold_counted_and_sleep(counted c, child_probe& p) {
  co_await sleep_for_an_hour(p);
  co_return c.value;
}

/// A fork-join Fibonacci that spawns one branch (named `name`) with
/// weft::spawn and awaits the other inline; fib(n) in the end.
inline weft::task<long> spawning_fib(long n, std::string_view name = {}) {
  if (n < 2) co_return n;
  auto first = weft::spawn(spawning_fib(n - 1, name), name);
  long b = co_await spawning_fib(n - 2, name);
  co_return co_await first + b;
}

/// How a task ended.
enum class outcome { succeeded, failed, cancelled };

/// How the done task of `h` ended, as the public API reports it, with the
/// queries checked against each other: a cancelled task's result() and
/// exception() throw cancelled_error (whose message goes to
/// `cancel_message`, if given); a failed one's exception is not one.
/// Nothing, and `why` says what disagreed, if they disagree or `h` is not
/// done.
template <class T>
std::optional<outcome> terminal_outcome(const weft::task_handle<T>& h, std::string& why,
                                        std::string* cancel_message = nullptr) {
  if (!h.done()) {
    why = "not done";
    return std::nullopt;
  }
  if (h.cancelled()) {
    try {
      static_cast<void>(h.result());
      why = "cancelled() but result() did not throw";
      return std::nullopt;
    } catch (const weft::cancelled_error& e) {
      if (cancel_message != nullptr) *cancel_message = e.reason().message;
    }
    try {
      static_cast<void>(h.exception());
      why = "cancelled() but exception() did not throw";
      return std::nullopt;
    } catch (const weft::cancelled_error&) {
    }
    return outcome::cancelled;
  }
  std::exception_ptr e = h.exception();
  if (e == nullptr) return outcome::succeeded;
  try {
    std::rethrow_exception(e);
  } catch (const weft::cancelled_error&) {
    why = "failed with cancelled_error but cancelled() is false";
    return std::nullopt;
  } catch (...) {
  }
  return outcome::failed;
}

/// Holds the only worker of a one-worker scheduler from construction (which
/// returns once the worker is held) until unpin() or destruction, so tasks
/// spawned meanwhile stay queued behind it, unstarted.
class worker_pin {
 public:
  explicit worker_pin(weft::scheduler& sched)
      : handle_(sched.spawn(occupy_worker(started_, release_))) {
    started_.wait();
  }
  ~worker_pin() { unpin(); }
  worker_pin(const worker_pin&) = delete;
  worker_pin& operator=(const worker_pin&) = delete;

  /// Releases the worker and waits until the pinning task has ended; later
  /// calls do nothing.
  void unpin() {
    if (!pinned_) return;
    pinned_ = false;
    release_.count_down();
    handle_.wait();
  }

  /// The task that holds the worker (done only once unpinned).
  const weft::task_handle<void>& pinning_task() const { return handle_; }

 private:
  std::latch started_{1};
  std::latch release_{1};
  weft::task_handle<void> handle_;
  bool pinned_ = true;
};

/// On a one-worker scheduler: returns once every task spawned on it before
/// this call has run up to where it suspends or ends (the one worker takes
/// queued tasks oldest first, so it runs them before this empty one). How a
/// test knows that a task is waiting in a primitive's list, in order.
inline void run_queued_tasks(weft::scheduler& one_worker) {
  auto empty = []() -> weft::task<void> { co_return; };
  weft::sync_wait(one_worker, empty());
}

/// How many tasks of `sched` (built with scheduler_options::track_tasks)
/// dump() shows in the state `state` ("suspended in event::wait", ...).
inline std::size_t tasks_in_state(weft::scheduler& sched, std::string_view state) {
  std::ostringstream out;
  sched.dump(out);
  const std::string text = out.str();
  std::size_t n = 0;
  for (auto at = text.find(state); at != std::string::npos; at = text.find(state, at + 1)) ++n;
  return n;
}

/// Returns once `n` tasks of `sched` (tracked) are in the state `state`.
inline void await_tasks_in_state(weft::scheduler& sched, std::string_view state, std::size_t n) {
  while (tasks_in_state(sched, state) < n) std::this_thread::yield();
}

}  // namespace weft_test

/// Runs `stmt`, which must throw exactly `E` (or a subclass) whose message
/// contains `fix`: misuse must say what to do instead.
#define WEFT_EXPECT_THROW_NAMING(stmt, E, fix)                                    \
  do {                                                                           \
    bool weft_thrown_ = false;                                                   \
    try {                                                                        \
      stmt;                                                                      \
    } catch (const E& weft_e_) {                                                 \
      weft_thrown_ = true;                                                       \
      EXPECT_TRUE(::weft_test::contains(weft_e_.what(), fix));                   \
    }                                                                            \
    EXPECT_TRUE(weft_thrown_) << #stmt " did not throw " #E;                     \
  } while (false)
