// SPDX-License-Identifier: MIT
// src/kernels.hpp (private to ai_core_nf4): the NF4 kernels over raw, already validated memory.
//
// The public operations (quantizer.cpp) check every input, allocate outputs and then call these.
// Nothing here validates: pointers are non-null and sized as stated, `log2_block` is in [5, 12],
// `numel` > 0. The CPU functions run on the calling thread (parallelised with at::parallel_for)
// over raw pointers; the CUDA launchers (under AI_CORE_WITH_CUDA) take interop buffers, make typed
// `ai_core::TensorView`s of them and pass those to the kernels by value.
#pragma once

#include <ai_core/expected.hpp>
#include <ai_core/interop.hpp>

#include <c10/core/ScalarType.h>

#include <cstdint>

namespace nf4::detail {

/// Returns "no non-finite element" from the quantize functions.
inline constexpr std::int64_t kAllFinite = -1;

/// Quantizes `numel` values of type `dtype` (f32, f16 or bf16) at `input` into `codes`
/// (ceil(numel / 2) bytes, element 2j in the high nibble of byte j, a trailing pad nibble
/// `kZeroCode`) and `absmax` (ceil(numel / block) floats). Returns the index of the first
/// element that is NaN or infinite, or `kAllFinite`; when one exists the outputs are unspecified.
/// With `bitsandbytes` set, codes follow `Nf4Encoding::bitsandbytes` (Note [NF4 and bitsandbytes]).
std::int64_t quantize_cpu(const void* input, c10::ScalarType dtype, std::int64_t numel,
                          int log2_block, std::uint8_t* codes, float* absmax,
                          bool bitsandbytes = false);

/// Dequantizes `numel` elements from `codes` and `absmax` into `output` of type `dtype`
/// (f32, f16 or bf16): output[e] = dtype(kCodeValues[code(e)] * absmax[e / block]), the product in
/// float32, rounded to nearest even into `dtype`.
void dequantize_cpu(const std::uint8_t* codes, const float* absmax, std::int64_t numel,
                    int log2_block, void* output, c10::ScalarType dtype);

/// Quantizes the `num_blocks` absmax values at `absmax` again (nf4/double_quant.hpp): v = absmax -
/// offset in float32, one nested absmax (max |v|) per 2^log2_nested values, and the byte of each
/// v / nested absmax (or v * (1 / nested absmax) with `bitsandbytes`) by `encode_dynamic` over
/// `code` (256 floats).
void double_quantize_cpu(const float* absmax, std::int64_t num_blocks, float offset,
                         const float* code, int log2_nested, std::uint8_t* absmax_codes,
                         float* nested_absmax, bool bitsandbytes);

/// The parts of a double-quantized tensor a dequantization reads (raw, validated pointers).
struct DoubleQuantParts {
  const std::uint8_t* codes;         ///< Packed NF4 codes.
  const std::uint8_t* absmax_codes;  ///< One byte per block.
  const float* nested_absmax;        ///< One float per nested block.
  const float* code;                 ///< The 256-entry nested table.
  float offset;                      ///< Added to every reconstructed absmax.
  int log2_nested;                   ///< log2 of the nested block size.
};

/// Dequantizes a double-quantized tensor on the CPU: absmax of block b = (code[q_b] *
/// nested_absmax[b >> log2_nested]) + offset, two float32 roundings, then as `dequantize_cpu`.
void dequantize_double_cpu(const DoubleQuantParts& parts, std::int64_t numel, int log2_block,
                           void* output, c10::ScalarType dtype);

#if AI_CORE_WITH_CUDA
/// The first NaN/Inf element the CUDA quantize kernel found.
struct NonFinite {
  std::int64_t index = kAllFinite;  ///< Its index, or `kAllFinite`.
  double value = 0.0;               ///< Its value (NaN or ±inf).
};

/// Quantizes `input` (a 1-D contiguous f32/f16/bf16 buffer, `numel` > 0) with the CUDA kernel on
/// `input.stream()` into `codes` (1-D u8, ceil(numel / 2)) and `absmax` (1-D f32,
/// ceil(numel / block)), using `first_bad` (1-D i64, one element) as scratch. Synchronises the
/// stream once and returns the first NaN/Inf element, if any. Errors: a view that does not fit
/// its role (`make_tensor_view`), a CUDA launch or copy failure.
ai_core::Result<NonFinite> quantize_cuda(const ai_core::TensorBufferView& input, int log2_block,
                                         const ai_core::TensorBufferView& codes,
                                         const ai_core::TensorBufferView& absmax,
                                         const ai_core::TensorBufferView& first_bad,
                                         bool bitsandbytes = false);

/// Enqueues the nested quantization of `absmax` (1-D f32, num_blocks) on its stream: as
/// `double_quantize_cpu`, with `offset` and the table `code` (1-D f32, 256) on the device, into
/// `absmax_codes` (1-D u8, num_blocks) and `nested_absmax` (1-D f32). Same bytes as the CPU.
ai_core::Result<void> double_quantize_cuda(const ai_core::TensorBufferView& absmax, float offset,
                                           const ai_core::TensorBufferView& code, int log2_nested,
                                           const ai_core::TensorBufferView& absmax_codes,
                                           const ai_core::TensorBufferView& nested_absmax,
                                           bool bitsandbytes);

/// Enqueues the fused double-quant dequantize kernel on `output.stream()` (Note [NF4 double
/// dequant kernel]): same values as `dequantize_double_cpu`, bit for bit.
ai_core::Result<void> dequantize_double_cuda(const ai_core::TensorBufferView& codes,
                                             const ai_core::TensorBufferView& absmax_codes,
                                             const ai_core::TensorBufferView& nested_absmax,
                                             const ai_core::TensorBufferView& code, float offset,
                                             int log2_block, int log2_nested,
                                             const ai_core::TensorBufferView& output);

/// Enqueues the dequantize kernel on `output.stream()`: `codes` and `absmax` as above, `output` a
/// 1-D contiguous f32/f16/bf16 buffer of numel elements. Same results as `dequantize_cpu`, bit for
/// bit. Uses 4-byte code loads and 16-byte stores when `codes` is 4-byte and `output` 16-byte
/// aligned, else a per-element path. Does not synchronise.
ai_core::Result<void> dequantize_cuda(const ai_core::TensorBufferView& codes,
                                      const ai_core::TensorBufferView& absmax, int log2_block,
                                      const ai_core::TensorBufferView& output);
#endif

}  // namespace nf4::detail
