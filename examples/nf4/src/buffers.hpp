// SPDX-License-Identifier: MIT
// src/buffers.hpp (private to ai_core_nf4): the small helpers the plain and the double-quantized
// operations share: block arithmetic and the borrowing buffer of a checked tensor.
#pragma once

#include <ai_core/dtype.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/interop.hpp>

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

}  // namespace nf4::detail
