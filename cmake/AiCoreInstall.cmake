# SPDX-License-Identifier: MIT
# Install rules and the CMake package: ai_coreTargets, ai_coreConfig.cmake, ai_coreConfigVersion.cmake.
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(AI_CORE_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/ai_core")

set(_ai_core_install_targets ai_core)
if(TARGET ai_core_testing)
  list(APPEND _ai_core_install_targets ai_core_testing)
endif()
if(TARGET ai_core_torch_library)
  list(APPEND _ai_core_install_targets ai_core_torch_library)
endif()
if(TARGET ai_core_distributed)
  list(APPEND _ai_core_install_targets ai_core_distributed)  # ai_core::distributed
endif()
install(TARGETS ${_ai_core_install_targets}
  EXPORT ai_coreTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/ai_core" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY "${PROJECT_BINARY_DIR}/include/ai_core" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT ai_coreTargets NAMESPACE ai_core:: DESTINATION ${AI_CORE_CMAKE_INSTALL_DIR})

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/ai_coreConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/ai_coreConfig.cmake"
  INSTALL_DESTINATION ${AI_CORE_CMAKE_INSTALL_DIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/ai_coreConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/ai_coreConfig.cmake"
              "${PROJECT_BINARY_DIR}/ai_coreConfigVersion.cmake"
              "${PROJECT_SOURCE_DIR}/cmake/AiCoreTorch.cmake"
        DESTINATION ${AI_CORE_CMAKE_INSTALL_DIR})
