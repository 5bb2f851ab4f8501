cmake_minimum_required(VERSION 3.25)
# Checks weft's include layering (run by ctest with -DROOT=<source dir>):
#  - a detail/ header includes only detail/ headers, the two vocabulary
#    headers errors.hpp and cancel_reason.hpp (which include nothing of
#    weft's but each other), and the standard library;
#  - no header under include/ includes an operating-system header: those
#    stay in scheduler/ sources.
file(GLOB detail_headers "${ROOT}/include/weft/detail/*.hpp")
file(GLOB public_headers "${ROOT}/include/weft/*.hpp")
set(problems "")
foreach(header IN LISTS detail_headers public_headers)
  file(STRINGS "${header}" includes REGEX "^#include <")
  file(RELATIVE_PATH name "${ROOT}" "${header}")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^#include <([^>]+)>.*" "\\1" included "${line}")
    if(included MATCHES "^(linux|sys|asm|bits)/" OR included MATCHES "^(unistd|pthread|sched|syscall)\\.h$")
      string(APPEND problems "\n  ${name} includes the system header <${included}>")
    endif()
    if(header IN_LIST detail_headers AND included MATCHES "^weft/"
       AND NOT included MATCHES "^weft/detail/"
       AND NOT included MATCHES "^weft/(errors|cancel_reason)\\.hpp$")
      string(APPEND problems "\n  ${name} (a detail header) includes the public header <${included}>")
    endif()
  endforeach()
endforeach()
if(problems)
  message(FATAL_ERROR "weft's include layering is broken:${problems}")
endif()
list(LENGTH detail_headers n_detail)
list(LENGTH public_headers n_public)
message(STATUS "layering: ${n_public} public and ${n_detail} detail headers checked")
