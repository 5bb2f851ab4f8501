#pragma once
// The shared state of a task that is a cancellation root (spawned, or a
// combinator's child): its state word, reference count, waiter list and
// cancellation target. It lives inside the coroutine frame (one allocation
// per task), constructed only when the task becomes a root: a task that is
// only ever awaited inline never pays for it (promise_base::state_).
//
// Ownership: the frame is destroyed when refs_ reaches zero. References are
// held by each task_handle and by the "run reference" (taken at spawn,
// dropped when the body has finished, or when a worker drops a task that
// was cancelled before it started).

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include <weft/errors.hpp>
#include <weft/detail/cancel_slot.hpp>
#include <weft/detail/runtime.hpp>
#include <weft/detail/state_word.hpp>
#include <weft/detail/waiter_list.hpp>

namespace weft::detail {

/// What a task's body left behind, in every frame (light or shared): how
/// it ended and, if an exception escaped it, that exception. Written by the
/// body before its end is published; read by whoever the end is published
/// to (the awaiter, the join, the handles).
struct body_end {
  std::exception_ptr error;
  std::uint64_t outcome = k_succeeded;  // k_succeeded, k_failed or k_cancelled
};

/// Where a task started by a combinator (when_all, when_any) reports its
/// end instead of publishing to handles. Returns the coroutine to continue
/// with on this worker (the parent, when this was the last child), or null.
/// As a cancel target: what a cancel of the parent does to the children,
/// once a blocked descendant armed the parent's slot with it.
class join_point : public cancel_target {
 public:
  /// `child` ended; its outcome_ and result are written.
  virtual std::coroutine_handle<> child_done(task_state& child) noexcept = 0;

 protected:
  ~join_point() = default;
};

/// What a cancel request does to a task that has not started yet.
enum class unstarted_cancel : std::uint8_t {
  terminal,   // spawned tasks: terminal at once, the body never runs
  skip_body,  // combinator children: the worker ends it cancelled unrun
  run_body,   // timeout children: the body starts and meets the flag
};

/// The two kinds of root, each with what is set once when a task becomes
/// one (task_state's constructors).
struct spawned_root {
  scheduler_base* sched;
  const std::string* name = nullptr;  // owned by the task from here on
  bool drops_on_cancel = false;       // see task_state::drops_on_cancel_
};
struct child_root {
  scheduler_base* sched;
  join_point* join;
  // The task suspended in the join whose cancellation reaches the child
  // (null where it does not: uncancellable), and the cancel epoch up to
  // which it found none asked (cancel_epoch.hpp).
  task_state* parent;
  std::uint64_t seen_epoch;
  std::uint32_t index;          // the child's position in its join
  unstarted_cancel unstarted;   // what a cancel before it starts does
  std::chrono::steady_clock::time_point deadline;
  bool shutdown_immune;
  bool drops_on_cancel;         // see task_state::drops_on_cancel_
};

class task_state final : public cancel_target {
 public:
  /// Constructed in the frame of the coroutine `frame`, whose body reports
  /// its end in `end`, when the task is spawned...
  task_state(std::coroutine_handle<> frame, body_end& end, const spawned_root& r) noexcept
      : name_(r.name),
        sched_(r.sched),
        frame_(frame),
        end_(&end),
        drops_on_cancel_(r.drops_on_cancel) {}
  /// ... or started by a combinator (when_all, when_any, timeout,
  /// uncancellable) as one of its children.
  task_state(std::coroutine_handle<> frame, body_end& end, const child_root& r) noexcept
      : name_(nullptr),
        deadline_(r.deadline),
        sched_(r.sched),
        frame_(frame),
        end_(&end),
        join_(r.join),
        parent_(r.parent),
        join_index_(r.index),
        unstarted_(r.unstarted),
        shutdown_immune_(r.shutdown_immune),
        drops_on_cancel_(r.drops_on_cancel),
        seen_epoch_(r.seen_epoch) {}
  task_state(const task_state&) = delete;
  task_state& operator=(const task_state&) = delete;
  ~task_state() {
    free_record(record_of(word_.load(std::memory_order_relaxed)));
    delete name_;
  }

  /// As a cancel target: the task awaiting this one was cancelled.
  void on_cancel(const cancel_reason& reason) noexcept override {
    request_cancel(cancel_kind::parent_cancelled, reason.message);
  }

  // ---- queries (any thread)

