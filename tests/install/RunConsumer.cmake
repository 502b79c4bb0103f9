# SPDX-License-Identifier: MIT
# Script mode (cmake -P): builds and runs tests/install/consumer against ai_core, in MODE
# `find_package` (after installing this build into a fresh prefix) or `add_subdirectory`.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endfunction()

set(build "${WORK_DIR}/${MODE}-build")
file(REMOVE_RECURSE "${build}")
set(common -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=Release -DTorch_DIR=${Torch_DIR}
           -DCONSUMER_MODE=${MODE} -DAI_CORE_WITH_CUDA=${WITH_CUDA})
if(CUDA_COMPILER)
  list(APPEND common -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER})
endif()

if(MODE STREQUAL "find_package")
  set(prefix "${WORK_DIR}/prefix")
  file(REMOVE_RECURSE "${prefix}")
  run(${CMAKE_COMMAND} --install "${AI_CORE_BINARY_DIR}" --prefix "${prefix}")
  run(${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${build}" ${common}
      "-DCMAKE_PREFIX_PATH=${prefix}")
else()
  run(${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${build}" ${common}
      "-DAI_CORE_SOURCE_DIR=${AI_CORE_SOURCE_DIR}")
endif()
run(${CMAKE_COMMAND} --build "${build}")
run("${build}/consumer")
run("${build}/consumer_distributed")
