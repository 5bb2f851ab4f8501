// The idle protocol on its own (include/weft/detail/idle_state.hpp): a
// worker that finds nothing prepares to park, looks once more, then parks;
// a pusher makes work visible, then notifies. A push racing a park must
// never be lost, with the asymmetric fences and with the symmetric ones.

#include <weft/detail/asymmetric_fence.hpp>
#include <weft/detail/idle_state.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <thread>

namespace {

using weft::detail::idle_state;

TEST(IdleState, AWakeBetweenPrepareAndParkMakesTheParkReturnAtOnce) {
  idle_state idle;
  const std::uint32_t epoch = idle.prepare_park();
  idle.wake_one();
  idle.park(epoch);  // would block forever had the wake been lost
  const std::uint32_t next = idle.prepare_park();
  idle.cancel_park();
  EXPECT_NE(next, epoch);  // the wake moved the epoch the park compared
}

TEST(IdleState, NotifyingWithASleeperAndNoSearcherWakesIt) {
  idle_state idle;
  std::latch preparing(1);
  std::atomic<bool> woken{false};
  std::thread sleeper([&] {
    const std::uint32_t epoch = idle.prepare_park();
    preparing.count_down();
    idle.park(epoch);
    woken = true;
  });
  preparing.wait();
  idle.notify_work_available();  // before or after the park: either way it returns
  sleeper.join();
  EXPECT_TRUE(woken.load());
}

// One consumer parks whenever it finds nothing; one producer publishes an
// item at a time, notifies, and waits until it is taken. A lost wake-up
// leaves the consumer parked and the producer waiting: the deadline turns
// that into a failure instead of a hang.
void run_handover(std::uint32_t items) {
  weft::detail::enable_asymmetric_fences();
  idle_state idle;
  std::atomic<std::uint32_t> published{0}, taken{0};
  std::atomic<bool> stop{false};
  std::thread consumer([&] {
    while (!stop.load(std::memory_order_acquire)) {
      if (taken.load(std::memory_order_relaxed) < published.load(std::memory_order_acquire)) {
        taken.fetch_add(1, std::memory_order_release);
        continue;
      }
      const std::uint32_t epoch = idle.prepare_park();
      // The second look (the protocol's order: after prepare_park).
      if (taken.load(std::memory_order_relaxed) < published.load(std::memory_order_seq_cst) ||
          stop.load(std::memory_order_acquire)) {
        idle.cancel_park();
        continue;
      }
      idle.park(epoch);
    }
  });
  // A lost wake-up leaves the consumer parked for good: one handover that
  // makes no progress for 30 s is one. (A bound on the whole run would
  // instead depend on how fast the machine hands over 200,000 items.)
  bool lost = false;
  for (std::uint32_t i = 1; i <= items && !lost; ++i) {
    published.store(i, std::memory_order_seq_cst);
    idle.notify_work_available();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (taken.load(std::memory_order_acquire) < i) {
      if (std::chrono::steady_clock::now() > deadline) {
        lost = true;
        break;
      }
      std::this_thread::yield();
    }
  }
  stop.store(true, std::memory_order_release);
  idle.wake_all();
  consumer.join();
  EXPECT_FALSE(lost) << "a wake-up was lost: the consumer stayed parked with item "
                     << taken.load() + 1 << " published";
  if (!lost) {
    EXPECT_EQ(taken.load(), items);
  }
}

TEST(IdleState, APushRacingAParkIsNeverLostOverManyHandovers) {
#if WEFT_SANITIZED
  run_handover(20'000);
#else
  run_handover(200'000);
#endif
}

}  // namespace
