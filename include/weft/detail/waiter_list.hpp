#pragma once
// The list of what waits for a task to end: a lock-free stack of waiter
// nodes that the task's finisher closes once, then wakes in the order they
// registered (asyncio runs done callbacks in that order), then marks
// settled.
//
// The word's values:
//   0 or a waiter*  open: the newest registered node (each links to the
//                   one before); pushed by waiters with a CAS
//   k_closed        terminal: the finisher took the list and is waking it;
//                   registering fails (the caller acts at once)
//   k_settled       terminal: every node registered before the end was
//                   woken and its wake returned
// Who may call what: add() and settled() from any thread; close_and_wake()
// once, by the thread that published the terminal state; settle_unused()
// once, instead of close_and_wake(), before anyone else can see the list.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <thread>

#include <weft/detail/atomic.hpp>
#include <weft/detail/config.hpp>
#include <weft/detail/futex.hpp>
#include <weft/detail/runtime.hpp>

namespace weft::detail {

/// A node in a task's waiter list, registered lock-free; `wake` runs once,
/// after the terminal state is published. A waiter may be destroyed by its
/// owner as soon as `wake` has started, so `wake` reads the node first.
struct waiter {
  waiter* next = nullptr;
  void (*wake)(waiter*) noexcept = nullptr;
};

/// A thread blocked in wait(). Lives on that thread's stack.
struct thread_waiter : waiter {
  std::atomic<std::uint32_t> woken{0};

  thread_waiter() { wake = &wake_thread; }
  static void wake_thread(waiter* w) noexcept {
    auto* self = static_cast<thread_waiter*>(w);
    std::atomic<std::uint32_t>* word = &self->woken;
    // release: pairs with the acquire in block(); after this store the
    // waiter may return, so only the address (not the memory) is used next.
    word->store(1, std::memory_order_release);
    futex_wake(word, 1);
  }
  void block() noexcept {
    while (woken.load(std::memory_order_acquire) == 0) futex_wait(woken, 0);
  }
};

/// A coroutine suspended until a task is terminal; woken onto `sched`.
struct coroutine_waiter : waiter {
  std::coroutine_handle<> handle;
  scheduler_base* sched = nullptr;
  work_node node;

  coroutine_waiter() { wake = &wake_coroutine; }
  static void wake_coroutine(waiter* w) noexcept {
    auto* self = static_cast<coroutine_waiter*>(w);
    schedule(self->sched, as_work(self->handle), self->node);
  }
};

class waiter_list {
 public:
  /// Registers `node`; false if the list is closed (the task is terminal,
  /// the node is not registered).
  bool add(waiter* node) noexcept {
    // acquire: pairs with the exchange in close_and_wake(); seeing it
    // closed means the terminal state and result are visible.
    std::uintptr_t head = word_.load(std::memory_order_acquire);
    do {
      if (head == k_closed || head == k_settled) return false;
      node->next = reinterpret_cast<waiter*>(head);
      // release: publishes the node's fields to the waker.
#ifdef WEFT_WEAKEN_waiter_list_add
      // Deliberately broken, in a model test's build only: it must be caught.
    } while (!word_.compare_exchange_weak(head, reinterpret_cast<std::uintptr_t>(node),
                                          std::memory_order_relaxed, std::memory_order_acquire));
#else
    } while (!word_.compare_exchange_weak(head, reinterpret_cast<std::uintptr_t>(node),
                                          std::memory_order_release, std::memory_order_acquire));
#endif
    return true;
  }

  /// True once every waiter registered before the end was woken.
  bool settled() const noexcept {
    // acquire: pairs with the release store at the end of close_and_wake().
    return word_.load(std::memory_order_acquire) == k_settled;
  }

  /// The task is terminal (published before this): wakes every registered
  /// node, oldest first, then marks the list settled. If the last node is a
  /// coroutine of `sched` and this thread is one of its workers, that
  /// coroutine is not scheduled but returned, for the caller to continue
  /// with at once (it would be the next item this worker pops anyway): an
  /// awaited task hands its worker straight to its awaiter.
  [[nodiscard]] std::coroutine_handle<> close_and_wake(const scheduler_base* sched) noexcept {
    std::coroutine_handle<> direct;
    const bool on_worker = worker_of(sched) != nullptr;
    // acq_rel: acquire the registered nodes' fields; release the terminal
    // state to add() callers that find the list closed.
#ifdef WEFT_WEAKEN_waiter_list_close
    // Deliberately broken, in a model test's build only: it must be caught.
    std::uintptr_t head = word_.exchange(k_closed, std::memory_order_acquire);
#else
    std::uintptr_t head = word_.exchange(k_closed, std::memory_order_acq_rel);
#endif
    // The list is newest-first: reverse it.
    waiter* ordered = nullptr;
    for (auto* node = reinterpret_cast<waiter*>(head); node != nullptr;) {
      waiter* next = node->next;
      node->next = ordered;
      ordered = node;
      node = next;
    }
    while (ordered != nullptr) {
      waiter* next = ordered->next;  // read before waking: the node may vanish
      if (next == nullptr && on_worker && ordered->wake == &coroutine_waiter::wake_coroutine &&
          static_cast<coroutine_waiter*>(ordered)->sched == sched) {
        direct = static_cast<coroutine_waiter*>(ordered)->handle;
        break;
      }
      ordered->wake(ordered);
      ordered = next;
    }
    // release: pairs with the acquire in settled(); the wakes' effects
    // (done callbacks) are visible to a wait() that returns on it.
    word_.store(k_settled, std::memory_order_release);
    return direct;
  }

  /// Blocks this (non-worker) thread until the list is settled: every
  /// waiter and done callback registered before the end has run, and this
  /// thread among them. No system call when it is settled already.
  void wait_settled() noexcept {
    // Spin a little first: an end that is about to come saves the two
    // system calls and the context switches of a futex sleep.
    for (int i = 0; i < k_wait_spins; ++i) {
      if (settled()) return;
      cpu_relax();
    }
    thread_waiter node;
    if (add(&node)) {
      node.block();
      return;
    }
    // Closed but its callbacks may still run: wait for them to finish.
    while (!settled()) std::this_thread::yield();
  }

  /// As above, waking every node (for a thread that cannot continue with a
  /// coroutine: a canceller ending a task that never started).
  void close_and_wake_all() noexcept {
    const std::coroutine_handle<> direct = close_and_wake(nullptr);
    static_cast<void>(direct);  // null: no worker belongs to no scheduler
  }

  /// The owner is destroyed without having ended (a future nobody
  /// completed): wakes the nodes still registered. Only a node that holds
  /// no reference to the owner can be: a shield waiter whose caller left on
  /// a cancel, which only drops its reference when woken. Single-threaded
  /// (the owner's last reference is gone).
  void wake_left_behind() noexcept {
    const std::uintptr_t head = word_.load(std::memory_order_acquire);
    if (head != k_closed && head != k_settled) close_and_wake_all();
  }

  /// A task that is terminal before anyone could register (refused at
  /// shutdown): settled at once.
  void settle_unused() noexcept {
    // release: as at the end of close_and_wake().
    word_.store(k_settled, std::memory_order_release);
  }

 private:
  static constexpr int k_wait_spins = 2000;  // about 10-50 us of pause
  static constexpr std::uintptr_t k_closed = 1;
  static constexpr std::uintptr_t k_settled = 2;
  atomic<std::uintptr_t> word_{0};
};

}  // namespace weft::detail
