# SPDX-License-Identifier: MIT
# Script mode (cmake -P): builds and runs tests/install/consumer against ai_core, in MODE
# `find_package` (after installing this build into a fresh prefix) or `add_subdirectory`, with the
# consumer's CMAKE_CXX_STANDARD set globally to CXX_STANDARD. The consumer is configured the plain
# way: no TORCH_CUDA_ARCH_LIST (variable or environment), no Torch_DIR, no CUDA variables (torch is
# found through python3, Note [CUDA architectures] in cmake/AiCoreTorch.cmake picks the list).
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endfunction()

unset(ENV{TORCH_CUDA_ARCH_LIST})
set(build "${WORK_DIR}/${MODE}-cxx${CXX_STANDARD}-build")
file(REMOVE_RECURSE "${build}")
set(common -G "${GENERATOR}" -DCONSUMER_MODE=${MODE} -DCONSUMER_CXX_STANDARD=${CXX_STANDARD})

if(MODE STREQUAL "find_package")
  set(prefix "${WORK_DIR}/prefix-cxx${CXX_STANDARD}")
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
