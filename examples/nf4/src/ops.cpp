// SPDX-License-Identifier: MIT
// src/ops.cpp: the NF4 quantizer as PyTorch operators, registered with <ai_core/torch_library.hpp>:
//
//   torch.ops.ai_core.nf4_quantize(Tensor x, int block_size) -> (Tensor codes, Tensor absmax)
//   torch.ops.ai_core.nf4_dequantize(Tensor codes, Tensor absmax, SymInt[] shape, int block_size,
//                                    ScalarType dtype) -> Tensor
//   torch.ops.ai_core.nf4_dequantize.out(..., *, Tensor(a!) out) -> ()
//
// codes: uint8, two 4-bit codes per byte, the first element in the high nibble, [ceil(numel / 2)];
// absmax: float32, [ceil(numel / block_size)] (the layout of nf4/tensor.hpp). The CPU/CUDA kernels
// run the `GpuDispatchable` operations of nf4/quantizer.hpp through `ai_core::dispatch` on the
// device of the first tensor argument; the Meta kernels compute the output shapes with SymInts.
// Built into the `ai_core_nf4_ops` object library, which a shared library (the Python package's)
// links so that the registration runs when it is loaded.
#include <nf4/quantizer.hpp>

#include <ai_core/dispatch.hpp>
#include <ai_core/dtype.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/torch_library.hpp>

#include <ATen/ops/empty.h>

#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

