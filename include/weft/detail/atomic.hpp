#pragma once
// The atomic type of weft's lock-free protocols, and the pause of their
// wait loops, their fences, and the lock some of them take. A model-checking build (tests/model/) defines
// WEFT_MODEL_CHECK to 1 and provides all four itself, over the model checker's
// own atomics, before it includes a protocol's header: the model then runs
// the protocol's own code. Every other build gets std::atomic, std's fence, a pause and std::mutex:
// the same code as before the seam.

#include <atomic>
#include <mutex>
#include <thread>

#include <weft/detail/config.hpp>

#ifndef WEFT_MODEL_CHECK
#define WEFT_MODEL_CHECK 0
#endif

#if !WEFT_MODEL_CHECK
namespace weft::detail {

template <class T>
using atomic = std::atomic<T>;

/// The lock of the protocols that take one (the primitives' wait lists).
using protocol_mutex = std::mutex;

/// std::atomic_thread_fence, which a model build maps to the model
/// checker's fence.
inline void atomic_fence(std::memory_order order) noexcept { std::atomic_thread_fence(order); }

/// One look of a short wait for another thread: a pause, and every 64th
/// time a yield (the thread waited for may share this one's core).
inline void wait_pause(unsigned& looks) noexcept {
  if (++looks % 64 == 0) {
    std::this_thread::yield();
  } else {
    cpu_relax();
  }
}

}  // namespace weft::detail
#endif
