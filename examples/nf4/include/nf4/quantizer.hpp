// SPDX-License-Identifier: MIT
// nf4/quantizer.hpp: `Nf4Quantizer`, QLoRA's 4-bit NormalFloat quantizer on ai_core, and the two
// `GpuDispatchable` operations it runs through `ai_core::dispatch`.
//
// `Nf4Quantizer` models `ai_core::Quantize<Nf4Quantizer, Nf4Tensor>` and
// `ai_core::Dequantize<Nf4Quantizer, Nf4Tensor>`: `quantize(tensor, device)` and
// `dequantize(q, device)` run on `device` (a CUDA kernel on a GPU, the CPU path on the CPU, after
// ai_core's one-time CPU warning), with every tensor already there: nothing is moved or copied
// behind the caller's back. CPU and GPU give the same codes and absmax, bit for bit, and the same
// dequantized values.
//
// What a round trip promises (Note [NF4 error bound]): every element x of a block with absmax a
// comes back as x' with |x - x'| <= reconstruction_bound(a, dtype of x').
//
// Example:
//   AI_CORE_ASSIGN_OR_RETURN(auto quantizer, nf4::Nf4Quantizer::create({.block_size = 64}));
//   AI_CORE_ASSIGN_OR_RETURN(nf4::Nf4Tensor q, quantizer.quantize(weight, weight.device()));
//   AI_CORE_ASSIGN_OR_RETURN(at::Tensor w, quantizer.dequantize(q, q.device()));   // bf16
#pragma once

#include <nf4/config.hpp>
#include <nf4/double_quant.hpp>
#include <nf4/error.hpp>
#include <nf4/tensor.hpp>

#include <ai_core/concepts.hpp>
#include <ai_core/expected.hpp>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string_view>

namespace nf4 {

// Note [NF4 error bound]
// Quantizing normalises x by its block's absmax a (one float32 division, relative error <= 2^-24),
// picks the nearest table value (at most kMaxHalfGap away from any value in [-1, 1]), and
// dequantizing multiplies by a in float32 (relative error <= 2^-24) then rounds to the output
// dtype (relative error <= u: 2^-24 for f32, 2^-11 for f16, 2^-8 for bf16). So
//   |x - x'| <= a * (kMaxHalfGap + 2^-22) + u * |x'|,   |x'| <= a,
// and reconstruction_bound returns a * (kMaxHalfGap + 2^-22 + u). The output rounding term matters:
// in the widest gap a value at the midpoint is 0.1519 a from both neighbours, and rounding the
// bf16 result can add up to 0.0027 a more. (A float16 output of a block whose absmax exceeds
// 65504 overflows to infinity; choose f32 or bf16 as compute dtype for such weights.)

/// Returns the unit roundoff of `dtype` (2^-24 for f32, 2^-11 for f16, 2^-8 for bf16), 0 for a
/// dtype the quantizer does not produce.
[[nodiscard]] double unit_roundoff(c10::ScalarType dtype) noexcept;

/// Returns the largest |x - x'| a round trip allows for an element of a block with absmax `absmax`
/// dequantized to `dtype` (Note [NF4 error bound]).
[[nodiscard]] double reconstruction_bound(float absmax, c10::ScalarType dtype) noexcept;

/// The quantize operation, `ai_core::GpuDispatchable`: a contiguous f32/f16/bf16 tensor on the
/// dispatch device to an `Nf4Tensor` on the same device. Build it from a validated config
/// (`Nf4Quantizer` does); `dispatch_*` assume the config is valid.
class Nf4QuantizeOp {
 public:
  using Input = at::Tensor;  ///< The tensor to quantize.
  using Output = Nf4Tensor;  ///< Its quantized form, on the same device.

  /// Makes the operation for `config` (which must have passed `validate()`).
  explicit Nf4QuantizeOp(const Nf4Config& config) noexcept : config_(config) {}

  /// Returns "nf4::quantize", the name in ai_core's CPU-fallback warning.
  [[nodiscard]] std::string_view name() const noexcept { return "nf4::quantize"; }

  /// Quantizes `input` with the CUDA kernel on `device`'s current stream; synchronises that stream
  /// once to learn whether the input held a NaN or an infinity. Errors: see
  /// `Nf4Quantizer::quantize`.
  [[nodiscard]] ai_core::Result<Nf4Tensor> dispatch_gpu(const at::Tensor& input,
                                                        c10::Device device) const;

  /// Quantizes `input` on the CPU (parallelised with at::parallel_for).
  [[nodiscard]] ai_core::Result<Nf4Tensor> dispatch_cpu(const at::Tensor& input,
                                                        c10::Device device) const;

 private:
  Nf4Config config_;
};

/// The arguments of `Nf4DequantizeIntoOp`: the quantized tensor and the tensor that receives the
/// values. Both are borrowed for the duration of the call.
struct Nf4DequantizeInto {
  const Nf4Tensor& source;   ///< What to dequantize.
  const at::Tensor& output;  ///< Where: contiguous f32/f16/bf16, `source`'s shape, same device.
};

/// The dequantize operation into a new tensor, `ai_core::GpuDispatchable`: an `Nf4Tensor` to a
/// contiguous tensor of its shape and of dtype `dtype`, on the dispatch device.
class Nf4DequantizeOp {
 public:
  using Input = Nf4Tensor;    ///< The quantized tensor.
  using Output = at::Tensor;  ///< The dequantized tensor (allocated from torch's allocator).

  /// Makes the operation producing `dtype` (f32, f16 or bf16; checked by `dispatch_*`).
  explicit Nf4DequantizeOp(c10::ScalarType dtype) noexcept : dtype_(dtype) {}

