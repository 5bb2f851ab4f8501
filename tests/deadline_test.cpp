// weft::this_task::deadline(): the earliest deadline of the enclosing
// timeouts, readable inside any nested task; empty when there is none.

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using deadline_type = std::optional<clock_type::time_point>;

namespace {

weft::task<deadline_type> read_deadline() {
  co_await weft::yield();  // read after a suspension: the task may have moved worker
  co_return weft::this_task::deadline();
}

// Reads the deadline `depth` inline awaits down.
weft::task<deadline_type> read_deadline_nested(int depth) {
  if (depth == 0) co_return co_await read_deadline();
  co_return co_await read_deadline_nested(depth - 1);
}

// timeout() takes a task: nesting goes through one.
weft::task<deadline_type> timed(clock_type::duration limit, weft::task<deadline_type> t) {
  co_return co_await weft::timeout(limit, std::move(t));
}

// True if `d` is set and within [lo, hi].
::testing::AssertionResult within(const deadline_type& d, clock_type::time_point lo,
                                  clock_type::time_point hi) {
  if (!d) return ::testing::AssertionFailure() << "no deadline";
  if (*d < lo || *d > hi) return ::testing::AssertionFailure() << "deadline out of range";
  return ::testing::AssertionSuccess();
}

}  // namespace

TEST(Deadline, IsEmptyWithoutAnEnclosingTimeout) {
  weft::scheduler sched{1};
  EXPECT_FALSE(weft::sync_wait(sched, read_deadline()).has_value());
  EXPECT_FALSE(weft::sync_wait(sched, read_deadline_nested(5)).has_value());
}

TEST(Deadline, InsideATimeoutIsNowPlusTheLimit) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<deadline_type> {
    co_return co_await weft::timeout(1h, read_deadline());
  };
  auto before = clock_type::now();
  deadline_type d = weft::sync_wait(sched, body());
  auto after = clock_type::now();
  EXPECT_TRUE(within(d, before + 1h, after + 1h));
}

TEST(Deadline, NestedTimeoutsGiveTheEarliestDeadline) {
  weft::scheduler sched{1};
  auto inner_shorter = []() -> weft::task<deadline_type> {
    co_return co_await weft::timeout(1h, timed(1min, read_deadline()));
  };
  auto outer_shorter = []() -> weft::task<deadline_type> {
    co_return co_await weft::timeout(1min, timed(1h, read_deadline()));
  };
  auto before = clock_type::now();
  deadline_type a = weft::sync_wait(sched, inner_shorter());
  deadline_type b = weft::sync_wait(sched, outer_shorter());
  auto after = clock_type::now();
  EXPECT_TRUE(within(a, before + 1min, after + 1min));
  EXPECT_TRUE(within(b, before + 1min, after + 1min));
}

TEST(Deadline, NestedInlineTasksInsideATimeoutSeeIt) {
  weft::scheduler sched{2};
  auto body = []() -> weft::task<deadline_type> {
    co_return co_await weft::timeout(1h, read_deadline_nested(10));
  };
  auto before = clock_type::now();
  deadline_type d = weft::sync_wait(sched, body());
  EXPECT_TRUE(within(d, before + 1h, clock_type::now() + 1h));
}

TEST(Deadline, WhenAllChildrenInsideATimeoutSeeIt) {
  weft::scheduler sched{2};
  auto body = []() -> weft::task<std::vector<deadline_type>> {
    auto children = []() -> weft::task<std::vector<deadline_type>> {
      std::vector<weft::task<deadline_type>> tasks;
      for (int i = 0; i < 4; ++i) tasks.push_back(read_deadline_nested(i));
      co_return co_await weft::when_all(std::move(tasks));
    };
    co_return co_await weft::timeout(1h, children());
  };
  auto before = clock_type::now();
  auto ds = weft::sync_wait(sched, body());
  auto after = clock_type::now();
  ASSERT_EQ(ds.size(), 4u);
  for (auto& d : ds) EXPECT_TRUE(within(d, before + 1h, after + 1h));
}

TEST(Deadline, IsEmptyAgainAfterTheTimeoutReturns) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<bool> {
    deadline_type inside = co_await weft::timeout(1h, read_deadline());
    deadline_type after = weft::this_task::deadline();
    co_return inside.has_value() && !after.has_value();
  };
  EXPECT_TRUE(weft::sync_wait(sched, body()));
}

TEST(Deadline, AnUncancellableGraceIsADeadlineToo) {
  weft::scheduler sched{1};
  auto body = []() -> weft::task<deadline_type> {
    co_return co_await weft::uncancellable(read_deadline(), 1h);
  };
  auto before = clock_type::now();
  deadline_type d = weft::sync_wait(sched, body());
  EXPECT_TRUE(within(d, before + 1h, clock_type::now() + 1h));
}

TEST(Deadline, OutsideATaskThrowsInvalidStateNamingTheFix) {
  WEFT_EXPECT_THROW_NAMING(weft::this_task::deadline(), weft::invalid_state_error,
                           "call it from the body of a task");
}
