// SPDX-License-Identifier: MIT
// The CUDA kernel of the test op of dispatch_cuda_test.cu: y[i, j] = x[i, j] * scale + bias[j] over
// contiguous float32 memory. Kept apart from the test so that this translation unit sees no ATen.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace test_dispatch_cuda {

/// Launches y = x * scale + bias (bias broadcast over rows) on `stream`. `x` and `y` hold
/// rows * cols floats, `bias` cols floats, all device memory of the current device. Returns the
/// launch error (cudaGetLastError), cudaSuccess for an empty tensor.
cudaError_t launch_scale_bias(const float* x, const float* bias, float* y, float scale,
                              std::int64_t rows, std::int64_t cols, cudaStream_t stream);

}  // namespace test_dispatch_cuda
