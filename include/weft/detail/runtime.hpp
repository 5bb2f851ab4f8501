#pragma once
// What the inline paths (spawn, co_await, completion) need of the runtime:
// the part of the scheduler they touch directly, and the worker that runs
// the current thread. The rest of the runtime lives in scheduler/.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include <weft/detail/atomic.hpp>
#include <weft/detail/cancel_epoch.hpp>
#include <weft/detail/config.hpp>
#include <weft/detail/deque.hpp>
#include <weft/detail/frame_allocator.hpp>
#include <weft/detail/idle_state.hpp>

namespace weft::detail {

class blocking_job;
class blocking_pool;
class promise_base;
class task_state;
class task_registry;
class timer_entry;
class timer_service;
struct worker_context;

/// Tag bit of a work_item that is a task_state whose body has not started
/// (frames and task_states are at least 8-aligned, so bits 0 to 2 are
/// free).
inline constexpr work_item k_fresh_task = 1;
/// Tag bit of a work_item that is a frame of a drop_on_cancel region queued
/// to resume (after a yield or a sleep): the worker looks at its root's
/// cancel before resuming it and drops it instead (drop.hpp).
inline constexpr work_item k_resume_checked = 2;

inline work_item as_work(std::coroutine_handle<> h) noexcept {
  return reinterpret_cast<work_item>(h.address());
}
inline work_item as_work(task_state* fresh) noexcept {
  return reinterpret_cast<work_item>(fresh) | k_fresh_task;
}

/// An intrusive link for the injection queue: embedded in task_state (for a
/// spawn from a thread that is not a worker) and in coroutine waiters (for a
/// wake-up from such a thread). Owned by whoever holds the item.
struct work_node {
  work_node* next = nullptr;
  work_item item = k_no_work;
};

/// Per-worker counters: written only by their worker (plain load + store,
/// no RMW), read by stats() from any thread, hence relaxed atomics.
struct alignas(k_cache_line) worker_counters {
  std::atomic<std::uint64_t> spawned{0}, succeeded{0}, failed{0}, cancelled{0};
  std::atomic<std::uint64_t> steals{0}, failed_steals{0}, parks{0}, callback_errors{0};

