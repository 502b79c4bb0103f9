// SPDX-License-Identifier: MIT
// A downstream program: uses the umbrella header and checks a few facts, exiting non-zero on error.
// Besides the version and logging, it uses the error layer the way a consumer does: functions
// returning ai_core::Result, the propagation macros, and ai_core::Exception / error_category()
// across the shared-library boundary.
#include <ai_core/ai_core.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace {

ai_core::Result<int> parse_rank(const char* text) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  AI_CORE_CHECK(end != text && *end == '\0', ai_core::ErrorCode::invalid_config, "rank '", text,
                "' is not an integer");
  AI_CORE_CHECK(value > 0 && value <= 256, ai_core::ErrorCode::invalid_config, "rank ", value,
                " is outside [1, 256]");
  return static_cast<int>(value);
}

ai_core::Result<int> total_rank(const char* a, const char* b) {
  AI_CORE_ASSIGN_OR_RETURN(const int x, parse_rank(a), "first rank");
  AI_CORE_ASSIGN_OR_RETURN(const int y, parse_rank(b), "second rank");
  return x + y;
}

ai_core::Result<void> check_error_layer() {
  AI_CORE_ASSIGN_OR_RETURN(const int total, total_rank("8", "16"));
  AI_CORE_CHECK(total == 24, ai_core::ErrorCode::kernel_error, "total rank ", total,
                ": expected 24");
  const ai_core::Result<int> bad = total_rank("8", "x");
  AI_CORE_CHECK(!bad.has_value(), ai_core::ErrorCode::kernel_error,
                "total_rank(\"8\", \"x\") succeeded: expected an invalid_config error");
  AI_CORE_CHECK(
      bad.error().to_string() == "invalid config: rank 'x' is not an integer\n  second rank",
      ai_core::ErrorCode::kernel_error, "unexpected error text: ", bad.error().to_string());
  // The exception type and the error category come from the shared library.
  try {
    (void)bad.value();
    return ai_core::CoreError::kernel_error("value() on an error did not throw");
  } catch (const ai_core::Exception& e) {
    AI_CORE_CHECK(e.error() == bad.error(), ai_core::ErrorCode::kernel_error,
                  "the exception lost the error: ", e.what());
  }
  const std::error_code ec = ai_core::ErrorCode::io;
  AI_CORE_CHECK(&ec.category() == &ai_core::error_category() &&
                    std::strcmp(ec.category().name(), "ai_core") == 0,
                ai_core::ErrorCode::kernel_error, "error_category() differs across the library");
  return {};
}

}  // namespace

int main() {
  if (std::strcmp(ai_core::runtime_version(), AI_CORE_VERSION_STRING) != 0) {
    std::fprintf(stderr, "header version %s, library version %s\n", AI_CORE_VERSION_STRING,
                 ai_core::runtime_version());
    return 1;
  }
  ai_core::log(ai_core::LogLevel::info, "consumer linked ai_core");
  if (const ai_core::Result<void> errors = check_error_layer(); !errors) {
    std::fprintf(stderr, "error layer: %s\n", errors.error().to_string().c_str());
    return 1;
  }
  std::printf("consumer OK: ai_core %s\n", ai_core::runtime_version());
  return 0;
}