  /// What result() and friends say to do when the task is not done.
  static constexpr const char* k_pending_hint =
      " called before the task is done; co_await the handle or call wait() first";

  /// acquire: pairs with the release in finish(); the result is visible.
  std::uint64_t load() const noexcept { return word_.load(std::memory_order_acquire); }
  bool done() const noexcept { return (load() & k_done) != 0; }
  bool cancelled() const noexcept {
    return (load() & (k_done | k_outcome_mask)) == (k_done | k_cancelled);
  }
  /// The name given at spawn, or "" (immutable).
  std::string_view name() const noexcept {
    return name_ != nullptr ? std::string_view(*name_) : std::string_view();
  }
  std::uint32_t cancelling() const noexcept {
    return cancelling_.load(std::memory_order_relaxed);
  }

  /// The first cancel request's reason (requested must be set in `word`).
  static const cancel_reason& reason_in(std::uint64_t word) noexcept {
    return record_of(word)->reason;
  }

  /// At a suspension point of the task rooted here (on its worker): takes
  /// on the cancellation of an ancestor, or asks for shutdown cancellation
  /// if the scheduler is stopping; true if cancellation has been requested.
  [[gnu::always_inline]] bool cancellation_point() {
    // Two loads on the path where nothing is asked (a root always has its
    // scheduler): its word, and the epoch no cancel advanced since this
    // task last looked. The rest is out of line.
    if ((load() & k_cancel_requested) == 0 &&
        sched_->cancels().load() == seen_epoch_.load(std::memory_order_relaxed)) [[likely]] {
      return false;
    }
    return cancellation_point_slow();
  }

  [[gnu::noinline]] bool cancellation_point_slow() {
    if ((load() & k_cancel_requested) != 0) return true;
    // Read before the ancestors' words: a request that advanced the epoch
    // up to here is seen below (cancel_epoch.hpp).
    const std::uint64_t epoch = sched_->cancels().load();
    if (parent_ != nullptr) {
      if (const task_state* up = parent_->cancelled_or_ancestor()) {
        take_on_cancel_of(*up);
        return true;
      }
    }
    if (sched_->stopping() && !shutdown_immune_) {
      request_cancel(cancel_kind::shutdown, {});
      return true;
    }
    seen_epoch_.store(epoch, std::memory_order_relaxed);
    return false;
  }

  /// The nearest of this task and its ancestors (through the joins that
  /// pass cancellation on) whose cancellation is requested, or null.
  const task_state* cancelled_or_ancestor() const noexcept {
    for (const task_state* t = this; t != nullptr; t = t->parent_) {
      if ((t->load() & k_cancel_requested) != 0) return t;
    }
    return nullptr;
  }

  /// The record for a task cancelled because `from`, its parent or an
  /// ancestor, is (its cancellation is requested): `from`'s own record if
  /// it is a parent_cancelled one already, so every task below the top of
  /// a cancelled subtree shares the record the top's children made. Holds
  /// one reference. (`from`'s word holds the one it is shared from: its
  /// frame outlives its children, and the word never lets go of it.)
  static const cancel_record* passed_on_record(const task_state& from) {
    const cancel_record* record = record_of(from.load());
    if (record->reason.kind == cancel_kind::parent_cancelled) return share_record(record);
    return make_record(cancel_kind::parent_cancelled, record->reason.message);
  }

  /// The epoch up to which no cancellation reached this task (for the
  /// children it starts, which check from there).
  std::uint64_t seen_epoch() const noexcept { return seen_epoch_.load(std::memory_order_relaxed); }

  [[noreturn]] void throw_cancelled() const { throw cancelled_error(reason_in(load())); }

  // ---- references

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    // acq_rel: the last owner must see every other owner's writes before it
    // destroys the frame.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) frame_.destroy();
  }
  void set_refs(std::uint32_t n) noexcept { refs_.store(n, std::memory_order_relaxed); }

  // ---- lifecycle

  /// The worker about to run the body for the first time. False if the
  /// body must not run: the task was cancelled before it started (a spawned
  /// one is terminal already; a combinator child is ended by the caller).
  bool try_start() noexcept {
    if (unstarted_ != unstarted_cancel::terminal) {
      // A combinator child is never made terminal by a canceller, so a load
      // decides (a cancel that comes later is met at a suspension point).
      // acquire: pairs with the CAS in request_cancel() (its record).
      // The check also takes on an ancestor's cancellation.
      return unstarted_ == unstarted_cancel::run_body || !cancellation_point();
    }
    // A spawned task: one RMW decides against a concurrent cancel() that
    // would make it terminal before it starts.
    return (word_.fetch_or(k_started, std::memory_order_acquire) & k_done) == 0;
  }

