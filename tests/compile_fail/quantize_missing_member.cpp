// SPDX-License-Identifier: MIT
// Must not compile: a quantizer whose method is misnamed, checked as Quantize.
// (tests/compile_fail/CMakeLists.txt holds the expected message).
#include <ai_core/concepts.hpp>

struct Packed {};

struct Quantizer {
  ai_core::Result<Packed> compress(const at::Tensor& tensor, c10::Device device) const;
};

static_assert(ai_core::check_quantize<Quantizer, Packed>());
