#pragma once
// Blocking on a 32-bit atomic word. On Linux this is the futex system call
// directly: futex_wake touches no user memory, so a waker may call it after
// the waiter has returned and released the word's storage (the waiter nodes
// of task_state live on the waiting thread's stack). Elsewhere it falls back
// to std::atomic wait/notify; weft is developed and tested on Linux only.
//
// Out of line (scheduler/futex.cpp), so that the system headers stay out of
// every user's translation unit: each call is a system call on a slow path
// (a park, a blocking wait, a wake of a sleeper), where a call costs nothing.

#include <atomic>
#include <cstdint>

namespace weft::detail {

/// Blocks while `word == expected` (may return spuriously; callers loop).
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept;

/// Wakes up to `count` threads blocked in futex_wait on `word`. `word` may
/// point to storage freed since (only its address is used, on Linux).
void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept;

/// Wakes every thread blocked in futex_wait on `word`.
void futex_wake_all(std::atomic<std::uint32_t>* word) noexcept;

}  // namespace weft::detail
