#pragma once
// The runtime behind weft::scheduler: the workers, their loop, the
// injection queue, the shutdown protocol.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <ostream>
#include <unordered_set>
#include <thread>
#include <vector>

#include <weft/scheduler.hpp>
#include <weft/detail/runtime.hpp>

#include "chaos.hpp"
#include "timer_service.hpp"
#include "trace_recorder.hpp"

namespace weft::detail {

class scheduler_core : public scheduler_base {
 public:
  explicit scheduler_core(const scheduler_options& options);
  ~scheduler_core();
  scheduler_core(const scheduler_core&) = delete;
  scheduler_core& operator=(const scheduler_core&) = delete;

  /// ~scheduler(): cancel, drain, join (see scheduler.hpp).
  void shut_down() noexcept;

  std::size_t worker_count() const noexcept { return workers_.size(); }
  scheduler_stats stats() const noexcept;
  void dump(std::ostream& out) const;
  void write_trace(std::ostream& out) const;

 private:
  friend class scheduler_base;

  void worker_main(worker_context& w) noexcept;
  void run(worker_context& w, work_item item) noexcept;
  // Own deque, then the injection queue, then yielded tasks, then stealing.
  work_item find_work(worker_context& w);
  work_item take_injected(worker_context& w);
  work_item steal(worker_context& w);
  // Spins as a searcher, then parks; k_no_work when the pool exits.
  work_item wait_for_work(worker_context& w);
  static void drop_unstarted(work_item item) noexcept;
  // On worker `index`'s own thread: its name and CPU pinning.
  void configure_this_thread(std::size_t index) noexcept;
  static void run_hook(const std::function<void(std::size_t)>& hook, std::size_t index,
                       const char* what) noexcept;
  void cancel_foreign_waits() noexcept;

  std::vector<std::unique_ptr<worker_context>> workers_;
  // One per worker, touched only by that worker (chaos.hpp).
  std::vector<chaos_monkey> chaos_;
  std::vector<std::thread> threads_;
  // Lock-free stack of nodes pushed by threads that are not workers; a
  // worker takes the whole stack at once (so no ABA).
  alignas(k_cache_line) std::atomic<work_node*> injection_{nullptr};
  // Set by shut_down() once every task is terminal: workers exit when idle.
  std::atomic<bool> exit_{false};
  scheduler_options options_;
  std::unique_ptr<trace_recorder> trace_;  // null unless options_.trace
  std::uint32_t spin_rounds_;
  // Live spawned tasks when options_.track_tasks (scheduler_base::track).
  mutable std::mutex registry_mutex_;
  std::unordered_set<task_state*> registry_;  // under registry_mutex_
  // Roots parked on tasks of other schedulers (note_foreign_wait).
  std::mutex foreign_mutex_;
  std::vector<task_state*> foreign_waits_;  // under foreign_mutex_
  // Declared last: its thread stops after the workers are joined.
  timer_service timers_;
};

}  // namespace weft::detail
