// SPDX-License-Identifier: MIT
// ai_core/precision.hpp: training precision. `PrecisionMode` (full, bf16, fp16) with its text
// form and parser, the dtype each mode computes in, `auto_precision` (the best mode a device
// computes natively, decided from the cached CUDA probe), and the element-type questions a
// training loop asks of a dtype (is it floating point, is it reduced precision), next to
// `dtype_name` and `dtype_size` of <ai_core/dtype.hpp>.
//
// Example:
//   AI_CORE_ASSIGN_OR_RETURN(auto mode, ai_core::parse_precision(flag));   // "bf16", "FP32"
//   at::Tensor x = input.to(ai_core::compute_dtype(mode));
#pragma once

#include <ai_core/dtype.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string_view>

namespace ai_core {

/// The precision a model computes in.
enum class PrecisionMode : std::uint8_t {
  full = 0,  ///< float32 everywhere.
  bf16 = 1,  ///< bfloat16 compute: float32's range, 8 bits of mantissa; needs sm_80 or newer.
  fp16 = 2,  ///< float16 compute: 11 bits of mantissa, range up to 65504 (loss scaling needed).
};

/// Returns the name of `mode`: "full", "bf16" or "fp16" ("unknown" for a value outside the enum).
[[nodiscard]] constexpr std::string_view to_string(PrecisionMode mode) noexcept {
  switch (mode) {
    case PrecisionMode::full: return "full";
    case PrecisionMode::bf16: return "bf16";
    case PrecisionMode::fp16: return "fp16";
  }
  return "unknown";
}

/// Parses a precision name, ignoring case and surrounding spaces: "full", "fp32", "f32",
/// "float32" -> `full`; "bf16", "bfloat16" -> `bf16`; "fp16", "f16", "float16", "half" -> `fp16`.
/// Anything else is an `invalid_config` error naming the value and the accepted spellings.
[[nodiscard]] AI_CORE_API Result<PrecisionMode> parse_precision(std::string_view text);

/// Returns the dtype `mode` computes in: float32, bfloat16 or float16 (float32 for a value outside
/// the enum).
[[nodiscard]] constexpr c10::ScalarType compute_dtype(PrecisionMode mode) noexcept {
  switch (mode) {
    case PrecisionMode::bf16: return c10::ScalarType::BFloat16;
    case PrecisionMode::fp16: return c10::ScalarType::Half;
    case PrecisionMode::full: break;
  }
  return c10::ScalarType::Float;
}

/// Returns the fastest mode `device` computes natively: `bf16` on a GPU of compute capability 8.0
/// or newer (Ampere, Hopper), `fp16` on older GPUs, `full` on the CPU. Decided from the cached CUDA
/// probe (`cuda_probe_result()`), so it makes no CUDA call after the first probe; `cuda` without an
/// index means `cuda:0`. Errors: `device_not_available` for a CUDA device when CUDA is not usable
/// or the ordinal is not visible (the message lists the visible devices); `not_implemented` for
/// other device types.
[[nodiscard]] AI_CORE_API Result<PrecisionMode> auto_precision(c10::Device device);

/// Returns whether `dtype` is a floating-point type (f64, f32, f16, bf16, the fp8 types, complex
/// ones included), false for integers, bool and quantized types.
[[nodiscard]] constexpr bool is_floating_dtype(c10::ScalarType dtype) noexcept {
  switch (dtype) {
    case c10::ScalarType::Double:
    case c10::ScalarType::Float:
    case c10::ScalarType::Half:
    case c10::ScalarType::BFloat16:
    case c10::ScalarType::Float8_e4m3fn:
    case c10::ScalarType::Float8_e5m2:
    case c10::ScalarType::Float8_e4m3fnuz:
    case c10::ScalarType::Float8_e5m2fnuz:
    case c10::ScalarType::ComplexHalf:
    case c10::ScalarType::ComplexFloat:
    case c10::ScalarType::ComplexDouble: return true;
    default: return false;
  }
}

/// Returns whether `dtype` is a floating-point type narrower than float32 (f16, bf16, the fp8
/// types): the dtypes whose accumulations a training loop keeps in float32.
[[nodiscard]] constexpr bool is_reduced_precision(c10::ScalarType dtype) noexcept {
  switch (dtype) {
    case c10::ScalarType::Half:
    case c10::ScalarType::BFloat16:
    case c10::ScalarType::Float8_e4m3fn:
    case c10::ScalarType::Float8_e5m2:
    case c10::ScalarType::Float8_e4m3fnuz:
    case c10::ScalarType::Float8_e5m2fnuz: return true;
    default: return false;
  }
}

}  // namespace ai_core
