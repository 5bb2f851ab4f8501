#pragma once
/// \file
/// Everything weft offers. Start here, then read the header of each concept:
///   task.hpp          task<T>: a lazy coroutine; `co_await t` runs it inline
///   scheduler.hpp     scheduler: the work-stealing pool; spawn(), sync_wait()
///   task_handle.hpp   task_handle<T>: cancel(), done(), result(), co_await
///   errors.hpp        cancelled_error, timeout_error, invalid_state_error, ...
///   cancel_reason.hpp why a task was cancelled (user, timeout, shutdown, ...)
///   when_all.hpp, when_any.hpp   fork-join: wait for all, or for the first
///   task_group.hpp    structured concurrency (asyncio.TaskGroup)
///   timeout.hpp, sleep.hpp, yield.hpp   time limits and suspension points
///   shield.hpp, uncancellable.hpp       waits a cancel does not pass through
///   drop_on_cancel.hpp cancellation that ends frames without an exception
///   future.hpp        future<T>: a result another thread provides
///   event.hpp, semaphore.hpp, mutex.hpp   waiting on other tasks' signals
///   queue.hpp         queue<T>: producers and consumers, with close()
///   to_thread.hpp     to_thread(fn): a blocking call off the workers
///   parallel.hpp      parallel_for, parallel_reduce: loops over a range
///   this_task.hpp     the running task: cancellation_requested(), deadline()
///   scheduler_options.hpp, scheduler_stats.hpp, version.hpp

#include <weft/cancel_reason.hpp>
#include <weft/drop_on_cancel.hpp>
#include <weft/errors.hpp>
#include <weft/event.hpp>
#include <weft/future.hpp>
#include <weft/mutex.hpp>
#include <weft/parallel.hpp>
#include <weft/queue.hpp>
#include <weft/scheduler.hpp>
#include <weft/scheduler_options.hpp>
#include <weft/scheduler_stats.hpp>
#include <weft/semaphore.hpp>
#include <weft/shield.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/task_group.hpp>
#include <weft/task_handle.hpp>
#include <weft/this_task.hpp>
#include <weft/timeout.hpp>
#include <weft/to_thread.hpp>
#include <weft/uncancellable.hpp>
#include <weft/version.hpp>
#include <weft/when_all.hpp>
#include <weft/when_any.hpp>
#include <weft/yield.hpp>
