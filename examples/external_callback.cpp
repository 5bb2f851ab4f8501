// A result that arrives from outside weft (asyncio.Future): a plain thread
// stands in for a client library that completes a weft::future from its
// callback. A weft::timeout around the await cancels the future when the
// answer is late, and the client library sees that: set_value() returns
// false and cancelled() is true, so it can drop the work.

#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <latch>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

/// The client library: answers `query` on its own thread, once `go` opens.
struct client_library {
  std::thread thread;
  bool accepted = false;
  bool saw_cancel = false;

  void query(weft::future<int> reply, int question, std::latch& go) {
    thread = std::thread([this, reply, question, &go] {
      go.wait();
      accepted = reply.set_value(question * 2);  // false if nobody wants it any more
      saw_cancel = reply.cancelled();
    });
  }
};

weft::task<int> ask(weft::future<int> reply) { co_return co_await reply; }

}  // namespace

int main() {
  weft::scheduler sched{2};

  {
    client_library client;
    std::latch go{1};
    weft::future<int> reply;
    client.query(reply, 21, go);
    go.count_down();  // the answer comes at once
    std::printf("answer in time: %d\n", weft::sync_wait(sched, ask(reply)));
    client.thread.join();
    std::printf("  the client's set_value was accepted: %s\n", client.accepted ? "yes" : "no");
  }

  {
    client_library client;
    std::latch go{1};
    weft::future<int> reply;
    client.query(reply, 4, go);
    auto late = [](weft::future<int> reply) -> weft::task<int> {
      co_return co_await weft::timeout(20ms, ask(reply));
    };
    try {
      weft::sync_wait(sched, late(reply));
    } catch (const weft::timeout_error&) {
      std::printf("late answer: timeout_error after 20 ms\n");
    }
    std::printf("  the future: cancelled=%s, reason %s\n", reply.cancelled() ? "yes" : "no",
                std::string(weft::to_string(reply.cancel_reason()->kind)).c_str());
    go.count_down();  // now the client answers, too late
    client.thread.join();
    std::printf("  the client's set_value was accepted: %s; it saw the cancel: %s\n",
                client.accepted ? "yes" : "no", client.saw_cancel ? "yes" : "no");
  }
  return 0;
}
