#pragma once
// The fork-join machinery under when_all and when_any: the children run in
// parallel on the pool, each as its own cancellation root, and report to a
// join that lives in the parent's awaiter (no allocation besides the
// children's frames; no handle state, no reference counts).
//
// The first child runs inline on the parent's worker; the others are pushed
// onto that worker's deque, where thieves find them. The child that ends
// last continues with the parent on its own worker (the trampoline), so the
// parent resumes where its last child finished.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/drop.hpp>
#include <weft/detail/exception_text.hpp>
#include <weft/detail/join_count.hpp>
#include <weft/detail/promise.hpp>

namespace weft::detail {

/// What a task<T> child contributes to a join's result: T, or
/// std::monostate for void (weft::when_all_value_t).
template <class T>
using child_value_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

/// Moves a finished child's value out (std::monostate for void).
template <class T>
child_value_t<T> take_child_value(promise<T>& p) {
  if constexpr (std::is_void_v<T>) {
    return std::monostate{};
  } else {
    return p.take_value();
  }
}

class join_base : public join_point {
 public:
  enum class mode : std::uint8_t { all, any };

  join_base(mode m, task_state* root) noexcept : root_(root), mode_(m) {}

  /// Before suspending: false if the children must not start (none, or the
  /// parent's cancellation is already requested).
  bool ready() {
    if (root_ == nullptr) {
      throw invalid_state_error(
          "weft::when_all/when_any/timeout/uncancellable awaited outside a task running on a "
          "weft scheduler; sync_wait() a task that awaits it instead");
    }
    // In a drop_on_cancel region a cancel sets drop_: start() drops the parent.
    return count_ == 0 || (shares_cancel_ && cancel_before_suspending(*root_, drop_));
  }

  /// Starts every child; returns the coroutine to run now (the first).
  std::coroutine_handle<> start(std::coroutine_handle<> parent) noexcept {
    return start_counted(parent, count_);
  }
  /// As start(), for a join whose number of children is `N` (the awaiter
  /// of a fixed list): the loops below unroll, and for two children the
  /// fork is one push (fib(30) when_all: 37 fewer instructions per fork).
  template <std::uint32_t N>
  std::coroutine_handle<> start_fixed(std::coroutine_handle<> parent) noexcept {
    return start_counted(parent, std::integral_constant<std::uint32_t, N>{});
  }

 private:
  template <class Count>
  std::coroutine_handle<> start_counted(std::coroutine_handle<> parent, Count count) noexcept {
    if (drop_) [[unlikely]] {
      destroy_children();  // none started
      return transfer_to(drop_frame(promise_of(parent)));
    }
    parent_ = parent;
    ends_.start(count);
    // The children look at the parent's word (and up) when the cancel epoch
    // moved since the parent last looked; the parent's slot stays empty
    // unless one of them blocks (cancel_epoch.hpp).
    child_root how{root_->sched_,
                   this,
                   shares_cancel_ ? root_ : nullptr,
                   root_->seen_epoch(),
                   0,
                   child_policy_,
                   std::min(root_->deadline_, child_deadline_),
                   root_->shutdown_immune_ || immune_children_,
                   root_->drops_on_cancel_ || drop_children_on_cancel_};
    for (std::uint32_t i = 0; i < count; ++i) {
      how.index = i;
      children_[i]->become_root(how);
    }
    before_start();
    if (shares_cancel_) root_->note_join();
    worker_context* w = tls_worker;
    // Pushed last-first so the second child is popped next by this worker.
    for (std::uint32_t i = count; i-- > 1;) w->deque.push(as_work(&children_[i]->state_));
    if (count > 1) root_->sched_->idle_.notify_work_available();
    // The first child starts the chain (see child_done).
    task_state& first = children_[0]->state_;
    first.chained_ = true;
    chain_next_ = 1;
    chain_ended_ = 0;
    if (first.try_start()) {
      w->set_current(&first);
      return transfer_to(first.frame_);
    }
    std::coroutine_handle<> next = first.abandon_unstarted();
    return next ? transfer_to(next) : std::noop_coroutine();
  }

