// SPDX-License-Identifier: MIT
// src/double_quant.cpp: double quantization, its dequantization and the bitsandbytes state
// exchange (nf4/double_quant.hpp), and `Nf4Quantizer::quantize_double`.
#include <nf4/double_quant.hpp>
#include <nf4/quantizer.hpp>

#include "buffers.hpp"
#include "kernels.hpp"

#include <nf4/code_table.hpp>

#include <ai_core/dtype.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>

#include <ATen/ops/empty.h>
#include <ATen/ops/sum.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace nf4 {

// bitsandbytes' create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8), as float32.
const std::array<float, 256> kDynamicCode = {
    -0x1.fc66660000000p-1f,  -0x1.f533340000000p-1f,
    -0x1.ee00000000000p-1f,  -0x1.e6cccc0000000p-1f,
    -0x1.df999a0000000p-1f,  -0x1.d866660000000p-1f,
    -0x1.d133340000000p-1f,  -0x1.ca00000000000p-1f,
    -0x1.c2cccc0000000p-1f,  -0x1.bb999a0000000p-1f,
    -0x1.b466660000000p-1f,  -0x1.ad33340000000p-1f,
    -0x1.a600000000000p-1f,  -0x1.9ecccc0000000p-1f,
    -0x1.97999a0000000p-1f,  -0x1.9066660000000p-1f,
    -0x1.8933340000000p-1f,  -0x1.8200000000000p-1f,
    -0x1.7acccc0000000p-1f,  -0x1.73999a0000000p-1f,
    -0x1.6c66680000000p-1f,  -0x1.6533340000000p-1f,
    -0x1.5e00000000000p-1f,  -0x1.56cccc0000000p-1f,
    -0x1.4f999a0000000p-1f,  -0x1.4866680000000p-1f,
    -0x1.4133340000000p-1f,  -0x1.3a00000000000p-1f,
    -0x1.32cccc0000000p-1f,  -0x1.2b999a0000000p-1f,
    -0x1.2466680000000p-1f,  -0x1.1d33340000000p-1f,
    -0x1.1600000000000p-1f,  -0x1.0ecccc0000000p-1f,
    -0x1.0799980000000p-1f,  -0x1.0066660000000p-1f,
    -0x1.f266640000000p-2f,  -0x1.e400000000000p-2f,
    -0x1.d599980000000p-2f,  -0x1.c733340000000p-2f,
    -0x1.b8cccc0000000p-2f,  -0x1.aa66660000000p-2f,
    -0x1.9c00000000000p-2f,  -0x1.8d99980000000p-2f,
    -0x1.7f33340000000p-2f,  -0x1.70cccc0000000p-2f,
    -0x1.6266660000000p-2f,  -0x1.5400000000000p-2f,
    -0x1.4599980000000p-2f,  -0x1.3733340000000p-2f,
    -0x1.28cccc0000000p-2f,  -0x1.1a66680000000p-2f,
    -0x1.0c00000000000p-2f,  -0x1.fb33320000000p-3f,
    -0x1.de66660000000p-3f,  -0x1.c1999a0000000p-3f,
    -0x1.a4cccc0000000p-3f,  -0x1.8800000000000p-3f,
    -0x1.6b33340000000p-3f,  -0x1.4e66660000000p-3f,
    -0x1.31999a0000000p-3f,  -0x1.14cccc0000000p-3f,
    -0x1.f000000000000p-4f,  -0x1.b666680000000p-4f,
    -0x1.93d70a0000000p-4f,  -0x1.8851ee0000000p-4f,
    -0x1.7cccce0000000p-4f,  -0x1.7147ae0000000p-4f,
    -0x1.65c2900000000p-4f,  -0x1.5a3d700000000p-4f,
    -0x1.4eb8540000000p-4f,  -0x1.4333340000000p-4f,
    -0x1.37ae140000000p-4f,  -0x1.2c28f60000000p-4f,
    -0x1.20a3d60000000p-4f,  -0x1.151eba0000000p-4f,
    -0x1.09999a0000000p-4f,  -0x1.fc28f60000000p-5f,
    -0x1.e51eba0000000p-5f,  -0x1.ce147a0000000p-5f,
    -0x1.b70a3e0000000p-5f,  -0x1.a000000000000p-5f,
    -0x1.88f5c20000000p-5f,  -0x1.71eb860000000p-5f,
    -0x1.5ae1460000000p-5f,  -0x1.43d70a0000000p-5f,
    -0x1.2cccce0000000p-5f,  -0x1.15c2900000000p-5f,
    -0x1.fd70a40000000p-6f,  -0x1.cf5c2a0000000p-6f,
    -0x1.a147ae0000000p-6f,  -0x1.7333340000000p-6f,
    -0x1.451eba0000000p-6f,  -0x1.170a3e0000000p-6f,
    -0x1.d1eb860000000p-7f,  -0x1.75c2900000000p-7f,
    -0x1.3e76c80000000p-7f,  -0x1.2c08300000000p-7f,
    -0x1.19999a0000000p-7f,  -0x1.072b020000000p-7f,
    -0x1.e978d40000000p-8f,  -0x1.c49ba60000000p-8f,
    -0x1.9fbe760000000p-8f,  -0x1.7ae1480000000p-8f,
    -0x1.56041a0000000p-8f,  -0x1.3126e80000000p-8f,
    -0x1.0c49ba0000000p-8f,  -0x1.ced9140000000p-9f,
    -0x1.851eb80000000p-9f,  -0x1.3b645a0000000p-9f,
    -0x1.e353f80000000p-10f, -0x1.4fdf3a0000000p-10f,
    -0x1.eecbfe0000000p-11f, -0x1.b3d07c0000000p-11f,
    -0x1.78d5000000000p-11f, -0x1.3dd9820000000p-11f,
    -0x1.02de020000000p-11f, -0x1.8fc5060000000p-12f,
    -0x1.19ce0a0000000p-12f, -0x1.47ae160000000p-13f,
    -0x1.743e960000000p-14f, -0x1.15df660000000p-14f,
    -0x1.6f00680000000p-15f, -0x1.64840c0000000p-16f,
    -0x1.040bfe0000000p-17f, -0x1.b435280000000p-19f,
    -0x1.27476e0000000p-21f, 0x0.0p+0f,
    0x1.27476e0000000p-21f,  0x1.b435280000000p-19f,
    0x1.040bfe0000000p-17f,  0x1.64840c0000000p-16f,
    0x1.6f00680000000p-15f,  0x1.15df660000000p-14f,
    0x1.743e960000000p-14f,  0x1.47ae160000000p-13f,
    0x1.19ce0a0000000p-12f,  0x1.8fc5060000000p-12f,
    0x1.02de020000000p-11f,  0x1.3dd9820000000p-11f,
    0x1.78d5000000000p-11f,  0x1.b3d07c0000000p-11f,
    0x1.eecbfe0000000p-11f,  0x1.4fdf3a0000000p-10f,
    0x1.e353f80000000p-10f,  0x1.3b645a0000000p-9f,
    0x1.851eb80000000p-9f,   0x1.ced9140000000p-9f,
    0x1.0c49ba0000000p-8f,   0x1.3126e80000000p-8f,
    0x1.56041a0000000p-8f,   0x1.7ae1480000000p-8f,
    0x1.9fbe760000000p-8f,   0x1.c49ba60000000p-8f,
    0x1.e978d40000000p-8f,   0x1.072b020000000p-7f,
    0x1.19999a0000000p-7f,   0x1.2c08300000000p-7f,
    0x1.3e76c80000000p-7f,   0x1.75c2900000000p-7f,
    0x1.d1eb860000000p-7f,   0x1.170a3e0000000p-6f,
    0x1.451eba0000000p-6f,   0x1.7333340000000p-6f,
    0x1.a147ae0000000p-6f,   0x1.cf5c2a0000000p-6f,
    0x1.fd70a40000000p-6f,   0x1.15c2900000000p-5f,
    0x1.2cccce0000000p-5f,   0x1.43d70a0000000p-5f,
    0x1.5ae1460000000p-5f,   0x1.71eb860000000p-5f,
    0x1.88f5c20000000p-5f,   0x1.a000000000000p-5f,
    0x1.b70a3e0000000p-5f,   0x1.ce147a0000000p-5f,
    0x1.e51eba0000000p-5f,   0x1.fc28f60000000p-5f,
    0x1.09999a0000000p-4f,   0x1.151eba0000000p-4f,
    0x1.20a3d60000000p-4f,   0x1.2c28f60000000p-4f,
    0x1.37ae140000000p-4f,   0x1.4333340000000p-4f,
    0x1.4eb8540000000p-4f,   0x1.5a3d700000000p-4f,
    0x1.65c2900000000p-4f,   0x1.7147ae0000000p-4f,
    0x1.7cccce0000000p-4f,   0x1.8851ee0000000p-4f,
    0x1.93d70a0000000p-4f,   0x1.b666680000000p-4f,
    0x1.f000000000000p-4f,   0x1.14cccc0000000p-3f,
    0x1.31999a0000000p-3f,   0x1.4e66660000000p-3f,
    0x1.6b33340000000p-3f,   0x1.8800000000000p-3f,
    0x1.a4cccc0000000p-3f,   0x1.c1999a0000000p-3f,
    0x1.de66660000000p-3f,   0x1.fb33320000000p-3f,
    0x1.0c00000000000p-2f,   0x1.1a66680000000p-2f,
    0x1.28cccc0000000p-2f,   0x1.3733340000000p-2f,
    0x1.4599980000000p-2f,   0x1.5400000000000p-2f,
    0x1.6266660000000p-2f,   0x1.70cccc0000000p-2f,
    0x1.7f33340000000p-2f,   0x1.8d99980000000p-2f,
    0x1.9c00000000000p-2f,   0x1.aa66660000000p-2f,
    0x1.b8cccc0000000p-2f,   0x1.c733340000000p-2f,
    0x1.d599980000000p-2f,   0x1.e400000000000p-2f,
    0x1.f266640000000p-2f,   0x1.0066660000000p-1f,
    0x1.0799980000000p-1f,   0x1.0ecccc0000000p-1f,
    0x1.1600000000000p-1f,   0x1.1d33340000000p-1f,
    0x1.2466680000000p-1f,   0x1.2b999a0000000p-1f,
    0x1.32cccc0000000p-1f,   0x1.3a00000000000p-1f,
    0x1.4133340000000p-1f,   0x1.4866680000000p-1f,
    0x1.4f999a0000000p-1f,   0x1.56cccc0000000p-1f,
    0x1.5e00000000000p-1f,   0x1.6533340000000p-1f,
    0x1.6c66680000000p-1f,   0x1.73999a0000000p-1f,
    0x1.7acccc0000000p-1f,   0x1.8200000000000p-1f,
    0x1.8933340000000p-1f,   0x1.9066660000000p-1f,
    0x1.97999a0000000p-1f,   0x1.9ecccc0000000p-1f,
    0x1.a600000000000p-1f,   0x1.ad33340000000p-1f,
    0x1.b466660000000p-1f,   0x1.bb999a0000000p-1f,
    0x1.c2cccc0000000p-1f,   0x1.ca00000000000p-1f,
    0x1.d133340000000p-1f,   0x1.d866660000000p-1f,
    0x1.df999a0000000p-1f,   0x1.e6cccc0000000p-1f,
    0x1.ee00000000000p-1f,   0x1.f533340000000p-1f,
    0x1.fc66660000000p-1f,   0x1.0000000000000p+0f,
};

