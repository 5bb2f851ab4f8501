#pragma once
// Helpers shared by weft's tests: a counting type that catches leaks and
// double destruction, misuse checks that look at the type and the message,
// and gates that pin a scheduler's workers without sleeping.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>
#include <latch>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// Invariant failures of a stress or torture round, from any thread: all
/// are counted, the first 20 kept for the report.
class failure_log {
 public:
  void add(std::string what) {
    std::lock_guard lock(mutex_);
    ++count_;
    if (first_.size() < 20) first_.push_back(std::move(what));
  }
  long count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }
  std::string report() const {
    std::lock_guard lock(mutex_);
    std::string text;
    for (const auto& f : first_) text += "  " + f + "\n";
    return text;
  }

 private:
  mutable std::mutex mutex_;
  long count_ = 0;
  std::vector<std::string> first_;
};

/// Counts its run, then returns `v` without suspending.
inline weft::task<int> mark_and_return(std::atomic<int>& runs, int v) {
  runs.fetch_add(1);
  co_return v;
}

/// Returns `v` after one yield (a suspension point).
inline weft::task<int> value_after_yield(int v) {
  co_await weft::yield();
  co_return v;
}

/// A positive number from the environment variable `name`, or `fallback`.
inline double env_double(const char* name, double fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  double v = std::strtod(text, &end);
  return (end != text && v > 0) ? v : fallback;
}

/// SplitMix64: a well-mixed 64-bit value from `x` (for deriving seeds).
inline std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// Busy-waits for `pauses` pause instructions: a random delay that widens
/// race windows in stress tests (never a way to wait for something).
inline void spin(std::uint64_t pauses) {
  for (std::uint64_t i = 0; i < pauses; ++i) weft::detail::cpu_relax();
}

/// The flags of a soak program (tests/torture.cpp, tests/fork_join_storm.cpp):
/// `--seed S`, `--seconds N`, `--rounds N`, each also as `--flag=V`.
struct soak_flags {
  std::optional<std::uint64_t> seed;
  std::optional<double> seconds;
  std::optional<long> rounds;
};

/// Parses what InitGoogleTest left of argv into `out`; on an unknown
/// argument prints what `program` accepts and returns false.
inline bool parse_soak_flags(int argc, char** argv, const char* program, soak_flags& out) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value_of = [&](const char* name) -> std::optional<std::string> {
      const std::string flag = std::string("--") + name;
      if (arg == flag && i + 1 < argc) return std::string(argv[++i]);
      if (arg.rfind(flag + "=", 0) == 0) return arg.substr(flag.size() + 1);
      return std::nullopt;
    };
    if (auto v = value_of("seed")) {
      out.seed = std::stoull(*v);
    } else if (auto s = value_of("seconds")) {
      out.seconds = std::stod(*s);
    } else if (auto n = value_of("rounds")) {
      out.rounds = std::stol(*n);
    } else {
      std::fprintf(stderr, "%s: unknown argument %s (use --seed S, --seconds N, --rounds N)\n",
                   program, arg.c_str());
      return false;
    }
  }
  return true;
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
