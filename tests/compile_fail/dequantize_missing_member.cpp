// SPDX-License-Identifier: MIT
// Must not compile: a one-way quantizer (Quantize only) checked as Dequantize.
// (tests/compile_fail/CMakeLists.txt holds the expected message).
#include <ai_core/concepts.hpp>

struct SignBits {};

struct SignQuantizer {
  ai_core::Result<SignBits> quantize(const at::Tensor& tensor, c10::Device device) const;
};

static_assert(ai_core::check_quantize<SignQuantizer, SignBits>());  // Fine: one way.
static_assert(ai_core::check_dequantize<SignQuantizer, SignBits>());