  /// Worker `w` took this task off a deque (a worker loop's pop, steal or
  /// injection batch, or a join's chain) to run its body for the first
  /// time. A task still queued at shutdown never runs (unless it is
  /// cleanup that shutdown does not cancel); otherwise as try_start(). On
  /// true, `w` runs this task from now on (this_task::, the trace).
  bool start_dequeued(worker_context& w) noexcept {
    // A task with no ancestor to look at checks the epoch from here: it
    // reads the stopping flag next.
    if (parent_ == nullptr) seen_epoch_.store(sched_->cancels().load(), std::memory_order_relaxed);
    if (sched_->stopping() && !shutdown_immune_) request_cancel(cancel_kind::shutdown, {});
    if (!try_start()) return false;
    w.set_current(this);
    if (w.tracing) w.traced_id = id();
    return true;
  }

  /// A combinator child has ended (its body_end is written): tells its
  /// join point. Returns the coroutine to continue with (the parent) or
  /// null; after a null return the parent may already own and destroy this
  /// frame. (No RMW on the word: nobody queries a combinator child's state;
  /// the parent reads its end and result after the join's acq_rel count.)
  std::coroutine_handle<> finish_joined() noexcept { return join_->child_done(*this); }

  /// The worker dequeued a task whose body must not run (try_start() was
  /// false). Returns the coroutine to continue with, if any.
  std::coroutine_handle<> abandon_unstarted() noexcept {
    if (join_ != nullptr) {
      end_->outcome = k_cancelled;
      return finish_joined();
    }
    release();  // the run reference of a spawned task, terminal already
    return {};
  }

  /// A task refused by a stopping scheduler: terminal before it was queued.
  void reject_for_shutdown() noexcept {
    word_.store(k_done | k_cancelled | k_cancel_requested |
                    record_bits(static_record(cancel_kind::shutdown)),
                std::memory_order_release);
    waiters_.settle_unused();
  }

  /// The body has ended (the body_end and the result are written).
  /// Publishes the terminal state, wakes the waiters, then accounts the task
  /// with its scheduler (the last touch of the scheduler). Returns the
  /// awaiting coroutine to continue with on this worker, if the last waiter
  /// is one (waiter_list::close_and_wake), else null.
  [[nodiscard]] std::coroutine_handle<> finish() noexcept {
    const std::uint64_t outcome = end_->outcome;
    // release: pairs with the acquire in load(); publishes the result.
    // An RMW (not a store) because a concurrent cancel may set its bits.
    word_.fetch_or(k_done | outcome, std::memory_order_acq_rel);
    sched_->account_terminal(*this, outcome);
    const std::coroutine_handle<> next = waiters_.close_and_wake(sched_);
    sched_->on_task_terminal();
    return next;
  }

  /// Records a cancellation request (the first one's reason wins). Returns
  /// false if the task is already done. A task that has not started becomes
  /// terminal (cancelled) here and never runs; a running one is woken from
  /// what it awaits, if anything.
  bool request_cancel(cancel_kind kind, std::string_view message) {
    return request_cancel_with([&] { return make_record(kind, message); });
  }

  /// As above with the record `make()` returns (holding one reference,
  /// which the request takes over). `make` is called only when the request
  /// can be the first, so a request to a task that is done or asked already
  /// allocates nothing.
  template <class Make>
  bool request_cancel_with(Make make) {
    const cancel_step step = record_cancel(make);
    if (step == cancel_step::propagate) propagate_cancel();
    return step != cancel_step::already_done;
  }

 private:
  enum class cancel_step : std::uint8_t {
    already_done,  // the task was terminal: nothing recorded
    nothing,       // recorded, nothing to pass on (not the first request,
                   // or the task ended unstarted)
    propagate,     // the first request: pass it on to what the task awaits
  };

