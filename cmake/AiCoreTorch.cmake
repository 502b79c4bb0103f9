# SPDX-License-Identifier: MIT
# ai_core_find_torch(): finds libtorch. Shared by the build and by ai_coreConfig.cmake.
#
# CMAKE_PREFIX_PATH (or Torch_DIR) wins. When neither finds Torch, the active `python3` is asked
# where its torch package keeps its CMake files; the package is located without importing it, so a
# lean `pip install --no-deps torch` (whose Python deps are absent) works as well as a full one.
#
# Note [CUDA architectures]
# torch's CMake compiles CUDA code for TORCH_CUDA_ARCH_LIST and ignores CMAKE_CUDA_ARCHITECTURES.
# Without the list it runs a GPU-detection try_run, and without a GPU it falls back to a list that
# starts at 5.0, which nvcc 13 rejects; that try_run also inherits the includer's
# CMAKE_CXX_STANDARD as its CUDA standard (C++20/23, which CMake 3.25 cannot give nvcc 13). So
# ai_core_find_torch() chooses the list before torch does, unless TORCH_CUDA_ARCH_LIST is set
# (variable or environment), in this order:
#   1. CMAKE_CUDA_ARCHITECTURES, when given (`90` -> 9.0, `90a` -> 9.0a, `120-virtual` -> 12.0+PTX;
#      `native` -> the visible GPUs, `all`/`all-major` -> the list of 3.);
#   2. the compute capabilities of the visible GPUs (nvidia-smi);
#   3. AI_CORE_DEFAULT_CUDA_ARCHS (7.5 8.0 9.0 10.0 12.0+PTX: one binary per major generation nvcc
#      13 supports, newer minors run it, PTX for later cards), keeping those the found nvcc lists
#      in `nvcc --list-gpu-arch`.
# torch also sets CMAKE_CUDA_STANDARD from CMAKE_CXX_STANDARD in the includer's scope; it is
# restored afterwards, so a consumer's own CUDA targets keep the standard they asked for.
include_guard(GLOBAL)

set(AI_CORE_DEFAULT_CUDA_ARCHS "7.5;8.0;9.0;10.0;12.0+PTX")

# Sets `out` to a TORCH_CUDA_ARCH_LIST chosen as Note [CUDA architectures] says, or to "" when no
# nvcc is found (torch then decides, or builds without CUDA). `user_archs` is the value of
# CMAKE_CUDA_ARCHITECTURES the user gave ("" when none).
function(ai_core_default_cuda_arch_list out user_archs)
  set(${out} "" PARENT_SCOPE)
  find_program(_ai_core_nvcc NAMES nvcc
               HINTS "${CMAKE_CUDA_COMPILER}" ENV CUDACXX
               PATHS "$ENV{CUDA_HOME}/bin" "$ENV{CUDA_PATH}/bin" /usr/local/cuda/bin
               NO_CACHE)
  if(CMAKE_CUDA_COMPILER)
    set(_ai_core_nvcc "${CMAKE_CUDA_COMPILER}")
  endif()
  if(NOT _ai_core_nvcc)
    return()
  endif()
  set(archs "")
  set(source "")
  if(user_archs AND NOT user_archs MATCHES "^(native|all|all-major|OFF)$")
    foreach(a IN LISTS user_archs)
      if(a MATCHES "^([0-9]+)([0-9])([a-z]?)(-real|-virtual)?$")
        set(arch "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}${CMAKE_MATCH_3}")
        if(CMAKE_MATCH_4 STREQUAL "-virtual")
          string(APPEND arch "+PTX")
        endif()
        list(APPEND archs "${arch}")
      else()
        message(FATAL_ERROR "ai_core: cannot read CUDA architecture '${a}' of "
                            "CMAKE_CUDA_ARCHITECTURES='${user_archs}'; set TORCH_CUDA_ARCH_LIST")
      endif()
    endforeach()
    set(source "CMAKE_CUDA_ARCHITECTURES")
  endif()
  if(NOT archs AND NOT user_archs MATCHES "^(all|all-major)$")
    find_program(_ai_core_nvidia_smi nvidia-smi NO_CACHE)
    if(_ai_core_nvidia_smi)
      execute_process(COMMAND "${_ai_core_nvidia_smi}" --query-gpu=compute_cap
                              --format=csv,noheader
                      OUTPUT_VARIABLE caps RESULT_VARIABLE rc ERROR_QUIET TIMEOUT 20)
      if(rc EQUAL 0)
        string(REGEX MATCHALL "[0-9]+\\.[0-9]+" archs "${caps}")
        list(REMOVE_DUPLICATES archs)
        set(source "the visible GPUs")
      endif()
    endif()
  endif()
  if(NOT archs)
    execute_process(COMMAND "${_ai_core_nvcc}" --list-gpu-arch
                    OUTPUT_VARIABLE supported RESULT_VARIABLE rc ERROR_QUIET TIMEOUT 60)
    foreach(arch IN LISTS AI_CORE_DEFAULT_CUDA_ARCHS)
      string(REGEX REPLACE "[.]|[+]PTX$" "" number "${arch}")
      if(rc EQUAL 0 AND supported MATCHES "compute_${number}([^0-9]|$)")
        list(APPEND archs "${arch}")
      endif()
    endforeach()
    set(source "AI_CORE_DEFAULT_CUDA_ARCHS, as far as ${_ai_core_nvcc} supports them")
  endif()
  if(archs)
    message(STATUS "ai_core: TORCH_CUDA_ARCH_LIST=${archs} (from ${source}; set "
                   "TORCH_CUDA_ARCH_LIST or CMAKE_CUDA_ARCHITECTURES to choose)")
  endif()
  set(${out} "${archs}" PARENT_SCOPE)
endfunction()

macro(ai_core_find_torch)
  if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
    ai_core_default_cuda_arch_list(_ai_core_arch_list "${CMAKE_CUDA_ARCHITECTURES}")
    if(_ai_core_arch_list)
      set(TORCH_CUDA_ARCH_LIST "${_ai_core_arch_list}")
    endif()
  endif()
  foreach(_ai_core_var CMAKE_CUDA_STANDARD CMAKE_CUDA_STANDARD_REQUIRED)
    set(_ai_core_had_${_ai_core_var} FALSE)
    if(DEFINED ${_ai_core_var})
      set(_ai_core_had_${_ai_core_var} TRUE)
      set(_ai_core_saved_${_ai_core_var} "${${_ai_core_var}}")
    endif()
  endforeach()
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
  foreach(_ai_core_var CMAKE_CUDA_STANDARD CMAKE_CUDA_STANDARD_REQUIRED)
    if(_ai_core_had_${_ai_core_var})
      set(${_ai_core_var} "${_ai_core_saved_${_ai_core_var}}")
    else()
      unset(${_ai_core_var})
    endif()
  endforeach()
  if(NOT TARGET torch)
    message(FATAL_ERROR "ai_core: find_package(Torch) did not define the 'torch' target")
  endif()
  message(STATUS "ai_core: Torch ${Torch_VERSION} from ${Torch_DIR}")
endmacro()
