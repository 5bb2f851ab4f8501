#pragma once
// The public types that weft's internals name: declared here so that
// detail/ headers never include the public headers that define them (each
// public header includes the detail/ headers of its own concept).

#include <cstddef>

namespace weft {

template <class T>
class task;
template <class T>
class task_handle;
class task_group;
class scheduler;
template <class T>
class future;
class semaphore;
class mutex;
class event;
template <class T>
class queue;
template <class T>
struct queue_push_awaitable;
template <class T>
struct queue_pop_awaitable;

template <class T>
struct shield_awaitable;
template <class... Ts>
struct when_all_awaitable;
template <class T>
struct when_all_vector_awaitable;
template <class T>
struct when_any_awaitable;
template <class T>
struct timeout_awaitable;
template <class T>
struct uncancellable_awaitable;
template <class T>
struct drop_on_cancel_awaitable;
struct sleep_awaitable;
struct yield_awaitable;
struct task_group_join;
template <class T>
struct future_shield_awaitable;

}  // namespace weft
