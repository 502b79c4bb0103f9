// SPDX-License-Identifier: MIT
// Benchmarks of <ai_core/dispatch.hpp>: the cost of `ai_core::dispatch(op, x, device)` over calling
// the op's own path directly (goal: at most 2% on a small op), and the device guard it runs CUDA
// work under against c10's (Note [cheap device guard] in src/device_guard.cpp).
//   CPU: BM_Dispatch_Cpu_* against BM_DirectCpu_* (a no-op, and a 64-element x * s + b).
//   GPU: BM_Dispatch_Gpu_EmptyKernel against BM_DirectGpu_EmptyKernel (host time of an empty
//        launch, synchronised every 256 launches in both), and the guards: BM_Guard_DeviceScope,
//        BM_Guard_OptionalCUDAGuard, BM_Guard_CudaGetDevice, BM_Guard_CurrentContext (the driver
//        query the scope makes), and with two GPUs the switching variants.
// The GPU cases are registered only when a CUDA device is present; otherwise the binary says so.
#include <ai_core/detail/device_scope.hpp>
#include <ai_core/dispatch.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/randn.h>
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <tuple>

#if AI_CORE_WITH_CUDA
#  include <ATen/cuda/CUDAContext.h>
#  include <c10/cuda/CUDAFunctions.h>
#  include <c10/cuda/CUDAGuard.h>
#  include <cuda_runtime_api.h>

namespace ai_core_bench {
void launch_empty_kernel(cudaStream_t stream);  // dispatch_benchmark.cu
}  // namespace ai_core_bench
#endif

namespace {

using ai_core::Result;

const c10::Device kCpu(c10::kCPU);

/// The smallest op: returns the element count. Measures dispatch's own overhead in nanoseconds.
struct NumelOp {
  using Input = at::Tensor;
  using Output = std::int64_t;
  std::string_view name() const { return "bench::Numel"; }
  Result<std::int64_t> dispatch_gpu(const at::Tensor& x, c10::Device) const { return x.numel(); }
  Result<std::int64_t> dispatch_cpu(const at::Tensor& x, c10::Device) const { return x.numel(); }
};

/// A small real op: y = x * 2 + b with libtorch ops on 64 floats (the goal ratio's case).
struct ScaleBiasOp {
  using Input = std::tuple<at::Tensor, at::Tensor>;
  using Output = at::Tensor;
  std::string_view name() const { return "bench::ScaleBias"; }
  Result<at::Tensor> dispatch_gpu(const Input& in, c10::Device) const {
    return std::get<0>(in).mul(2.0).add(std::get<1>(in));
  }
  Result<at::Tensor> dispatch_cpu(const Input& in, c10::Device) const {
    return std::get<0>(in).mul(2.0).add(std::get<1>(in));
  }
};

void BM_DirectCpu_Numel(benchmark::State& state) {
  const NumelOp op;
  const at::Tensor x = at::randn({64});
  for (auto _ : state) benchmark::DoNotOptimize(op.dispatch_cpu(x, kCpu));
}

void BM_Dispatch_Cpu_Numel(benchmark::State& state) {
  const NumelOp op;
  const at::Tensor x = at::randn({64});
  for (auto _ : state) benchmark::DoNotOptimize(ai_core::dispatch(op, x, kCpu));
}

void BM_DirectCpu_ScaleBias(benchmark::State& state) {
  const ScaleBiasOp op;
  const ScaleBiasOp::Input in{at::randn({64}), at::randn({64})};
  for (auto _ : state) benchmark::DoNotOptimize(op.dispatch_cpu(in, kCpu));
}

void BM_Dispatch_Cpu_ScaleBias(benchmark::State& state) {
  const ScaleBiasOp op;
  const ScaleBiasOp::Input in{at::randn({64}), at::randn({64})};
  for (auto _ : state) benchmark::DoNotOptimize(ai_core::dispatch(op, in, kCpu));
}

void BM_TensorsOnDevice_Tuple3(benchmark::State& state) {
  const auto in = std::make_tuple(at::randn({4}), at::randn({4}), at::randn({4}));
  for (auto _ : state) benchmark::DoNotOptimize(ai_core::tensors_on_device(in, kCpu));
}

#if AI_CORE_WITH_CUDA

/// An op whose GPU path launches an empty kernel on the device's current stream.
struct EmptyKernelOp {
  using Input = at::Tensor;
  using Output = int;
  Result<int> dispatch_gpu(const at::Tensor&, c10::Device device) const {
    ai_core_bench::launch_empty_kernel(at::cuda::getCurrentCUDAStream(device.index()).stream());
    return 0;
  }
  Result<int> dispatch_cpu(const at::Tensor&, c10::Device) const { return 0; }
};

constexpr int kSyncEvery = 256;  // Keeps the launch queue from filling; the same in both cases.

void BM_DirectGpu_EmptyKernel(benchmark::State& state) {
  const EmptyKernelOp op;
  const c10::Device cuda0(c10::kCUDA, 0);
  const at::Tensor x = at::empty({16}, at::TensorOptions().device(cuda0));
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(op.dispatch_gpu(x, cuda0));
    if (++i % kSyncEvery == 0) (void)cudaDeviceSynchronize();
  }
  (void)cudaDeviceSynchronize();
}

