// SPDX-License-Identifier: MIT
// Must not compile: an op without the member type Input.
// (tests/compile_fail/CMakeLists.txt holds the expected message).
#include <ai_core/concepts.hpp>

#include <ATen/core/Tensor.h>

struct NoInputOp {
  using Output = at::Tensor;
  ai_core::Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device) const { return x; }
  ai_core::Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device) const { return x; }
};

static_assert(ai_core::check_gpu_dispatchable<NoInputOp>());
