# SPDX-License-Identifier: MIT
# Script mode: the include graph points down onto the error room (CONTRIBUTING.md, "The house").
# The error room's headers and sources include, of ai_core, only each other and the export/config
# headers; every other room may include them. Fails naming the file and the include that breaks it.
#   cmake -DSOURCE_DIR=<repo> -P CheckErrorRoom.cmake
cmake_minimum_required(VERSION 3.24)
set(room_headers
  ai_core/error.hpp ai_core/expected.hpp ai_core/str_cat.hpp ai_core/result_macros.hpp
  ai_core/export.hpp ai_core/detail/config.hpp)
set(room_files src/error.cpp)
foreach(h IN LISTS room_headers)
  if(EXISTS "${SOURCE_DIR}/include/${h}")
    list(APPEND room_files "include/${h}")
  endif()
endforeach()
set(failures "")
foreach(f IN LISTS room_files)
  file(STRINGS "${SOURCE_DIR}/${f}" lines REGEX "^[ \t]*#[ \t]*include")
  foreach(line IN LISTS lines)
    if(line MATCHES "[<\"](ai_core/[^>\"]+)[>\"]")
      set(included "${CMAKE_MATCH_1}")
      if(NOT included IN_LIST room_headers)
        string(APPEND failures "  ${f}: ${line}   <- outside the error room\n")
      endif()
    elseif(line MATCHES "\"[^\"]+\"")
      string(APPEND failures "  ${f}: ${line}   <- a private header of another room\n")
    endif()
  endforeach()
endforeach()
list(LENGTH room_files n)
if(failures)
  message(FATAL_ERROR "the error room must include nothing of ai_core's but itself, export.hpp "
                      "and detail/config.hpp:\n${failures}")
endif()
message(STATUS "${n} files of the error room checked: they include only each other")
