// SPDX-License-Identifier: MIT
// A consumer of the error room alone: includes only error.hpp, expected.hpp, str_cat.hpp and
// result_macros.hpp, and is linked against the ai_core library only (tests/compile/CMakeLists.txt).
// That it links shows the error room needs nothing of libtorch's libraries; it also runs, and
// exits non-zero if the errors it makes are not the ones expected.
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>

#include <cstdio>
#include <string>

namespace {

ai_core::Result<int> parse_rank(int value) {
  AI_CORE_CHECK(value > 0, ai_core::ErrorCode::invalid_config, "rank ", value, " is not positive");
  return value;
}

ai_core::Result<int> doubled(int value) {
  AI_CORE_ASSIGN_OR_RETURN(const int rank, parse_rank(value), "reading rank ", value);
  return 2 * rank;
}

int fail(const char* what) {
  std::fprintf(stderr, "error_room_link_test: %s\n", what);
  return 1;
}

}  // namespace

int main() {
  const ai_core::Result<int> good = doubled(3);
  if (!good.has_value() || *good != 6) return fail("doubled(3) is not 6");
  const ai_core::Result<int> bad = doubled(-1);
  if (bad.has_value()) return fail("doubled(-1) succeeded");
  if (bad.error().to_string() != "invalid config: rank -1 is not positive\n  reading rank -1") {
    return fail(bad.error().to_string().c_str());
  }
  const ai_core::CoreError oom = ai_core::CoreError::out_of_memory("weights", 64);
  if (oom.code() != ai_core::ErrorCode::out_of_memory || oom.memory_info() == nullptr) {
    return fail("out_of_memory has no memory payload");
  }
  if (ai_core::str_cat(ai_core::ErrorCode::io, " ", 1.5, " ", true) != "io error 1.5 true") {
    return fail("str_cat");
  }
  std::puts("error room: linked against the ai_core library alone");
  return 0;
}
