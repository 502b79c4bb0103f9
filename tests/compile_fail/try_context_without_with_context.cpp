// SPDX-License-Identifier: MIT
// Misuse: context arguments to AI_CORE_TRY need an error type with with_context(std::string).
#include <ai_core/expected.hpp>
#include <ai_core/result_macros.hpp>

#include <string>

ai_core::Expected<int, std::string> inner() { return ai_core::Unexpected(std::string("e")); }

ai_core::Expected<int, std::string> outer() {
  AI_CORE_TRY(inner(), "calling inner");
  return 1;
}
