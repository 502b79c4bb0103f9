// SPDX-License-Identifier: MIT
// The empty kernel of dispatch_benchmark.cpp: what `dispatch(op, x, cuda)` is compared against
// `op.dispatch_gpu(x, cuda)` with, so that the launch dominates and the overhead shows.
#include <cuda_runtime_api.h>

namespace ai_core_bench {
namespace {
__global__ void empty_kernel() {}
}  // namespace

/// Launches an empty kernel (one block of one thread) on `stream`.
void launch_empty_kernel(cudaStream_t stream) { empty_kernel<<<1, 1, 0, stream>>>(); }

}  // namespace ai_core_bench
