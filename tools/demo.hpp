// SPDX-License-Identifier: MIT
// tools/demo.hpp: `ai-core demo`, the NF4 quantizer of examples/nf4 run end to end
// (tools/demo.cpp).
#pragma once

#include <cstdint>

namespace ai_core_tool {

/// Runs `ai-core demo` on a random `rows` x `cols` bf16 weight and prints the report. Returns the
/// exit status: 0 success, 1 a device or kernel error, 2 a malformed environment, 3 an error bound
/// violated.
int run_demo(std::int64_t rows, std::int64_t cols);

}  // namespace ai_core_tool