namespace {

using detail::buffer_of;
using detail::ceil_div;
using detail::log2_of;

constexpr ai_core::DtypeSet kFloatDtypes{c10::ScalarType::Float, c10::ScalarType::Half,
                                         c10::ScalarType::BFloat16};

// Checks one part of a double-quantized tensor: `detail::check_part`, then `expected` elements.
Nf4Result<void> check_part(const at::Tensor& part, std::string_view name, c10::ScalarType dtype,
                           std::int64_t expected, std::string_view why) {
  AI_CORE_TRY(detail::check_part(part, "nf4 double-quant tensor", name, dtype));
  if (part.numel() != expected)
    return Nf4Error::size_mismatch(std::string(name), expected, part.numel(), std::string(why));
  return {};
}

// Returns the flat 1-D view of bitsandbytes' packed weight ([n] or [n, 1]).
Nf4Result<at::Tensor> flat_codes(const at::Tensor& codes) {
  if (!codes.defined()) {
    return ai_core::CoreError::invalid_config(
        "nf4 from_bitsandbytes: the packed weight is undefined; expected a uint8 tensor");
  }
  if (codes.scalar_type() != c10::ScalarType::Byte) {
    return ai_core::CoreError::invalid_config(ai_core::str_cat(
        "nf4 from_bitsandbytes: the packed weight has dtype ",
        ai_core::dtype_name(codes.scalar_type()),
        "; expected uint8 (bitsandbytes' quant_storage=torch.uint8; view other storage as uint8)"));
  }
  if (codes.dim() == 2 && codes.size(1) == 1 && codes.is_contiguous()) {
    return codes.view({codes.size(0)});
  }
  return codes;  // Nf4Tensor::create / Nf4DoubleQuantTensor::create check the rest.
}

}  // namespace