namespace nf4 {
namespace {

constexpr const char* kQuantizeContext = "in torch.ops.ai_core.nf4_quantize";
constexpr const char* kDequantizeContext = "in torch.ops.ai_core.nf4_dequantize";

// Returns the quantized tensor the dequantize operators read, after Nf4Tensor's checks.
ai_core::Result<Nf4Tensor> source_of(const at::Tensor& codes, const at::Tensor& absmax,
                                     c10::IntArrayRef shape, std::int64_t block_size,
                                     c10::ScalarType dtype) {
  return Nf4Tensor::create(codes, absmax, std::vector<std::int64_t>(shape.begin(), shape.end()),
                           dtype, block_size);
}

// --- CPU and CUDA
// ---------------------------------------------------------------------------------

ai_core::Result<std::tuple<at::Tensor, at::Tensor>> quantize(const at::Tensor& x,
                                                             std::int64_t block_size) {
  const Nf4Config config{.block_size = block_size};
  AI_CORE_TRY(config.validate(), kQuantizeContext);
  AI_CORE_ASSIGN_OR_RETURN(Nf4Tensor q, ai_core::dispatch(Nf4QuantizeOp(config), x, x.device()),
                           kQuantizeContext);
  return std::tuple{q.codes(), q.absmax()};
}

ai_core::Result<at::Tensor> dequantize(const at::Tensor& codes, const at::Tensor& absmax,
                                       c10::IntArrayRef shape, std::int64_t block_size,
                                       c10::ScalarType dtype) {
  AI_CORE_ASSIGN_OR_RETURN(Nf4Tensor source, source_of(codes, absmax, shape, block_size, dtype),
                           kDequantizeContext);
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor out,
                           ai_core::dispatch(Nf4DequantizeOp(dtype), source, codes.device()),
                           kDequantizeContext);
  return out;
}

ai_core::Result<void> dequantize_out(const at::Tensor& codes, const at::Tensor& absmax,
                                     c10::IntArrayRef shape, std::int64_t block_size,
                                     c10::ScalarType dtype, at::Tensor& out) {
  if (out.defined() && out.scalar_type() != dtype) {
    return ai_core::CoreError::invalid_config(ai_core::str_cat(
        "nf4_dequantize.out: `out` has dtype ", ai_core::dtype_name(out.scalar_type()),
        "; expected ", ai_core::dtype_name(dtype), " (the `dtype` argument)"));
  }
  AI_CORE_ASSIGN_OR_RETURN(Nf4Tensor source, source_of(codes, absmax, shape, block_size, dtype),
                           kDequantizeContext);
  AI_CORE_TRY(
      ai_core::dispatch(Nf4DequantizeIntoOp{}, Nf4DequantizeInto{source, out}, codes.device()),
      kDequantizeContext);
  return {};
}

// --- Meta: shapes only, symbolic sizes
// ------------------------------------------------------------

// The checks that need no data and no guard on a symbolic size.
ai_core::Result<void> check_parts_meta(const at::Tensor& codes, const at::Tensor& absmax,
                                       std::int64_t block_size, c10::ScalarType dtype) {
  if (!is_valid_block_size(block_size)) return Nf4Error::invalid_block_size(block_size);
  if (!is_supported_dtype(dtype)) {
    return Nf4Error::unsupported_dtype("the dequantized tensor", ai_core::dtype_name(dtype));
  }
  if (codes.scalar_type() != c10::ScalarType::Byte || codes.dim() != 1) {
    return ai_core::CoreError::invalid_config(
        ai_core::str_cat("nf4 tensor: codes are ", ai_core::dtype_name(codes.scalar_type()),
                         " with ", codes.dim(), " dimensions; expected a 1-D uint8 tensor"));
  }
  if (absmax.scalar_type() != c10::ScalarType::Float || absmax.dim() != 1) {
    return ai_core::CoreError::invalid_config(
        ai_core::str_cat("nf4 tensor: absmax is ", ai_core::dtype_name(absmax.scalar_type()),
                         " with ", absmax.dim(), " dimensions; expected a 1-D float32 tensor"));
  }
  return {};
}

ai_core::Result<std::tuple<at::Tensor, at::Tensor>> quantize_meta(const at::Tensor& x,
                                                                  std::int64_t block_size) {
  const Nf4Config config{.block_size = block_size};
  AI_CORE_TRY(config.validate(), kQuantizeContext);
  if (!is_supported_dtype(x.scalar_type())) {
    return Nf4Error::unsupported_dtype("input tensor", ai_core::dtype_name(x.scalar_type()));
  }
  const c10::SymInt numel = x.sym_numel();
  at::Tensor codes = at::empty_symint({(numel + 1) / 2}, x.options().dtype(c10::kByte));
  at::Tensor absmax =
      at::empty_symint({(numel + block_size - 1) / block_size}, x.options().dtype(c10::kFloat));
  return std::tuple{std::move(codes), std::move(absmax)};
}

ai_core::Result<at::Tensor> dequantize_meta(const at::Tensor& codes, const at::Tensor& absmax,
                                            c10::SymIntArrayRef shape, std::int64_t block_size,
                                            c10::ScalarType dtype) {
  AI_CORE_TRY(check_parts_meta(codes, absmax, block_size, dtype), kDequantizeContext);
  return at::empty_symint(shape, codes.options().dtype(dtype));
}

ai_core::Result<void> dequantize_out_meta(const at::Tensor& codes, const at::Tensor& absmax,
                                          c10::SymIntArrayRef shape, std::int64_t block_size,
                                          c10::ScalarType dtype, at::Tensor& out) {
  AI_CORE_TRY(check_parts_meta(codes, absmax, block_size, dtype), kDequantizeContext);
  if (out.scalar_type() != dtype) {
    return ai_core::CoreError::invalid_config(ai_core::str_cat(
        "nf4_dequantize.out: `out` has dtype ", ai_core::dtype_name(out.scalar_type()),
        "; expected ", ai_core::dtype_name(dtype), " (the `dtype` argument)"));
  }
  if (out.dim() != static_cast<std::int64_t>(shape.size())) {
    return ai_core::CoreError::dimension_mismatch(
        ai_core::str_cat("nf4_dequantize.out: `out` has ", out.dim(), " dimensions; expected ",
                         shape.size(), " (the `shape` argument)"));
  }
  return {};
}

}  // namespace
}  // namespace nf4

TORCH_LIBRARY_FRAGMENT(ai_core, m) {
  ai_core::define_op<&nf4::quantize, &nf4::quantize_meta>(
      m, "nf4_quantize(Tensor x, int block_size) -> (Tensor codes, Tensor absmax)");
  ai_core::define_op<&nf4::dequantize, &nf4::dequantize_meta>(
      m,
      "nf4_dequantize(Tensor codes, Tensor absmax, SymInt[] shape, int block_size, ScalarType "
      "dtype) -> Tensor");
  ai_core::define_op<&nf4::dequantize_out, &nf4::dequantize_out_meta>(
      m,
      "nf4_dequantize.out(Tensor codes, Tensor absmax, SymInt[] shape, int block_size, ScalarType "
      "dtype, *, Tensor(a!) out) -> ()");
}
