# SPDX-License-Identifier: MIT
# ai_core_find_torch(): finds libtorch. Shared by the build and by ai_coreConfig.cmake.
#
# CMAKE_PREFIX_PATH (or Torch_DIR) wins. When neither finds Torch, the active `python3` is asked
# where its torch package keeps its CMake files; the package is located without importing it, so a
# lean `pip install --no-deps torch` (whose Python deps are absent) works as well as a full one.
include_guard(GLOBAL)

macro(ai_core_find_torch)
  find_package(Torch QUIET)
  if(NOT Torch_FOUND)
    find_program(AI_CORE_PYTHON3 NAMES python3 python)
    if(NOT AI_CORE_PYTHON3)
      message(FATAL_ERROR "ai_core: Torch not found on CMAKE_PREFIX_PATH and no python3 to ask; "
                          "pass -DCMAKE_PREFIX_PATH=<libtorch>/share/cmake")
    endif()
    execute_process(
      COMMAND "${AI_CORE_PYTHON3}" -c
              "import importlib.util, os; s = importlib.util.find_spec('torch'); print(os.path.join(os.path.dirname(s.origin), 'share', 'cmake') if s else '')"
      OUTPUT_VARIABLE _ai_core_torch_prefix
      OUTPUT_STRIP_TRAILING_WHITESPACE
      RESULT_VARIABLE _ai_core_py_rc)
    if(NOT _ai_core_py_rc EQUAL 0 OR _ai_core_torch_prefix STREQUAL "")
      message(FATAL_ERROR "ai_core: Torch not found on CMAKE_PREFIX_PATH and ${AI_CORE_PYTHON3} "
                          "has no torch package (pip install torch==2.11.0)")
    endif()
    message(STATUS "ai_core: Torch not on CMAKE_PREFIX_PATH; using ${AI_CORE_PYTHON3}'s torch "
                   "at ${_ai_core_torch_prefix}")
    list(APPEND CMAKE_PREFIX_PATH "${_ai_core_torch_prefix}")
    find_package(Torch REQUIRED)
  endif()
  if(NOT TARGET torch)
    message(FATAL_ERROR "ai_core: find_package(Torch) did not define the 'torch' target")
  endif()
  message(STATUS "ai_core: Torch ${Torch_VERSION} from ${Torch_DIR}")
endmacro()
