#pragma once
/// \file
/// weft's version: macros for the preprocessor, weft::version() for code.
///
/// The numbers below are the version; CMakeLists.txt's project(VERSION) must
/// say the same, and configuring fails if it does not. To release, bump both
/// and add the CHANGELOG.md entry.

#include <string_view>

/// The major version of these headers (CMakeLists.txt reads these three lines).
#define WEFT_VERSION_MAJOR 0
/// The minor version of these headers.
#define WEFT_VERSION_MINOR 1
/// The patch version of these headers.
#define WEFT_VERSION_PATCH 0

/// One number for `#if` comparisons: MAJOR * 10000 + MINOR * 100 + PATCH
/// (0.1.0 is 100).
#define WEFT_VERSION (WEFT_VERSION_MAJOR * 10000 + WEFT_VERSION_MINOR * 100 + WEFT_VERSION_PATCH)

#define WEFT_DETAIL_STRINGIFY_(x) #x
#define WEFT_DETAIL_STRINGIFY(x) WEFT_DETAIL_STRINGIFY_(x)
/// "MAJOR.MINOR.PATCH", built from the three numbers above.
#define WEFT_VERSION_STRING                                                           \
  WEFT_DETAIL_STRINGIFY(WEFT_VERSION_MAJOR)                                           \
  "." WEFT_DETAIL_STRINGIFY(WEFT_VERSION_MINOR) "." WEFT_DETAIL_STRINGIFY(WEFT_VERSION_PATCH)

namespace weft {

/// A weft version, as three numbers and as text.
struct version_info {
  int major;  ///< WEFT_VERSION_MAJOR of the built library
  int minor;  ///< WEFT_VERSION_MINOR of the built library
  int patch;  ///< WEFT_VERSION_PATCH of the built library
  std::string_view string;  ///< "MAJOR.MINOR.PATCH"
};

/// The version of the weft headers this code was compiled against.
constexpr version_info version() noexcept {
  return {WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR, WEFT_VERSION_PATCH, WEFT_VERSION_STRING};
}

}  // namespace weft
