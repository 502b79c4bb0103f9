// SPDX-License-Identifier: MIT
// A downstream program: uses the umbrella header and checks a few facts, exiting non-zero on error.
#include <ai_core/ai_core.hpp>

#include <cstdio>
#include <cstring>

int main() {
  if (std::strcmp(ai_core::runtime_version(), AI_CORE_VERSION_STRING) != 0) {
    std::fprintf(stderr, "header version %s, library version %s\n", AI_CORE_VERSION_STRING,
                 ai_core::runtime_version());
    return 1;
  }
  ai_core::log(ai_core::LogLevel::info, "consumer linked ai_core");
  std::printf("consumer OK: ai_core %s\n", ai_core::runtime_version());
  return 0;
}
