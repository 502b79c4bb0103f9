// SPDX-License-Identifier: MIT
// Must not compile: an op whose dispatch_gpu is not const (implementors are shared between
// threads).
// (tests/compile_fail/CMakeLists.txt holds the expected message).
#include <ai_core/concepts.hpp>

#include <ATen/core/Tensor.h>

struct CountingOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  int calls = 0;
  ai_core::Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device) {
    ++calls;
    return x;
  }
  ai_core::Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device) const { return x; }
};

static_assert(ai_core::check_gpu_dispatchable<CountingOp>());
