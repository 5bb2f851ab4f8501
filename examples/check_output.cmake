# Runs PROGRAM and fails unless it exits 0 and its standard output equals
# the file EXPECTED, line for line.
#   cmake -DPROGRAM=<exe> -DEXPECTED=<file> -P check_output.cmake
execute_process(COMMAND ${PROGRAM}
                OUTPUT_VARIABLE actual
                ERROR_VARIABLE errors
                RESULT_VARIABLE status)
file(READ ${EXPECTED} expected)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${status}\n--- stdout:\n${actual}--- stderr:\n${errors}")
endif()
if(NOT actual STREQUAL expected)
  message(FATAL_ERROR "${PROGRAM}: output differs from ${EXPECTED}\n"
                      "--- expected:\n${expected}--- actual:\n${actual}--- stderr:\n${errors}")
endif()
message(STATUS "${PROGRAM}: output matches ${EXPECTED}")