// --- Nf4DoubleQuantTensor ---------------------------------------------------------------------

Nf4Result<Nf4DoubleQuantTensor> Nf4DoubleQuantTensor::create(
    at::Tensor codes, at::Tensor absmax_codes, at::Tensor nested_absmax, at::Tensor nested_code,
    float offset, std::vector<std::int64_t> shape, c10::ScalarType dtype, std::int64_t block_size,
    std::int64_t nested_block_size) {
  if (!is_valid_block_size(block_size)) return Nf4Error::invalid_block_size(block_size);
  if (!is_valid_block_size(nested_block_size)) {
    return Nf4Error::invalid_block_size(nested_block_size);
  }
  if (!std::isfinite(offset)) {
    return ai_core::CoreError::invalid_config(ai_core::str_cat(
        "nf4 double-quant tensor: offset is ", offset, "; expected a finite float"));
  }
  if (!is_supported_dtype(dtype)) {
    return Nf4Error::unsupported_dtype("the original tensor", ai_core::dtype_name(dtype));
  }
  std::int64_t numel = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0) {
      return ai_core::CoreError::invalid_config(
          ai_core::str_cat("nf4 double-quant tensor: extent ", shape[d], " of dimension ", d,
                           " in shape ", shape, " is negative; expected extents >= 0"));
    }
    if (__builtin_mul_overflow(numel, shape[d], &numel)) {
      return ai_core::CoreError::invalid_config(ai_core::str_cat(
          "nf4 double-quant tensor: the element count of shape ", shape, " overflows int64"));
    }
  }
  const std::int64_t num_blocks = ceil_div(numel, block_size);
  AI_CORE_TRY(check_part(codes, "codes", c10::ScalarType::Byte, ceil_div(numel, 2),
                         ai_core::str_cat("two 4-bit codes per byte for ", numel, " elements")));
  AI_CORE_TRY(
      check_part(absmax_codes, "absmax codes", c10::ScalarType::Byte, num_blocks,
                 ai_core::str_cat("one per block of ", block_size, " for ", numel, " elements")));
  AI_CORE_TRY(check_part(
      nested_absmax, "nested absmax", c10::ScalarType::Float,
      ceil_div(num_blocks, nested_block_size),
      ai_core::str_cat("one per ", nested_block_size, " of ", num_blocks, " absmax values")));
  AI_CORE_TRY(check_part(nested_code, "nested code", c10::ScalarType::Float, 256,
                         "the 8-bit table has 256 entries"));
  for (const at::Tensor* part : {&absmax_codes, &nested_absmax, &nested_code}) {
    if (part->device() != codes.device()) {
      return ai_core::CoreError::device_mismatch(
          codes.device(), part->device(),
          "nf4 double-quant tensor: every part must live on the codes' device");
    }
  }
  Nf4DoubleQuantTensor result;
  result.codes_ = std::move(codes);
  result.absmax_codes_ = std::move(absmax_codes);
  result.nested_absmax_ = std::move(nested_absmax);
  result.nested_code_ = std::move(nested_code);
  result.offset_ = offset;
  result.shape_ = std::move(shape);
  result.dtype_ = dtype;
  result.block_size_ = block_size;
  result.nested_block_size_ = nested_block_size;
  result.numel_ = numel;
  return result;
}

