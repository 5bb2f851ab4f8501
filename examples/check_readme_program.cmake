# Fails unless the first ```cpp block of README.md is, line for line, the
# file PROGRAM (examples/quick_start.cpp), which the build compiles and the
# test suite runs: the README's program cannot rot.
#   cmake -DREADME=<README.md> -DPROGRAM=<quick_start.cpp> -P check_readme_program.cmake
file(READ ${README} readme)
string(FIND "${readme}" "```cpp\n" begin)
if(begin EQUAL -1)
  message(FATAL_ERROR "${README} has no ```cpp block")
endif()
math(EXPR begin "${begin} + 7")
string(SUBSTRING "${readme}" ${begin} -1 rest)
string(FIND "${rest}" "```" end)
string(SUBSTRING "${rest}" 0 ${end} block)
file(READ ${PROGRAM} program)
if(NOT block STREQUAL program)
  message(FATAL_ERROR "the first ```cpp block of ${README} differs from ${PROGRAM}; "
                      "copy the program into the README\n--- README:\n${block}--- ${PROGRAM}:\n${program}")
endif()
message(STATUS "README's program is ${PROGRAM}")
