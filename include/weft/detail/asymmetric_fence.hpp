#pragma once
// Asymmetric fences for a Dekker pair whose one side runs all the time and
// whose other side is rare: a push (frequent) against a worker parking
// (rare). Each side stores, fences, then loads what the other stores; one
// of them must see the other. (The cancel slot's pair is not one of these:
// see cancel_slot.hpp for why.)
//
// The frequent side calls light_fence(): a compiler barrier only. The rare
// side calls heavy_fence(): Linux's membarrier(MEMBARRIER_CMD_PRIVATE_
// EXPEDITED), which makes every running thread of the process execute a
// full memory barrier before it returns (a thread not running passes one
// when it is switched in). Whichever side of a light fence that barrier
// lands on, the pair is ordered: before the light side's store, its load
// sees the heavy side's store; after it, the store is visible to the heavy
// side's loads. This is the pattern of folly's asymmetric_thread_fence_*
// and of userspace RCU. A heavy fence costs about 0.4 us on the 2-vCPU VMs
// weft is measured on, but 10-15 us while another of the process's threads
// spins on pause (that vCPU is slow to interrupt): fine before a futex
// sleep, too slow for a path whose latency is measured.
//
// Where membarrier is not available (not Linux, a kernel before 4.14, or
// WEFT_ASYMMETRIC_FENCES=0 in the environment), both sides are
// std::atomic_thread_fence(seq_cst), the symmetric formulation.
//
// TSan variant: ThreadSanitizer models neither fences nor membarrier; with
// WEFT_TSAN the call sites use seq_cst operations instead (marked there),
// and the fences are not declared.

#include <atomic>

#include <weft/detail/atomic.hpp>
#include <weft/detail/config.hpp>

namespace weft::detail {

/// True once membarrier is registered for this process: set by the first
/// scheduler's construction, before its workers start, and never cleared.
/// Every light fence runs on a thread that reached a scheduler after that
/// (its worker, or a thread that spawned or cancelled on it), so it reads
/// the same value as the heavy side.
inline std::atomic<bool> g_heavy_fence_ready{false};

/// Registers membarrier if the system has it (once; thread-safe).
void enable_asymmetric_fences() noexcept;

// A model-checking build (detail/atomic.hpp) provides both fences itself,
// in their symmetric form: membarrier is outside the memory model.
#if !WEFT_TSAN && !WEFT_MODEL_CHECK
/// The frequent side of an asymmetric Dekker pair.
inline void light_fence() noexcept {
  if (g_heavy_fence_ready.load(std::memory_order_relaxed)) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

/// The rare side of an asymmetric Dekker pair (a system call).
void heavy_fence() noexcept;
#endif

}  // namespace weft::detail
