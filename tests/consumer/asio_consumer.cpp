// A service's use of the weft::asio component: an Asio timer, on an
// io_context thread, awaited from a weft task.

#include <chrono>
#include <cstdio>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <weft/asio.hpp>
#include <weft/weft.hpp>

namespace {

weft::task<std::thread::id> wait_for_timer(boost::asio::io_context& io) {
  boost::asio::steady_timer timer(io, std::chrono::milliseconds(1));
  co_await timer.async_wait(weft::use_task);
  co_return std::this_thread::get_id();
}

}  // namespace

int main() {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  std::thread::id resumed_on;
  {
    weft::scheduler sched{2};
    resumed_on = weft::sync_wait(sched, wait_for_timer(io));
  }
  work.reset();
  io_thread.join();
  if (resumed_on == io_thread.get_id() || resumed_on == std::this_thread::get_id()) {
    std::puts("weft_asio_consumer: the task resumed off its workers");
    return 1;
  }
  std::puts("weft_asio_consumer: ok");
  return 0;
}
