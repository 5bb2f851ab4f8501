#pragma once
// The opt-in trace recorder (scheduler_options::trace): per worker, the
// spans of each task run, its steals and its parks, written out as Chrome
// trace-event JSON (chrome://tracing and Perfetto open it).
//
// Each worker appends to its own list of fixed-size chunks: no lock, no
// reallocation. The count of a chunk is published with a release store
// after the event is written, so write_json() may read from any thread
// while the pool runs (acquire). Off, the recorder is never touched: each
// hook is one branch on a bool.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <ostream>
#include <vector>

namespace weft::detail {

class trace_recorder {
 public:
  enum class kind : std::uint8_t { run, steal, park };
  /// One span or instant; made by the named constructors, which say what
  /// `subject_` holds for each kind.
  struct event {
    kind what;
    std::uint64_t begin_ns, end_ns;

    /// A run of task `task_id` (0: a run that entered no task).
    static event run(std::uint64_t begin, std::uint64_t end, std::uint64_t task_id) noexcept {
      return {kind::run, begin, end, task_id};
    }
    /// A successful steal from worker `victim`, at `at`.
    static event steal(std::uint64_t at, std::size_t victim) noexcept {
      return {kind::steal, at, at, victim};
    }
    /// A park of the worker.
    static event park(std::uint64_t begin, std::uint64_t end) noexcept {
      return {kind::park, begin, end, 0};
    }
    std::uint64_t task_id() const noexcept { return subject_; }  // kind::run
    std::uint64_t victim() const noexcept { return subject_; }   // kind::steal

    std::uint64_t subject_;  // run: the task's id; steal: the victim's index; park: 0
  };

  explicit trace_recorder(std::size_t workers) : lanes_(workers) {
    for (lane& l : lanes_) l.head = l.tail = new chunk;
  }
  ~trace_recorder() {
    for (lane& l : lanes_) {
      for (chunk* c = l.head; c != nullptr;) {
        chunk* next = c->next.load(std::memory_order_relaxed);
        delete c;
        c = next;
      }
    }
  }
  trace_recorder(const trace_recorder&) = delete;
  trace_recorder& operator=(const trace_recorder&) = delete;

  static std::uint64_t now_ns() noexcept {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  }

  /// Worker `index` only.
  void record(std::size_t index, event e) {
    lane& l = lanes_[index];
    chunk* c = l.tail;
    std::uint32_t n = c->count.load(std::memory_order_relaxed);
    if (n == k_chunk) {
      auto* fresh = new chunk;
      // release: a reader that sees the link sees the new chunk's fields.
      c->next.store(fresh, std::memory_order_release);
      l.tail = c = fresh;
      n = 0;
    }
    c->events[n] = e;
    // release: pairs with the acquire in write_json(); publishes the event.
    c->count.store(n + 1, std::memory_order_release);
  }

  /// Any thread: every event recorded so far, as a JSON object. The text
  /// does not depend on `out`'s formatting flags (hex, precision, showpos):
  /// every number is formatted here.
  void write_json(std::ostream& out) const {
    const std::uint64_t origin = origin_ns_;
    out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
    char line[160];
    for (std::size_t w = 0; w < lanes_.size(); ++w) {
      const int n = std::snprintf(line, sizeof line,
                                  "%s{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%zu,"
                                  "\"args\":{\"name\":\"worker %zu\"}}",
                                  w == 0 ? "" : ",\n", w, w);
      out.write(line, n);
      for (const chunk* c = lanes_[w].head; c != nullptr;
           c = c->next.load(std::memory_order_acquire)) {
        const std::uint32_t count = c->count.load(std::memory_order_acquire);
        for (std::uint32_t i = 0; i < count; ++i) write_event(out, w, c->events[i], origin);
      }
    }
    out << "\n]}\n";
  }

 private:
  static constexpr std::uint32_t k_chunk = 4096;
  struct chunk {
    event events[k_chunk];
    std::atomic<std::uint32_t> count{0};
    std::atomic<chunk*> next{nullptr};
  };
  struct lane {
    chunk* head = nullptr;
    chunk* tail = nullptr;  // the worker's only
  };

  // Microseconds with three decimals, from integer nanoseconds: exact at
  // any trace length (a double printed with the stream's default six
  // significant digits loses the microseconds after one second).
  struct micros {
    unsigned long long whole, frac;
  };
  static micros us(std::uint64_t ns) noexcept { return {ns / 1000, ns % 1000}; }

  static void write_event(std::ostream& out, std::size_t w, const event& e, std::uint64_t origin) {
    const micros ts = us(e.begin_ns - origin);
    const micros dur = us(e.end_ns - e.begin_ns);
    char line[160];
    int n = 0;
    switch (e.what) {
      case kind::run:
        if (e.task_id() == 0) {  // a run that entered no task (worker.cpp: run())
          n = std::snprintf(line, sizeof line,
                            ",\n{\"pid\":1,\"tid\":%zu,\"ts\":%llu.%03llu,\"ph\":\"X\",\"name\":"
                            "\"scheduler\",\"cat\":\"run\",\"dur\":%llu.%03llu}",
                            w, ts.whole, ts.frac, dur.whole, dur.frac);
          break;
        }
        n = std::snprintf(line, sizeof line,
                          ",\n{\"pid\":1,\"tid\":%zu,\"ts\":%llu.%03llu,\"ph\":\"X\",\"name\":"
                          "\"task %llu\",\"cat\":\"run\",\"dur\":%llu.%03llu}",
                          w, ts.whole, ts.frac, static_cast<unsigned long long>(e.task_id()), dur.whole,
                          dur.frac);
        break;
      case kind::park:
        n = std::snprintf(line, sizeof line,
                          ",\n{\"pid\":1,\"tid\":%zu,\"ts\":%llu.%03llu,\"ph\":\"X\",\"name\":"
                          "\"park\",\"cat\":\"park\",\"dur\":%llu.%03llu}",
                          w, ts.whole, ts.frac, dur.whole, dur.frac);
        break;
      case kind::steal:
        n = std::snprintf(line, sizeof line,
                          ",\n{\"pid\":1,\"tid\":%zu,\"ts\":%llu.%03llu,\"ph\":\"i\",\"s\":\"t\","
                          "\"name\":\"steal from worker %llu\",\"cat\":\"steal\"}",
                          w, ts.whole, ts.frac, static_cast<unsigned long long>(e.victim()));
        break;
    }
    out.write(line, n);
  }

  std::vector<lane> lanes_;
  const std::uint64_t origin_ns_ = now_ns();
};

}  // namespace weft::detail
