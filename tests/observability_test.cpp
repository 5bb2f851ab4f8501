// Observability: task names and ids, the one-line stats, dump() of the live
// tasks, and the Chrome trace written by write_trace().

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <iomanip>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <latch>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "support.hpp"

using weft_test::contains;
using namespace std::chrono_literals;

namespace {

// ---- a minimal JSON reader: enough to prove the trace is well formed and
// to look at its events (objects, arrays, strings without \u, numbers,
// true/false/null).

struct json;
using json_object = std::map<std::string, json>;
using json_array = std::vector<json>;
struct json {
  std::variant<std::nullptr_t, bool, double, std::string, json_array, json_object> v;
  const json_object& object() const { return std::get<json_object>(v); }
  const json_array& array() const { return std::get<json_array>(v); }
  const std::string& str() const { return std::get<std::string>(v); }
  double num() const { return std::get<double>(v); }
  bool has(const std::string& key) const {
    return std::holds_alternative<json_object>(v) && object().count(key) != 0;
  }
  const json& operator[](const std::string& key) const { return object().at(key); }
};

class json_reader {
 public:
  explicit json_reader(const std::string& text) : s_(text) {}

  // Throws std::runtime_error naming the offset of the first error.
  json parse() {
    json value = parse_value();
    skip_space();
    if (pos_ != s_.size()) fail("text after the value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("bad JSON at offset " + std::to_string(pos_) + ": " + what +
                             " near \"" + s_.substr(pos_ < 20 ? 0 : pos_ - 20, 40) + "\"");
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' ||
                                s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  void expect(char c) {
    skip_space();
    if (pos_ >= s_.size() || s_[pos_] != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool take(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  json parse_value() {
    skip_space();
    if (pos_ >= s_.size()) fail("unexpected end");
    const char c = s_[pos_];
    if (c == '{') return parse_object();
    if (c == '[') return parse_array();
    if (c == '"') return json{parse_string()};
    if (s_.compare(pos_, 4, "true") == 0) return pos_ += 4, json{true};
    if (s_.compare(pos_, 5, "false") == 0) return pos_ += 5, json{false};
    if (s_.compare(pos_, 4, "null") == 0) return pos_ += 4, json{nullptr};
    return json{parse_number()};
  }
  json parse_object() {
    expect('{');
    json_object o;
    if (take('}')) return json{o};
    do {
      skip_space();
      std::string key = parse_string();
      expect(':');
      o[key] = parse_value();
    } while (take(','));
    expect('}');
    return json{o};
  }
  json parse_array() {
    expect('[');
    json_array a;
    if (take(']')) return json{a};
    do {
      a.push_back(parse_value());
    } while (take(','));
    expect(']');
    return json{a};
  }
  std::string parse_string() {
    if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a string");
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      if (static_cast<unsigned char>(s_[pos_]) < 0x20) fail("control character in a string");
      if (s_[pos_] == '\\') {
        ++pos_;
        if (pos_ >= s_.size() || std::string("\"\\/bfnrt").find(s_[pos_]) == std::string::npos) {
          fail("unsupported escape");
        }
      }
      out += s_[pos_++];
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }
  double parse_number() {
    // JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    const std::size_t start = pos_;
    auto digits = [this] {
      const std::size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      fail("expected a value");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) fail("digits expected after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("digits expected in the exponent");
    }
    return std::strtod(s_.substr(start, pos_ - start).c_str(), nullptr);
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

std::string dump_of(const weft::scheduler& sched) {
  std::ostringstream out;
  sched.dump(out);
  return out.str();
}

std::string trace_of(const weft::scheduler& sched) {
  std::ostringstream out;
  sched.write_trace(out);
  return out.str();
}

// Polls dump() until it contains `needle` (the state of another thread's
// task can only be seen there); the guard turns a hang into a report.
std::string wait_for_dump(const weft::scheduler& sched, const std::string& needle) {
  weft_test::hang_guard guard{std::chrono::seconds(60), "waiting for dump() to show " + needle};
  for (;;) {
    std::string d = dump_of(sched);
    if (d.find(needle) != std::string::npos) return d;
    std::this_thread::yield();
  }
}

// The dump line prefix of a task: `task <id> "<name>": `.
template <class T>
std::string line_of(const weft::task_handle<T>& h) {
  std::string line = "task " + std::to_string(h.id());
  if (!h.name().empty()) line += " \"" + std::string(h.name()) + "\"";
  return line + ": ";
}

weft::scheduler_options tracked(std::size_t workers) {
  weft::scheduler_options options;
  options.workers = workers;
  options.track_tasks = true;
  return options;
}

weft::task<int> value(int v) { co_return v; }

weft::task<void> sleep_an_hour() { co_await weft::sleep_for(1h); }

// Suspends on `h` until it is done.
weft::task<void> await_handle(weft::task_handle<void> h) { co_await h; }

weft::task<void> fail_now() {
  throw std::runtime_error("boom");
  co_return;
}

// Fork-join work whose spawned branches are named "fib" in dump().
weft::task<long> fib(long n) { return weft_test::spawning_fib(n, "fib"); }

}  // namespace

// ---- names and ids

TEST(Observability, SpawnWithANameGivesTheHandleThatName) {
  weft::scheduler sched{1};
  auto named = sched.spawn(value(1), "fetch-user");
  auto unnamed = sched.spawn(value(2));
  EXPECT_EQ(named.name(), "fetch-user");
  EXPECT_EQ(unnamed.name(), "");
  auto copy = named;
  EXPECT_EQ(copy.name(), "fetch-user");
  named.wait();
  EXPECT_EQ(named.name(), "fetch-user");  // still there once done
}

TEST(Observability, FreeSpawnInsideATaskNamesTheChild) {
  weft::scheduler sched{2};
  auto parent = []() -> weft::task<std::string> {
    auto child = weft::spawn(value(3), "child-of-parent");
    co_await child;
    co_return std::string(child.name());
  };
  EXPECT_EQ(weft::sync_wait(sched, parent()), "child-of-parent");
}

TEST(Observability, IdsAreNonZeroStableAndUniqueAcrossThreadsAndSchedulers) {
  weft::scheduler a{2}, b{2};
  constexpr int k_per_thread = 500;
  std::vector<std::vector<std::uint64_t>> ids(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      weft::scheduler& sched = t % 2 == 0 ? a : b;
      for (int i = 0; i < k_per_thread; ++i) {
        auto h = sched.spawn(value(i));
        const std::uint64_t id = h.id();
        auto copy = h;
        h.wait();
        if (copy.id() != id || h.id() != id) ids[t].push_back(0);  // unstable: fails below
        ids[t].push_back(id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::uint64_t> all;
  for (auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.count(0), 0u);
  EXPECT_EQ(all.size(), 4u * k_per_thread);
}

// ---- stats

TEST(Observability, StatsPrintAsOneLineOfNamedCounters) {
  weft::scheduler_stats s;
  s.spawned = 10;
  s.succeeded = 6;
  s.failed = 1;
  s.cancelled = 1;
  s.steals = 3;
  s.failed_steals = 12;
  s.parks = 4;
  s.callback_errors = 5;
  const std::string expected =
      "spawned=10 succeeded=6 failed=1 cancelled=1 live=2 steals=3 failed_steals=12 parks=4 "
      "callback_errors=5";
  EXPECT_EQ(weft::to_string(s), expected);
  std::ostringstream out;
  out << s;
  EXPECT_EQ(out.str(), expected);
}

TEST(Observability, StatsLiveNeverGoesNegativeInARacyView) {
  weft::scheduler_stats s;  // ends read before spawns: a snapshot of a running pool
  s.spawned = 1;
  s.succeeded = 2;
  EXPECT_TRUE(contains(weft::to_string(s), " live=0 "));
}

TEST(Observability, StatsOfAQuietPoolCountEveryOutcome) {
  weft::scheduler sched{2};
  auto ok = sched.spawn(value(1));
  auto bad = sched.spawn(fail_now());
  auto sleeper = sched.spawn(sleep_an_hour());
  ok.wait();
  bad.wait();
  sleeper.cancel();
  sleeper.wait();
  // A task is counted just after its handles see it done: wait for that.
  weft_test::hang_guard guard{std::chrono::seconds(60), "stats to count three ends"};
  weft::scheduler_stats s;
  for (;;) {
    s = sched.stats();
    if (s.succeeded + s.failed + s.cancelled == 3) break;
    std::this_thread::yield();
  }
  EXPECT_TRUE(contains(weft::to_string(s), "spawned=3 succeeded=1 failed=1 cancelled=1 live=0 "));
}

// ---- dump

TEST(Observability, DumpWithoutTrackingPrintsTheCountersAndHowToListTasks) {
  weft::scheduler sched{2};
  const std::string d = dump_of(sched);
  EXPECT_TRUE(contains(d, "weft scheduler: 2 workers; spawned=0 "));
  EXPECT_TRUE(contains(d, "construct the scheduler with scheduler_options::track_tasks"));
}

TEST(Observability, DumpListsAQueuedTaskAndTheRunningOne) {
  weft::scheduler sched{tracked(1)};
  std::latch started{1}, release{1};
  auto busy = sched.spawn(weft_test::occupy_worker(started, release), "busy");
  started.wait();
  auto waiting = sched.spawn(value(7), "waiting");
  const std::string d = dump_of(sched);  // the one worker is held: nothing moves
  EXPECT_TRUE(contains(d, "2 live tasks:"));
  EXPECT_TRUE(contains(d, line_of(busy) + "running\n"));
  EXPECT_TRUE(contains(d, line_of(waiting) + "queued\n"));
  release.count_down();
  waiting.wait();
  EXPECT_EQ(waiting.result(), 7);
}

TEST(Observability, DumpShowsATaskSuspendedOnAnotherTask) {
  weft::scheduler sched{tracked(2)};
  std::latch started{1}, release{1};
  auto busy = sched.spawn(weft_test::occupy_worker(started, release), "busy");
  started.wait();
  auto awaiter = sched.spawn(await_handle(busy), "awaiter");
  const std::string d = wait_for_dump(sched, line_of(awaiter) + "suspended on a task\n");
  EXPECT_TRUE(contains(d, line_of(busy) + "running\n"));
  release.count_down();
  awaiter.wait();
}

TEST(Observability, DumpShowsATaskInSleep) {
  weft::scheduler sched{tracked(2)};
  auto sleeper = sched.spawn(sleep_an_hour(), "nap");
  wait_for_dump(sched, line_of(sleeper) + "suspended in sleep\n");
  sleeper.cancel();
  sleeper.wait();
}

TEST(Observability, DumpShowsAnOwnerJoiningItsGroupAndTheUnnamedChildren) {
  weft::scheduler sched{tracked(2)};
  auto owner = sched.spawn([]() -> weft::task<void> {
    weft::task_group group;
    group.spawn(sleep_an_hour());
    group.spawn(sleep_an_hour());
    co_await group.join();
  }(), "owner");
  const std::string d = wait_for_dump(sched, line_of(owner) + "suspended in task_group::join\n");
  EXPECT_TRUE(contains(d, "3 live tasks:"));
  owner.cancel("done looking");
  owner.wait();
  EXPECT_TRUE(owner.cancelled());
}

TEST(Observability, DumpShowsATaskInWhenAll) {
  weft::scheduler sched{tracked(2)};
  auto gather = sched.spawn([]() -> weft::task<void> {
    co_await weft::when_all(sleep_an_hour(), sleep_an_hour());
  }(), "gather");
  // when_all's children are not spawned tasks: only the owner is listed.
  const std::string d =
      wait_for_dump(sched, line_of(gather) + "suspended in when_all/when_any/timeout\n");
  EXPECT_TRUE(contains(d, "1 live tasks:"));
  gather.cancel();
  gather.wait();
}

TEST(Observability, DumpShowsACancelRequestWithItsKindAndMessage) {
  weft::scheduler sched{tracked(2)};
  std::latch started{1}, release{1};
  // busy never reaches a suspension point, so the request stays pending.
  auto busy = sched.spawn(weft_test::occupy_worker(started, release), "busy");
  started.wait();
  auto awaiter = sched.spawn(await_handle(busy), "awaiter");
  wait_for_dump(sched, line_of(awaiter) + "suspended on a task\n");
  awaiter.cancel("operator asked");
  // The request passed on to the awaited task keeps the message.
  const std::string d = wait_for_dump(
      sched, line_of(busy) + "running, cancel requested (parent_cancelled: operator asked)\n");
  EXPECT_TRUE(contains(d, line_of(awaiter) + "suspended on a task, cancel requested (user: operator asked)\n"));
  release.count_down();
  awaiter.wait();
  busy.wait();
}

TEST(Observability, EndedTasksLeaveTheDump) {
  weft::scheduler sched{tracked(2)};
  EXPECT_EQ(weft::sync_wait(sched, fib(12)), 144);
  auto sleeper = sched.spawn(sleep_an_hour(), "nap");
  sleeper.cancel();
  sleeper.wait();
  wait_for_dump(sched, "  0 live tasks:\n");
}

TEST(Observability, DumpIsSafeFromAnotherThreadWhileThePoolRuns) {
  weft::scheduler sched{tracked(2)};
  std::atomic<bool> stop{false};
  std::atomic<long> dumps{0};
  std::string bad;  // written by the dumper before found_bad
  std::atomic<bool> found_bad{false};
  std::thread dumper([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const std::string d = dump_of(sched);
      if (d.rfind("weft scheduler: 2 workers; spawned=", 0) != 0 ||
          d.find(" live tasks:\n") == std::string::npos) {
        bad = d;
        found_bad.store(true, std::memory_order_release);
        return;
      }
      dumps.fetch_add(1, std::memory_order_relaxed);
    }
  });
  for (int round = 0; round < 40; ++round) {
    // Every state at once: fork-join, sleepers cancelled while dumped,
    // groups, when_all, and tasks cancelled before they start.
    auto work = sched.spawn(fib(13), "fib");
    auto nap = sched.spawn(sleep_an_hour(), "nap");
    auto never = sched.spawn(value(round), "never");
    never.cancel("not needed");
    auto owner = sched.spawn([]() -> weft::task<void> {
      weft::task_group group;
      for (int i = 0; i < 4; ++i) group.spawn(fib(8));
      co_await group.join();
      co_await weft::when_all(fib(8), fib(9));
    }(), "owner");
    // Let the dumper overlap this round's work before it ends.
    const long seen = dumps.load();
    while (dumps.load() < seen + 2 && !work.done()) std::this_thread::yield();
    nap.cancel("round over");
    work.wait();
    owner.wait();
    nap.wait();
    never.wait();
    ASSERT_EQ(work.result(), 233);
  }
  // At least one dump overlapped the pool (the rounds' waits may all have
  // ended by their work before the dumper thread got a core).
  while (dumps.load() == 0 && !found_bad.load(std::memory_order_acquire)) std::this_thread::yield();
  stop = true;
  dumper.join();
  EXPECT_EQ(bad, "");
  EXPECT_GT(dumps.load(), 0);
}

// ---- traces

TEST(Observability, WriteTraceWithoutTracingThrowsInvalidStateNamingTheFix) {
  weft::scheduler sched{1};
  std::ostringstream out;
  try {
    sched.write_trace(out);
    FAIL() << "write_trace() did not throw";
  } catch (const weft::invalid_state_error& e) {
    EXPECT_TRUE(contains(e.what(), "construct it with scheduler_options::trace = true"));
  }
}

namespace {

weft::scheduler_options traced(std::size_t workers) {
  weft::scheduler_options options;
  options.workers = workers;
  options.trace = true;
  options.spin_rounds = 0;  // idle workers park at once: parks show up soon
  return options;
}

struct lane_counts {
  int runs = 0, steals = 0, parks = 0;
};

// Parses a trace and checks every event's shape; returns the counts per
// worker (tid) and the names of the run spans.
std::map<long, lane_counts> check_trace(const std::string& text, std::size_t workers,
                                        std::set<std::string>* run_names = nullptr) {
  const json doc = json_reader(text).parse();
  EXPECT_EQ(doc["displayTimeUnit"].str(), "ms");
  std::map<long, lane_counts> lanes;
  std::set<long> named;
  for (const json& e : doc["traceEvents"].array()) {
    EXPECT_EQ(e["pid"].num(), 1);
    const long tid = static_cast<long>(e["tid"].num());
    EXPECT_GE(tid, 0);
    EXPECT_LT(tid, static_cast<long>(workers));
    const std::string& ph = e["ph"].str();
    if (ph == "M") {
      EXPECT_EQ(e["name"].str(), "thread_name");
      EXPECT_EQ(e["args"]["name"].str(), "worker " + std::to_string(tid));
      named.insert(tid);
      continue;
    }
    EXPECT_GE(e["ts"].num(), 0);
    const std::string& cat = e["cat"].str();
    if (ph == "X") {
      EXPECT_GE(e["dur"].num(), 0);
      if (cat == "run") {
        ++lanes[tid].runs;
        if (run_names != nullptr) run_names->insert(e["name"].str());
      } else {
        EXPECT_EQ(cat, "park");
        ++lanes[tid].parks;
      }
    } else {
      EXPECT_EQ(ph, "i");
      EXPECT_EQ(cat, "steal");
      EXPECT_TRUE(contains(e["name"].str(), "steal from worker "));
      ++lanes[tid].steals;
    }
  }
  EXPECT_EQ(named.size(), workers);  // one thread_name record per worker
  return lanes;
}

// A task that spawns a child onto its own worker's deque and holds that
// worker until the child ran: the child can only have been stolen.
weft::task<void> force_a_steal() {
  std::latch ran{1};
  auto child = weft::spawn([](std::latch& ran) -> weft::task<void> {
    ran.count_down();
    co_return;
  }(ran));
  ran.wait();
  co_await child;
}

}  // namespace

TEST(Observability, TraceIsChromeJsonWithRunStealAndParkEventsOnEveryWorker) {
  weft::scheduler sched{traced(2)};
  weft_test::hang_guard guard{std::chrono::seconds(120), "every worker to run, steal and park"};
  std::set<std::string> stealers;  // the run-span names the spawned tasks get
  for (;;) {
    auto h = sched.spawn(force_a_steal(), "stealer");
    h.wait();
    stealers.insert("task " + std::to_string(h.id()));
    std::set<std::string> names;
    auto lanes = check_trace(trace_of(sched), 2, &names);
    if (HasFailure()) return;
    // A run span is recorded when the worker leaves the task, just after
    // its handle saw it done: some round's span shows up in a later one.
    bool all = lanes.size() == 2 && std::any_of(stealers.begin(), stealers.end(), [&](auto& s) {
                 return names.count(s) != 0;
               });
    for (auto& [tid, c] : lanes) all = all && c.runs > 0 && c.steals > 0 && c.parks > 0;
    if (all) break;
  }
}

TEST(Observability, TraceDoesNotDependOnTheStreamsNumberFormatting) {
  weft::scheduler sched{traced(12)};  // two-digit worker ids
  EXPECT_EQ(weft::sync_wait(sched, fib(12)), 144);
  std::ostringstream out;
  out << std::hex << std::setprecision(2) << std::showpos;
  sched.write_trace(out);
  check_trace(out.str(), 12);
  EXPECT_EQ(out.str().find("e+"), std::string::npos) << "timestamps lost precision";
}

TEST(Observability, WriteTraceIsSafeFromAnotherThreadWhileThePoolRuns) {
  weft::scheduler sched{traced(2)};
  std::atomic<bool> stop{false};
  std::atomic<long> writes{0};
  std::thread writer([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      check_trace(trace_of(sched), 2);
      writes.fetch_add(1, std::memory_order_relaxed);
    }
  });
  // Enough events to fill several of the recorder's chunks while read.
  for (int round = 0; round < 20; ++round) {
    const long seen = writes.load();
    auto h = sched.spawn(fib(14));
    while (writes.load() < seen + 1 && !h.done()) std::this_thread::yield();
    h.wait();
    ASSERT_EQ(h.result(), 377);
  }
  // On a loaded machine every round may end before the writer's first
  // write: let it finish one while the pool has run.
  while (writes.load() == 0) std::this_thread::yield();
  stop = true;
  writer.join();
  const auto lanes = check_trace(trace_of(sched), 2);
  long runs = 0;
  for (auto& [tid, c] : lanes) runs += c.runs;
  EXPECT_GT(runs, 4096);  // more than one chunk
}
