#include "routes.hpp"

#include <charconv>

namespace service {
namespace {

struct parameter {
  std::string_view name;
  int min, max, fallback;
};

struct endpoint_spec {
  std::string_view path;
  endpoint which;
  parameter arg;
  parameter deadline_ms;
};

// The ranges keep one request's work bounded even without its deadline
// (fib(40) is about 1.6e8 calls; nqueens(15) about 2.3e7 placements).
constexpr endpoint_spec k_endpoints[] = {
    {"/fib", endpoint::fib, {"n", 0, 40, 32}, {"deadline_ms", 1, 60000, 50}},
    {"/nqueens", endpoint::nqueens, {"n", 1, 15, 12}, {"deadline_ms", 1, 60000, 200}},
    {"/mandelbrot", endpoint::mandelbrot, {"size", 1, 4096, 512}, {"deadline_ms", 1, 60000, 500}},
};

rejected_request bad_parameter(const parameter& p, std::string_view why) {
  return {400, "parameter '" + std::string(p.name) + "' " + std::string(why) + ": it must be a whole number from " +
                   std::to_string(p.min) + " to " + std::to_string(p.max)};
}

// Parses "a=1&b=2" into the endpoint's two parameters.
std::variant<compute_request, rejected_request> parse_query(const endpoint_spec& e, std::string_view query) {
  int values[2] = {e.arg.fallback, e.deadline_ms.fallback};
  const parameter* params[2] = {&e.arg, &e.deadline_ms};
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view text = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    int slot = -1;
    for (int i = 0; i < 2; ++i) {
      if (params[i]->name == key) slot = i;
    }
    if (slot < 0) {
      return rejected_request{400, "unknown parameter '" + std::string(key) + "' for " + std::string(e.path) +
                                       "; it takes '" + std::string(e.arg.name) + "' and 'deadline_ms'"};
    }
    int v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size()) {
      return bad_parameter(*params[slot], "is not a number");
    }
    if (ec == std::errc::result_out_of_range || v < params[slot]->min || v > params[slot]->max) {
      return bad_parameter(*params[slot], "is out of range");
    }
    values[slot] = v;
  }
  return compute_request{e.which, values[0], std::chrono::milliseconds(values[1])};
}

}  // namespace

routed_request route(std::string_view method, std::string_view target) {
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  const endpoint_spec* spec = nullptr;
  for (const endpoint_spec& e : k_endpoints) {
    if (e.path == path) spec = &e;
  }
  if (spec == nullptr && path != "/stats") {
    return rejected_request{404, "no such path '" + std::string(path) +
                                     "'; the service answers GET /fib, /nqueens, /mandelbrot and /stats"};
  }
  if (method != "GET") return rejected_request{405, "only GET is served"};
  if (spec == nullptr) return stats_request{};
  auto parsed = parse_query(*spec, query);
  if (auto* r = std::get_if<rejected_request>(&parsed)) return std::move(*r);
  return std::get<compute_request>(parsed);
}

std::string_view name_of(endpoint e) {
  switch (e) {
    case endpoint::fib: return "fib";
    case endpoint::nqueens: return "nqueens";
    case endpoint::mandelbrot: return "mandelbrot";
  }
  return "?";
}

std::string error_json(std::string_view message) {
  std::string out = "{\"error\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;  // control characters are dropped
    out += c;
  }
  out += "\"}";
  return out;
}

}  // namespace service