void BM_Dispatch_Gpu_EmptyKernel(benchmark::State& state) {
  const EmptyKernelOp op;
  const c10::Device cuda0(c10::kCUDA, 0);
  const at::Tensor x = at::empty({16}, at::TensorOptions().device(cuda0));
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ai_core::dispatch(op, x, cuda0));
    if (++i % kSyncEvery == 0) (void)cudaDeviceSynchronize();
  }
  (void)cudaDeviceSynchronize();
}

void BM_Guard_OptionalCUDAGuard(benchmark::State& state) {
  (void)cudaSetDevice(0);
  const c10::Device cuda0(c10::kCUDA, 0);
  for (auto _ : state) {
    c10::cuda::OptionalCUDAGuard guard(cuda0);
    benchmark::DoNotOptimize(&guard);
  }
}

void BM_Guard_DeviceScope(benchmark::State& state) {
  (void)cudaSetDevice(0);
  const c10::Device cuda0(c10::kCUDA, 0);
  for (auto _ : state) {
    const ai_core::detail::DeviceScope scope(cuda0);
    benchmark::DoNotOptimize(scope.ok());
  }
}

void BM_Guard_CudaGetDevice(benchmark::State& state) {
  (void)cudaSetDevice(0);
  for (auto _ : state) {
    int device = -1;
    benchmark::DoNotOptimize(cudaGetDevice(&device));
    benchmark::DoNotOptimize(device);
  }
}

void BM_Guard_CurrentContext(benchmark::State& state) {
  (void)cudaSetDevice(0);
  for (auto _ : state) benchmark::DoNotOptimize(ai_core::detail::current_cuda_context());
}

// Two GPUs: cuda:0 current, the guard enters cuda:1 and restores cuda:0 each iteration.
void BM_Guard_OptionalCUDAGuard_Switch(benchmark::State& state) {
  (void)cudaSetDevice(0);
  const c10::Device cuda1(c10::kCUDA, 1);
  for (auto _ : state) {
    c10::cuda::OptionalCUDAGuard guard(cuda1);
    benchmark::DoNotOptimize(&guard);
  }
}

void BM_Guard_DeviceScope_Switch(benchmark::State& state) {
  (void)cudaSetDevice(0);
  const c10::Device cuda1(c10::kCUDA, 1);
  for (auto _ : state) {
    const ai_core::detail::DeviceScope scope(cuda1);
    benchmark::DoNotOptimize(scope.ok());
  }
}

#endif  // AI_CORE_WITH_CUDA

}  // namespace

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("BM_DirectCpu_Numel", BM_DirectCpu_Numel);
  benchmark::RegisterBenchmark("BM_Dispatch_Cpu_Numel", BM_Dispatch_Cpu_Numel);
  benchmark::RegisterBenchmark("BM_DirectCpu_ScaleBias", BM_DirectCpu_ScaleBias);
  benchmark::RegisterBenchmark("BM_Dispatch_Cpu_ScaleBias", BM_Dispatch_Cpu_ScaleBias);
  benchmark::RegisterBenchmark("BM_TensorsOnDevice_Tuple3", BM_TensorsOnDevice_Tuple3);
#if AI_CORE_WITH_CUDA
  const int gpus = c10::cuda::device_count();
  if (gpus > 0) {
    benchmark::RegisterBenchmark("BM_DirectGpu_EmptyKernel", BM_DirectGpu_EmptyKernel);
    benchmark::RegisterBenchmark("BM_Dispatch_Gpu_EmptyKernel", BM_Dispatch_Gpu_EmptyKernel);
    // The pair again in the other order: launch-bound figures drift over a run, and the ratio is
    // only meaningful when it holds in both orders.
    benchmark::RegisterBenchmark("BM_Dispatch_Gpu_EmptyKernel_Again", BM_Dispatch_Gpu_EmptyKernel);
    benchmark::RegisterBenchmark("BM_DirectGpu_EmptyKernel_Again", BM_DirectGpu_EmptyKernel);
    benchmark::RegisterBenchmark("BM_Guard_OptionalCUDAGuard", BM_Guard_OptionalCUDAGuard);
    benchmark::RegisterBenchmark("BM_Guard_DeviceScope", BM_Guard_DeviceScope);
    benchmark::RegisterBenchmark("BM_Guard_CudaGetDevice", BM_Guard_CudaGetDevice);
    benchmark::RegisterBenchmark("BM_Guard_CurrentContext", BM_Guard_CurrentContext);
  } else {
    std::fprintf(stderr, "dispatch_benchmark: no CUDA device, the GPU benchmarks are skipped\n");
  }
  if (gpus > 1) {
    benchmark::RegisterBenchmark("BM_Guard_OptionalCUDAGuard_Switch",
                                 BM_Guard_OptionalCUDAGuard_Switch);
    benchmark::RegisterBenchmark("BM_Guard_DeviceScope_Switch", BM_Guard_DeviceScope_Switch);
  } else if (gpus == 1) {
    std::fprintf(stderr,
                 "dispatch_benchmark: one CUDA device, the *_Switch benchmarks are skipped\n");
  }
#else
  std::fprintf(stderr, "dispatch_benchmark: built without CUDA, the GPU benchmarks are skipped\n");
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
