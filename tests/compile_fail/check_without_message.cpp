// SPDX-License-Identifier: MIT
// Misuse: AI_CORE_CHECK without a message would make an error that names nothing.
#include <ai_core/expected.hpp>
#include <ai_core/result_macros.hpp>

ai_core::Result<int> positive(int x) {
  AI_CORE_CHECK(x > 0, ai_core::ErrorCode::invalid_config);
  return x;
}
