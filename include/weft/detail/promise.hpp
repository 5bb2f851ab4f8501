#pragma once
// The promise of weft::task<T>: the cancellation context, the continuation
// of an inline await, the result slot, and (used when spawned) the shared
// task_state.

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <typeinfo>

#if defined(__GLIBCXX__)
#include <cxxabi.h>
#endif
#include <utility>

#include <weft/errors.hpp>
#include <weft/detail/access.hpp>
#include <weft/detail/fwd.hpp>
#include <weft/detail/runtime.hpp>
#include <weft/detail/task_state.hpp>

namespace weft::detail {

/// Throws the error of starting an empty weft::task (task::release).
[[noreturn, gnu::noinline, gnu::cold]] inline void throw_empty_task(const char* what) {
  throw invalid_state_error(std::string(what) +
                            " got an empty weft::task: it was moved from, spawned or awaited "
                            "already; each task can be started once, so create a new one");
}

/// How `co_await X` inside a weft task is turned into an awaiter. Each weft
/// awaitable specializes it; the primary template rejects the rest.
template <class A>
struct awaitable_traits {
  static_assert(sizeof(A) == 0,
                "co_await inside a weft::task accepts weft awaitables only (weft::task, "
                "weft::task_handle, weft::yield(), ...): they check cancellation and resume on "
                "the pool. Wrap other asynchronous work in a weft::task.");
};

/// Sets the task whose body this worker runs (for this_task::). Called by
/// every awaiter's await_resume: a coroutine may resume on another worker.
inline void enter(task_state* root) noexcept {
  if (root != nullptr) {
    if (worker_context* w = tls_worker) {
      w->set_current(root);
      if (w->tracing) w->traced_id = root->id();
    }
  }
}

class promise_base {
 public:
  // state_ is a union member: not constructed here (see become_root).
  promise_base() noexcept {}
  promise_base(const promise_base&) = delete;
  promise_base& operator=(const promise_base&) = delete;
  ~promise_base() {
    if (root_ == &state_) state_.~task_state();
#if WEFT_TSAN
    // TSan variant: an exception object is shared between the task and
    // every thread that rethrew it, through libstdc++'s reference count,
    // which is not instrumented. When this frame drops the last reference
    // after a reader's catch block ended on another thread, TSan sees the
    // delete race with the reader's accesses. TSan builds keep the task's
    // reference (a deliberate leak, TSan builds only), so the object is
    // never freed on a thread that has no visible order with its readers.
    if (end_.error) static_cast<void>(new std::exception_ptr(std::move(end_.error)));
#endif
  }

  /// Makes this task a cancellation root (`how`: a spawned_root or a
  /// child_root): constructs its task_state. Once, before it runs.
  template <class Root>
  task_state& become_root(const Root& how) noexcept {
    std::construct_at(&state_, frame_, end_, how);
    root_ = &state_;
    return state_;
  }

  static void* operator new(std::size_t bytes) {
    return allocate_frame(current_frame_cache(), bytes);
  }
  static void operator delete(void* frame, std::size_t bytes) noexcept {
    free_frame(current_frame_cache(), frame, bytes);
  }

  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct final_awaiter {
    promise_base* promise;
    bool await_ready() const noexcept { return false; }
    [[gnu::always_inline]] std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
      promise_base& p = *promise;
      if (p.continuation_) {
        // An inline child that returned: the cancellation check of its
        // parent's await is made here, before the parent resumes (an
        // inline child always has its parent's root), so that in a
        // drop_on_cancel region the parent can be dropped instead.
        if (p.end_.outcome == k_succeeded && p.root_->cancellation_point()) [[unlikely]] {
          return return_cancelled(p);
        }
        return transfer_to(p.continuation_);
      }
      if (p.state_.join_ != nullptr) {
        // A combinator child: after finish_joined() the parent may own this
        // frame, so only its return value is used.
        std::coroutine_handle<> parent = p.state_.finish_joined();
        return parent ? transfer_to(parent) : std::noop_coroutine();
      }
      return end_spawned(p.state_);
    }
    // A spawned task: publish, then drop the run reference. That may
    // destroy this frame (and this awaiter): touch nothing after it. Out of
    // line: its atomics dwarf a call, and inlined into every coroutine's
    // resume function it cost the inline and fork paths about 40
    // instructions per fork (register pressure; callgrind, fib(20)).
    [[gnu::noinline]] static std::coroutine_handle<> end_spawned(task_state& state) noexcept {
      const std::coroutine_handle<> awaiter = state.finish();
      state.release();
      return awaiter ? transfer_to(awaiter) : std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };
  final_awaiter final_suspend() noexcept { return {this}; }

