// Must not compile: inside a weft::task, co_await accepts weft awaitables
// only (they check cancellation and resume on the pool); a foreign
// awaitable such as std::suspend_always is rejected with a static_assert
// that says what to do. ctest builds this and expects that message.

#include <coroutine>

#include <weft/weft.hpp>

weft::task<void> awaits_a_foreign_awaitable() { co_await std::suspend_always{}; }

int main() { return 0; }
