// SPDX-License-Identifier: MIT
// nf4/double_quant.hpp: QLoRA's double quantization (§3) and the exchange of quantized states with
// bitsandbytes.
//
// Double quantization stores a block's absmax not as a float32 but as one byte: the absmax values
// minus their mean (`offset`) are quantized again, blockwise (256 of them per nested block) with
// the 8-bit dynamic code of bitsandbytes (`kDynamicCode`), one float32 nested absmax per nested
// block. This is bitsandbytes' `quantize_4bit(..., compress_statistics=True)` layout, so a
// `Nf4DoubleQuantTensor` converts to and from bitsandbytes' `QuantState` without touching data
// (`BnbQuantState`). Dequantization reconstructs the absmax of block b exactly as bitsandbytes
// does, in float32 and in this order:
//   a_b = (code[q_b] * nested_absmax[b / 256]) + offset,   x' = dtype(kCodeValues[c] * a_b),
// two roundings, never fused, so both libraries produce the same bits (Note [NF4 and
// bitsandbytes]).
//
// Example:
//   AI_CORE_ASSIGN_OR_RETURN(auto q, quantizer.quantize_double(weight, weight.device()));
//   AI_CORE_TRY(nf4::dequantize_double_into(q, out));   // one fused kernel on a GPU
//   nf4::BnbQuantState state = nf4::to_bitsandbytes(q);  // what bitsandbytes' QuantState holds
#pragma once

#include <nf4/config.hpp>
#include <nf4/error.hpp>
#include <nf4/tensor.hpp>

#include <ai_core/expected.hpp>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace nf4 {

// Note [NF4 and bitsandbytes]
// bitsandbytes' CUDA encoder (kQuantizeBlockwise with dQuantizeNF4, built with --use_fast_math)
// and `Nf4Encoding::nearest` agree on every byte except in four places:
// 1. Normalisation: bitsandbytes computes x * r with r = rcp.approx.ftz(absmax), an approximate
//    reciprocal (at most 1 ulp off) and a second rounding; we compute x / absmax, correctly
//    rounded. The two normalised values differ by a few ulps at most, which changes the code only
//    when x / absmax lies within those ulps of a decision midpoint.
// 2. Thresholds: bitsandbytes' 15 thresholds are float64 midpoints printed to 16-17 digits and
//    written as float literals. Seven exact midpoints (0|1, 1|2, 3|4, 4|5, 8|9, 12|13, 14|15) lie
//    exactly halfway between two floats, so the printed digits, not round-to-even, decide which
//    float the literal becomes: for 0|1, 12|13 and 14|15 the lower one (`kMidpoints`, no
//    difference), for 1|2, 3|4, 4|5 and 8|9 the upper one. A normalised value equal to one of
//    those four upper floats is nearer the upper code, and bitsandbytes gives it the lower one.
//    (The thresholds in bitsandbytes 0.50.2's sm_90 code are these 15 floats in every quantize
//    kernel, all dtypes and block sizes.)
// 3. All-zero blocks: absmax 0 makes r = inf and 0 * inf = NaN, which fails every comparison:
//    bitsandbytes stores code 0 (the value -1.0) for every element, and the pad nibble of an odd
//    count, and dequantizes the block to -0.0 (plain) or to -a_b (double quantized, where a_b is
//    the reconstructed absmax, close to but not exactly 0). We store code 7 (0.0).
// 4. Subnormals: fast math flushes subnormal inputs and products to zero; a block whose largest
//    |x| is below FLT_MIN gets absmax 0 there (and case 3).
// `Nf4Encoding::bitsandbytes` reproduces 1-4: on a GPU with the same instructions (so bit for bit
// on any card), on the CPU with a correctly rounded reciprocal, which equals rcp.approx wherever
// the latter is correctly rounded (scripts/gpu/nf4.sh counts the bytes where the two differ).
// Dequantization is identical in both libraries: one float32 product (and for double quantization
// the reconstruction above), rounded to nearest even into the output dtype; the only exception is
// a product below FLT_MIN in magnitude, which bitsandbytes flushes to zero (it needs an absmax
// below about 1e-38).

/// Absmax values per nested block: bitsandbytes' `compress_statistics` block size.
inline constexpr std::int64_t kNestedBlockSize = 256;

/// bitsandbytes' signed 8-bit dynamic code (`create_dynamic_map()`), bit for bit: 256 ascending
/// float32 values in [-0.99296875, 1.0], 0.0 at index 127.
extern const std::array<float, 256> kDynamicCode;