  /// Returns "nf4::dequantize", the name in ai_core's CPU-fallback warning.
  [[nodiscard]] std::string_view name() const noexcept { return "nf4::dequantize"; }

  /// Dequantizes with the CUDA kernel on `device`'s current stream (no synchronisation).
  [[nodiscard]] ai_core::Result<at::Tensor> dispatch_gpu(const Nf4Tensor& input,
                                                         c10::Device device) const;
  /// Dequantizes on the CPU.
  [[nodiscard]] ai_core::Result<at::Tensor> dispatch_cpu(const Nf4Tensor& input,
                                                         c10::Device device) const;

 private:
  c10::ScalarType dtype_;
};

/// The dequantize operation into a caller's tensor (the pre-allocation pattern: no allocation per
/// call), `ai_core::GpuDispatchable`.
class Nf4DequantizeIntoOp {
 public:
  using Input = Nf4DequantizeInto;  ///< Source and destination.
  using Output = void;              ///< The values land in `Input::output`.

  /// Returns "nf4::dequantize_into", the name in ai_core's CPU-fallback warning.
  [[nodiscard]] std::string_view name() const noexcept { return "nf4::dequantize_into"; }

  /// Dequantizes with the CUDA kernel on `device`'s current stream (no synchronisation).
  [[nodiscard]] ai_core::Result<void> dispatch_gpu(const Nf4DequantizeInto& input,
                                                   c10::Device device) const;
  /// Dequantizes on the CPU.
  [[nodiscard]] ai_core::Result<void> dispatch_cpu(const Nf4DequantizeInto& input,
                                                   c10::Device device) const;
};

/// QLoRA's NF4 quantizer: blockwise absmax, 4-bit NormalFloat codes. Immutable after `create`;
/// thread-safe (all members const, no shared mutable state).
class Nf4Quantizer {
 public:
  /// Makes a quantizer with the default config (block size 64, bf16 compute dtype).
  Nf4Quantizer() = default;

  /// Returns a quantizer for `config`, or the `invalid_config` error of `config.validate()`.
  [[nodiscard]] static ai_core::Result<Nf4Quantizer> create(const Nf4Config& config);

  /// Quantizes `tensor` on `device`, through `ai_core::dispatch` (`Nf4QuantizeOp`). `tensor` must
  /// be defined, f32, f16 or bf16, contiguous, non-empty (unless `allow_empty`), free of NaN and
  /// infinity, and on `device`. Errors: `unsupported_dtype`, `empty_input`, `non_finite_input`
  /// (naming the element and block) as `CoreError`s whose message starts with "nf4 <code>:";
  /// ai_core's `device_mismatch`, `device_not_available` and layout errors (non-contiguous,
  /// undefined); `kernel_error` or `out_of_memory` from CUDA.
  [[nodiscard]] ai_core::Result<Nf4Tensor> quantize(const at::Tensor& tensor,
                                                    c10::Device device) const;

  /// Dequantizes `quantized` on `device` into a new contiguous tensor of its shape and of the
  /// config's `compute_dtype`, through `ai_core::dispatch` (`Nf4DequantizeOp`). `quantized` must
  /// be on `device` (`device_mismatch` otherwise).
  [[nodiscard]] ai_core::Result<at::Tensor> dequantize(const Nf4Tensor& quantized,
                                                       c10::Device device) const;

  /// Dequantizes `quantized` into `output` (on `quantized`'s device, contiguous, f32/f16/bf16 of
  /// any of the three, `quantized`'s shape), through `ai_core::dispatch` (`Nf4DequantizeIntoOp`).
  /// Errors: `device_mismatch`, `shape_mismatch` (with both shapes), `unsupported_dtype`, a
  /// non-contiguous or undefined `output`.
  [[nodiscard]] ai_core::Result<void> dequantize_into(const Nf4Tensor& quantized,
                                                      const at::Tensor& output) const;

  /// Quantizes `tensor` as `quantize` does, then double-quantizes its absmax constants
  /// (`double_quantize`, nested blocks of 256, the config's encoding): QLoRA's
  /// `bnb_4bit_use_double_quant`. Dequantize with `dequantize_double` / `dequantize_double_into`.
  [[nodiscard]] ai_core::Result<Nf4DoubleQuantTensor> quantize_double(const at::Tensor& tensor,
                                                                      c10::Device device) const;

  /// Returns the config.
  [[nodiscard]] const Nf4Config& config() const noexcept { return config_; }

 private:
  explicit Nf4Quantizer(const Nf4Config& config) noexcept : config_(config) {}

  Nf4Config config_;
};

/// Checks, for `ai_core::dispatch`, that the codes and absmax of `tensor` live on `device`.
[[nodiscard]] ai_core::Result<void> ai_core_tensors_on_device(const Nf4Tensor& tensor,
                                                              c10::Device device);

/// Checks, for `ai_core::dispatch`, that the source and the output live on `device`.
[[nodiscard]] ai_core::Result<void> ai_core_tensors_on_device(const Nf4DequantizeInto& input,
                                                              c10::Device device);

static_assert(ai_core::Quantize<Nf4Quantizer, Nf4Tensor>);
static_assert(ai_core::Dequantize<Nf4Quantizer, Nf4Tensor>);
static_assert(ai_core::GpuDispatchable<Nf4QuantizeOp>);
static_assert(ai_core::GpuDispatchable<Nf4DequantizeOp>);
static_assert(ai_core::GpuDispatchable<Nf4DequantizeIntoOp>);

}  // namespace nf4
