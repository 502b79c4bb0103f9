// SPDX-License-Identifier: MIT
// src/quantizer.cpp: `Nf4Config`, `Nf4Tensor`, the dispatchable operations and `Nf4Quantizer`
// (nf4/config.hpp, nf4/tensor.hpp, nf4/quantizer.hpp), on ai_core's public API: inputs are checked
// and turned into buffers with <ai_core/interop.hpp>, outputs come from `allocate_output_buffer`,
// and `ai_core::dispatch` picks the CUDA or the CPU path.
#include <nf4/quantizer.hpp>

#include "buffers.hpp"
#include "kernels.hpp"

#include <nf4/code_table.hpp>

#include <ai_core/dispatch.hpp>
#include <ai_core/dtype.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>

#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <tuple>

namespace nf4 {
namespace {

using detail::buffer_of;
using detail::ceil_div;
using detail::log2_of;

constexpr ai_core::DtypeSet kFloatDtypes{c10::ScalarType::Float, c10::ScalarType::Half,
                                         c10::ScalarType::BFloat16};

// Returns the value of element `index` of a CPU buffer of f32, f16 or bf16.
double host_value(const void* data, c10::ScalarType dtype, std::int64_t index) {
  switch (dtype) {
    case c10::ScalarType::Half: return static_cast<const c10::Half*>(data)[index];
    case c10::ScalarType::BFloat16: return static_cast<const c10::BFloat16*>(data)[index];
    default: return static_cast<const float*>(data)[index];
  }
}

// Checks what only NF4 requires of a tensor to quantize; interop checks the rest (device,
// layout, alignment) when the buffer is made.
Nf4Result<void> check_quantize_input(const at::Tensor& input, const Nf4Config& config) {
  if (!input.defined()) {
    return ai_core::CoreError::invalid_config(
        "nf4 quantize: the input tensor is undefined; expected a defined f32, f16 or bf16 tensor");
  }
  if (!is_supported_dtype(input.scalar_type())) {
    return Nf4Error::unsupported_dtype("input tensor", ai_core::dtype_name(input.scalar_type()));
  }
  if (input.numel() == 0 && !config.allow_empty) {
    return Nf4Error::empty_input(ai_core::str_cat("input tensor of shape ", input.sizes()));
  }
  return {};
}

ai_core::Result<Nf4Tensor> quantize_on(const Nf4Config& config, const at::Tensor& input,
                                       c10::Device device) {
  const bool cuda = device.is_cuda();
  AI_CORE_TRY(check_quantize_input(input, config));
  AI_CORE_TRY(buffer_of(input, cuda, kFloatDtypes, ai_core::Access::read_only, "input"),
              "nf4 quantize");
  const std::int64_t numel = input.numel();
  const int log2_block = log2_of(config.block_size);
  const std::array<std::int64_t, 1> code_sizes{ceil_div(numel, 2)};
  const std::array<std::int64_t, 1> absmax_sizes{ceil_div(numel, config.block_size)};
  AI_CORE_ASSIGN_OR_RETURN(
      auto codes, ai_core::allocate_output_buffer(code_sizes, c10::ScalarType::Byte, device));
  AI_CORE_ASSIGN_OR_RETURN(
      auto absmax, ai_core::allocate_output_buffer(absmax_sizes, c10::ScalarType::Float, device));
  if (numel > 0) {
    const at::Tensor flat = input.view({numel});  // A view: `input` is contiguous.
    AI_CORE_ASSIGN_OR_RETURN(
        auto in, buffer_of(flat, cuda, kFloatDtypes, ai_core::Access::read_only, "input"));
    std::int64_t bad = detail::kAllFinite;
    double bad_value = 0.0;
    if (cuda) {
#if AI_CORE_WITH_CUDA
      const std::array<std::int64_t, 1> flag_sizes{1};
      AI_CORE_ASSIGN_OR_RETURN(
          auto flag, ai_core::allocate_output_buffer(flag_sizes, c10::ScalarType::Long, device));
      AI_CORE_ASSIGN_OR_RETURN(
          const detail::NonFinite found,
          detail::quantize_cuda(in, log2_block, codes.second.view(), absmax.second.view(),
                                flag.second.view(), config.encoding == Nf4Encoding::bitsandbytes));
      bad = found.index;
      bad_value = found.value;
#else
      return ai_core::CoreError::device_not_available(device, "ai_core_nf4 built without CUDA");
#endif
    } else {
      bad = detail::quantize_cpu(
          in.data(), in.dtype(), numel, log2_block, static_cast<std::uint8_t*>(codes.second.data()),
          static_cast<float*>(absmax.second.data()), config.encoding == Nf4Encoding::bitsandbytes);
      if (bad != detail::kAllFinite) bad_value = host_value(in.data(), in.dtype(), bad);
    }
    if (bad != detail::kAllFinite) {
      return Nf4Error::non_finite_input(bad, bad >> log2_block, config.block_size, bad_value);
    }
  }
  return Nf4Tensor::create(std::move(codes.first), std::move(absmax.first),
                           std::vector<std::int64_t>(input.sizes().begin(), input.sizes().end()),
                           input.scalar_type(), config.block_size);
}

ai_core::Result<void> dequantize_on(const Nf4Tensor& source, const at::Tensor& output,
                                    c10::Device device) {
  const bool cuda = device.is_cuda();
  if (!output.defined()) {
    return ai_core::CoreError::invalid_config(
        "nf4 dequantize: the output tensor is undefined; expected a defined f32, f16 or bf16 "
        "tensor");
  }
  if (!is_supported_dtype(output.scalar_type())) {
    return Nf4Error::unsupported_dtype("output tensor", ai_core::dtype_name(output.scalar_type()));
  }
  if (!std::ranges::equal(output.sizes(), source.shape())) {
    return ai_core::CoreError::shape_mismatch(
        {source.shape().begin(), source.shape().end()},
        {output.sizes().begin(), output.sizes().end()},
        "nf4 dequantize: the output tensor must have the quantized tensor's shape");
  }
  AI_CORE_TRY(buffer_of(output, cuda, kFloatDtypes, ai_core::Access::read_write, "output"),
              "nf4 dequantize");
  const std::int64_t numel = source.numel();
  if (numel == 0) return {};
  const at::Tensor flat = output.view({numel});
  AI_CORE_ASSIGN_OR_RETURN(
      auto out, buffer_of(flat, cuda, kFloatDtypes, ai_core::Access::read_write, "output"));
  AI_CORE_ASSIGN_OR_RETURN(auto codes,
                           buffer_of(source.codes(), cuda, ai_core::DtypeSet{c10::ScalarType::Byte},
                                     ai_core::Access::read_only, "codes"));
  AI_CORE_ASSIGN_OR_RETURN(
      auto absmax, buffer_of(source.absmax(), cuda, ai_core::DtypeSet{c10::ScalarType::Float},
                             ai_core::Access::read_only, "absmax"));
  const int log2_block = log2_of(source.block_size());
  if (cuda) {
#if AI_CORE_WITH_CUDA
    return detail::dequantize_cuda(codes, absmax, log2_block, out);
#else
    return ai_core::CoreError::device_not_available(device, "ai_core_nf4 built without CUDA");
#endif
  }
  detail::dequantize_cpu(static_cast<const std::uint8_t*>(codes.data()),
                         static_cast<const float*>(absmax.data()), numel, log2_block, out.data(),
                         out.dtype());
  return {};
}

ai_core::Result<at::Tensor> dequantize_new(const Nf4Tensor& source, c10::ScalarType dtype,
                                           c10::Device device) {
  if (!is_supported_dtype(dtype)) {
    return Nf4Error::unsupported_dtype("compute dtype", ai_core::dtype_name(dtype));
  }
  AI_CORE_ASSIGN_OR_RETURN(auto output,
                           ai_core::allocate_output_buffer(source.shape(), dtype, device));
  AI_CORE_TRY(dequantize_on(source, output.first, device));
  return std::move(output.first);
}

}  // namespace

// --- Nf4Config ----------------------------------------------------------------------------------

ai_core::Result<void> Nf4Config::validate() const {
  if (!is_valid_block_size(block_size)) return Nf4Error::invalid_block_size(block_size);
  if (!is_supported_dtype(compute_dtype)) {
    return Nf4Error::unsupported_dtype("compute dtype", ai_core::dtype_name(compute_dtype));
  }
  if (encoding != Nf4Encoding::nearest && encoding != Nf4Encoding::bitsandbytes) {
    return ai_core::CoreError::invalid_config(
        ai_core::str_cat("nf4 encoding ", static_cast<int>(encoding),
                         " is not an Nf4Encoding; expected nearest (0) or bitsandbytes (1)"));
  }
  return {};
}

// --- Nf4Tensor ----------------------------------------------------------------------------------

Nf4Result<Nf4Tensor> Nf4Tensor::create(at::Tensor codes, at::Tensor absmax,
                                       std::vector<std::int64_t> shape, c10::ScalarType dtype,
                                       std::int64_t block_size) {
  if (!is_valid_block_size(block_size)) return Nf4Error::invalid_block_size(block_size);
  if (!is_supported_dtype(dtype)) {
    return Nf4Error::unsupported_dtype("the original tensor", ai_core::dtype_name(dtype));
  }
  std::int64_t numel = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0) {
      return ai_core::CoreError::invalid_config(
          ai_core::str_cat("nf4 tensor: extent ", shape[d], " of dimension ", d, " in shape ",
                           shape, " is negative; expected extents >= 0"));
    }
    if (__builtin_mul_overflow(numel, shape[d], &numel)) {
      return ai_core::CoreError::invalid_config(
          ai_core::str_cat("nf4 tensor: the element count of shape ", shape, " overflows int64"));
    }
  }
  AI_CORE_TRY(detail::check_part(codes, "nf4 tensor", "codes", c10::ScalarType::Byte));
  AI_CORE_TRY(detail::check_part(absmax, "nf4 tensor", "absmax", c10::ScalarType::Float));
  const std::int64_t expected_codes = ceil_div(numel, 2);
  if (codes.numel() != expected_codes) {
    return Nf4Error::size_mismatch(
        "codes", expected_codes, codes.numel(),
        ai_core::str_cat("two 4-bit codes per byte for ", numel, " elements of shape ", shape));
  }
  const std::int64_t expected_blocks = ceil_div(numel, block_size);
  if (absmax.numel() != expected_blocks) {
    return Nf4Error::size_mismatch(
        "absmax", expected_blocks, absmax.numel(),
        ai_core::str_cat("one per block of ", block_size, " for ", numel, " elements"));
  }
  if (codes.device() != absmax.device()) {
    return ai_core::CoreError::device_mismatch(codes.device(), absmax.device(),
                                               "nf4 tensor: absmax must live on the codes' device");
  }
  return Nf4Tensor(std::move(codes), std::move(absmax), std::move(shape), dtype, block_size, numel);
}