 public:
  /// Counts steals, not children. The chain is the sequence of children
  /// run one after the other by whichever worker ends the previous one:
  /// the first child (inline), then each next child that worker pops back
  /// from its own deque unstolen. The chain's children touch no shared
  /// counter; a detached child (popped by a worker loop or stolen) takes one
  /// from the count, and the chain takes all of its own at once when it ends.
  /// A join whose children were all run by the chain resumes the parent
  /// without any read-modify-write.
  std::coroutine_handle<> child_done(task_state& child) noexcept override {
    record_end(child);
    if (!child.chained_) {
      return ends_.detached_end() ? continue_parent() : std::coroutine_handle<>{};
    }
    ++chain_ended_;
    // The chain continues with the next child if it is still at the bottom
    // of this worker's deque (children are pushed last-first).
    worker_context* w = tls_worker;
    while (chain_next_ < count_) {
      // Injected work waits (a task spawned from another thread, an I/O
      // wake-up): the rest of the children stay on the deque, detached as
      // if stolen, and this worker goes back to its loop to take that work
      // first. One relaxed load of a line only inject() writes; measured
      // at 1-4 % on fib and skynet trees (each step is a ~50 ns fork).
      if (w->sched->has_injected()) [[unlikely]] {
        w->take_injected_next = true;
        break;
      }
      task_state& next = children_[chain_next_]->state_;
      const work_item popped = w->deque.pop();
      if (popped != as_work(&next)) {
        // Stolen, or this chain moved to another worker (a descendant's
        // join resumed it where its last child ended): the rest detach.
        // Something else popped goes back; as it was invisible to thieves
        // for a moment, a parker may have missed it, so notify.
        if (popped != k_no_work) {
          w->deque.push(popped);
          root_->sched_->idle_.notify_work_available();
        }
        break;
      }
      ++chain_next_;
      next.chained_ = true;
      if (next.start_dequeued(*w)) return next.frame_;
      next.end_->outcome = k_cancelled;  // ends unrun
      record_end(next);
      ++chain_ended_;
    }
    // The chain ends: nobody else took part, or it hands its count over.
    // Unless the parent resumes here, it may own and destroy this join once
    // the count is taken: only the local copy of parent_ is used after it.
    return ends_.chain_end(chain_ended_, count_) ? continue_parent() : std::coroutine_handle<>{};
  }

  /// The parent was cancelled while waiting: so is every child.
  void on_cancel(const cancel_reason&) noexcept override {
    cancel_children([this] { return task_state::passed_on_record(*root_); }, nullptr);
  }

  /// After resuming: stop receiving cancels (waits out a running on_cancel).
  void leave() noexcept {
    enter(root_);
    if (shares_cancel_) root_->leave_join();
  }

  bool decided() const noexcept { return decided_.load(std::memory_order_relaxed); }
  std::uint32_t decided_index() const noexcept { return decided_index_; }

  /// Throws if the parent's own cancellation was requested. (In a
  /// drop_on_cancel region a cancel requested after the last child looked,
  /// continue_parent(), is met at the parent's next suspension point.)
  void throw_if_parent_cancelled() const { throw_if_cancelled_after_resuming(*root_); }

  /// Rethrows the error of a child that ended failed or cancelled.
  [[noreturn]] static void rethrow_child(const task_state& child) {
    if (child.error()) std::rethrow_exception(child.error());
    throw cancelled_error(task_state::reason_in(child.load()));
  }

 private:
  /// Every child has ended and this worker continues the parent: returns
  /// it, or, in a drop_on_cancel region whose cancel ended the join, the
  /// dropper that drops it (after its children).
  std::coroutine_handle<> continue_parent() noexcept {
    // relaxed: written by children before their ends, which the join's
    // count (or the chain) orders before this.
    if (child_cancelled_.load(std::memory_order_relaxed)) [[unlikely]] {
      return continue_or_drop_parent();
    }
    return parent_;
  }

  [[gnu::noinline]] std::coroutine_handle<> continue_or_drop_parent() noexcept {
    if (!root_->drops_on_cancel_ || !shares_cancel_) return parent_;
    // A failure is rethrown as an exception, as everywhere: the parent
    // resumes to throw it.
    if (decided() && children_[decided_index_]->state_.outcome() == k_failed) return parent_;
    if (!root_->cancellation_point()) return parent_;
    leave();  // no canceller touches the children from here on
    before_drop();
    destroy_children();
    return drop_frame(promise_of(parent_));
  }

  /// Destroys the children's frames (and an adopted array of them): the
  /// parent is dropped instead of resuming into await_resume, which would.
  void destroy_children() noexcept {
    for (std::uint32_t i = 0; i < count_; ++i) children_[i]->frame_.destroy();
    if (owns_children_array_) free_frame(current_frame_cache(), children_, children_bytes(count_));
  }

  /// A child ended: the first failure (or, for when_any, the first end)
  /// decides, and cancels the other children.
  void record_end(task_state& child) noexcept {
    if (mode_ == mode::any || child.outcome() != k_succeeded) [[unlikely]] note_end(child);
  }

  [[gnu::noinline]] void note_end(task_state& child) noexcept {
    const std::uint64_t outcome = child.outcome();
    if (outcome == k_cancelled) child_cancelled_.store(true, std::memory_order_relaxed);
    if (mode_ == mode::any || outcome == k_failed) decide(child, outcome);
  }

