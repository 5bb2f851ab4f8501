#pragma once
// The state of a weft::queue<T>: the items, and the tasks waiting to push
// (while it is full) or to pop (while it is empty), all under one lock.
//
// Hand-offs keep every item and every slot accounted for:
//   a push that finds a popper waiting moves the item into that popper's
//   waiter (granted); a popper that resumes cancelled puts it back at the
//   front, or hands it to the next popper;
//   a pop that frees a slot while a pusher waits reserves the slot for
//   that pusher (granted); the pusher queues its own value when it
//   resumes, or gives the slot on if it resumes cancelled or closed, so a
//   cancelled push queues nothing.
// occupied = items + reserved slots never exceeds the capacity.

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>

#include <weft/errors.hpp>
#include <weft/detail/atomic.hpp>
#include <weft/detail/sync_waiter.hpp>

namespace weft::detail {

/// A task waiting in pop(): where a push hands it its item. The storage is
/// raw (constructed by the hand-off, destroyed by await_resume) so the
/// awaiter stays trivially destructible (see task_awaiter).
template <class T>
struct pop_waiter final : sync_waiter {
  alignas(T) unsigned char storage[sizeof(T)];
  bool has_item = false;  // under the queue's lock until the task resumes

  T& item() noexcept { return *std::launder(reinterpret_cast<T*>(storage)); }
  template <class U>
  void give(U&& value) {
    ::new (static_cast<void*>(storage)) T(std::forward<U>(value));
    has_item = true;
  }
  T take() {
    T value(std::move(item()));
    drop();
    return value;
  }
  void drop() noexcept {
    item().~T();
    has_item = false;
  }
};

/// A task in push(): `pushed` if its value was queued without waiting;
/// else granted means a slot is reserved for it.
struct push_waiter final : sync_waiter {
  bool pushed = false;
};

template <class T>
class queue_state final : public sync_object {
 public:
  explicit queue_state(std::size_t capacity) noexcept
      : sync_object("weft::queue"), capacity_(capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
  bool full() const noexcept {
    return capacity_ != 0 && occupied_.load(std::memory_order_relaxed) >= capacity_;
  }
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  // ---- any thread, never waiting

  /// Queues `value` (moved from only on success); false if full or closed.
  template <class U>
  bool try_push(U&& value) {
    sync_waiter* wake = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (closed_.load(std::memory_order_relaxed) || !has_space()) return false;
      wake = push_locked(std::forward<U>(value));
    }
    if (wake != nullptr) wake->resume();
    return true;
  }

  std::optional<T> try_pop() {
    sync_waiter* wake = nullptr;
    std::optional<T> item;
    {
      std::lock_guard lock(mutex_);
      if (items_.empty()) return std::nullopt;
      item.emplace(std::move(items_.front()));
      wake = pop_front_locked();
    }
    if (wake != nullptr) wake->resume();
    return item;
  }

  /// No more pushes; waiting pushers wake with queue_closed_error, and
  /// waiting poppers too (there are none while items are queued).
  void close() noexcept {
    sync_waiter* pushers = nullptr;
    sync_waiter* poppers = nullptr;
    {
      std::lock_guard lock(mutex_);
      // release: pairs with the acquire in closed().
      closed_.store(true, std::memory_order_release);
      pushers = pushers_.take_all(wait_status::refused);
      poppers = poppers_.take_all(wait_status::refused);
    }
    resume_chain(pushers);
    resume_chain(poppers);
  }

  // ---- the awaiters' steps

  /// pop(): takes the front item into `w` (granted), or marks it refused
  /// if the queue is closed and empty, or (with `queue_it`) queues `w`.
  /// True if `w` must wait. The first attempt (from await_ready) does not
  /// queue; the second (from await_suspend, armed) does.
  bool pop_or_wait(pop_waiter<T>& w, bool queue_it) {
    sync_waiter* wake = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (w.status == wait_status::withdrawn) return false;  // cancelled first
      if (!items_.empty()) {
        w.give(std::move(items_.front()));
        w.status = wait_status::granted;
        wake = pop_front_locked();
      } else if (closed_.load(std::memory_order_relaxed)) {
        w.status = wait_status::refused;
      } else {
        if (queue_it) enqueue(poppers_, w);
        return queue_it;
      }
    }
    if (wake != nullptr) wake->resume();
    return false;
  }