// --- error bound --------------------------------------------------------------------------------

double unit_roundoff(c10::ScalarType dtype) noexcept {
  switch (dtype) {
    case c10::ScalarType::Float: return std::ldexp(1.0, -24);
    case c10::ScalarType::Half: return std::ldexp(1.0, -11);
    case c10::ScalarType::BFloat16: return std::ldexp(1.0, -8);
    default: return 0.0;
  }
}

double reconstruction_bound(float absmax, c10::ScalarType dtype) noexcept {
  return static_cast<double>(absmax) *
         (static_cast<double>(kMaxHalfGap) + std::ldexp(1.0, -22) + unit_roundoff(dtype));
}

// --- operations ---------------------------------------------------------------------------------

ai_core::Result<Nf4Tensor> Nf4QuantizeOp::dispatch_gpu(const at::Tensor& input,
                                                       c10::Device device) const {
  return quantize_on(config_, input, device);
}

ai_core::Result<Nf4Tensor> Nf4QuantizeOp::dispatch_cpu(const at::Tensor& input,
                                                       c10::Device device) const {
  return quantize_on(config_, input, device);
}

ai_core::Result<at::Tensor> Nf4DequantizeOp::dispatch_gpu(const Nf4Tensor& input,
                                                          c10::Device device) const {
  return dequantize_new(input, dtype_, device);
}

