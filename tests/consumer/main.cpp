// weft's consumer check: what a project embedding weft compiles and runs
// against an installed weft (CMake package or pkg-config) or a subdirectory.
// Exits 0 and prints one line when everything works.

#include <weft/weft.hpp>

#include <cstdio>
#include <string_view>

namespace {

weft::task<long> fib(int n) {
  if (n < 2) co_return n;
  weft::task_handle<long> left = weft::spawn(fib(n - 1));
  long b = co_await fib(n - 2);
  long a = co_await left;
  co_return a + b;
}

}  // namespace

int main() {
  constexpr weft::version_info v = weft::version();
  static_assert(v.major == WEFT_VERSION_MAJOR && v.minor == WEFT_VERSION_MINOR &&
                v.patch == WEFT_VERSION_PATCH && v.string == WEFT_VERSION_STRING);
#ifdef WEFT_CONSUMER_EXPECTED_VERSION
  // The version the build system found (package version file, weft.pc, or
  // the subproject's target) is the one the headers report.
  if (v.string != std::string_view(WEFT_CONSUMER_EXPECTED_VERSION)) {
    std::fprintf(stderr, "weft_consumer: headers say weft %s, the build system found %s\n",
                 WEFT_VERSION_STRING, WEFT_CONSUMER_EXPECTED_VERSION);
    return 1;
  }
#endif

  weft::scheduler sched(2);
  long result = weft::sync_wait(sched, fib(20));
  if (result != 6765) {
    std::fprintf(stderr, "weft_consumer: fib(20) = %ld, expected 6765\n", result);
    return 1;
  }
  std::printf("weft_consumer: weft %.*s, fib(20) = %ld on %zu workers\n",
              static_cast<int>(v.string.size()), v.string.data(), result, sched.worker_count());
  return 0;
}