// --- double quantization ----------------------------------------------------------------------

ai_core::Result<Nf4DoubleQuantTensor> double_quantize(const Nf4Tensor& quantized,
                                                      std::int64_t nested_block_size,
                                                      Nf4Encoding encoding) {
  if (!is_valid_block_size(nested_block_size)) {
    return Nf4Error::invalid_block_size(nested_block_size);
  }
  const std::int64_t num_blocks = quantized.num_blocks();
  if (num_blocks == 0) {
    return Nf4Error::empty_input("nf4 double_quantize: a quantized tensor with no blocks");
  }
  const c10::Device device = quantized.device();
  const bool cuda = device.is_cuda();
  const bool bitsandbytes = encoding == Nf4Encoding::bitsandbytes;
  const std::array<std::int64_t, 1> code_sizes{num_blocks};
  const std::array<std::int64_t, 1> nested_sizes{ceil_div(num_blocks, nested_block_size)};
  const std::array<std::int64_t, 1> table_sizes{256};
  AI_CORE_ASSIGN_OR_RETURN(
      auto qcodes, ai_core::allocate_output_buffer(code_sizes, c10::ScalarType::Byte, device));
  AI_CORE_ASSIGN_OR_RETURN(
      auto nested, ai_core::allocate_output_buffer(nested_sizes, c10::ScalarType::Float, device));
  AI_CORE_ASSIGN_OR_RETURN(
      auto host_table,
      ai_core::allocate_output_buffer(table_sizes, c10::ScalarType::Float, c10::Device(c10::kCPU)));
  std::memcpy(host_table.first.data_ptr(), kDynamicCode.data(), sizeof(float) * 256);
  AI_CORE_ASSIGN_OR_RETURN(
      auto absmax, buffer_of(quantized.absmax(), cuda, ai_core::DtypeSet{c10::ScalarType::Float},
                             ai_core::Access::read_only, "absmax"));
  // The mean in float64 (one rounding to float32 at the end), the same function on both devices.
  float offset = 0.0f;
  at::Tensor table = host_table.first;
  try {
    offset =
        static_cast<float>(at::sum(quantized.absmax(), c10::ScalarType::Double).item<double>() /
                           static_cast<double>(num_blocks));
    if (cuda) table = host_table.first.to(device);
  } catch (const std::exception& error) {
    return ai_core::CoreError::kernel_error(
        ai_core::str_cat("nf4 double_quantize: the absmax mean failed: ", error.what()));
  }
  const int log2_nested = log2_of(nested_block_size);
  if (cuda) {
#if AI_CORE_WITH_CUDA
    AI_CORE_ASSIGN_OR_RETURN(auto table_buffer,
                             buffer_of(table, true, ai_core::DtypeSet{c10::ScalarType::Float},
                                       ai_core::Access::read_only, "nested code"));
    AI_CORE_TRY(detail::double_quantize_cuda(absmax, offset, table_buffer, log2_nested,
                                             qcodes.second.view(), nested.second.view(),
                                             bitsandbytes));
#else
    return ai_core::CoreError::device_not_available(device, "ai_core_nf4 built without CUDA");
#endif
  } else {
    detail::double_quantize_cpu(static_cast<const float*>(absmax.data()), num_blocks, offset,
                                kDynamicCode.data(), log2_nested,
                                static_cast<std::uint8_t*>(qcodes.second.data()),
                                static_cast<float*>(nested.second.data()), bitsandbytes);
  }
  return Nf4DoubleQuantTensor::create(
      quantized.codes(), std::move(qcodes.first), std::move(nested.first), std::move(table), offset,
      std::vector<std::int64_t>(quantized.shape().begin(), quantized.shape().end()),
      quantized.dtype(), quantized.block_size(), nested_block_size);
}

