# SPDX-License-Identifier: MIT
# Options of the ai_core build. Tests, benchmarks, examples and the tool default to ON only when
# ai_core is the top-level project, so `add_subdirectory(ai-core)` builds just the library.
include_guard(GLOBAL)
include(CheckLanguage)

string(COMPARE EQUAL "${CMAKE_SOURCE_DIR}" "${PROJECT_SOURCE_DIR}" AI_CORE_IS_TOP_LEVEL)

# A top-level build without a build type (the plain `cmake -S . -B b`) is a Release build, like
# scripts/build.sh's; consumers' build types are never changed.
if(AI_CORE_IS_TOP_LEVEL AND NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type (Release when none is given)" FORCE)
endif()

option(AI_CORE_BUILD_TESTS "Build the ai_core tests" ${AI_CORE_IS_TOP_LEVEL})
option(AI_CORE_BUILD_BENCHMARKS "Build the ai_core benchmarks" ${AI_CORE_IS_TOP_LEVEL})
option(AI_CORE_BUILD_EXAMPLES "Build the ai_core examples" ${AI_CORE_IS_TOP_LEVEL})
option(AI_CORE_BUILD_TOOLS "Build the ai-core command-line tool" ${AI_CORE_IS_TOP_LEVEL})
option(AI_CORE_INSTALL "Generate the install rules" ON)
option(AI_CORE_WERROR "Treat warnings as errors in ai_core's own code" ${AI_CORE_IS_TOP_LEVEL})
set(AI_CORE_SANITIZE "" CACHE STRING
    "Sanitizers for ai_core's own targets, e.g. 'address;undefined' or 'thread' (empty: none)")
option(AI_CORE_BUILD_FUZZERS "Build the libFuzzer targets (needs clang)" OFF)
option(AI_CORE_BUILD_PYTHON "Build the Python package's operator library (python/)" OFF)
option(AI_CORE_BUILD_SHARED "Build ai_core as a shared library (one copy of its global state)" ON)

# CUDA: on by default when a CUDA compiler is found.
if(NOT DEFINED AI_CORE_WITH_CUDA)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(_ai_core_cuda_default ON)
  else()
    set(_ai_core_cuda_default OFF)
  endif()
endif()
option(AI_CORE_WITH_CUDA "Compile ai_core's CUDA paths (needs nvcc and a CUDA build of libtorch)"
       ${_ai_core_cuda_default})
# The CUDA architectures the user asked for, read before enable_language(CUDA) fills in CMake's
# default (Note [CUDA architectures] in AiCoreTorch.cmake).
if(DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(AI_CORE_USER_CUDA_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}")
else()
  set(AI_CORE_USER_CUDA_ARCHITECTURES "")
endif()
if(AI_CORE_WITH_CUDA)
  enable_language(CUDA)
  # CUDA translation units are C++20 (nvcc 13 has no C++23). CMake before 3.26 does not know
  # nvcc's C++20 flag; teach it, so CUDA_STANDARD 20 works with CMake 3.24 and 3.25.
  # The standard is set per target (ai_core_configure_target), not through CMAKE_CUDA_STANDARD,
  # which would leak into torch's architecture-detection try_run.
  if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  endif()
endif()
message(STATUS "ai_core: AI_CORE_WITH_CUDA=${AI_CORE_WITH_CUDA}")
