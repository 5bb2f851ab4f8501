// Must not compile: a weft::task is move-only (each task can be started
// once), so copying one is rejected. ctest builds this and expects the
// compiler to name the deleted copy constructor.

#include <utility>

#include <weft/weft.hpp>

weft::task<int> answer() { co_return 42; }

int main() {
  weft::task<int> original = answer();
  weft::task<int> copy = original;
  return copy.valid() ? 0 : 1;
}