  void decide(task_state& child, std::uint64_t outcome) noexcept {
    // acq_rel on the exchange: one child decides; its index is published to
    // the parent by the join's count (or the chain) like the results.
    if (!decided_.exchange(true, std::memory_order_acq_rel)) {
      decided_index_ = child.join_index_;
      if (outcome == k_failed) {
        cancel_children(
            [&] { return make_record(cancel_kind::sibling_failed, failure_message(child)); },
            &child);
      } else if (const task_state* up = root_->cancelled_or_ancestor()) {
        // The child ended because the parent (or an ancestor) is being
        // cancelled: the siblings get that reason, not "finished first".
        cancel_children([up] { return task_state::passed_on_record(*up); }, &child);
      } else {
        cancel_children(
            [&] {
              return make_record(cancel_kind::parent_cancelled,
                                 "when_any: child " + std::to_string(child.join_index_) +
                                     " finished first");
            },
            &child);
      }
    }
  }

 protected:
  /// Takes the frames out of `tasks` (left empty) into a children array
  /// allocated here; free it with owned_children. Throws, naming `what`, if
  /// a task is empty (before taking any).
  template <class Task>
  void adopt(std::vector<Task>& tasks, const char* what) {
    for (Task& t : tasks) {
      if (!t.valid()) static_cast<void>(access::release(t, what));  // throws, names the misuse
    }
    count_ = static_cast<std::uint32_t>(tasks.size());
    owns_children_array_ = true;
    // From the frame allocator: recycled per worker like the frames.
    children_ = static_cast<promise_base**>(
        allocate_frame(current_frame_cache(), children_bytes(count_)));
    for (std::size_t i = 0; i < tasks.size(); ++i) children_[i] = &access::release(tasks[i], what).promise();
    std::vector<Task>().swap(tasks);  // leave the operand empty
  }

  /// Destroys adopted children's frames and their array (every exit of
  /// await_resume; a local there, never a member, see task_awaiter).
  struct owned_children {
    promise_base** children;
    std::uint32_t n;
    ~owned_children() {
      for (std::uint32_t i = 0; i < n; ++i) children[i]->frame_.destroy();
      free_frame(current_frame_cache(), children, children_bytes(n));
    }
  };

  static std::size_t children_bytes(std::uint32_t n) noexcept {
    return sizeof(promise_base*) * (n == 0 ? 1 : n);
  }

  /// Hook for timeout: arm its timer once the children are set up.
  virtual void before_start() noexcept {}
  /// Hook for timeout: disarm its timer before the parent is dropped.
  virtual void before_drop() noexcept {}

  promise_base** children_ = nullptr;
  std::uint32_t count_ = 0;
  // Set by the derived combinator before start():
  unstarted_cancel child_policy_ = unstarted_cancel::skip_body;
  bool shares_cancel_ = true;      // false: the parent's cancel does not reach children
  bool immune_children_ = false;   // true: children ignore the scheduler's shutdown
  bool drop_children_on_cancel_ = false;  // true: the children start a drop_on_cancel region
  bool owns_children_array_ = false;      // children_ was allocated by adopt()
  std::chrono::steady_clock::time_point child_deadline_ =
      std::chrono::steady_clock::time_point::max();

  task_state* root_;

 private:
  static std::string failure_message(const task_state& child) {
    return with_cause("a sibling failed", child.error());
  }

  /// Cancels every child but `except` with the record `make()` returns
  /// (holding one reference, dropped here), made at the first child that
  /// can still take a request, so nothing is allocated when none can (all
  /// done or asked already, or `except` is the only child); each child's
  /// request takes a reference of its own.
  template <class Make>
  void cancel_children(Make make, const task_state* except) noexcept {
    const cancel_record* record = nullptr;
    auto shared = [&] {
      if (record == nullptr) record = make();
      return share_record(record);
    };
    for (std::uint32_t i = 0; i < count_; ++i) {
      task_state& st = children_[i]->state_;
      if (&st != except) st.request_cancel_with(shared);
    }
    free_record(record);
  }

  std::coroutine_handle<> parent_;
  // A cancel seen before the children started, in a drop_on_cancel region.
  bool drop_ = false;
  // A child ended cancelled: the parent may have to be dropped
  // (continue_parent). Written by the children, read by the last to end.
  std::atomic<bool> child_cancelled_{false};
  // Children not yet accounted for (join_count.hpp); untouched when the
  // chain ran every child.
  join_count ends_;
  // The chain's own (see child_done): the next child it would take and how
  // many it has ended. Only the chain's current worker touches them; a move
  // to another worker is ordered by the descendant join that caused it.
  std::uint32_t chain_next_ = 0;
  std::uint32_t chain_ended_ = 0;
  // Set by the child that decides (the first failure, or the first to end
  // for when_any); decided_index_ is written by that child only.
  std::atomic<bool> decided_{false};
  std::uint32_t decided_index_ = 0;
  mode mode_;
};

}  // namespace weft::detail