  static void bump(std::atomic<std::uint64_t>& c) noexcept {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

/// The parts of a scheduler that header code touches: the stopping flag,
/// the live count and its admission, the injection queue, the idle
/// protocol, and the two out-of-line parts inline code reaches (the task
/// registry, the timer service). Lives as long as the scheduler;
/// scheduler_core (scheduler/) derives from it and owns the workers. Each
/// member function is defined in the scheduler/ source of its part.
class scheduler_base {
 public:
  scheduler_base(const scheduler_base&) = delete;
  scheduler_base& operator=(const scheduler_base&) = delete;

  /// True once ~scheduler() began: suspension points then cancel their task.
  bool stopping() const noexcept { return stopping_.load(std::memory_order_relaxed); }

  /// Advanced by every first cancel request of a task of this scheduler
  /// and by its shutdown (cancel_epoch.hpp).
  cancel_epoch& cancels() noexcept { return cancels_; }

  // ---- admission and terminal accounting (admission.cpp)

  /// Accounts a new task; false if the scheduler is stopping (the task is
  /// then cancelled with reason shutdown and never runs).
  bool admit_task() noexcept;
  /// First half of a task's end, called before its waiters are woken so
  /// that a wait() that returns sees the task in stats() and no longer in
  /// dump(); `outcome` is the state word's outcome bits.
  void account_terminal(task_state& task, std::uint64_t outcome) noexcept;
  /// Second half: a task of this scheduler reached its terminal state.
  /// Called once per task, last thing touching the scheduler (the
  /// destructor may return once the count hits zero).
  void on_task_terminal() noexcept;
  /// The worker saw the scheduler stopping: it returns its credits and
  /// from now on counts tasks in live_ directly (worker's own thread only).
  void flush_live_credits(worker_context& w) noexcept;
  void count_callback_error() noexcept;

  // ---- the injection queue (injection.cpp)

  /// From a thread that is not one of this scheduler's workers: pushes the
  /// node onto the injection queue and wakes a worker if needed.
  void inject(work_node& node) noexcept;
  /// From one of this scheduler's workers: queues a new independent task
  /// (scheduler::spawn) behind those queued before it, to be taken, oldest
  /// first, by a worker with nothing of its own to run (as oneTBB's
  /// task_arena::enqueue). Not on the spawning worker's deque, where it
  /// would run before the older work below it, and not injected work,
  /// which a busy worker makes way for: a new request would overtake the
  /// computations of older ones again and again.
  void enqueue(work_node& node) noexcept;
  /// True if injected work waits, on the stack or taken from it and not yet
  /// run (relaxed loads of one line: a hint for a busy worker to make way
  /// for it, decided again by take_injected()).
  bool has_injected() const noexcept {
    return injection_.load(std::memory_order_relaxed) != nullptr ||
           injected_ready_.load(std::memory_order_relaxed) != 0;
  }

  // ---- the task registry (task_registry.cpp)

  /// True if this scheduler keeps a registry of live tasks for dump().
  bool tracking() const noexcept { return tracking_; }
  void track(task_state* task);
  /// A task rooted at `root` is about to wait on something this scheduler
  /// does not drive (a task of another scheduler, a future, a semaphore,
  /// ...): shutdown must cancel it explicitly. Registered until
  /// forget_foreign_wait(). Thread-safe; taken only by a task that is about
  /// to suspend (a mutex).
  void note_foreign_wait(task_state* root);
  void forget_foreign_wait(task_state* root) noexcept;

  // ---- the timer service (timer_service.cpp)

  /// Queues `entry` to fire at entry.when. False if it was removed before
  /// being added, or if the scheduler is stopping and it fires on shutdown:
  /// the caller then acts at once. Thread-safe.
  bool add_timer(timer_entry& entry);
  /// Takes `entry` out of the queue: true if it will not fire (the caller
  /// acts instead), false if it fired or is firing (waits until fire()
  /// returned). Afterwards the entry may be destroyed. Thread-safe.
  bool remove_timer(timer_entry& entry) noexcept;

  // ---- the blocking threads of weft::to_thread (blocking_pool.cpp)

  /// Queues `job` for a blocking thread (starting one if none is idle and
  /// fewer than the maximum run). False if it was withdrawn by a cancel
  /// first: the caller resumes at once. Thread-safe.
  bool submit_blocking(blocking_job& job);
  /// The task awaiting `job` was cancelled: a queued job is withdrawn and
  /// its task resumed; a running one has stop requested. Thread-safe.
  void cancel_blocking(blocking_job& job) noexcept;

  /// Parked workers and the pushers that wake them (idle_state.hpp).
  idle_state idle_;

 protected:
  /// Starts the timer thread; `tracking`: scheduler_options::track_tasks;
  /// `max_blocking_threads`: scheduler_options::max_blocking_threads.
  scheduler_base(bool tracking, std::size_t max_blocking_threads);
  // Joins the blocking threads and stops the timer thread (after the
  // workers are joined).
  ~scheduler_base();

  static constexpr std::uint32_t k_live_stopping = 1u << 31;
  static constexpr std::uint32_t k_live_count_mask = k_live_stopping - 1;
  // Credits a worker takes from live_ at a time (see worker_context).
  static constexpr std::uint32_t k_live_batch = 64;

  // Ends one live task: the last RMW on the scheduler by that task.
  void retire_live() noexcept;
  // Takes n from the live count (the same last-touch rule).
  void release_live(std::uint32_t n) noexcept;

  // Written once by ~scheduler(), read when the cancel epoch moved; the
  // epoch is read at every suspension point and written by cancels only
  // (a line of their own: live_ is written all the time).
  alignas(k_cache_line) std::atomic<bool> stopping_{false};
  cancel_epoch cancels_;
  // Bits 0-30: tasks admitted and not yet terminal, plus the credits that
  // workers hold (see worker_context::live_credits): RMW by admissions and
  // terminal transitions on other threads, and by workers a batch at a
  // time. Bit 31 (k_live_stopping): set by ~scheduler(); admission fails
  // from then on. The destructor futex-waits on this word until the count
  // is zero, which needs every worker to have flushed its credits.
  alignas(k_cache_line) std::atomic<std::uint32_t> live_{0};
  // Lock-free stack of nodes pushed by threads that are not workers (a
  // worker takes the whole stack at once, so no ABA): pushed by inject(),
  // taken by scheduler_core::take_injected() and the final drain.
  alignas(k_cache_line) std::atomic<work_node*> injection_{nullptr};
  // How many nodes taken from the stack wait in scheduler_core's ready
  // list (written under its mutex; beside injection_, so that
  // has_injected() reads one line).
  std::atomic<std::uint32_t> injected_ready_{0};
  // Tasks enqueued by scheduler::spawn on a worker (enqueue()), oldest
  // first; taken by scheduler_core::take_enqueued(). The count is written
  // under the mutex and read without it as a hint.
  std::mutex enqueued_mutex_;
  work_node* enqueued_head_ = nullptr;  // guarded by enqueued_mutex_
  work_node* enqueued_tail_ = nullptr;  // guarded by enqueued_mutex_
  std::atomic<std::uint32_t> enqueued_count_{0};
  // Counters of events on threads that are not workers.
  worker_counters external_;
  // scheduler_options::track_tasks; set at construction.
  const bool tracking_;
  // Live tasks (with tracking_) and foreign waits, for dump() and shutdown.
  std::unique_ptr<task_registry> registry_;
  std::unique_ptr<timer_service> timers_;
  std::unique_ptr<blocking_pool> blocking_;
};

/// A process-wide unique task id (never 0).
std::uint64_t next_task_id() noexcept;

/// The worker running on this thread. Owned by its scheduler_core; only
/// its own thread touches the non-atomic fields.
struct worker_context {
  scheduler_base* sched = nullptr;
  work_deque deque;
  worker_counters counters;
  // Trampoline: the coroutine the worker loop resumes next. Awaiters store
  // here instead of returning a handle for symmetric transfer, so a chain of
  // 100,000 inline awaits does not grow the stack even when the compiler
  // does not emit the transfer as a tail call (g++ 12 at -O0 and with TSan).
  std::coroutine_handle<> next;
  // Coroutines that yielded, as work items: run after the deque is empty
  // (then stealable).
  std::vector<work_item> yielded;
  // The dropper (drop.hpp), made when the worker starts, and the frame it
  // drops next.
  std::coroutine_handle<> dropper;
  promise_base* drop_target = nullptr;
  // The task whose body this worker is running (for this_task::). Written
  // by this worker only; read by dump() on other threads (relaxed).
  std::atomic<task_state*> current{nullptr};
  void set_current(task_state* t) noexcept { current.store(t, std::memory_order_relaxed); }
  task_state* current_task() const noexcept { return current.load(std::memory_order_relaxed); }
  std::uint64_t rng_state = 0;
  std::size_t index = 0;  // position in the scheduler's worker list
  // Credits for live tasks, taken from scheduler_base::live_ in batches:
  // a spawn on this worker uses one, an end on it returns one, so the
  // shared count is touched once per batch. Returned at shutdown
  // (live_flushed), after which this worker counts in live_ directly.
  std::uint32_t live_credits = 0;
  bool live_flushed = false;
  // With scheduler_options::trace: the id of the task last entered, so a
  // run is labelled even when its task ends (and is freed) in it.
  bool tracing = false;
  std::uint64_t traced_id = 0;
  // Freed coroutine frames, reused by this worker (frame_allocator.hpp).
  frame_cache frames;
  // Fairness to the injection queue (tasks spawned from other threads,
  // wake-ups by I/O and timers): a busy worker never empties its deque, so
  // a join chain (join.hpp) and a loop between chunks (parallel_loop.hpp)
  // that see injected work set take_injected_next and go back to the worker
  // loop, which then takes it before its own deque; and every
  // k_injection_interval tasks the worker loop looks there first anyway,
  // as tokio's workers look at their global queue every 61 tasks.
  static constexpr std::uint32_t k_injection_interval = 61;
  std::uint32_t steps_to_injection_check = k_injection_interval;
  bool take_injected_next = false;

  /// Counts a task taken by the worker loop; true every
  /// k_injection_interval of them.
  bool injection_check_due() noexcept {
    if (--steps_to_injection_check != 0) [[likely]] return false;
    steps_to_injection_check = k_injection_interval;
    return true;
  }

  void push_local(work_item item) {
    deque.push(item);
    sched->idle_.notify_work_available();
  }
};

inline thread_local worker_context* tls_worker = nullptr;

inline frame_cache* current_frame_cache() noexcept {
  worker_context* w = tls_worker;
  return w != nullptr ? &w->frames : nullptr;
}

/// An exception escaped a done callback that ran while `sched` published a
/// task's end: printed on stderr and counted in its stats (`sched` null: a
/// future completed off the pool, printed only).
void report_callback_error(scheduler_base* sched, std::exception_ptr error) noexcept;

/// The worker of `sched` running this thread, or nullptr.
inline worker_context* worker_of(const scheduler_base* sched) noexcept {
  worker_context* w = tls_worker;
  return (w != nullptr && w->sched == sched) ? w : nullptr;
}

/// Makes `item` runnable on `sched`; `node` carries it if this thread is
/// not one of `sched`'s workers. (A model-checking build, which has no
/// scheduler, defines it to record what a wake makes runnable.)
#if WEFT_MODEL_CHECK
void schedule(scheduler_base* sched, work_item item, work_node& node);
#else
inline void schedule(scheduler_base* sched, work_item item, work_node& node) {
  if (worker_context* w = worker_of(sched)) {
    w->push_local(item);
  } else {
    node.item = item;
    sched->inject(node);
  }
}
#endif

/// Makes a new independent task runnable on `sched`: on one of its workers
/// behind the tasks enqueued before it (scheduler_base::enqueue), from any
/// other thread injected.
inline void schedule_enqueued(scheduler_base* sched, work_item item, work_node& node) {
  node.item = item;
  if (worker_of(sched) != nullptr) {
    sched->enqueue(node);
  } else {
    sched->inject(node);
  }
}

/// Continue with `h` after the current coroutine suspends: by symmetric
/// transfer where it is a tail call (config.hpp), else on a worker via the
/// trampoline.
inline std::coroutine_handle<> transfer_to(std::coroutine_handle<> h) noexcept {
#if !WEFT_SYMMETRIC_TRANSFER
  if (worker_context* w = tls_worker) {
    w->next = h;
    return std::noop_coroutine();
  }
#endif
  return h;
}

}  // namespace weft::detail