  /// push(): queues `value` (pushed), or marks `w` refused if closed, or
  /// (with `queue_it`) queues `w` to wait for a slot. True if it waits.
  template <class U>
  bool push_or_wait(push_waiter& w, U&& value, bool queue_it) {
    sync_waiter* wake = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (w.status == wait_status::withdrawn) return false;
      if (closed_.load(std::memory_order_relaxed)) {
        w.status = wait_status::refused;
      } else if (has_space()) {
        wake = push_locked(std::forward<U>(value));
        w.pushed = true;
      } else {
        if (queue_it) enqueue(pushers_, w);
        return queue_it;
      }
    }
    if (wake != nullptr) wake->resume();
    return false;
  }

  /// A pusher resumed with a reserved slot: queues `value` into it. False
  /// (nothing queued, the slot freed) if the queue was closed meanwhile.
  template <class U>
  bool push_reserved(U&& value) {
    sync_waiter* wake = nullptr;
    sync_waiter* next_pusher = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (closed_.load(std::memory_order_relaxed)) {
        --reserved_;
        update_occupied();
        return false;
      }
      try {
        wake = push_locked(std::forward<U>(value));
      } catch (...) {  // the value's copy threw: the slot goes on
        wake = release_reserved_locked();
        if (wake != nullptr) wake->resume();
        throw;
      }
      // The slot is the queue's again: taken by the item, or free if the
      // item went straight to a waiting popper (then the next pusher gets it).
      --reserved_;
      next_pusher = grant_slot_locked();
      update_occupied();
    }
    if (wake != nullptr) wake->resume();
    if (next_pusher != nullptr) next_pusher->resume();
    return true;
  }

  /// A pusher resumed cancelled with a reserved slot: gives the slot on.
  void release_reserved() noexcept {
    sync_waiter* wake = nullptr;
    {
      std::lock_guard lock(mutex_);
#ifndef WEFT_WEAKEN_queue_release_reserved
      wake = release_reserved_locked();
#endif  // else deliberately broken, in a model test's build only: it must be caught
    }
    if (wake != nullptr) wake->resume();
  }

  /// A popper resumed cancelled with an item: the item goes to the next
  /// popper, or back to the front of the queue.
  void give_back(pop_waiter<T>& w) {
    sync_waiter* wake = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!poppers_.empty()) {
        auto& next = static_cast<pop_waiter<T>&>(*poppers_.front());
        poppers_.remove(next, wait_status::granted);
        next.give(std::move(w.item()));
        wake = &next;
      } else {
        items_.push_front(std::move(w.item()));
        update_occupied();
      }
      w.drop();
    }
    if (wake != nullptr) wake->resume();
  }

 private:
  bool has_space() const noexcept { return capacity_ == 0 || items_.size() + reserved_ < capacity_; }
  void update_occupied() noexcept {
    size_.store(items_.size(), std::memory_order_relaxed);
    occupied_.store(items_.size() + reserved_, std::memory_order_relaxed);
  }

  /// Under the lock, with space: the item goes to the oldest popper if one
  /// waits (returned, to resume after the lock), else to the back.
  template <class U>
  sync_waiter* push_locked(U&& value) {
    if (!poppers_.empty()) {
      auto& next = static_cast<pop_waiter<T>&>(*poppers_.front());
      next.give(std::forward<U>(value));  // may throw: nothing changed yet
      poppers_.remove(next, wait_status::granted);
      return &next;
    }
    items_.push_back(std::forward<U>(value));
    update_occupied();
    return nullptr;
  }

  /// Under the lock, after the front item was moved out: pops it and
  /// reserves the freed slot for the oldest pusher, if one waits.
  sync_waiter* pop_front_locked() noexcept {
    items_.pop_front();
    sync_waiter* wake = grant_slot_locked();
    update_occupied();
    return wake;
  }

  sync_waiter* release_reserved_locked() noexcept {
    --reserved_;
    sync_waiter* wake = grant_slot_locked();
    update_occupied();
    return wake;
  }

  sync_waiter* grant_slot_locked() noexcept {
    if (pushers_.empty() || !has_space()) return nullptr;
    sync_waiter* next = pushers_.front();
    pushers_.remove(*next, wait_status::granted);
    ++reserved_;
    return next;
  }

  const std::size_t capacity_;  // 0: unbounded
  // Under mutex_:
  std::deque<T> items_;
  std::size_t reserved_ = 0;  // slots granted to pushers that have not resumed
  wait_list pushers_;
  wait_list poppers_;
  // Snapshots for the queries, written under mutex_, read by anyone.
  atomic<std::size_t> size_{0};
  atomic<std::size_t> occupied_{0};
  // Written once by close() under mutex_; read by anyone.
  atomic<bool> closed_{false};
};

}  // namespace weft::detail