ai_core::Result<void> dequantize_double_into(const Nf4DoubleQuantTensor& quantized,
                                             const at::Tensor& output) {
  if (!output.defined()) {
    return ai_core::CoreError::invalid_config(
        "nf4 dequantize_double: the output tensor is undefined; expected a defined f32, f16 or "
        "bf16 tensor");
  }
  if (!is_supported_dtype(output.scalar_type())) {
    return Nf4Error::unsupported_dtype("output tensor", ai_core::dtype_name(output.scalar_type()));
  }
  if (output.device() != quantized.device()) {
    return ai_core::CoreError::device_mismatch(
        quantized.device(), output.device(),
        "nf4 dequantize_double: the output must live on the quantized tensor's device");
  }
  if (!std::ranges::equal(output.sizes(), quantized.shape())) {
    return ai_core::CoreError::shape_mismatch(
        {quantized.shape().begin(), quantized.shape().end()},
        {output.sizes().begin(), output.sizes().end()},
        "nf4 dequantize_double: the output tensor must have the quantized tensor's shape");
  }
  const bool cuda = output.device().is_cuda();
  AI_CORE_TRY(buffer_of(output, cuda, kFloatDtypes, ai_core::Access::read_write, "output"),
              "nf4 dequantize_double");
  const std::int64_t numel = quantized.numel();
  if (numel == 0) return {};
  const at::Tensor flat = output.view({numel});
  const ai_core::DtypeSet bytes{c10::ScalarType::Byte};
  const ai_core::DtypeSet floats{c10::ScalarType::Float};
  const auto read = ai_core::Access::read_only;
  AI_CORE_ASSIGN_OR_RETURN(
      auto out, buffer_of(flat, cuda, kFloatDtypes, ai_core::Access::read_write, "output"));
  AI_CORE_ASSIGN_OR_RETURN(auto codes, buffer_of(quantized.codes(), cuda, bytes, read, "codes"));
  AI_CORE_ASSIGN_OR_RETURN(auto qcodes,
                           buffer_of(quantized.absmax_codes(), cuda, bytes, read, "absmax codes"));
  AI_CORE_ASSIGN_OR_RETURN(
      auto nested, buffer_of(quantized.nested_absmax(), cuda, floats, read, "nested absmax"));
  AI_CORE_ASSIGN_OR_RETURN(auto table,
                           buffer_of(quantized.nested_code(), cuda, floats, read, "nested code"));
  const int log2_block = log2_of(quantized.block_size());
  const int log2_nested = log2_of(quantized.nested_block_size());
  if (cuda) {
#if AI_CORE_WITH_CUDA
    return detail::dequantize_double_cuda(codes, qcodes, nested, table, quantized.offset(),
                                          log2_block, log2_nested, out);
#else
    return ai_core::CoreError::device_not_available(output.device(),
                                                    "ai_core_nf4 built without CUDA");
#endif
  }
  const detail::DoubleQuantParts parts{static_cast<const std::uint8_t*>(codes.data()),
                                       static_cast<const std::uint8_t*>(qcodes.data()),
                                       static_cast<const float*>(nested.data()),
                                       static_cast<const float*>(table.data()),
                                       quantized.offset(),
                                       log2_nested};
  detail::dequantize_double_cpu(parts, numel, log2_block, out.data(), out.dtype());
  return {};
}

