# SPDX-License-Identifier: MIT
# Finds ai_core's dependencies. Nothing is vendored and nothing is downloaded.
#   Torch   (public)  CMAKE_PREFIX_PATH, else the active python3's torch package.
#   spdlog  (private) the compiled core's logging, kept out of every TU that sees torch's headers.
#   fmt     (private) through spdlog.
include_guard(GLOBAL)
include(AiCoreTorch)

# torch's CMake takes the CUDA architectures from TORCH_CUDA_ARCH_LIST (variable, else the
# environment). Keep the environment's value in the cache, so a re-configure that ninja starts
# without that environment compiles for the same architectures; without either, choose the list
# once (Note [CUDA architectures] in AiCoreTorch.cmake) from the CMAKE_CUDA_ARCHITECTURES the user
# gave (AiCoreOptions.cmake reads it before CMake fills in its own default).
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(TORCH_CUDA_ARCH_LIST "$ENV{TORCH_CUDA_ARCH_LIST}" CACHE STRING
      "CUDA architectures for torch's CMake (taken from the environment at first configure)")
elseif(NOT DEFINED TORCH_CUDA_ARCH_LIST)
  ai_core_default_cuda_arch_list(_ai_core_arch_list "${AI_CORE_USER_CUDA_ARCHITECTURES}")
  if(_ai_core_arch_list)
    set(TORCH_CUDA_ARCH_LIST "${_ai_core_arch_list}" CACHE STRING
        "CUDA architectures for torch's CMake (chosen at first configure; Note [CUDA architectures])")
  endif()
endif()
ai_core_find_torch()
if(NOT AI_CORE_IS_TOP_LEVEL)
  # Under add_subdirectory(), targets imported here would be visible only in this directory, yet
  # ai_core::ai_core hands torch (and the CUDA targets it links) to the parent project: make them
  # global so the consumer's link line resolves.
  get_directory_property(_ai_core_imported IMPORTED_TARGETS)
  foreach(_t IN LISTS _ai_core_imported)
    get_target_property(_global ${_t} IMPORTED_GLOBAL)
    if(NOT _global)
      set_target_properties(${_t} PROPERTIES IMPORTED_GLOBAL TRUE)
    endif()
  endforeach()
endif()
find_package(spdlog CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
