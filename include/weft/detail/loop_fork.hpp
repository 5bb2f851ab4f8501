#pragma once
// The fork of a parallel loop's node: when_all of its two halves, except
// that a stopped loop unwinds without exceptions.
//
// A cancel of the task awaiting a loop reaches every node (each finds it
// at its next check, cancel_epoch.hpp, so this_task::cancellation_requested()
// in a body sees it), and
// the nodes' leaves then return without running their chunks. A plain
// when_all would throw cancelled_error at every level on the way up, and
// every level's parent would rethrow it: two C++ throws per level, tens
// of microseconds for a loop's tree. Here a half that ended cancelled (it
// never started) or stopped early just has no value, and the loop's top
// frame throws once. A failure (an exception other than cancelled_error)
// is rethrown as when_all does, so nothing is masked.

#include <optional>
#include <tuple>
#include <utility>

#include <weft/detail/fwd.hpp>
#include <weft/detail/join.hpp>
#include <weft/detail/promise.hpp>
#include <weft/detail/when_all_awaiter.hpp>

namespace weft::detail {

/// The operand of `co_await std::move(fork)` in a node. Name it (a local)
/// rather than awaiting a braced temporary: with g++ 12 the temporary's
/// tasks were destroyed after the frame holding them had been freed
/// (ASan: heap-use-after-free in ~task).
template <class T>
struct loop_fork {
  std::tuple<task<T>, task<T>> halves;
};

template <class T>
struct loop_fork_awaiter : when_all_awaiter<T, T> {
  using base = when_all_awaiter<T, T>;
  using value = child_value_t<T>;
  using base::base;

  /// True if the node is cancelled already: then the halves never start
  /// (and have no outcome to read).
  bool await_ready() {
    unstarted_ = this->ready();
    return unstarted_;
  }

  /// Each half's value, or nullopt if it ended cancelled or never started.
  /// Rethrows a half's failure.
  std::pair<std::optional<value>, std::optional<value>> await_resume() {
    this->leave();
    struct destroy_on_exit {
      std::tuple<typename promise<T>::handle_type, typename promise<T>::handle_type>& frames;
      ~destroy_on_exit() {
        std::get<0>(frames).destroy();
        std::get<1>(frames).destroy();
      }
    } guard{this->frames};
    if (unstarted_) return {};
    if (this->decided()) join_base::rethrow_child(this->slots[this->decided_index()]->state_);
    return {take(std::get<0>(this->frames)), take(std::get<1>(this->frames))};
  }

 private:
  bool unstarted_ = false;

  static std::optional<value> take(typename promise<T>::handle_type frame) {
    promise<T>& p = frame.promise();
    if (p.end_.outcome == k_failed) join_base::rethrow_child(p.state_);
    if (p.end_.outcome != k_succeeded) return std::nullopt;
    return take_child_value(p);
  }
};

template <class T>
struct awaitable_traits<loop_fork<T>> {
  static loop_fork_awaiter<T> transform(task_state* root, loop_fork<T>& f) {
    return loop_fork_awaiter<T>(root, f.halves);
  }
  static loop_fork_awaiter<T> transform(task_state* root, loop_fork<T>&& f) {
    return loop_fork_awaiter<T>(root, f.halves);
  }
};

}  // namespace weft::detail
