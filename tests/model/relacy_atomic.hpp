#pragma once
// weft's protocols under the Relacy model checker: what
// weft/detail/atomic.hpp provides in a model build (WEFT_MODEL_CHECK), that
// is std::atomic's interface over Relacy's atomics, fences, a wait loop's
// pause as a Relacy yield and std::mutex's interface over Relacy's mutex;
// also the futex calls, the asymmetric fences in their symmetric form, and
// how a model program searches and reports. Include this first in a model
// test: every standard header goes in before Relacy's, whose macros rename
// the memory orders.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <coroutine>
#include <memory>
#include <mutex>
#include <vector>
#include <exception>
#include <source_location>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include <relacy/relacy.hpp>

// Relacy spells the memory orders, new and delete as macros for code
// written against its own std emulation; the protocols keep std's names.
#undef memory_order_relaxed
#undef memory_order_consume
#undef memory_order_acquire
#undef memory_order_release
#undef memory_order_acq_rel
#undef memory_order_seq_cst
#undef new
#undef delete

#define WEFT_MODEL_CHECK 1

namespace weft::model {

inline rl::memory_order relacy_order(std::memory_order order) {
  switch (order) {
    case std::memory_order_relaxed: return rl::mo_relaxed;
    case std::memory_order_consume: return rl::mo_consume;
    case std::memory_order_acquire: return rl::mo_acquire;
    case std::memory_order_release: return rl::mo_release;
    case std::memory_order_acq_rel: return rl::mo_acq_rel;
    case std::memory_order_seq_cst: return rl::mo_seq_cst;
  }
  return rl::mo_seq_cst;
}

/// Where an operation is in the protocol's source, for Relacy's history.
inline rl::debug_info at(const std::source_location& where) {
  return rl::debug_info(where.function_name(), where.file_name(), where.line());
}

/// The part of std::atomic<T> weft's protocols use. Enums are held as
/// their underlying type (Relacy's atomics take integers and pointers).
template <class T>
class atomic {
  template <class U>
  struct held {
    using type = U;
  };
  template <class U>
    requires std::is_enum_v<U>
  struct held<U> {
    using type = std::underlying_type_t<U>;
  };
  using H = typename held<T>::type;
  using here = std::source_location;

 public:
  atomic() : a_(H{}) {}
  atomic(T v) : a_(static_cast<H>(v)) {}  // NOLINT: as std::atomic's
  atomic(const atomic&) = delete;
  atomic& operator=(const atomic&) = delete;

  T load(std::memory_order o = std::memory_order_seq_cst, here w = here::current()) const {
    return static_cast<T>(a_(at(w)).load(relacy_order(o)));
  }
  void store(T v, std::memory_order o = std::memory_order_seq_cst, here w = here::current()) {
    a_(at(w)).store(static_cast<H>(v), relacy_order(o));
  }
  T exchange(T v, std::memory_order o = std::memory_order_seq_cst, here w = here::current()) {
    return static_cast<T>(a_(at(w)).exchange(static_cast<H>(v), relacy_order(o)));
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order order = std::memory_order_seq_cst,
                             here w = here::current()) {
    return compare_exchange(true, expected, desired, order, failure_order_of(order), w);
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order order = std::memory_order_seq_cst,
                               here w = here::current()) {
    return compare_exchange(false, expected, desired, order, failure_order_of(order), w);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                             std::memory_order failure, here w = here::current()) {
    return compare_exchange(true, expected, desired, success, failure, w);
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure, here w = here::current()) {
    return compare_exchange(false, expected, desired, success, failure, w);
  }
  T fetch_add(T v, std::memory_order o = std::memory_order_seq_cst, here w = here::current()) {
    return a_(at(w)).fetch_add(v, relacy_order(o));
  }
  T fetch_sub(T v, std::memory_order o = std::memory_order_seq_cst, here w = here::current()) {
    return a_(at(w)).fetch_sub(v, relacy_order(o));
  }
  T fetch_or(T v, std::memory_order o = std::memory_order_seq_cst, here w = here::current()) {
    return a_(at(w)).fetch_or(v, relacy_order(o));
  }
  T fetch_and(T v, std::memory_order o = std::memory_order_seq_cst, here w = here::current()) {
    return a_(at(w)).fetch_and(v, relacy_order(o));
  }

  /// A futex wait on this word, as Relacy models the system call: a full
  /// fence, then blocks unless the word differs from `expected`. Never
  /// spuriously (weft's callers loop, so a spurious return only searches
  /// again, and it would make every search mode endless). A wait that
  /// nothing ends is a deadlock to Relacy.
  void futex_wait(T expected, here w = here::current()) {
    rl::context& c = rl::ctx();
    c.sched();
    c.atomic_thread_fence_seq_cst();
    H now;
    {
      rl::preemption_disabler atomically(c);  // the kernel's check-and-sleep
      now = a_(at(w)).load(rl::mo_acquire);
    }
    if (now == static_cast<H>(expected)) a_.wait(c, false, false, at(w));
  }
  /// A futex wake of up to `count` waiters on this word.
  void futex_wake(int count, here w = here::current()) {
    rl::context& c = rl::ctx();
    c.sched();
    c.atomic_thread_fence_seq_cst();
    a_.wake(c, count, at(w));
  }

