// SPDX-License-Identifier: MIT
// src/buffers.hpp (private to ai_core_nf4): the small helpers the plain and the double-quantized
// operations share: block arithmetic and the borrowing buffer of a checked tensor.
#pragma once

#include <nf4/error.hpp>

#include <ai_core/dtype.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/str_cat.hpp>

#include <ATen/core/Tensor.h>

#include <bit>
#include <cstdint>
#include <string_view>

namespace nf4::detail {

/// Returns log2 of `size`, a power of two (block sizes are checked before).
inline int log2_of(std::int64_t size) { return std::countr_zero(static_cast<std::uint64_t>(size)); }

/// Returns ceil(a / b) for a >= 0, b > 0.
inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return a / b + (a % b != 0 ? 1 : 0);
}

/// Returns a borrowing buffer of `tensor` on the CPU or a CUDA device: contiguous, of `dtypes`.
/// The rvalue overloads of the interop factories are deleted; `tensor` must outlive the buffer.
inline ai_core::Result<ai_core::TensorBufferView> buffer_of(const at::Tensor& tensor, bool cuda,
                                                            ai_core::DtypeSet dtypes,
                                                            ai_core::Access access,
                                                            std::string_view name) {
  const ai_core::BufferRequirements requirements{.dtypes = dtypes,
                                                 .contiguity = ai_core::Contiguity::required,
                                                 .access = access,
                                                 .name = name};
  return cuda ? ai_core::as_cuda_buffer(tensor, requirements)
              : ai_core::as_host_buffer(tensor, requirements);
}

/// Checks one stored part of a quantized tensor (codes, absmax, ...): defined, of `dtype`, 1-D and
/// contiguous. `what` names the tensor in messages ("nf4 tensor", "nf4 double-quant tensor").
inline Nf4Result<void> check_part(const at::Tensor& part, std::string_view what,
                                  std::string_view name, c10::ScalarType dtype) {
  if (!part.defined()) {
    return ai_core::CoreError::invalid_config(ai_core::str_cat(
        what, ": ", name, " is undefined; expected a 1-D ", ai_core::dtype_name(dtype), " tensor"));
  }
  if (part.scalar_type() != dtype) {
    return ai_core::CoreError::invalid_config(
        ai_core::str_cat(what, ": ", name, " has dtype ", ai_core::dtype_name(part.scalar_type()),
                         "; expected ", ai_core::dtype_name(dtype)));
  }
  if (part.dim() != 1) {
    return ai_core::CoreError::dimension_mismatch(
        ai_core::str_cat(what, ": ", name, " has ", part.dim(), " dimensions (shape ", part.sizes(),
                         "); expected 1"));
  }
  if (!part.is_contiguous()) {
    return ai_core::CoreError::invalid_config(
        ai_core::str_cat(what, ": ", name, " is not contiguous (stride ", part.stride(0),
                         "); expected stride 1 (call .contiguous() first)"));
  }
  return {};
}

}  // namespace nf4::detail
