#pragma once
// Helpers shared by weft's tests: a counting type that catches leaks and
// double destruction, misuse checks that look at the type and the message,
// gates that pin a scheduler's workers without sleeping, small task bodies,
// and a guard that turns a hang into a report. The stress and soak programs
// add tests/stress_support.hpp.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
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

/// Ends the process with `what` if not destroyed within `limit`: for tests
/// whose failure mode is a hang, so they report instead of waiting for the
/// ctest timeout. A failure detector only; it orders nothing.
class hang_guard {
 public:
  hang_guard(std::chrono::seconds limit, std::string what)
      : what_(std::move(what)), thread_([this, limit] {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "HANG: %s did not finish within %lld s\n", what_.c_str(),
                         static_cast<long long>(limit.count()));
            std::fflush(stderr);
            std::_Exit(4);
          }
        }) {}
  ~hang_guard() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  hang_guard(const hang_guard&) = delete;
  hang_guard& operator=(const hang_guard&) = delete;

 private:
  std::string what_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

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
