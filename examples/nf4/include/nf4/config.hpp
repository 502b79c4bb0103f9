// SPDX-License-Identifier: MIT
// nf4/config.hpp: `Nf4Config`, the settings of the NF4 quantizer, an `ai_core::ValidatableConfig`.
//
// Example:
//   nf4::Nf4Config config{.block_size = 128, .compute_dtype = c10::kHalf};
//   AI_CORE_TRY(config.validate());
#pragma once

#include <ai_core/concepts.hpp>
#include <ai_core/expected.hpp>

#include <c10/core/ScalarType.h>

#include <cstdint>

namespace nf4 {

/// The smallest block size `Nf4Config` accepts (a power of two).
inline constexpr std::int64_t kMinBlockSize = 32;
/// The largest block size `Nf4Config` accepts (a power of two).
inline constexpr std::int64_t kMaxBlockSize = 4096;
/// The block size of QLoRA and of bitsandbytes' default.
inline constexpr std::int64_t kDefaultBlockSize = 64;

/// Returns whether `block_size` is a power of two in [`kMinBlockSize`, `kMaxBlockSize`].
[[nodiscard]] constexpr bool is_valid_block_size(std::int64_t block_size) noexcept {
  return block_size >= kMinBlockSize && block_size <= kMaxBlockSize &&
         (block_size & (block_size - 1)) == 0;
}

/// Returns whether `dtype` is one the quantizer reads and writes: f32, f16 or bf16.
[[nodiscard]] constexpr bool is_supported_dtype(c10::ScalarType dtype) noexcept {
  return dtype == c10::ScalarType::Float || dtype == c10::ScalarType::Half ||
         dtype == c10::ScalarType::BFloat16;
}

/// How the quantizer picks a block's 4-bit codes (Note [NF4 and bitsandbytes] in
/// nf4/double_quant.hpp says exactly where the two differ).
enum class Nf4Encoding {
  /// The nearest table value to x / absmax (one IEEE division), ties to the lower code; an
  /// all-zero block gets codes 7 (the value 0.0). QLoRA's definition, the default.
  nearest,
  /// bitsandbytes' CUDA encoder, byte for byte: x * (1 / absmax) with its approximate reciprocal,
  /// its float32 thresholds, and code 0 for every element of an all-zero block.
  bitsandbytes,
};

/// Settings of `Nf4Quantizer`. A plain aggregate; `validate()` checks it and `Nf4Quantizer::create`
/// refuses an invalid one, so no quantizer with a bad config exists.
struct Nf4Config {
  /// Elements per absmax block: a power of two in [32, 4096]. 64 is QLoRA's choice.
  std::int64_t block_size = kDefaultBlockSize;

  /// The dtype `dequantize` produces (QLoRA's `bnb_4bit_compute_dtype`): f32, f16 or bf16.
  c10::ScalarType compute_dtype = c10::ScalarType::BFloat16;

  /// Whether quantizing a tensor with no elements is allowed (it gives an empty `Nf4Tensor`).
  /// Off by default: an empty weight is usually a bug upstream, reported as `empty_input`.
  bool allow_empty = false;

  /// How codes are chosen (`Nf4Encoding::nearest` unless codes must match bitsandbytes' bytes).
  Nf4Encoding encoding = Nf4Encoding::nearest;

  /// Checks the settings: an `invalid_config` error naming the field, its value and what is
  /// allowed ("nf4 block size must be a power of two in [32, 4096], got 48").
  [[nodiscard]] ai_core::Result<void> validate() const;
};

static_assert(ai_core::ValidatableConfig<Nf4Config>);

}  // namespace nf4
