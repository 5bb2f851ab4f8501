#pragma once
// What a request asks for: a computation with its parameters checked, the
// stats, or an error to answer at once. Pure functions of the request line,
// so bad input is answered without touching the pool.
#include <chrono>
#include <string>
#include <string_view>
#include <variant>

namespace service {

enum class endpoint { fib, nqueens, mandelbrot };

/// A computation to run: `arg` is n (fib, nqueens) or size (mandelbrot).
struct compute_request {
  endpoint which;
  int arg;
  std::chrono::milliseconds deadline;
};

/// GET /stats.
struct stats_request {};

/// A request answered at once with `status` and a JSON {"error": message}.
struct rejected_request {
  unsigned status;
  std::string message;
};

using routed_request = std::variant<compute_request, stats_request, rejected_request>;

/// Routes `method target`: 404 for an unknown path, 405 for a method other
/// than GET, 400 naming the parameter and its range for a parameter that is
/// unknown, not a whole number or out of range.
routed_request route(std::string_view method, std::string_view target);

/// "fib", "nqueens", "mandelbrot".
std::string_view name_of(endpoint e);

/// The JSON body {"error": message} (message escaped).
std::string error_json(std::string_view message);

}  // namespace service