  template <class Make>
  cancel_step record_cancel(Make make) {
    const cancel_record* record = nullptr;  // made once this can be the first
    std::uint64_t w = word_.load(std::memory_order_acquire);
    for (;;) {
      if ((w & (k_done | k_cancel_requested)) != 0) {  // sticky: not the first
        free_record(record);
        if ((w & k_done) != 0) return cancel_step::already_done;
        cancelling_.fetch_add(1, std::memory_order_relaxed);
        return cancel_step::nothing;
      }
      if (record == nullptr) record = make();
      std::uint64_t next = w | k_cancel_requested | record_bits(record);
      const bool ends_now = (w & k_started) == 0 && unstarted_ == unstarted_cancel::terminal;
      if (ends_now) next |= k_done | k_cancelled;
      // seq_cst: a Dekker pair with the seq_cst stores and loads of
      // arm_cancel_target() and disarm_cancel_target(); with the seq_cst
      // load of the slot in propagate_cancel(), one side sees the other.
      // The release half publishes *record to readers of the word.
      if (word_.compare_exchange_weak(w, next, std::memory_order_seq_cst,
                                      std::memory_order_acquire)) {
        cancelling_.fetch_add(1, std::memory_order_relaxed);
        if (ends_now) {
          sched_->account_terminal(*this, k_cancelled);
          waiters_.close_and_wake_all();
          sched_->on_task_terminal();
          return cancel_step::nothing;
        }
        // The descendants that do not wait where propagate_cancel() reaches
        // them find the request at their next check (cancel_epoch.hpp).
        sched_->cancels().advance();
        return cancel_step::propagate;
      }
    }
  }

  /// The second half of the first cancel request (the one that set the
  /// flag, so once per task): passes it on to what the task waits on.
  void propagate_cancel() noexcept { cancel_slot_.pass_on(reason_in(load())); }

 public:
  /// Claims the right to move a move-only result out; throws if taken.
  void mark_result_taken(const char* what) { claim_result(word_, what, "task"); }

  // ---- waiters

  /// False if the task is already terminal (the waiter is not registered).
  bool add_waiter(waiter* node) noexcept { return waiters_.add(node); }

  /// Blocks this (non-worker) thread until the task is terminal and the
  /// waiters and done callbacks registered before it ran.
  void wait_blocking() noexcept { waiters_.wait_settled(); }

  /// The waiter list, for done callbacks.
  waiter_list& waiters() noexcept { return waiters_; }

  /// True once every waiter and callback registered before the end ran.
  bool settled() const noexcept { return waiters_.settled(); }

  // ---- cancellation target: what the coroutine running on this root awaits

  /// Before suspending on `target` (owner only; the slot is empty). A
  /// cancel of this task calls target->on_cancel() from now on; the caller
  /// re-reads the word after this (a cancel that came first is its to pass
  /// on). `kind` says what the task waits on, for dump().
  void arm_cancel_target(cancel_target* target, wait_kind kind) noexcept {
    if (parent_ != nullptr) {
      // An ancestor's cancel is taken on while the slot is empty: the
      // caller's re-read then passes it on once, as any request made
      // before it armed.
      static_cast<void>(cancellation_point());
      cancel_slot_.arm(target, kind);
      arm_ancestors();
    } else {
      cancel_slot_.arm(target, kind);
    }
  }

  /// After resuming (owner only): from here on no canceller touches the
  /// target, which may live in the frame that goes on (cancel_slot.hpp).
  void disarm_cancel_target() noexcept { cancel_slot_.disarm(word_); }

  /// The owner suspends in a join: its slot stays empty unless a
  /// descendant blocks (arm_ancestors).
  void note_join() noexcept { cancel_slot_.note_join(); }
  /// The owner resumed from its join (every child ended).
  void leave_join() noexcept { cancel_slot_.disarm_join(word_); }

  /// As arm_cancel_target, for a wait that no worker of this scheduler
  /// drives (a future, a primitive, a blocking call): registers it first,
  /// so that shutdown cancels it (scheduler_base::note_foreign_wait).
  void arm_foreign_wait(cancel_target* target, wait_kind kind) {
    sched_->note_foreign_wait(this);
    arm_cancel_target(target, kind);
  }
  /// After resuming from such a wait (or giving it up after arming).
  void disarm_foreign_wait() noexcept {
    disarm_cancel_target();
    sched_->forget_foreign_wait(this);
  }

  /// A process-wide unique id, assigned on first use.
  std::uint64_t id() noexcept {
    std::uint64_t v = id_.load(std::memory_order_relaxed);
    if (v != 0) return v;
    const std::uint64_t fresh = next_task_id();
    return id_.compare_exchange_strong(v, fresh, std::memory_order_relaxed) ? fresh : v;
  }
  /// What the task waits on now (nothing while it runs or is queued).
  wait_kind waiting_on() const noexcept { return cancel_slot_.waiting_on(); }

