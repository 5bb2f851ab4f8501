// The timer service on its own (scheduler/timer_service.hpp): the heap, the
// timer thread, removal racing the fire, and shutdown. The contract tests
// (sleep_test, timeout_test) see it only through sleep_for and timeout.

#include "timer_service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using weft::detail::timer_entry;
using weft::detail::timer_service;
using clock_type = std::chrono::steady_clock;

// Records its firing; `fires_on_shutdown` answers fire_on_shutdown().
struct probe final : timer_entry {
  explicit probe(clock_type::time_point at, bool fires_on_shutdown = false,
                 std::latch* fired_latch = nullptr, std::vector<int>* order = nullptr,
                 std::mutex* order_mutex = nullptr, int id = 0)
      : on_shutdown(fires_on_shutdown), latch(fired_latch), log(order), log_mutex(order_mutex),
        name(id) {
    when = at;
  }
  void fire() noexcept override {
    fires.fetch_add(1);
    if (log != nullptr) {
      std::lock_guard lock(*log_mutex);
      log->push_back(name);
    }
    std::latch* l = latch;
    mark_fired();  // the last touch of the entry
    if (l != nullptr) l->count_down();
  }
  bool fire_on_shutdown() const noexcept override { return on_shutdown; }

  std::atomic<int> fires{0};
  bool on_shutdown;
  std::latch* latch;
  std::vector<int>* log;
  std::mutex* log_mutex;
  int name;
};

// Due now; its fire() holds the timer thread until `release` opens.
struct blocker final : timer_entry {
  blocker() { when = clock_type::now(); }
  void fire() noexcept override {
    holding.count_down();
    release.wait();
    mark_fired();
  }
  bool fire_on_shutdown() const noexcept override { return false; }

  std::latch holding{1};
  std::latch release{1};
};

TEST(TimerService, EntriesFireInTheOrderOfTheirTimesNotOfTheirAdding) {
  timer_service service;
  // While the timer thread is held in the blocker's fire(), four entries
  // are added out of order, all due already (at distinct past times): once
  // it is released, it pops them by their times, whatever the delays.
  blocker hold;
  ASSERT_TRUE(service.add(hold));
  hold.holding.wait();
  std::latch all_fired(4);
  std::vector<int> order;
  std::mutex order_mutex;
  const auto past = clock_type::now() - std::chrono::milliseconds(10);
  std::vector<std::unique_ptr<probe>> entries;
  for (int id : {3, 1, 4, 2}) {  // added out of order; due at past + id ms
    entries.push_back(std::make_unique<probe>(past + std::chrono::milliseconds(id), false,
                                              &all_fired, &order, &order_mutex, id));
    ASSERT_TRUE(service.add(*entries.back()));
  }
  hold.release.count_down();
  all_fired.wait();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
  for (auto& e : entries) EXPECT_EQ(e->fires.load(), 1);
}

TEST(TimerService, ARemovedQueuedEntryReportsThatItWillNotFireAndNeverFires) {
  auto service = std::make_unique<timer_service>();
  probe entry(clock_type::now() + std::chrono::hours(1));
  ASSERT_TRUE(service->add(entry));
  EXPECT_TRUE(service->remove(entry));
  service.reset();  // joins the timer thread
  EXPECT_EQ(entry.fires.load(), 0);
}

TEST(TimerService, RemovingAnEntryThatFiredReportsFalseAfterItsFireReturned) {
  timer_service service;
  std::latch fired(1);
  probe entry(clock_type::now(), false, &fired);
  ASSERT_TRUE(service.add(entry));
  fired.wait();
  EXPECT_FALSE(service.remove(entry));
  EXPECT_EQ(entry.state.load(), timer_entry::k_fired);
  EXPECT_EQ(entry.fires.load(), 1);
}

TEST(TimerService, AnEntryRemovedBeforeItIsAddedIsRefusedByAdd) {
  timer_service service;
  probe entry(clock_type::now());
  EXPECT_FALSE(service.remove(entry));  // not queued: it will not fire, the caller acts
  EXPECT_FALSE(service.add(entry));
  EXPECT_EQ(entry.fires.load(), 0);
}

TEST(TimerService, ShutdownFiresTheEntriesThatFireOnShutdownAndRefusesNewOnesOfThatKind) {
  timer_service service;
  std::latch fired(1);
  const auto later = clock_type::now() + std::chrono::hours(1);
  probe sleeper(later, true, &fired);
  probe keeper(later, false);
  ASSERT_TRUE(service.add(sleeper));
  ASSERT_TRUE(service.add(keeper));
  service.begin_shutdown();
  fired.wait();
  EXPECT_EQ(sleeper.fires.load(), 1);
  probe late_sleeper(later, true);
  EXPECT_FALSE(service.add(late_sleeper));  // the caller acts at once instead
  probe late_keeper(later, false);
  EXPECT_TRUE(service.add(late_keeper));
  EXPECT_TRUE(service.remove(keeper));
  EXPECT_TRUE(service.remove(late_keeper));
  EXPECT_EQ(keeper.fires.load() + late_keeper.fires.load() + late_sleeper.fires.load(), 0);
}

TEST(TimerService, RemoveRacingTheFireHasExactlyOneWinnerManyTimes) {
  constexpr int k_rounds = 2000;
  auto service = std::make_unique<timer_service>();
  std::vector<std::unique_ptr<probe>> entries;
  std::vector<char> removed(k_rounds, 0);
  for (int i = 0; i < k_rounds; ++i) {
    // Due now or within a few microseconds: the timer thread pops it while
    // this thread removes it.
    entries.push_back(std::make_unique<probe>(clock_type::now() + std::chrono::microseconds(i % 8)));
    ASSERT_TRUE(service->add(*entries.back()));
    if (i % 3 != 0) std::this_thread::yield();  // vary the moment of the race, not a wait
    removed[i] = service->remove(*entries.back()) ? 1 : 0;
    // remove() returned: a fire, if any, has returned too.
    EXPECT_EQ(entries.back()->fires.load(), removed[i] != 0 ? 0 : 1) << "round " << i;
  }
  service.reset();  // no entry fires after the service is gone
  int fired = 0, won_by_remove = 0;
  for (int i = 0; i < k_rounds; ++i) {
    EXPECT_EQ(entries[i]->fires.load() + removed[i], 1) << "round " << i;
    fired += entries[i]->fires.load();
    won_by_remove += removed[i];
  }
  EXPECT_EQ(fired + won_by_remove, k_rounds);
}

}  // namespace