/// A tensor quantized to NF4 with double-quantized absmax constants (file comment).
class Nf4DoubleQuantTensor {
 public:
  /// Returns a tensor over the parts after checking that they fit together: `block_size` and
  /// `nested_block_size` valid block sizes (powers of two in [32, 4096]), `dtype` f32/f16/bf16,
  /// `codes` contiguous 1-D uint8 of ceil(numel / 2), `absmax_codes` contiguous 1-D uint8 of
  /// ceil(numel / block_size), `nested_absmax` contiguous 1-D float32 of
  /// ceil(num_blocks / nested_block_size), `nested_code` contiguous 1-D float32 of 256, all on one
  /// device, `offset` finite. No data is read or copied.
  [[nodiscard]] static Nf4Result<Nf4DoubleQuantTensor> create(
      at::Tensor codes, at::Tensor absmax_codes, at::Tensor nested_absmax, at::Tensor nested_code,
      float offset, std::vector<std::int64_t> shape, c10::ScalarType dtype, std::int64_t block_size,
      std::int64_t nested_block_size = kNestedBlockSize);

  /// Returns the packed NF4 codes (as `Nf4Tensor::codes`).
  [[nodiscard]] const at::Tensor& codes() const noexcept { return codes_; }
  /// Returns the 8-bit code of each block's absmax: uint8, one per block.
  [[nodiscard]] const at::Tensor& absmax_codes() const noexcept { return absmax_codes_; }
  /// Returns the float32 absmax of each nested block of (absmax - offset).
  [[nodiscard]] const at::Tensor& nested_absmax() const noexcept { return nested_absmax_; }
  /// Returns the 256-entry float32 table the absmax codes index (`kDynamicCode` when we quantize).
  [[nodiscard]] const at::Tensor& nested_code() const noexcept { return nested_code_; }
  /// Returns the value subtracted from every absmax before nested quantization (their mean).
  [[nodiscard]] float offset() const noexcept { return offset_; }
  /// Returns the shape of the tensor that was quantized.
  [[nodiscard]] std::span<const std::int64_t> shape() const noexcept { return shape_; }
  /// Returns the dtype of the tensor that was quantized.
  [[nodiscard]] c10::ScalarType dtype() const noexcept { return dtype_; }
  /// Returns the number of elements per absmax block.
  [[nodiscard]] std::int64_t block_size() const noexcept { return block_size_; }
  /// Returns the number of absmax values per nested block.
  [[nodiscard]] std::int64_t nested_block_size() const noexcept { return nested_block_size_; }
  /// Returns the number of quantized elements.
  [[nodiscard]] std::int64_t numel() const noexcept { return numel_; }
  /// Returns the number of absmax blocks.
  [[nodiscard]] std::int64_t num_blocks() const noexcept { return absmax_codes_.numel(); }
  /// Returns the device the parts live on.
  [[nodiscard]] c10::Device device() const { return codes_.device(); }
  /// Returns the bytes of the quantized form (codes, absmax codes, nested absmax, table, offset).
  [[nodiscard]] std::int64_t nbytes() const noexcept {
    return codes_.numel() + absmax_codes_.numel() + 4 * nested_absmax_.numel() +
           4 * nested_code_.numel() + 4;
  }

 private:
  Nf4DoubleQuantTensor() = default;

  at::Tensor codes_;
  at::Tensor absmax_codes_;
  at::Tensor nested_absmax_;
  at::Tensor nested_code_;
  float offset_ = 0.0f;
  std::vector<std::int64_t> shape_;
  c10::ScalarType dtype_ = c10::ScalarType::Float;
  std::int64_t block_size_ = 64;
  std::int64_t nested_block_size_ = kNestedBlockSize;
  std::int64_t numel_ = 0;
};

/// Double-quantizes the absmax of `quantized` on its device: offset = the mean of the absmax
/// values (accumulated in float64, rounded to float32), then (absmax - offset) in float32
/// quantized blockwise with `kDynamicCode` and bitsandbytes' 8-bit search, `nested_block_size`
/// values per nested block. The NF4 codes are shared, not copied. Errors: `invalid_block_size`,
/// an empty tensor (`empty_input`), CUDA failures.
/// With `Nf4Encoding::bitsandbytes` the nested bytes are computed as bitsandbytes' CUDA kernel
/// does (v * (1 / nested absmax)); the offset is ours either way (bitsandbytes' float32 CUDA mean
/// may differ from it in the last bit; it is stored, so dequantization is unaffected).
[[nodiscard]] ai_core::Result<Nf4DoubleQuantTensor> double_quantize(
    const Nf4Tensor& quantized, std::int64_t nested_block_size = kNestedBlockSize,
    Nf4Encoding encoding = Nf4Encoding::nearest);

