#pragma once
/// \file
/// The umbrella header: everything weft offers.

#include <weft/cancel_reason.hpp>
#include <weft/errors.hpp>
#include <weft/scheduler.hpp>
#include <weft/scheduler_options.hpp>
#include <weft/scheduler_stats.hpp>
#include <weft/shield.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/task_group.hpp>
#include <weft/task_handle.hpp>
#include <weft/this_task.hpp>
#include <weft/timeout.hpp>
#include <weft/uncancellable.hpp>
#include <weft/version.hpp>
#include <weft/when_all.hpp>
#include <weft/when_any.hpp>
#include <weft/yield.hpp>
