// SPDX-License-Identifier: MIT
// The CUDA kernel of the test op of dispatch_cuda_test.cu (scale_bias_kernel.hpp).
#include "scale_bias_kernel.hpp"

#include <algorithm>

namespace test_dispatch_cuda {
namespace {

__global__ void scale_bias_kernel(const float* __restrict__ x, const float* __restrict__ bias,
                                  float* __restrict__ y, float scale, std::int64_t n,
                                  std::int64_t cols) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    y[i] = fmaf(x[i], scale, bias[i % cols]);
  }
}

}  // namespace

cudaError_t launch_scale_bias(const float* x, const float* bias, float* y, float scale,
                              std::int64_t rows, std::int64_t cols, cudaStream_t stream) {
  const std::int64_t n = rows * cols;
  if (n == 0) return cudaSuccess;
  constexpr int kThreads = 256;
  const auto blocks = static_cast<unsigned int>(
      std::min<std::int64_t>((n + kThreads - 1) / kThreads, std::int64_t{65535}));
  scale_bias_kernel<<<blocks, kThreads, 0, stream>>>(x, bias, y, scale, n, cols);
  return cudaGetLastError();
}

}  // namespace test_dispatch_cuda
