#include <weft/weft.hpp>
#include <gtest/gtest.h>
#include <atomic>

namespace {
weft::task<int> answer() { co_await weft::yield(); co_return 42; }

weft::task<void> cleanup_on_cancel(std::atomic<bool>& started, std::atomic<bool>& cleaned) {
  started = true;
  struct guard { std::atomic<bool>& f; ~guard() { f = true; } } g{cleaned};
  try {
    for (;;) co_await weft::yield();
  } catch (const weft::cancelled_error& e) {
    throw;
  }
}
}

TEST(Smoke, IssueExample) {
  weft::scheduler sched{2};
  weft::task_handle<int> h = sched.spawn(answer());
  h.wait();
  EXPECT_TRUE(h.done());
  EXPECT_FALSE(h.cancelled());
  EXPECT_EQ(h.result(), 42);
  EXPECT_EQ(weft::sync_wait(sched, answer()), 42);
  std::atomic<bool> started{false}, cleaned{false};
  auto c = sched.spawn(cleanup_on_cancel(started, cleaned));
  EXPECT_TRUE(c.cancel("shutting down"));
  c.wait();
  EXPECT_TRUE(c.cancelled());
  EXPECT_EQ(cleaned.load(), started.load());
  try { c.result(); FAIL(); } catch (const weft::cancelled_error& e) { EXPECT_NE(std::string(e.what()).find("shutting down"), std::string::npos); }
  EXPECT_FALSE(c.cancel());
}
