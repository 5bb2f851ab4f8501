#pragma once
// A task as the models of its waits see it: its state word and its cancel
// slot (the real weft/detail/cancel_slot.hpp), the canceller's steps, and
// the model's schedule() (runtime.hpp leaves it to a model build), which
// counts what a wake makes runnable. Include after relacy_atomic.hpp, in
// one model program (this defines schedule()).

#include <cstdint>

#include <weft/detail/cancel_slot.hpp>
#include <weft/detail/runtime.hpp>

namespace weft::model {

/// The canceller's steps: the request's CAS on the task's word, then
/// pass_on() to whatever the task armed.
inline void request_cancel(detail::atomic<std::uint64_t>& word, detail::cancel_slot& slot) {
  std::uint64_t w = word.load(std::memory_order_relaxed);
  while (!word.compare_exchange_weak(w, w | detail::k_cancel_requested, std::memory_order_seq_cst,
                                     std::memory_order_relaxed)) {
  }
  slot.pass_on(cancel_reason{});
}

/// What schedule() counts into: the current iteration's waiting task.
inline rl::atomic<int>* g_scheduled = nullptr;

struct waiting_task {
  detail::atomic<std::uint64_t> word;
  detail::cancel_slot slot;
  rl::atomic<int> scheduled{0};

  /// In each iteration's before(): schedule() counts for this task.
  void make_current() { g_scheduled = &scheduled; }
  bool cancellation_point() const {
    return (word.load(std::memory_order_seq_cst) & detail::k_cancel_requested) != 0;
  }
  void cancel() { request_cancel(word, slot); }
  /// A suspended task stays suspended until a wake makes it runnable.
  void wait_until_scheduled() {
    while (scheduled($).load(rl::mo_acquire) == 0) rl::yield(1, $);
  }
  int times_scheduled() { return scheduled($).load(rl::mo_relaxed); }
};

}  // namespace weft::model

namespace weft::detail {
/// The model's scheduler: a wake that makes the waiting task runnable.
void schedule(scheduler_base*, work_item, work_node&) {
  (*weft::model::g_scheduled)($).fetch_add(1, rl::mo_release);
}
}  // namespace weft::detail
