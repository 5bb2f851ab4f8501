#pragma once
// What an exception says, for the messages that name a failure's cause
// (a sibling's failure, a done callback or a worker hook that threw).

#include <exception>
#include <optional>
#include <string>

namespace weft::detail {

/// `error`'s what() if it is a std::exception, else nullopt. Not on a hot
/// path: it rethrows.
inline std::optional<std::string> what_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return std::string(e.what());
  } catch (...) {
    return std::nullopt;
  }
}

/// "`sentence`: what()" of `error`, or `sentence` alone when it is not a
/// std::exception.
inline std::string with_cause(const char* sentence, const std::exception_ptr& error) {
  std::optional<std::string> what = what_of(error);
  return what ? std::string(sentence) + ": " + *what : std::string(sentence);
}

}  // namespace weft::detail
