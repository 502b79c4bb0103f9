// SPDX-License-Identifier: MIT
#include <ai_core/version.hpp>

namespace ai_core {

const char* runtime_version() noexcept { return AI_CORE_VERSION_STRING; }

}  // namespace ai_core
