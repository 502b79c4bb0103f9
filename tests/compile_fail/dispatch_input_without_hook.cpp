// SPDX-License-Identifier: MIT
// Must not compile: dispatch with an input struct that has no ai_core_tensors_on_device hook.
// (tests/compile_fail/CMakeLists.txt holds the expected message).
#include <ai_core/dispatch.hpp>

#include <ATen/core/Tensor.h>

struct PairInput {
  at::Tensor a;
  at::Tensor b;
};

struct AddOp {
  using Input = PairInput;
  using Output = at::Tensor;
  ai_core::Result<at::Tensor> dispatch_gpu(const PairInput& in, c10::Device) const { return in.a; }
  ai_core::Result<at::Tensor> dispatch_cpu(const PairInput& in, c10::Device) const { return in.a; }
};

ai_core::Result<at::Tensor> run(const PairInput& in, c10::Device device) {
  return ai_core::dispatch(AddOp{}, in, device);
}