/// Returns the float32 absmax values `quantized` dequantizes with: (code[q_b] * nested_absmax) +
/// offset, exactly as bitsandbytes reconstructs them. A reference for checks and error bounds, not
/// a fast path: it copies the (small) constants to the host, computes there, and returns the
/// result on the tensor's device.
[[nodiscard]] ai_core::Result<at::Tensor> reconstruct_absmax(const Nf4DoubleQuantTensor& quantized);

/// Dequantizes `quantized` into `output` (contiguous f32/f16/bf16 of its shape on its device):
/// on a GPU one fused kernel that reconstructs each block's absmax and decodes the codes in one
/// pass; on the CPU the same arithmetic. Errors: `device_mismatch`, `shape_mismatch`,
/// `unsupported_dtype`, a non-contiguous or undefined output, CUDA failures.
[[nodiscard]] ai_core::Result<void> dequantize_double_into(const Nf4DoubleQuantTensor& quantized,
                                                           const at::Tensor& output);

/// Returns a new tensor of `quantized`'s shape and of dtype `dtype` holding its values.
[[nodiscard]] ai_core::Result<at::Tensor> dequantize_double(const Nf4DoubleQuantTensor& quantized,
                                                            c10::ScalarType dtype);

/// Returns the largest |x - x'| a double-quantized round trip allows for an element of a block
/// whose exact absmax is `absmax` and whose reconstructed absmax is `reconstructed`, dequantized
/// to `dtype`: |x| <= absmax is encoded against absmax, decoded with `reconstructed`, so
/// |x - x'| <= reconstruction_bound(absmax) + |absmax - reconstructed| + u * |reconstructed|.
[[nodiscard]] double double_quant_bound(float absmax, float reconstructed,
                                        c10::ScalarType dtype) noexcept;

/// The nested part of a bitsandbytes `QuantState` (`state2` and `offset`).
struct BnbNestedState {
  at::Tensor absmax;                          ///< state2.absmax: float32, one per nested block.
  at::Tensor code;                            ///< state2.code: float32, 256 entries.
  std::int64_t blocksize = kNestedBlockSize;  ///< state2.blocksize.
  float offset = 0.0f;                        ///< QuantState.offset (a 0-dim float32 tensor there).
};

/// The fields of a bitsandbytes 4-bit `QuantState` plus its packed weight, as bitsandbytes holds
/// them: `codes` uint8 of ceil(numel / 2) bytes, shape [n] or [n, 1] (`quantize_4bit` returns
/// [n, 1]); `absmax` float32 per block, or uint8 codes when `nested` is set.
struct BnbQuantState {
  at::Tensor codes;                                   ///< The packed weight.
  at::Tensor absmax;                                  ///< QuantState.absmax.
  std::vector<std::int64_t> shape;                    ///< QuantState.shape.
  c10::ScalarType dtype = c10::ScalarType::BFloat16;  ///< QuantState.dtype.
  std::int64_t blocksize = 64;                        ///< QuantState.blocksize.
  std::string quant_type = "nf4";        ///< QuantState.quant_type: only "nf4" is accepted.
  std::optional<BnbNestedState> nested;  ///< state2 and offset, when double quantized.
};

/// An imported state: plain or double quantized.
struct Nf4Imported {
  std::optional<Nf4Tensor> plain;              ///< Set when the state is not nested.
  std::optional<Nf4DoubleQuantTensor> nested;  ///< Set when it is.
};

/// Imports a bitsandbytes state without copying: the result views the same tensors, and
/// dequantizing it gives bitsandbytes' values bit for bit (Note [NF4 and bitsandbytes]). Errors:
/// quant_type other than "nf4" (`invalid_config`), and everything `Nf4Tensor::create` or
/// `Nf4DoubleQuantTensor::create` reject.
[[nodiscard]] Nf4Result<Nf4Imported> from_bitsandbytes(const BnbQuantState& state);

/// Exports `quantized` as the fields of a bitsandbytes state (codes as [n, 1], the tensors
/// shared): bitsandbytes' `dequantize_4bit` on it gives our values bit for bit.
[[nodiscard]] BnbQuantState to_bitsandbytes(const Nf4Tensor& quantized);
/// Exports a double-quantized tensor (see above); `nested` holds state2 and the offset.
[[nodiscard]] BnbQuantState to_bitsandbytes(const Nf4DoubleQuantTensor& quantized);

}  // namespace nf4
