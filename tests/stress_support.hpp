#pragma once
// Helpers shared by the stress programs (tests/*_stress.cpp) and the soak
// programs (tests/torture.cpp, tests/fork_join_storm.cpp): the run's seed
// (given with --seed S or chosen fresh, printed so that a run can be
// replayed), the WEFT_STRESS_SCALE factor, delays that widen race windows,
// and the log of invariant failures.
//
// Only weft/detail/config.hpp and the standard library: deque_stress.cpp
// tests a detail header alone and must not pull in the rest of weft.

#include <weft/detail/config.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace weft_test {

/// A positive number from the environment variable `name`, or `fallback`.
inline double env_double(const char* name, double fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  double v = std::strtod(text, &end);
  return (end != text && v > 0) ? v : fallback;
}

/// The factor WEFT_STRESS_SCALE multiplies a program's round or item
/// counts by: its value if set (and positive), else 1, or `sanitized` in a
/// sanitizer build (WEFT_SANITIZED), where rounds run several times slower.
inline double stress_scale(double sanitized = 1.0) {
  return env_double("WEFT_STRESS_SCALE", WEFT_SANITIZED ? sanitized : 1.0);
}

/// `n` times stress_scale(sanitized), never below `at_least`.
inline long scaled_count(long n, long at_least, double sanitized = 1.0) {
  return std::max(at_least, static_cast<long>(static_cast<double>(n) * stress_scale(sanitized)));
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

/// Waits until `done()` is true: a few hundred pauses first (a handover
/// between two running threads takes less), then a yield between looks, so
/// that when the thread it waits for shares this one's core (ctest runs
/// another test beside it) that thread gets the core at once instead of
/// at the end of this one's time slice.
template <class Done>
void wait_spinning_then_yielding(Done done) {
  for (int looks = 0; !done(); ++looks) {
    if (looks < 512) {
      weft::detail::cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

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

/// The value of `--name V` or `--name=V` at argv[i] (advancing `i` past V
/// in the first form), or nothing if argv[i] is another argument.
inline std::optional<std::string> flag_value(int argc, char** argv, int& i, const char* name) {
  const std::string arg = argv[i];
  const std::string flag = std::string("--") + name;
  if (arg == flag && i + 1 < argc) return std::string(argv[++i]);
  if (arg.rfind(flag + "=", 0) == 0) return arg.substr(flag.size() + 1);
  return std::nullopt;
}

// ---- stress programs: --seed S only

namespace stress_detail {
// Written once by stress_main() before any test runs; read by the tests.
inline std::uint64_t g_seed = 0;
inline const char* g_program = "stress";
}  // namespace stress_detail

/// The seed of this run: `--seed S` if given, else a fresh random one.
/// Chosen by stress_main() before any test runs.
inline std::uint64_t stress_seed() { return stress_detail::g_seed; }

/// Prints "<program>: seed S (replay: --seed S)" followed by `extra` (say
/// ", 1000 tasks") on stdout, flushed at once so a hang still shows it.
inline void print_stress_seed(const std::string& extra = {}) {
  const auto seed = static_cast<unsigned long long>(stress_detail::g_seed);
  std::printf("%s: seed %llu (replay: --seed %llu)%s\n", stress_detail::g_program, seed, seed,
              extra.c_str());
  std::fflush(stdout);
}

/// The run's seed mixed with the number of test `test`, so each test draws
/// from its own stream; the first call prints the run's seed.
inline std::uint64_t seed_for_test(std::uint64_t test) {
  static const bool printed = [] {
    print_stress_seed();
    return true;
  }();
  static_cast<void>(printed);
  return stress_detail::g_seed ^ (0x9E3779B97F4A7C15ull * test);
}

/// The main() of a stress program: takes the gtest flags, then `--seed S`
/// or `--seed=S` (anything else prints what `program` accepts and returns
/// 2), chooses the seed and runs every test.
inline int stress_main(int argc, char** argv, const char* program) {
  ::testing::InitGoogleTest(&argc, argv);  // removes the gtest flags
  stress_detail::g_program = program;
  std::optional<std::uint64_t> seed;
  for (int i = 1; i < argc; ++i) {
    if (auto v = flag_value(argc, argv, i, "seed")) {
      seed = std::stoull(*v);
    } else {
      std::fprintf(stderr, "%s: unknown argument %s (use --seed S)\n", program, argv[i]);
      return 2;
    }
  }
  stress_detail::g_seed = seed ? *seed : std::random_device{}();
  return RUN_ALL_TESTS();
}

// ---- soak programs: --seed S, --seconds N, --rounds N

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
    if (auto v = flag_value(argc, argv, i, "seed")) {
      out.seed = std::stoull(*v);
    } else if (auto s = flag_value(argc, argv, i, "seconds")) {
      out.seconds = std::stod(*s);
    } else if (auto n = flag_value(argc, argv, i, "rounds")) {
      out.rounds = std::stol(*n);
    } else {
      std::fprintf(stderr, "%s: unknown argument %s (use --seed S, --seconds N, --rounds N)\n",
                   program, argv[i]);
      return false;
    }
  }
  return true;
}

}  // namespace weft_test
