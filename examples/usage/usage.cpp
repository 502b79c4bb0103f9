// SPDX-License-Identifier: MIT
// The README's usage example, compiled and run as a test so that it never goes stale: a
// GPU-dispatchable op that scales a tensor, run on the device ai_core selects.
#include <ai_core/ai_core.hpp>

#include <ATen/ops/mul.h>
#include <ATen/ops/ones.h>

#include <cstdio>

struct Scale {  // models ai_core::GpuDispatchable
  using Input = at::Tensor;
  using Output = at::Tensor;
  float factor = 2.0f;
  std::string_view name() const { return "usage::Scale"; }
  ai_core::Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device) const {
    return ai_core::capture([&] { return at::mul(x, factor); });  // a real op would launch a kernel
  }
  ai_core::Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device) const {
    return ai_core::capture([&] { return at::mul(x, factor); });
  }
};

ai_core::Result<float> run() {
  AI_CORE_ASSIGN_OR_RETURN(auto config, ai_core::DeviceConfig::from_env());
  AI_CORE_ASSIGN_OR_RETURN(c10::Device device, ai_core::get_device(config.with_component("usage")));
  const at::Tensor x = at::ones({4, 4}, at::TensorOptions().device(device));
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor y, ai_core::dispatch(Scale{}, x, device), "scaling x");
  AI_CORE_ASSIGN_OR_RETURN(ai_core::TensorBufferView buffer,  // zero-copy view for a kernel
                           y.is_cuda() ? ai_core::as_cuda_buffer(y) : ai_core::as_host_buffer(y));
  AI_CORE_ASSIGN_OR_RETURN(auto view, (ai_core::make_tensor_view<float, 2>(buffer)));
  std::printf("ran on %s; y is %lld x %lld\n", device.str().c_str(),
              static_cast<long long>(view.size(0)), static_cast<long long>(view.size(1)));
  return y.sum().item<float>();
}

int main() {
  ai_core::Result<float> sum = run();
  if (!sum) {
    std::fprintf(stderr, "%s\n", sum.error().to_string().c_str());
    return 1;
  }
  return *sum == 32.0f ? 0 : 1;
}
