#pragma once
// What a suspended task waits on that a cancel request must reach: the
// slot through which a cancel of a root is passed on to the awaited task,
// timer, join, group or shield, at once.
//
// The protocol is a Dekker pair between the root's owner (the worker
// running its coroutine) and the one canceller whose CAS set the cancel
// flag in the root's state word (propagation happens once per root):
//   owner:     arm: slot = target (seq_cst); re-read the word; a request
//              seen there is the owner's to pass on
//              disarm: slot = 0 (seq_cst); read the word (seq_cst); if a
//              request is there, wait until the canceller is done
//   canceller: CAS the word (seq_cst); read the slot (seq_cst); if armed,
//              target->on_cancel(); then mark itself done
// Either the owner sees the request or the canceller sees the target;
// after disarm returns, the canceller no longer touches the target, which
// may live in the frame that goes on.
//
// Fields: slot_ written by the owner only, read by the canceller;
// propagated_ written by the canceller only, read by the owner's disarm;
// waiting_on_ written by the owner, read by dump() on any thread.

#include <cstdint>

#include <weft/cancel_reason.hpp>
#include <weft/detail/atomic.hpp>
#include <weft/detail/state_word.hpp>

namespace weft::detail {

/// Something a suspended task waits on that must act when that task is
/// cancelled (the awaited task, a timer, a group, a join). on_cancel() runs
/// on the cancelling thread and must not block or resume anything inline.
class cancel_target {
 public:
  virtual void on_cancel(const cancel_reason& reason) noexcept = 0;

 protected:
  ~cancel_target() = default;
};

/// What a suspended task waits on (for dump()).
enum class wait_kind : std::uint8_t {
  nothing, task, sleep, join, group, shield,
  future, event, semaphore, mutex, queue_push, queue_pop, blocking_call, io,
};

class cancel_slot {
 public:
  /// Owner, before suspending on `target` (the slot is empty). The caller
  /// re-reads the state word after this.
  void arm(cancel_target* target, wait_kind kind) noexcept {
    waiting_on_.store(kind, std::memory_order_relaxed);
    // seq_cst: the owner's half of the Dekker pair (with the canceller's
    // CAS on the word and its load in pass_on()); its release half
    // publishes the target's fields. (A light/heavy asymmetric fence here
    // was measured and dropped: the canceller's membarrier cost 10-15 us on
    // these VMs, where a worker spinning on pause is slow to interrupt.)
#ifdef WEFT_WEAKEN_cancel_slot_arm
    // Deliberately broken, in a model test's build only: it must be caught.
    slot_.store(reinterpret_cast<std::uintptr_t>(target), std::memory_order_release);
#else
    slot_.store(reinterpret_cast<std::uintptr_t>(target), std::memory_order_seq_cst);
#endif
  }

  /// Owner, after resuming. `word` is the root's state word: if a request
  /// is recorded there, waits for its canceller to leave on_cancel(). The
  /// canceller never blocks, so this is short.
  template <class Word>  // atomic<std::uint64_t>, or a task's std::atomic in a model build
  void disarm(const Word& word) noexcept {
    waiting_on_.store(wait_kind::nothing, std::memory_order_relaxed);
    // seq_cst store and load: either the canceller reads the empty slot,
    // or this load sees its request.
    slot_.store(0, std::memory_order_seq_cst);
#ifdef WEFT_WEAKEN_cancel_slot_disarm
    // Deliberately broken, in a model test's build only: it must be caught.
    if ((word.load(std::memory_order_acquire) & k_cancel_requested) == 0) return;
#else
    if ((word.load(std::memory_order_seq_cst) & k_cancel_requested) == 0) return;
#endif
    // acquire: pairs with the release at the end of pass_on().
    for (unsigned looks = 0; !propagated_.load(std::memory_order_acquire);) wait_pause(looks);
  }

  /// The canceller whose CAS set the flag (once per root), after it: passes
  /// the request to the armed target, if any.
  void pass_on(const cancel_reason& reason) noexcept {
    // seq_cst: the canceller's half of the Dekker pair; its acquire half
    // pairs with arm's release (the target's fields).
    const std::uintptr_t v = slot_.load(std::memory_order_seq_cst);
    if (v != 0) reinterpret_cast<cancel_target*>(v)->on_cancel(reason);
    // release: pairs with the acquire in disarm(); on_cancel() has
    // returned, so the owner may let the target go.
    propagated_.store(true, std::memory_order_release);
  }

  /// What the owner waits on now (nothing while it runs or is queued).
  wait_kind waiting_on() const noexcept { return waiting_on_.load(std::memory_order_relaxed); }

 private:
  atomic<std::uintptr_t> slot_{0};  // 0 or a cancel_target*
  atomic<bool> propagated_{false};
  atomic<wait_kind> waiting_on_{wait_kind::nothing};
};

}  // namespace weft::detail
