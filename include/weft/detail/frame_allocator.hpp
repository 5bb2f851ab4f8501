#pragma once
// Recycling of coroutine frames. Every weft::task frame is allocated in a
// size class (multiples of 64 bytes up to 2 KiB); a worker keeps freed
// blocks of each class in a free list of its own and reuses them, so the
// fork-join paths do not reach malloc in steady state.
//
// Any thread may free any block: blocks come from ::operator new at their
// class size, so a thread that is not a worker (or a full list) hands them
// back with the sized ::operator delete. Memory freed on a worker stays in
// that worker's list (bounded) until the scheduler is destroyed.
//
// Sanitizer builds use plain new/delete (WEFT_RECYCLE_FRAMES, config.hpp).
// The caller passes the calling worker's cache (null on other threads):
// runtime.hpp, which knows the worker, finds it.

#include <cstddef>
#include <new>

#include <weft/detail/config.hpp>

namespace weft::detail {

inline constexpr bool k_recycle_frames = WEFT_RECYCLE_FRAMES;

/// The global sized delete where the compiler declares it (clang 14 does
/// only with -fsized-deallocation).
inline void delete_block(void* p, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__cpp_sized_deallocation)
  ::operator delete(p, bytes);
#else
  ::operator delete(p);
#endif
}

class frame_cache {
 public:
  static constexpr std::size_t k_granule = 64;
  static constexpr std::size_t k_classes = 32;  // up to 2 KiB
  static constexpr std::size_t k_max_cached = 1024;

  frame_cache() = default;
  frame_cache(const frame_cache&) = delete;
  frame_cache& operator=(const frame_cache&) = delete;
  ~frame_cache() {
    for (std::size_t c = 0; c < k_classes; ++c) {
      while (block* b = heads_[c]) {
        heads_[c] = b->next;
        delete_block(b, class_bytes(c));
      }
    }
  }

  static constexpr std::size_t class_of(std::size_t bytes) noexcept {
    return (bytes + k_granule - 1) / k_granule - 1;
  }
  static constexpr std::size_t class_bytes(std::size_t c) noexcept { return (c + 1) * k_granule; }

  void* take(std::size_t c) noexcept {
    block* b = heads_[c];
    if (b == nullptr) return nullptr;
    heads_[c] = b->next;
    --counts_[c];
    return b;
  }
  bool give(std::size_t c, void* p) noexcept {
    if (counts_[c] >= k_max_cached) return false;
    auto* b = static_cast<block*>(p);
    b->next = heads_[c];
    heads_[c] = b;
    ++counts_[c];
    return true;
  }

 private:
  struct block {
    block* next;
  };
  block* heads_[k_classes] = {};
  std::size_t counts_[k_classes] = {};
};

/// A frame of `bytes`, from `cache` (the calling worker's, or null) if it
/// holds a block of its class.
inline void* allocate_frame(frame_cache* cache, std::size_t bytes) {
  if constexpr (k_recycle_frames) {
    const std::size_t c = frame_cache::class_of(bytes);
    if (c < frame_cache::k_classes) {
      if (cache != nullptr) {
        if (void* p = cache->take(c)) return p;
      }
      return ::operator new(frame_cache::class_bytes(c));
    }
  }
  return ::operator new(bytes);
}

/// Frees a frame of `bytes` made by allocate_frame(): into `cache` (the
/// calling worker's, or null) unless it is full.
inline void free_frame(frame_cache* cache, void* p, std::size_t bytes) noexcept {
  if constexpr (k_recycle_frames) {
    const std::size_t c = frame_cache::class_of(bytes);
    if (c < frame_cache::k_classes) {
      if (cache == nullptr || !cache->give(c, p)) {
        delete_block(p, frame_cache::class_bytes(c));
      }
      return;
    }
  }
  delete_block(p, bytes);
}

}  // namespace weft::detail
