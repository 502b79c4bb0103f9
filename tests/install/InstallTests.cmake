# SPDX-License-Identifier: MIT
# Packaging tests: a small consumer project (tests/install/consumer) that sets CMAKE_CXX_STANDARD
# globally (20, and 23) and passes no other variable is configured, built and run
#   1. against a fresh install prefix of this build, with find_package(ai_core CONFIG REQUIRED);
#   2. with add_subdirectory() of this source tree.
# They run as CTest tests through RunConsumer.cmake, in their own build folders.
set(_consumer_args
  -DAI_CORE_SOURCE_DIR=${PROJECT_SOURCE_DIR}
  -DAI_CORE_BINARY_DIR=${PROJECT_BINARY_DIR}
  -DCONSUMER_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/install/consumer
  -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install
  -DGENERATOR=${CMAKE_GENERATOR})
foreach(std 20 23)
  set(_suffix "")
  if(NOT std EQUAL 20)
    set(_suffix "_cxx${std}")
  endif()
  add_test(NAME install_find_package${_suffix}_test
           COMMAND ${CMAKE_COMMAND} ${_consumer_args} -DMODE=find_package -DCXX_STANDARD=${std}
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/install/RunConsumer.cmake)
  add_test(NAME install_add_subdirectory${_suffix}_test
           COMMAND ${CMAKE_COMMAND} ${_consumer_args} -DMODE=add_subdirectory
                   -DCXX_STANDARD=${std} -P ${CMAKE_CURRENT_SOURCE_DIR}/install/RunConsumer.cmake)
  set_tests_properties(install_find_package${_suffix}_test install_add_subdirectory${_suffix}_test
                       PROPERTIES LABELS "packaging" TIMEOUT 1200)
endforeach()
