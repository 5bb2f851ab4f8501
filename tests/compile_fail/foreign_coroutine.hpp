#pragma once
// The simplest coroutine that is not a weft task: what the compile-fail
// tests await weft's tasks from.

#include <coroutine>
#include <exception>

struct foreign_coroutine {
  struct promise_type {
    foreign_coroutine get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};
