#pragma once
// Build-time facts the hot paths branch on. The one place that detects the
// sanitizers and decides what their builds do differently.

// WEFT_TSAN: ThreadSanitizer does not model std::atomic_thread_fence, so code
// that relies on a fence for ordering uses an equivalent formulation with
// ordered atomic operations when this is 1 (each site is marked "TSan variant").
#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TSAN 1
#endif
#endif
#ifndef WEFT_TSAN
#define WEFT_TSAN 0
#endif

// WEFT_ASAN: AddressSanitizer, which sees a frame's lifetime only when it
// comes from plain new/delete (frame_allocator.hpp).
#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif
#ifndef WEFT_ASAN
#define WEFT_ASAN 0
#endif

// WEFT_SANITIZED: either sanitizer (the stress tests scale down their
// rounds, which run several times slower).
#define WEFT_SANITIZED (WEFT_TSAN || WEFT_ASAN)

// WEFT_RECYCLE_FRAMES: coroutine frames come from per-worker free lists
// (frame_allocator.hpp), except under a sanitizer: ASan sees a frame's
// lifetime, and TSan its handover between threads, only through plain
// new/delete.
#define WEFT_RECYCLE_FRAMES (!WEFT_SANITIZED)

// WEFT_SYMMETRIC_TRANSFER: 1 where the compiler emits symmetric transfer
// (await_suspend returning the next coroutine) as a tail call, so a chain
// of inline awaits runs without growing the stack and without a round trip
// through the worker loop. g++ 12 does not at -O0, under TSan nor under
// ASan (seen: a 100,000-deep chain overflows the stack in the ASan build);
// there the worker's trampoline carries each transfer instead
// (worker_context::next).
// Task.HundredThousandNestedAwaitsDoNotOverflowTheStack checks each build.
#ifndef WEFT_SYMMETRIC_TRANSFER
#if defined(__OPTIMIZE__) && !WEFT_SANITIZED
#define WEFT_SYMMETRIC_TRANSFER 1
#else
#define WEFT_SYMMETRIC_TRANSFER 0
#endif
#endif

#include <cstddef>

namespace weft::detail {

// Destructive interference size on the x86-64 and AArch64 machines weft
// targets (std::hardware_destructive_interference_size warns on g++ 12).
inline constexpr std::size_t k_cache_line = 64;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace weft::detail