  /// A task awaited inline returned while its root's cancel is requested:
  /// marks its end cancelled, so that the parent's await_resume throws, or
  /// in a drop_on_cancel region drops this frame and the ones above
  /// (drop.hpp; defined in scheduler/drop.cpp).
  [[gnu::cold]] static std::coroutine_handle<> return_cancelled(promise_base& p) noexcept;

  void unhandled_exception() noexcept {
    end_.error = std::current_exception();
#if defined(__GLIBCXX__)
    // The common case (weft's own cancelled_error, from a suspension point)
    // is told by its type without a second throw; a rethrow costs about as
    // much as the first unwind.
    if (const std::type_info* type = abi::__cxa_current_exception_type();
        type != nullptr && *type == typeid(cancelled_error)) {
      end_.outcome = k_cancelled;
      return;
    }
#endif
    try {
      throw;
    } catch (const cancelled_error&) {  // a class derived from it
      end_.outcome = k_cancelled;
    } catch (...) {
      end_.outcome = k_failed;
    }
  }

  template <class A>
  decltype(auto) await_transform(A&& awaitable) {
    return awaitable_traits<std::remove_cvref_t<A>>::transform(root_, std::forward<A>(awaitable));
  }

  // A root (spawned, or a combinator's child): &state_, and state_ is
  // constructed. Awaited inline: the awaiting task's root_, so the child
  // shares its cancellation. Null until it is started.
  task_state* root_ = nullptr;
  // The coroutine awaiting this one inline; empty for a root.
  std::coroutine_handle<> continuation_;
  // This coroutine (set by get_return_object).
  std::coroutine_handle<> frame_;
  body_end end_;
  // Constructed by become_root() only: a task awaited inline never touches
  // it, so its frame pays neither the construction nor the destruction.
  union {
    task_state state_;
  };
};

/// Where a promise aligned to `align` sits in its coroutine frame: after
/// the resume and destroy pointers, aligned (GCC's and Clang's layout).
constexpr std::size_t promise_offset(std::size_t align) noexcept {
  return (2 * sizeof(void*) + align - 1) / align * align;
}

/// Where a task<T>'s body leaves its value: co_return's half of the promise.
template <class T>
class result_slot {
 public:
  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(value));
  }

  /// The value for an inline awaiter (moved out once).
  T take_value() { return std::move(*value_); }
  std::optional<T> value_;
};

template <>
class result_slot<void> {
 public:
  void return_void() noexcept {}
  void take_value() noexcept {}
};

/// The promise of task<T>. One template for every T (the void case differs
/// in its result_slot only), so that get_return_object is a template member
/// defined before task<T> is complete.
template <class T>
class promise : public promise_base, public result_slot<T> {
 public:
  using handle_type = std::coroutine_handle<promise>;

  task<T> get_return_object() noexcept {
    // drop.hpp finds a frame's promise_base without knowing T: the offset
    // of the promise in the frame is the same for every alignment up to 16.
    static_assert(promise_offset(alignof(promise)) == promise_offset(alignof(promise_base)),
                  "weft::task<T> supports result types aligned to at most 2 pointers; return an "
                  "over-aligned T through std::unique_ptr<T>");
    auto frame = handle_type::from_promise(*this);
    frame_ = frame;
    return access::make_task<T>(frame);
  }
};

}  // namespace weft::detail
