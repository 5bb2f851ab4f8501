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
#include <memory>
#include <ostream>
#include <vector>

namespace weft::detail {

class trace_recorder {
 public:
  enum class kind : std::uint8_t { run, steal, park };
  struct event {
    kind what;
    std::uint64_t begin_ns, end_ns;
    std::uint64_t task;  // run: the task's id; steal: the victim's index
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

  /// Any thread: every event recorded so far, as a JSON object.
  void write_json(std::ostream& out) const {
    const std::uint64_t origin = origin_ns_;
    out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
    bool first = true;
    for (std::size_t w = 0; w < lanes_.size(); ++w) {
      out << (first ? "" : ",\n") << "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" << w
          << ",\"args\":{\"name\":\"worker " << w << "\"}}";
      first = false;
      for (const chunk* c = lanes_[w].head; c != nullptr;
           c = c->next.load(std::memory_order_acquire)) {
        const std::uint32_t n = c->count.load(std::memory_order_acquire);
        for (std::uint32_t i = 0; i < n; ++i) write_event(out, w, c->events[i], origin);
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

  static void write_event(std::ostream& out, std::size_t w, const event& e, std::uint64_t origin) {
    auto us = [origin](std::uint64_t ns) { return static_cast<double>(ns - origin) / 1000.0; };
    out << ",\n{\"pid\":1,\"tid\":" << w << ",\"ts\":" << us(e.begin_ns);
    switch (e.what) {
      case kind::run:
        out << ",\"ph\":\"X\",\"name\":\"task " << e.task << "\",\"cat\":\"run\",\"dur\":"
            << us(e.end_ns) - us(e.begin_ns);
        break;
      case kind::park:
        out << ",\"ph\":\"X\",\"name\":\"park\",\"cat\":\"park\",\"dur\":"
            << us(e.end_ns) - us(e.begin_ns);
        break;
      case kind::steal:
        out << ",\"ph\":\"i\",\"s\":\"t\",\"name\":\"steal from worker " << e.task
            << "\",\"cat\":\"steal\"";
        break;
    }
    out << '}';
  }

  std::vector<lane> lanes_;
  const std::uint64_t origin_ns_ = now_ns();
};

}  // namespace weft::detail
