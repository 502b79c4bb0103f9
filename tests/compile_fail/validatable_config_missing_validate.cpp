// SPDX-License-Identifier: MIT
// Must not compile: a config without validate() checked as a ValidatableConfig.
// (tests/compile_fail/CMakeLists.txt holds the expected message).
#include <ai_core/concepts.hpp>

struct Config {
  int rank = 8;
};

static_assert(ai_core::check_validatable_config<Config>());
