// The cancel slot on its own (include/weft/detail/cancel_slot.hpp): the
// Dekker pair between a suspending task (arm the target, re-read the state
// word) and the canceller whose CAS set the flag (read the slot, pass the
// request on). Either side must see the other, the target hears the
// request at most once from the canceller, and once disarm() returns the
// canceller no longer touches the target.

#include <weft/detail/cancel_slot.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <thread>

namespace {

using weft::cancel_kind;
using weft::cancel_reason;
using weft::detail::cancel_slot;
using weft::detail::cancel_target;
using weft::detail::k_cancel_requested;
using weft::detail::wait_kind;

struct target final : cancel_target {
  void on_cancel(const cancel_reason& reason) noexcept override {
    if (released.load(std::memory_order_relaxed)) touched_after_release.fetch_add(1);
    if (reason.kind == cancel_kind::user && reason.message == "stop") calls.fetch_add(1);
  }
  std::atomic<int> calls{0};
  std::atomic<bool> released{false};
  std::atomic<int> touched_after_release{0};
};

// The canceller's side: the CAS that records the request, then pass_on().
void cancel(std::atomic<std::uint64_t>& word, cancel_slot& slot) {
  word.fetch_or(k_cancel_requested, std::memory_order_seq_cst);
  slot.pass_on(cancel_reason{cancel_kind::user, "stop"});
}

TEST(CancelSlot, ACancelOfAnArmedOwnerReachesTheTargetOnceAndDisarmWaitsForIt) {
  std::atomic<std::uint64_t> word{0};
  cancel_slot slot;
  target t;
  slot.arm(&t, wait_kind::sleep);
  EXPECT_EQ(slot.waiting_on(), wait_kind::sleep);
  cancel(word, slot);
  slot.disarm(word);
  EXPECT_EQ(t.calls.load(), 1);
  EXPECT_EQ(slot.waiting_on(), wait_kind::nothing);
}

TEST(CancelSlot, ACancelWhileNothingIsArmedCallsNoTargetAndLetsALaterDisarmReturn) {
  std::atomic<std::uint64_t> word{0};
  cancel_slot slot;
  cancel(word, slot);  // the owner is running: the slot is empty
  target t;
  slot.arm(&t, wait_kind::task);
  // The owner's re-read after arming sees the request: passing it on is
  // the owner's job, and the canceller has left already.
  EXPECT_NE(word.load() & k_cancel_requested, 0u);
  slot.disarm(word);
  EXPECT_EQ(t.calls.load(), 0);
}

TEST(CancelSlot, AnOwnerThatMissesARacingRequestIsAlwaysReachedThroughItsTargetManyTimes) {
#if WEFT_SANITIZED
  constexpr int k_rounds = 2'000;
#else
  constexpr int k_rounds = 10'000;
#endif
  int seen_by_owner = 0, seen_by_canceller = 0, seen_by_both = 0;
  // At least k_rounds, and on until both orders happened (a loaded machine
  // can run thousands of rounds in one order), within a bound.
  auto both_orders_seen = [&] {
    return seen_by_owner + seen_by_both > 0 && seen_by_canceller + seen_by_both > 0;
  };
  for (int round = 0; round < k_rounds || (!both_orders_seen() && round < 50 * k_rounds);
       ++round) {
    std::atomic<std::uint64_t> word{0};
    cancel_slot slot;
    target t;
    std::latch go(2);
    std::thread canceller([&] {
      go.arrive_and_wait();
      cancel(word, slot);
    });
    go.arrive_and_wait();
    slot.arm(&t, wait_kind::join);
    const bool owner_saw = (word.load(std::memory_order_seq_cst) & k_cancel_requested) != 0;
    // An owner that did not see the request suspends: only the canceller's
    // on_cancel() can wake it now. The deadline turns a lost request into
    // a failure instead of a hang.
    bool lost = false;
    if (!owner_saw) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (t.calls.load() == 0 && !lost) {
        lost = std::chrono::steady_clock::now() > deadline;
        std::this_thread::yield();
      }
    }
    slot.disarm(word);
    t.released.store(true, std::memory_order_relaxed);  // the target's frame "goes on"
    canceller.join();
    const bool canceller_saw = t.calls.load() == 1;
    ASSERT_FALSE(lost) << "round " << round
                       << ": the owner missed the request and the canceller missed the target";
    ASSERT_LE(t.calls.load(), 1) << "round " << round;
    ASSERT_EQ(t.touched_after_release.load(), 0) << "round " << round;
    seen_by_owner += owner_saw && !canceller_saw;
    seen_by_canceller += canceller_saw && !owner_saw;
    seen_by_both += owner_saw && canceller_saw;
  }
  // Not a check of the protocol, a check that the race happened: both
  // orders occur.
  EXPECT_GT(seen_by_owner + seen_by_both, 0);
  EXPECT_GT(seen_by_canceller + seen_by_both, 0);
}

}  // namespace
