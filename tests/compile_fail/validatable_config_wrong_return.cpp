// SPDX-License-Identifier: MIT
// Must not compile: validate() returning bool instead of ai_core::Result<void>.
// (tests/compile_fail/CMakeLists.txt holds the expected message).
#include <ai_core/concepts.hpp>

struct Config {
  int rank = 8;
  bool validate() const { return rank > 0; }
};

static_assert(ai_core::check_validatable_config<Config>());
