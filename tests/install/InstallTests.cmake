# SPDX-License-Identifier: MIT
# Packaging tests: a small consumer project (tests/install/consumer) is configured, built and run
#   1. against a fresh install prefix of this build, with find_package(ai_core CONFIG REQUIRED);
#   2. with add_subdirectory() of this source tree.
# Both run as CTest tests through RunConsumer.cmake, in their own build folders.
set(_consumer_args
  -DAI_CORE_SOURCE_DIR=${PROJECT_SOURCE_DIR}
  -DAI_CORE_BINARY_DIR=${PROJECT_BINARY_DIR}
  -DCONSUMER_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/install/consumer
  -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install
  -DTorch_DIR=${Torch_DIR}
  -DGENERATOR=${CMAKE_GENERATOR}
  -DWITH_CUDA=${AI_CORE_WITH_CUDA}
  -DCUDA_COMPILER=${CMAKE_CUDA_COMPILER})
add_test(NAME install_find_package_test
         COMMAND ${CMAKE_COMMAND} ${_consumer_args} -DMODE=find_package
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/install/RunConsumer.cmake)
add_test(NAME install_add_subdirectory_test
         COMMAND ${CMAKE_COMMAND} ${_consumer_args} -DMODE=add_subdirectory
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/install/RunConsumer.cmake)
set_tests_properties(install_find_package_test install_add_subdirectory_test
                     PROPERTIES LABELS "packaging" TIMEOUT 1200)
