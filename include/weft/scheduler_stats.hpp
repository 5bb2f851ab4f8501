#pragma once
/// \file
/// weft::scheduler_stats: a scheduler's counters.

#include <cstdint>
#include <ostream>
#include <string>

namespace weft {

/// Counters of a scheduler, summed over its workers when read. Each is
/// exact once the pool is quiet; while it runs the sum is a recent view.
struct scheduler_stats {
  std::uint64_t spawned = 0;          ///< tasks spawned (including refused at shutdown)
  std::uint64_t succeeded = 0;        ///< tasks that returned
  std::uint64_t failed = 0;           ///< tasks an exception escaped from
  std::uint64_t cancelled = 0;        ///< tasks that ended cancelled
  std::uint64_t steals = 0;           ///< work items taken from another worker
  std::uint64_t failed_steals = 0;    ///< steal attempts that found nothing or lost a race
  std::uint64_t parks = 0;            ///< times a worker went to sleep
  std::uint64_t callback_errors = 0;  ///< exceptions that escaped done callbacks
};

/// One line: "spawned=10 succeeded=8 failed=1 cancelled=1 live=0 steals=3
/// failed_steals=12 parks=4 callback_errors=0".
inline std::string to_string(const scheduler_stats& s) {
  const std::uint64_t ended = s.succeeded + s.failed + s.cancelled;
  std::string line = "spawned=" + std::to_string(s.spawned);
  line += " succeeded=" + std::to_string(s.succeeded);
  line += " failed=" + std::to_string(s.failed);
  line += " cancelled=" + std::to_string(s.cancelled);
  line += " live=" + std::to_string(s.spawned > ended ? s.spawned - ended : 0);
  line += " steals=" + std::to_string(s.steals);
  line += " failed_steals=" + std::to_string(s.failed_steals);
  line += " parks=" + std::to_string(s.parks);
  line += " callback_errors=" + std::to_string(s.callback_errors);
  return line;
}

/// Writes to_string(s).
inline std::ostream& operator<<(std::ostream& os, const scheduler_stats& s) {
  return os << to_string(s);
}

}  // namespace weft