ai_core::Result<at::Tensor> dequantize_double(const Nf4DoubleQuantTensor& quantized,
                                              c10::ScalarType dtype) {
  if (!is_supported_dtype(dtype)) {
    return Nf4Error::unsupported_dtype("compute dtype", ai_core::dtype_name(dtype));
  }
  AI_CORE_ASSIGN_OR_RETURN(
      auto output, ai_core::allocate_output_buffer(quantized.shape(), dtype, quantized.device()));
  AI_CORE_TRY(dequantize_double_into(quantized, output.first));
  return std::move(output.first);
}

ai_core::Result<at::Tensor> reconstruct_absmax(const Nf4DoubleQuantTensor& quantized) {
  // Computed on the host (the constants are small) with the arithmetic of the kernels: a simple,
  // device-independent reference.
  const std::int64_t num_blocks = quantized.num_blocks();
  try {
    const at::Tensor qcodes = quantized.absmax_codes().cpu();
    const at::Tensor nested = quantized.nested_absmax().cpu();
    const at::Tensor table = quantized.nested_code().cpu();
    at::Tensor result = at::empty({num_blocks}, at::TensorOptions().dtype(at::kFloat));
    const auto* q = qcodes.data_ptr<std::uint8_t>();
    const auto* n = nested.data_ptr<float>();
    const auto* t = table.data_ptr<float>();
    auto* r = result.data_ptr<float>();
    const int log2_nested = log2_of(quantized.nested_block_size());
    for (std::int64_t b = 0; b < num_blocks; ++b) {
      const volatile float product = t[q[b]] * n[b >> log2_nested];  // no FMA contraction
      r[b] = product + quantized.offset();
    }
    return result.to(quantized.device());
  } catch (const std::exception& error) {
    return ai_core::CoreError::kernel_error(
        ai_core::str_cat("nf4 reconstruct_absmax: copying the constants failed: ", error.what()));
  }
}