  // ---- set when the task becomes a root (its constructor), then read-only

  /// The name given at spawn (owned), or null.
  const std::string* const name_;

  /// The earliest deadline of the timeouts enclosing this task.
  const std::chrono::steady_clock::time_point deadline_ =
      std::chrono::steady_clock::time_point::max();

  /// How the body ended (its outcome and exception); valid once it ended.
  std::uint64_t outcome() const noexcept { return end_->outcome; }
  const std::exception_ptr& error() const noexcept { return end_->error; }

  scheduler_base* const sched_;
  const std::coroutine_handle<> frame_;  // the coroutine whose promise holds this state
  body_end* const end_;                  // in the same promise
  // Null for a spawned task (it publishes to handles); else the combinator
  // it reports to.
  join_point* const join_ = nullptr;
  // The task suspended in that join, if its cancellation reaches the child
  // (join_base::shares_cancel_); else null.
  task_state* const parent_ = nullptr;
  const std::uint32_t join_index_ = 0;  // this child's position in its join
  const unstarted_cancel unstarted_ = unstarted_cancel::terminal;
  // True for uncancellable() cleanup: the scheduler's shutdown does not
  // cancel it (its grace timer, if any, does).
  const bool shutdown_immune_ = false;
  // The frames running on this root are inside weft::drop_on_cancel: a
  // cancel seen at one of their suspension points destroys them instead of
  // throwing cancelled_error through them (drop.hpp).
  const bool drops_on_cancel_ = false;

  // ---- written after construction

  // A combinator child run by its join's chain rather than dequeued by a
  // worker loop (join_base::child_done). Written by whoever starts it,
  // read where it ends.
  bool chained_ = false;
  work_node inject_node_;  // carries the first run when spawned off-worker

 private:
  // The state word (bits in state_word.hpp). Written by the worker (start,
  // finish) and by cancellers (CAS); read by everyone.
  std::atomic<std::uint64_t> word_{0};
  // The cancel epoch up to which this task found no cancellation of an
  // ancestor and no shutdown; 0 (looks at once) until then. Written at
  // its checks, read by them and by the children it starts (relaxed: a
  // hint that the epoch's acquire load validates). Beside the word: every
  // check reads both.
  std::atomic<std::uint64_t> seen_epoch_{0};
  // Handles plus the run reference.
  std::atomic<std::uint32_t> refs_{0};
  // Cancel requests made while not done (asyncio's Task.cancelling()).
  std::atomic<std::uint32_t> cancelling_{0};
  // What waits for the end: registered by anyone, closed and woken by the
  // thread that publishes the terminal state (waiter_list.hpp).
  waiter_list waiters_;
  // What the coroutine running on this root awaits, for cancellers to reach
  // (armed by the owner, passed on by the canceller: cancel_slot.hpp).
  cancel_slot cancel_slot_;
  // 0 until id() is first called.
  std::atomic<std::uint64_t> id_{0};

  /// `up`, an ancestor, has its cancellation requested and nothing below
  /// it down to this task has: requests it of each of them with one shared
  /// record, so that the tasks below find the nearest of them and share
  /// it too (one record per cancelled subtree, as a join's push-down).
  void take_on_cancel_of(const task_state& up) {
    const cancel_record* record = passed_on_record(up);
    for (task_state* t = this; t != &up; t = t->parent_) {
      t->request_cancel_with([record] { return share_record(record); });
    }
    free_record(record);
  }

  /// This task is about to block: arms its ancestors' slots with the joins
  /// they wait in, from the nearest up to one that a descendant armed
  /// already, so that a cancel of any of them reaches this task at once.
  /// A request an ancestor already holds is passed on to its join here.
  [[gnu::noinline]] void arm_ancestors() noexcept {
    for (task_state* child = this; child->parent_ != nullptr; child = child->parent_) {
      task_state& up = *child->parent_;
      if (!up.cancel_slot_.arm_for_descendant(child->join_)) return;
      // seq_cst: the Dekker pair of arm_for_descendant with up's canceller.
      if ((up.word_.load(std::memory_order_seq_cst) & k_cancel_requested) != 0) {
        child->join_->on_cancel(reason_in(up.load()));
      }
    }
  }
};

}  // namespace weft::detail
