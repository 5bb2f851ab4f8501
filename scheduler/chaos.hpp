#pragma once
// Chaos mode, for tests: with WEFT_CHAOS=1 in the environment when a
// scheduler is built, its workers inject random yields, short sleeps and
// spurious failed steals at their decision points, to widen race windows.
// Off, each point costs one predictable branch on a member of the worker.

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "xorshift.hpp"

namespace weft::detail {

class chaos_monkey {
 public:
  static bool enabled_by_environment() noexcept {
    const char* v = std::getenv("WEFT_CHAOS");
    return v != nullptr && std::strcmp(v, "0") != 0 && v[0] != '\0';
  }

  explicit chaos_monkey(bool on, std::uint64_t seed) noexcept : on_(on), state_(seed | 1) {}

  /// A decision point: sometimes yield the thread, rarely sleep a little.
  void perturb() noexcept {
    if (!on_) return;
    std::uint64_t r = next();
    if ((r & 7) == 0) std::this_thread::yield();
    if ((r & 255) == 1) std::this_thread::sleep_for(std::chrono::microseconds(50 + (r >> 56)));
  }

  /// True when a steal attempt should fail as if it lost a race. Never
  /// during the last look before parking (see final_look).
  bool fail_steal() noexcept { return on_ && !final_look_ && (next() & 3) == 0; }

  /// Brackets the parking protocol's second look. A real steal fails only
  /// when another thread took the item, so that thread runs it; a spurious
  /// failure there would park the worker beside queued work that nobody
  /// will wake it for (a lost wake-up that cannot happen without chaos).
  void final_look(bool on) noexcept { final_look_ = on; }

 private:
  std::uint64_t next() noexcept { return xorshift64(state_); }

  bool on_;
  bool final_look_ = false;
  std::uint64_t state_;
};

}  // namespace weft::detail
