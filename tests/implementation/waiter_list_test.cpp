// The waiter list on its own (include/weft/detail/waiter_list.hpp): the
// lock-free stack that a task's end closes once and wakes in registration
// order, racing registrations from other threads.

#include <weft/detail/waiter_list.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <latch>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using weft::detail::waiter;
using weft::detail::waiter_list;

struct recorder : waiter {
  explicit recorder(int id, std::vector<int>* log = nullptr) : name(id), order(log) {
    wake = &on_wake;
  }
  static void on_wake(waiter* w) noexcept {
    auto* self = static_cast<recorder*>(w);
    self->wakes.fetch_add(1, std::memory_order_relaxed);
    if (self->order != nullptr) self->order->push_back(self->name);  // the closer's thread only
  }
  int name;
  std::vector<int>* order;
  std::atomic<int> wakes{0};
};

TEST(WaiterList, CloseWakesEveryRegisteredNodeOnceOldestFirstThenSettles) {
  waiter_list list;
  std::vector<int> order;
  std::vector<std::unique_ptr<recorder>> nodes;
  for (int i = 0; i < 5; ++i) {
    nodes.push_back(std::make_unique<recorder>(i, &order));
    ASSERT_TRUE(list.add(nodes.back().get()));
  }
  EXPECT_FALSE(list.settled());
  const auto direct = list.close_and_wake(nullptr);  // not a worker: nothing handed back
  EXPECT_FALSE(direct);
  EXPECT_TRUE(list.settled());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  for (auto& n : nodes) EXPECT_EQ(n->wakes.load(), 1);
}

TEST(WaiterList, AddAfterCloseIsRefusedAndTheNodeIsNeverWoken) {
  waiter_list list;
  list.close_and_wake_all();
  recorder late(0);
  EXPECT_FALSE(list.add(&late));
  EXPECT_EQ(late.wakes.load(), 0);
  waiter_list unused;
  unused.settle_unused();
  EXPECT_TRUE(unused.settled());
  EXPECT_FALSE(unused.add(&late));
}

// Registrations from several threads race the close: every node is either
// refused or woken exactly once, never both, never twice, never lost.
TEST(WaiterList, RegistrationsRacingTheCloseAreEachRefusedOrWokenOnceManyTimes) {
  constexpr int k_threads = 3;
#if WEFT_SANITIZED
  constexpr int k_rounds = 500;
#else
  constexpr int k_rounds = 5000;
#endif
  constexpr int k_per_thread = 8;
  for (int round = 0; round < k_rounds; ++round) {
    waiter_list list;
    std::vector<std::unique_ptr<recorder>> nodes;
    for (int i = 0; i < k_threads * k_per_thread; ++i) nodes.push_back(std::make_unique<recorder>(i));
    std::vector<char> accepted(nodes.size(), 0);
    std::latch go(k_threads + 1);
    std::vector<std::thread> adders;
    for (int t = 0; t < k_threads; ++t) {
      adders.emplace_back([&, t] {
        go.arrive_and_wait();
        for (int k = 0; k < k_per_thread; ++k) {
          const std::size_t i = static_cast<std::size_t>(t * k_per_thread + k);
          accepted[i] = list.add(nodes[i].get()) ? 1 : 0;
        }
      });
    }
    go.arrive_and_wait();
    list.close_and_wake_all();
    for (auto& a : adders) a.join();
    ASSERT_TRUE(list.settled());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      ASSERT_EQ(nodes[i]->wakes.load(), accepted[i]) << "round " << round << ", node " << i;
    }
  }
}

}  // namespace
