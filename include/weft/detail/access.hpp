#pragma once
// The one door from weft's public classes to their internals. task,
// task_handle, future and task_group keep their coroutine, promise and
// shared state private and befriend this class only; spawn, the awaiters
// and the combinators reach them through it. Users never name it.

#include <coroutine>
#include <utility>

#include <weft/detail/fwd.hpp>

namespace weft::detail {

template <class T>
class promise;
template <class T>
class future_state;
class group_core;

struct access {
  /// Takes `t`'s coroutine out, leaving it empty (spawn, awaits,
  /// combinators). Throws invalid_state_error naming `what` if `t` is empty.
  template <class T>
  static std::coroutine_handle<promise<T>> release(task<T>& t, const char* what) {
    return t.release(what);
  }
  /// The task owning `frame` (promise::get_return_object).
  template <class T>
  static task<T> make_task(std::coroutine_handle<promise<T>> frame) noexcept {
    return task<T>(frame);
  }

  /// The promise `h` refers to, or null; `h` keeps its reference.
  template <class T>
  static promise<T>* promise_of(const task_handle<T>& h) noexcept {
    return h.p_;
  }
  /// Takes `h`'s reference, leaving it empty.
  template <class T>
  static promise<T>* detach(task_handle<T>& h) noexcept {
    return std::exchange(h.p_, nullptr);
  }
  /// A handle owning one reference to `p`'s task, taken over.
  template <class T>
  static task_handle<T> adopt(promise<T>* p) noexcept {
    return task_handle<T>(p);
  }

  /// The state `f` refers to, or null; `f` keeps its reference.
  template <class T>
  static future_state<T>* state_of(const future<T>& f) noexcept {
    return f.s_;
  }
  /// Takes `f`'s reference, leaving it empty.
  template <class T>
  static future_state<T>* detach(future<T>& f) noexcept {
    return std::exchange(f.s_, nullptr);
  }

  /// The state behind an event or a queue.
  template <class Primitive>
  static auto& state(Primitive& p) noexcept {
    return p.state_;
  }
  /// The permits behind a semaphore or a mutex.
  template <class Primitive>
  static auto& pool(Primitive& p) noexcept {
    return p.pool_;
  }
  /// A semaphore::permit or mutex::guard owning what `p` just gave.
  template <class Guard, class Primitive>
  static Guard make_guard(Primitive& p) noexcept {
    return Guard(&p);
  }

  /// The group's shared state.
  template <class Group>
  static group_core& core(Group& g) noexcept {
    return *g.core_;
  }
};

}  // namespace weft::detail
