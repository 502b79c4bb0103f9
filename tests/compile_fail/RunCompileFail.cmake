# SPDX-License-Identifier: MIT
# Script mode (tests/compile_fail/CMakeLists.txt): builds TARGET in BUILD_DIR and passes only when
# the build fails and its output matches REGEX.
set(_config_args "")
if(CONFIG)
  set(_config_args --config "${CONFIG}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}" ${_config_args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it must fail to compile with a message matching\n"
                      "  ${REGEX}")
endif()
if(NOT out MATCHES "${REGEX}")
  message(FATAL_ERROR "${TARGET} failed to compile, but without the expected message\n"
                      "  expected (regex): ${REGEX}\n  build output:\n${out}")
endif()
message(STATUS "${TARGET} fails to compile with the expected message")
