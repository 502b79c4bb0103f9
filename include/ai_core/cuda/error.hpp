// SPDX-License-Identifier: MIT
// ai_core/cuda/error.hpp: CUDA runtime errors as CoreErrors, for .cu files and other code that
// calls the CUDA runtime directly. Includes <cuda_runtime_api.h> and ai_core's error headers,
// not libtorch's tensor headers, so it compiles under nvcc (C++20).
//
// `cudaErrorMemoryAllocation` becomes `out_of_memory`; every other error `kernel_error`; both keep
// the CUDA error number and name in `cuda_info()`.
//
// Example (in a function returning some Result<U>):
//   my_kernel<<<grid, block, 0, stream>>>(view);
//   AI_CORE_CUDA_TRY(cudaGetLastError(), "launching my_kernel");
#pragma once

#include <ai_core/detail/config.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/str_cat.hpp>

#include <cuda_runtime_api.h>

#include <source_location>
#include <string>
#include <string_view>

namespace ai_core {

/// Returns `status` as a CoreError: `out_of_memory` for `cudaErrorMemoryAllocation`, else
/// `kernel_error`; the message is "`what`: <cudaGetErrorString> (<cudaGetErrorName> = <number>)"
/// and `cuda_info()` holds the number and the name. `status` should not be `cudaSuccess` (it
/// would make a `kernel_error` named cudaSuccess). Does not need a GPU.
[[nodiscard]] inline CoreError from_cuda_error(
    cudaError_t status, std::string_view what = {},
    std::source_location location = std::source_location::current()) {
  const char* name = cudaGetErrorName(status);
  const char* description = cudaGetErrorString(status);
  std::string message = what.empty() ? std::string() : str_cat(what, ": ");
  message += description != nullptr ? description : "unknown CUDA error";
  return CoreError::cuda(static_cast<int>(status), name != nullptr ? name : "cudaErrorUnknown",
                         std::move(message), location);
}

/// Returns success for `cudaSuccess`, else `from_cuda_error(status, what)`.
[[nodiscard]] inline Result<void> check_cuda(
    cudaError_t status, std::string_view what = {},
    std::source_location location = std::source_location::current()) {
  if (status == cudaSuccess) [[likely]]
    return {};
  return from_cuda_error(status, what, location);
}

namespace detail {
// Makes AI_CORE_CUDA_TRY's error out of line (Note [cold error paths] in result_macros.hpp).
template <class... Parts>
AI_CORE_INTERNAL_COLD Unexpected<CoreError> cuda_failed(cudaError_t status, const char* expr,
                                                        std::source_location location,
                                                        const Parts&... parts) {
  CoreError error = from_cuda_error(status, expr, location);
  if constexpr (sizeof...(Parts) > 0) error.with_context(str_cat(parts...));
  return Unexpected<CoreError>(std::move(error));
}
}  // namespace detail

}  // namespace ai_core

/// Evaluates `expr` (a `cudaError_t`) once; if it is not `cudaSuccess`, returns
/// `ai_core::from_cuda_error(status, "<expr>")` from the enclosing function (which returns any
/// `Result<U>` or an `Expected` whose error can be made from CoreError), recorded at the caller's
/// location. Optional further arguments are joined with `ai_core::str_cat` and appended as a
/// context line.
///
/// WARNING: expands to a statement (a `do { } while (false)` block) containing a `return`. It does
/// not clear CUDA's sticky errors; the context arguments are evaluated only on the error path.
///
/// Example:
///   AI_CORE_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream));
#define AI_CORE_CUDA_TRY(expr, ...)                                                          \
  do {                                                                                       \
    const ::cudaError_t ai_core_internal_cuda_status = (expr);                               \
    if (ai_core_internal_cuda_status != ::cudaSuccess) [[unlikely]] {                        \
      return ::ai_core::detail::cuda_failed(ai_core_internal_cuda_status, #expr,             \
                                            ::std::source_location::current() __VA_OPT__(, ) \
                                                __VA_ARGS__);                                \
    }                                                                                        \
  } while (false)