 private:
  // Relacy follows C++11's rule that a CAS's failure order is no stronger
  // than its success order, and models a release CAS's failure as relaxed
  // whatever it is told. C++17 allows (release, acquire), which the waiter
  // list uses. Such a failure is modelled as a relaxed one followed by a
  // fence of the failure order: a little stronger than the real thing (the
  // fence also orders the thread's earlier relaxed loads), never weaker.
  // As std::atomic's one-order compare-exchange derives its failure order.
  static std::memory_order failure_order_of(std::memory_order order) {
    if (order == std::memory_order_acq_rel) return std::memory_order_acquire;
    if (order == std::memory_order_release) return std::memory_order_relaxed;
    return order;
  }
  static bool failure_allowed(rl::memory_order success, rl::memory_order failure) {
    switch (success) {
      case rl::mo_relaxed:
      case rl::mo_release: return failure == rl::mo_relaxed;
      case rl::mo_consume: return failure == rl::mo_relaxed || failure == rl::mo_consume;
      case rl::mo_acquire:
      case rl::mo_acq_rel: return failure != rl::mo_release && failure != rl::mo_seq_cst;
      default: return true;
    }
  }
  bool compare_exchange(bool weak, T& expected, T desired, std::memory_order success,
                        std::memory_order failure, const here& w) {
    const rl::memory_order s = relacy_order(success);
    const rl::memory_order f = relacy_order(failure);
    const bool fenced_failure = !failure_allowed(s, f);
    H e = static_cast<H>(expected);
    const rl::memory_order f_asked = fenced_failure ? rl::mo_relaxed : f;
    const bool ok = weak ? a_(at(w)).compare_exchange_weak(e, static_cast<H>(desired), s, f_asked)
                         : a_(at(w)).compare_exchange_strong(e, static_cast<H>(desired), s, f_asked);
    if (!ok && fenced_failure) rl::atomic_thread_fence(f, at(w));
    expected = static_cast<T>(e);
    return ok;
  }

  mutable rl::atomic<H> a_;
};

/// std::mutex's interface over Relacy's mutex (for std::lock_guard).
class mutex {
  using here = std::source_location;

 public:
  void lock(here w = here::current()) { m_.lock(at(w)); }
  bool try_lock(here w = here::current()) { return m_.try_lock(at(w)); }
  void unlock(here w = here::current()) { m_.unlock(at(w)); }

 private:
  rl::mutex m_;
};

/// How a model program searches: Relacy's random scheduler for a number
/// of schedules (CI), every schedule (`--full`), or every schedule with at
/// most `bound` preemptions (`--bound K`).
struct search {
  std::size_t iterations = 200'000;
  bool full = false;
  unsigned bound = 0;
  bool expect_violation = false;

  /// Reads `[--iterations N] [--full] [--bound K] [--expect-violation]`;
  /// false (after a usage line) on anything else.
  bool parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (arg == "--expect-violation") {
        expect_violation = true;
      } else if (arg == "--full") {
        full = true;
      } else if (arg == "--iterations" && i + 1 < argc) {
        iterations = std::stoul(argv[++i]);
      } else if (arg == "--bound" && i + 1 < argc) {
        bound = static_cast<unsigned>(std::stoul(argv[++i]));
      } else {
        std::fprintf(stderr, "usage: %s [--iterations N] [--full] [--bound K] [--expect-violation]\n",
                     argv[0]);
        return false;
      }
    }
    return true;
  }
};

/// Runs model `Test` as `how` says and reports as the programs in
/// tests/model/ do: with `expect_violation` (a deliberately weakened build),
/// success means Relacy found the violation.
template <class Test>
int check(const char* name, const search& how) {
  rl::test_params params;
  params.iteration_count = how.iterations;
  if (how.full) params.search_type = rl::sched_full;
  if (how.bound > 0) {
    params.search_type = rl::sched_bound;
    params.context_bound = how.bound;
  }
  const bool held = rl::simulate<Test>(params);
  const bool expect_violation = how.expect_violation;
  const auto iterations = static_cast<unsigned long long>(params.stop_iteration);
  if (expect_violation) {
    std::printf("%s: %s\n", name,
                held ? "NOT caught: the weakened protocol passed the model"
                     : "caught, as it must be (the report is above)");
    return held ? 1 : 0;
  }
  std::printf("%s: %s after %llu schedules\n", name, held ? "holds" : "VIOLATED", iterations);
  return held ? 0 : 1;
}

}  // namespace weft::model

namespace weft::detail {
template <class T>
using atomic = weft::model::atomic<T>;
using protocol_mutex = weft::model::mutex;
inline void atomic_fence(std::memory_order order,
                         std::source_location where = std::source_location::current()) {
  rl::atomic_thread_fence(weft::model::relacy_order(order), weft::model::at(where));
}
/// The futex calls on a model word (detail/futex.hpp's, for std::atomic,
/// are declared but not used in a model build).
inline void futex_wait(atomic<std::uint32_t>& word, std::uint32_t expected) { word.futex_wait(expected); }
inline void futex_wake(atomic<std::uint32_t>* word, int count) { word->futex_wake(count); }
inline void futex_wake_all(atomic<std::uint32_t>* word) { word->futex_wake(1 << 20); }
/// The asymmetric fences in their symmetric form (asymmetric_fence.hpp):
/// membarrier is outside the memory model.
inline void light_fence(std::source_location where = std::source_location::current()) {
  atomic_fence(std::memory_order_seq_cst, where);
}
inline void heavy_fence(std::source_location where = std::source_location::current()) {
  atomic_fence(std::memory_order_seq_cst, where);
}
/// A wait loop's look: lets Relacy run another thread.
inline void wait_pause(unsigned&) { rl::yield(1, RL_INFO); }
}  // namespace weft::detail
