#pragma once
// The state word of a task: its whole lifecycle in one atomic 64-bit word,
// so done()/cancelled() are one load and cancel-vs-completion is decided by
// one atomic operation.
//
// Bits (masks below):
//   k_started          the body was resumed for the first time (a worker set it)
//   k_done             terminal: the outcome bits and the result are final
//   k_outcome_mask     succeeded / failed / cancelled, valid once k_done
//   k_cancel_requested a cancellation was requested (sticky)
//   k_result_taken     a move-only result was moved out
//   k_record_mask      the cancel_record of the first request (64-aligned
//                      pointer); non-zero exactly when k_cancel_requested

#include <atomic>
#include <cstdint>
#include <string>

#include <weft/cancel_reason.hpp>
#include <weft/errors.hpp>

namespace weft::detail {

inline constexpr std::uint64_t k_started = 1u << 0;
inline constexpr std::uint64_t k_done = 1u << 1;
inline constexpr std::uint64_t k_outcome_mask = 3u << 2;
inline constexpr std::uint64_t k_succeeded = 0u << 2;
inline constexpr std::uint64_t k_failed = 1u << 2;
inline constexpr std::uint64_t k_cancelled = 2u << 2;
inline constexpr std::uint64_t k_cancel_requested = 1u << 4;
inline constexpr std::uint64_t k_result_taken = 1u << 5;
inline constexpr std::uint64_t k_record_align = 64;
inline constexpr std::uint64_t k_record_mask = ~(k_record_align - 1);

/// An immutable cancel reason, pointed to by the state word. Requests with
/// an empty message use one of the static records (no allocation); others
/// are allocated by the requester and shared: a join passes one record to
/// all of its children, and the joins below a child cancelled because its
/// parent was pass that same parent_cancelled record on, so cancelling a
/// when_all / when_any tree allocates two records (the request's and the
/// one its descendants share), not one per task. (A spawned task awaited
/// by handle, a when_any decision and a sibling failure make their own.)
/// Each state word that points to a record holds one reference; the last
/// frame to go frees it.
struct alignas(k_record_align) cancel_record {
  cancel_reason reason;
  mutable std::atomic<std::uint32_t> refs{1};
};

inline const cancel_record* static_record(cancel_kind kind) noexcept {
  static const cancel_record records[] = {
      {{cancel_kind::user, {}}},           {{cancel_kind::timeout, {}}},
      {{cancel_kind::sibling_failed, {}}}, {{cancel_kind::parent_cancelled, {}}},
      {{cancel_kind::shutdown, {}}},
  };
  return &records[static_cast<unsigned>(kind)];
}

inline bool is_static_record(const cancel_record* r) noexcept {
  for (unsigned k = 0; k <= static_cast<unsigned>(cancel_kind::shutdown); ++k) {
    if (r == static_record(static_cast<cancel_kind>(k))) return true;
  }
  return false;
}

/// A record for `reason` holding one reference: static when the message is
/// empty.
inline const cancel_record* make_record(cancel_kind kind, std::string_view message) {
  if (message.empty()) return static_record(kind);
  return new cancel_record{{kind, std::string(message)}};
}

/// One more reference to `r` (for another state word); returns `r`.
inline const cancel_record* share_record(const cancel_record* r) noexcept {
  // relaxed: a reference the caller holds or borrows (from a state word
  // that outlives this call) keeps the count above 0 meanwhile; the record
  // is immutable.
  if (!is_static_record(r)) r->refs.fetch_add(1, std::memory_order_relaxed);
  return r;
}

/// Drops one reference to `r`, which is not null.
[[gnu::noinline]] inline void drop_record(const cancel_record* r) noexcept {
  if (is_static_record(r)) return;
  // acq_rel: the last owner deletes it after every other owner is done.
  if (r->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete r;
}

/// Drops one reference to `r` (null is allowed). Only the null test is
/// inline: every task and future frame ends with one, and most were never
/// cancelled.
inline void free_record(const cancel_record* r) noexcept {
  if (r != nullptr) [[unlikely]] drop_record(r);
}

/// Claims the right to move a move-only result out of the task or future
/// (`noun`) whose state word is `word` (a std::atomic, or a model build's
/// atomic); throws if it was taken.
template <class Word>
void claim_result(Word& word, const char* what, const char* noun) {
  // acq_rel: one claimant wins, and sees the value's writer's writes.
  if ((word.fetch_or(k_result_taken, std::memory_order_acq_rel) & k_result_taken) != 0) {
    throw invalid_state_error(std::string(what) + ": the move-only result of this " + noun +
                              " was already taken; it can be taken once, so keep the value "
                              "from the first call");
  }
}

inline const cancel_record* record_of(std::uint64_t word) noexcept {
  return reinterpret_cast<const cancel_record*>(word & k_record_mask);
}

inline std::uint64_t record_bits(const cancel_record* r) noexcept {
  return reinterpret_cast<std::uint64_t>(r);
}

}  // namespace weft::detail
