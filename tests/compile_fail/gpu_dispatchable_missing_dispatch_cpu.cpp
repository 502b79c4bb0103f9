// SPDX-License-Identifier: MIT
// Must not compile: ai_core::dispatch on an op without a CPU path.
// (tests/compile_fail/CMakeLists.txt holds the expected message).
#include <ai_core/dispatch.hpp>

#include <ATen/core/Tensor.h>

struct GpuOnlyOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  ai_core::Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device) const { return x; }
};

ai_core::Result<at::Tensor> run(const at::Tensor& x, c10::Device device) {
  return ai_core::dispatch(GpuOnlyOp{}, x, device);
}
