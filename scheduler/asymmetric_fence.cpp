// heavy_fence(): membarrier where the kernel has it (asymmetric_fence.hpp).

#include <weft/detail/asymmetric_fence.hpp>

#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace weft::detail {

namespace {
#if defined(__linux__)
long membarrier(int command) noexcept { return ::syscall(__NR_membarrier, command, 0, 0); }
#endif

bool disabled_by_environment() noexcept {
  const char* v = std::getenv("WEFT_ASYMMETRIC_FENCES");
  return v != nullptr && std::strcmp(v, "0") == 0;
}
}  // namespace

void enable_asymmetric_fences() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(__linux__)
    if (disabled_by_environment()) return;
    const long supported = membarrier(MEMBARRIER_CMD_QUERY);
    if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0) return;
    // relaxed: the scheduler that called this publishes it to its workers
    // by starting them, and to other threads by being handed to them.
    g_heavy_fence_ready.store(true, std::memory_order_relaxed);
#endif
  });
}

#if !WEFT_TSAN
void heavy_fence() noexcept {
#if defined(__linux__)
  if (g_heavy_fence_ready.load(std::memory_order_relaxed) &&
      membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) {
    return;
  }
#endif
  std::atomic_thread_fence(std::memory_order_seq_cst);
}
#endif

}  // namespace weft::detail
