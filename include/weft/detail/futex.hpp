#pragma once
// Blocking on a 32-bit atomic word. On Linux this is the futex system call
// directly: futex_wake touches no user memory, so a waker may call it after
// the waiter has returned and released the word's storage (the waiter nodes
// of task_state live on the waiting thread's stack). Elsewhere it falls back
// to std::atomic wait/notify; weft is developed and tested on Linux only.

#include <atomic>
#include <climits>
#include <cstdint>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace weft::detail {

/// Blocks while `word == expected` (may return spuriously; callers loop).
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
#if defined(__linux__)
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected,
            nullptr, nullptr, 0);
#else
  word.wait(expected, std::memory_order_acquire);
#endif
}

/// Wakes up to `count` threads blocked in futex_wait on `word`.
inline void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept {
#if defined(__linux__)
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr,
            nullptr, 0);
#else
  if (count == 1) {
    word->notify_one();
  } else {
    word->notify_all();
  }
#endif
}

inline void futex_wake_all(std::atomic<std::uint32_t>* word) noexcept { futex_wake(word, INT_MAX); }

}  // namespace weft::detail
