#pragma once
// Marsaglia's xorshift64: the runtime's cheap, thread-private random
// numbers (the victim a thief starts at, chaos mode's decisions). Not for
// anything that needs statistical quality.

#include <cstdint>

namespace weft::detail {

/// Advances `state` (never 0) and returns its new value.
inline std::uint64_t xorshift64(std::uint64_t& state) noexcept {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

}  // namespace weft::detail
