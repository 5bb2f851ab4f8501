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
// A task suspended in a join is the exception: its slot is armed with the
// join by the first descendant that blocks (arm_for_descendant, the same
// pair with that descendant in the owner's place), or never.
//
// Fields: slot_ written by the owner (or, for a join, a descendant), read
// by the canceller;
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

  /// A descendant that is about to block, for the owner suspended in
  /// `join` (the owner's slot holds nothing or `join` while its children
  /// run): arms the slot with the join unless another descendant did.
  /// True if this call armed it; the caller then re-reads the owner's word
  /// (the Dekker pair of arm()) and carries the arming further up. False:
  /// the descendant that armed it did both.
  bool arm_for_descendant(cancel_target* join) noexcept {
    const auto target = reinterpret_cast<std::uintptr_t>(join);
    // relaxed: whoever armed it re-read the word after its seq_cst CAS.
    if (slot_.load(std::memory_order_relaxed) == target) return false;
    waiting_on_.store(wait_kind::join, std::memory_order_relaxed);
    std::uintptr_t empty = 0;
    // seq_cst: the descendant's half of the Dekker pair, as in arm().
#ifdef WEFT_WEAKEN_cancel_slot_arm_for_descendant
    // Deliberately broken, in a model test's build only: it must be caught.
    return slot_.compare_exchange_strong(empty, target, std::memory_order_release,
                                         std::memory_order_relaxed);
#else
    return slot_.compare_exchange_strong(empty, target, std::memory_order_seq_cst,
                                         std::memory_order_relaxed);
#endif
  }

  /// Owner, after its join ended: as disarm() if a descendant armed the
  /// slot, else nothing (no canceller can reach the join through it). The
  /// descendants' arming happened before their ends, which happened before
  /// the join resumed the owner, so a relaxed load sees it.
  template <class Word>
  void disarm_join(const Word& word) noexcept {
    if (slot_.load(std::memory_order_relaxed) != 0) {
      disarm(word);
    } else {
      waiting_on_.store(wait_kind::nothing, std::memory_order_relaxed);
    }
  }

  /// Owner, as it suspends in a join whose slot descendants arm lazily:
  /// what it waits on, for dump().
  void note_join() noexcept { waiting_on_.store(wait_kind::join, std::memory_order_relaxed); }

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