ai_core::Result<at::Tensor> Nf4DequantizeOp::dispatch_cpu(const Nf4Tensor& input,
                                                          c10::Device device) const {
  return dequantize_new(input, dtype_, device);
}

ai_core::Result<void> Nf4DequantizeIntoOp::dispatch_gpu(const Nf4DequantizeInto& input,
                                                        c10::Device device) const {
  return dequantize_on(input.source, input.output, device);
}

ai_core::Result<void> Nf4DequantizeIntoOp::dispatch_cpu(const Nf4DequantizeInto& input,
                                                        c10::Device device) const {
  return dequantize_on(input.source, input.output, device);
}

ai_core::Result<void> ai_core_tensors_on_device(const Nf4Tensor& tensor, c10::Device device) {
  return ai_core::tensors_on_device(std::tie(tensor.codes(), tensor.absmax()), device);
}

ai_core::Result<void> ai_core_tensors_on_device(const Nf4DequantizeInto& input,
                                                c10::Device device) {
  AI_CORE_TRY(ai_core_tensors_on_device(input.source, device), "in the quantized source");
  AI_CORE_TRY(ai_core::tensors_on_device(input.output, device), "in the output tensor");
  return {};
}

// --- Nf4Quantizer -------------------------------------------------------------------------------

ai_core::Result<Nf4Quantizer> Nf4Quantizer::create(const Nf4Config& config) {
  AI_CORE_TRY(config.validate());
  return Nf4Quantizer(config);
}

ai_core::Result<Nf4Tensor> Nf4Quantizer::quantize(const at::Tensor& tensor,
                                                  c10::Device device) const {
  return ai_core::dispatch(Nf4QuantizeOp(config_), tensor, device);
}

ai_core::Result<at::Tensor> Nf4Quantizer::dequantize(const Nf4Tensor& quantized,
                                                     c10::Device device) const {
  return ai_core::dispatch(Nf4DequantizeOp(config_.compute_dtype), quantized, device);
}

ai_core::Result<void> Nf4Quantizer::dequantize_into(const Nf4Tensor& quantized,
                                                    const at::Tensor& output) const {
  if (!output.defined()) {
    return ai_core::CoreError::invalid_config(
        "nf4 dequantize_into: the output tensor is undefined; expected a defined f32, f16 or "
        "bf16 tensor on the quantized tensor's device");
  }
  return ai_core::dispatch(Nf4DequantizeIntoOp{}, Nf4DequantizeInto{quantized, output},
                           output.device());
}

}  // namespace nf4