double double_quant_bound(float absmax, float reconstructed, c10::ScalarType dtype) noexcept {
  return reconstruction_bound(absmax, dtype) +
         std::fabs(static_cast<double>(absmax) - static_cast<double>(reconstructed)) +
         unit_roundoff(dtype) * std::fabs(static_cast<double>(reconstructed));
}

// --- bitsandbytes -----------------------------------------------------------------------------

Nf4Result<Nf4Imported> from_bitsandbytes(const BnbQuantState& state) {
  if (state.quant_type != "nf4") {
    return ai_core::CoreError::invalid_config(ai_core::str_cat(
        "nf4 from_bitsandbytes: quant_type is \"", state.quant_type, "\"; expected \"nf4\""));
  }
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor codes, flat_codes(state.codes));
  Nf4Imported imported;
  if (!state.nested) {
    AI_CORE_ASSIGN_OR_RETURN(Nf4Tensor plain, Nf4Tensor::create(codes, state.absmax, state.shape,
                                                                state.dtype, state.blocksize));
    imported.plain = std::move(plain);
    return imported;
  }
  const BnbNestedState& nested = *state.nested;
  AI_CORE_ASSIGN_OR_RETURN(
      Nf4DoubleQuantTensor dq,
      Nf4DoubleQuantTensor::create(codes, state.absmax, nested.absmax, nested.code, nested.offset,
                                   state.shape, state.dtype, state.blocksize, nested.blocksize));
  imported.nested = std::move(dq);
  return imported;
}

BnbQuantState to_bitsandbytes(const Nf4Tensor& quantized) {
  return BnbQuantState{.codes = quantized.codes().view({quantized.codes().numel(), 1}),
                       .absmax = quantized.absmax(),
                       .shape = {quantized.shape().begin(), quantized.shape().end()},
                       .dtype = quantized.dtype(),
                       .blocksize = quantized.block_size(),
                       .quant_type = "nf4",
                       .nested = std::nullopt};
}

BnbQuantState to_bitsandbytes(const Nf4DoubleQuantTensor& quantized) {
  return BnbQuantState{.codes = quantized.codes().view({quantized.codes().numel(), 1}),
                       .absmax = quantized.absmax_codes(),
                       .shape = {quantized.shape().begin(), quantized.shape().end()},
                       .dtype = quantized.dtype(),
                       .blocksize = quantized.block_size(),
                       .quant_type = "nf4",
                       .nested = BnbNestedState{.absmax = quantized.nested_absmax(),
                                                .code = quantized.nested_code(),
                                                .blocksize = quantized.nested_block_size(),
                                                .offset = quantized.offset()}};
}

// --- Nf4Quantizer -------------------------------------------------------------------------------

ai_core::Result<Nf4DoubleQuantTensor> Nf4Quantizer::quantize_double(const at::Tensor& tensor,
                                                                    c10::Device device) const {
  AI_CORE_ASSIGN_OR_RETURN(Nf4Tensor quantized, quantize(tensor, device));
  return double_quantize(quantized, kNestedBlockSize, config_.encoding);
}

}  // namespace nf4
