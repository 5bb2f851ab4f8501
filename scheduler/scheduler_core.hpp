#pragma once
// The runtime behind weft::scheduler: the workers and their threads, the
// loop that runs them (worker.cpp), parking (parking.cpp), taking from the
// injection queue (injection.cpp), construction and shutdown (pool.cpp).
// What inline code touches is in the base (detail/runtime.hpp).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <ostream>
#include <thread>
#include <vector>

#include <weft/scheduler.hpp>
#include <weft/detail/runtime.hpp>

#include "chaos.hpp"
#include "trace_recorder.hpp"

namespace weft::detail {

class scheduler_core : public scheduler_base {
 public:
  explicit scheduler_core(const scheduler_options& options);
  ~scheduler_core();
  scheduler_core(const scheduler_core&) = delete;
  scheduler_core& operator=(const scheduler_core&) = delete;

  /// scheduler::shutdown() and ~scheduler(): cancel, drain, join (see
  /// scheduler.hpp). The first call does it; later ones (any thread) wait
  /// for it to be done.
  void shut_down() noexcept;

  std::size_t worker_count() const noexcept { return workers_.size(); }
  scheduler_stats stats() const noexcept;
  void dump(std::ostream& out) const;
  void write_trace(std::ostream& out) const;

 private:
  void worker_main(worker_context& w) noexcept;
  void run(worker_context& w, work_item item) noexcept;
  // Own deque, then the injection queue, then enqueued tasks, then yielded
  // tasks, then stealing;
  // the injection queue first when a chain or a loop made way for it, and
  // every worker_context::k_injection_interval tasks.
  work_item find_work(worker_context& w);
  work_item take_injected(worker_context& w);
  work_item take_enqueued();
  // After the workers are joined: drops what the injection queue, its
  // ready list and the enqueued tasks still hold.
  void drop_injected() noexcept;
  static void drop_list(work_node* node) noexcept;
  work_item steal(worker_context& w);
  // Spins as a searcher, then parks; k_no_work when the pool exits.
  work_item wait_for_work(worker_context& w);
  struct idle_worker;  // its hooks for idle_state::wait_for_work (parking.cpp)
  static void drop_unstarted(work_item item) noexcept;
  void cancel_drain_join() noexcept;
  // On worker `index`'s own thread: its name and CPU pinning.
  void configure_this_thread(std::size_t index) noexcept;
  static void run_hook(const std::function<void(std::size_t)>& hook, std::size_t index,
                       const char* what) noexcept;

  std::vector<std::unique_ptr<worker_context>> workers_;
  // One per worker, touched only by that worker (chaos.hpp).
  std::vector<chaos_monkey> chaos_;
  std::vector<std::thread> threads_;
  // Set by shut_down() once every task is terminal: workers exit when idle.
  std::atomic<bool> exit_{false};
  std::once_flag shut_down_once_;
  scheduler_options options_;
  std::unique_ptr<trace_recorder> trace_;  // null unless options_.trace
  std::uint32_t spin_rounds_;
  // Nodes taken from the injection stack, oldest first, that no worker has
  // taken yet: injected work is run in the order it came, one node per
  // take, by whichever worker looks first (injection.cpp).
  std::mutex ready_mutex_;
  work_node* ready_head_ = nullptr;  // guarded by ready_mutex_
};

}  // namespace weft::detail
