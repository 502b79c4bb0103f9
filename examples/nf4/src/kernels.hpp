// SPDX-License-Identifier: MIT
// src/kernels.hpp (private to ai_core_nf4): the NF4 kernels over raw, already validated memory.
//
// The public operations (quantizer.cpp) check every input, allocate outputs and then call these.
// Nothing here validates: pointers are non-null and sized as stated, `log2_block` is in [5, 12],
// `numel` > 0. The CPU functions run on the calling thread (parallelised with at::parallel_for);
// the CUDA launchers (under AI_CORE_WITH_CUDA) only enqueue work on the given stream.
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>

namespace nf4::detail {

/// Returns "no non-finite element" from the quantize functions.
inline constexpr std::int64_t kAllFinite = -1;

/// Quantizes `numel` values of type `dtype` (f32, f16 or bf16) at `input` into `codes`
/// (ceil(numel / 2) bytes, element 2j in the high nibble of byte j, a trailing pad nibble
/// `kZeroCode`) and `absmax` (ceil(numel / block) floats). Returns the index of the first
/// element that is NaN or infinite, or `kAllFinite`; when one exists the outputs are unspecified.
std::int64_t quantize_cpu(const void* input, c10::ScalarType dtype, std::int64_t numel,
                          int log2_block, std::uint8_t* codes, float* absmax);

/// Dequantizes `numel` elements from `codes` and `absmax` into `output` of type `dtype`
/// (f32, f16 or bf16): output[e] = dtype(kCodeValues[code(e)] * absmax[e / block]), the product in
/// float32, rounded to nearest even into `dtype`.
void dequantize_cpu(const std::uint8_t* codes, const float* absmax, std::int64_t numel,
                    int log2_block, void* output, c10::ScalarType dtype);

#if AI_CORE_WITH_CUDA
/// The CUDA launchers' error: 0 on success, else the `cudaError_t` value of the failed launch.
using CudaStatus = int;

/// Enqueues the NF4 quantize kernel on `stream` (a `cudaStream_t`). Same layout as `quantize_cpu`.
/// `first_bad` (device memory, one unsigned 64-bit integer) must hold UINT64_MAX; the kernel
/// lowers it to the index of the first NaN/Inf element, if any.
CudaStatus quantize_cuda(const void* input, c10::ScalarType dtype, std::int64_t numel,
                         int log2_block, std::uint8_t* codes, float* absmax,
                         unsigned long long* first_bad, void* stream);

/// Enqueues the NF4 dequantize kernel on `stream` (a `cudaStream_t`). Same results as
/// `dequantize_cpu`, bit for bit. Uses 8-byte code loads and 16-byte stores when `codes` is 8-byte
/// and `output` 16-byte aligned, else a per-element path.
CudaStatus dequantize_cuda(const std::uint8_t* codes, const float* absmax, std::int64_t numel,
                           int log2_block, void* output, c10::ScalarType dtype, void* stream);

/// Returns the name of CUDA error `status` ("cudaErrorInvalidValue").
const char* cuda_error_name(CudaStatus status);
#endif

}  // namespace nf4::detail
