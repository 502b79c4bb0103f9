// SPDX-License-Identifier: MIT
// Device selection costs, side by side with the libtorch way of asking "is there CUDA?".
// The goal and the figures are in docs/benchmarks.md. `<torch/cuda.h>` is included here only.
//   BM_GetDevice_CachedCudaPath     cuda:0 from a fake 2-device probe (the CUDA branch, any
//                                   machine)
//   BM_GetDevice_CachedSystemProbe  the real probe: cuda:0 on a GPU machine, CPU fallback without
//   BM_GetDevice_ForceCpu           force_cpu (no probe)
//   BM_WarnIfCpu_AlreadyWarned      the warn-once fast path of a known component
//   BM_CudaAvailable_Cached         ai_core::cuda_available()
//   BM_FromEnv_NothingSet / _ThreeVariablesSet / _LookupFunction   reading the environment
//   BM_TorchCudaIsAvailable         torch::cuda::is_available()
//   BM_TorchCudaDeviceCount         torch::cuda::device_count()
#include <ai_core/device.hpp>
#include <ai_core/log.hpp>
#include <ai_core/testing/cuda_probe.hpp>

#include <benchmark/benchmark.h>
#include <torch/cuda.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

namespace {

void BM_GetDevice_CachedCudaPath(benchmark::State& state) {
  ai_core::testing::ScopedCudaProbe probe(std::make_shared<ai_core::testing::FakeCudaProbe>(
      ai_core::testing::FakeCudaProbe::with_devices(2)));
  const auto config = ai_core::DeviceConfig{}.with_component("benchmark");
  (void)ai_core::get_device(config);  // Probe and log once, outside the timed loop.
  for (auto _ : state) {
    auto device = ai_core::get_device(config);
    benchmark::DoNotOptimize(device);
  }
}
BENCHMARK(BM_GetDevice_CachedCudaPath);

void BM_GetDevice_CachedSystemProbe(benchmark::State& state) {
  ai_core::testing::ScopedCudaProbe probe(nullptr);
  const auto config = ai_core::DeviceConfig{}.with_component("benchmark");
  auto first = ai_core::get_device(config);
  state.SetLabel(first ? first->str() : "error");
  for (auto _ : state) {
    auto device = ai_core::get_device(config);
    benchmark::DoNotOptimize(device);
  }
}
BENCHMARK(BM_GetDevice_CachedSystemProbe);

void BM_GetDevice_ForceCpu(benchmark::State& state) {
  const auto config = ai_core::DeviceConfig{}.with_force_cpu(true).with_component("benchmark");
  (void)ai_core::get_device(config);
  for (auto _ : state) {
    auto device = ai_core::get_device(config);
    benchmark::DoNotOptimize(device);
  }
}
BENCHMARK(BM_GetDevice_ForceCpu);

void BM_WarnIfCpu_AlreadyWarned(benchmark::State& state) {
  const c10::Device cpu(c10::DeviceType::CPU);
  ai_core::warn_if_cpu(cpu, "benchmark");
  for (auto _ : state) {
    ai_core::warn_if_cpu(cpu, "benchmark");
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_WarnIfCpu_AlreadyWarned);

void BM_CudaAvailable_Cached(benchmark::State& state) {
  benchmark::DoNotOptimize(ai_core::cuda_available());
  for (auto _ : state) benchmark::DoNotOptimize(ai_core::cuda_available());
}
BENCHMARK(BM_CudaAvailable_Cached);

void BM_FromEnv_NothingSet(benchmark::State& state) {
  for (auto _ : state) {
    auto config = ai_core::DeviceConfig::from_env();
    benchmark::DoNotOptimize(config);
  }
}
BENCHMARK(BM_FromEnv_NothingSet);

void BM_FromEnv_ThreeVariablesSet(benchmark::State& state) {
  ::setenv("RUST_AI_FORCE_CPU", "0", 1);
  ::setenv("RUST_AI_CUDA_DEVICE", "1", 1);
  ::setenv("RUST_AI_CPU_FALLBACK", "error", 1);
  for (auto _ : state) {
    auto config = ai_core::DeviceConfig::from_env();
    benchmark::DoNotOptimize(config);
  }
  ::unsetenv("RUST_AI_FORCE_CPU");
  ::unsetenv("RUST_AI_CUDA_DEVICE");
  ::unsetenv("RUST_AI_CPU_FALLBACK");
}
BENCHMARK(BM_FromEnv_ThreeVariablesSet);

void BM_FromEnv_LookupFunction(benchmark::State& state) {
  const ai_core::EnvLookup lookup = [](std::string_view name) -> std::optional<std::string> {
    if (name == "RUST_AI_CUDA_DEVICE") return std::string("1");
    return std::nullopt;
  };
  for (auto _ : state) {
    auto config = ai_core::DeviceConfig::from_env(lookup);
    benchmark::DoNotOptimize(config);
  }
}
BENCHMARK(BM_FromEnv_LookupFunction);

void BM_TorchCudaIsAvailable(benchmark::State& state) {
  benchmark::DoNotOptimize(torch::cuda::is_available());
  for (auto _ : state) benchmark::DoNotOptimize(torch::cuda::is_available());
}
BENCHMARK(BM_TorchCudaIsAvailable);

void BM_TorchCudaDeviceCount(benchmark::State& state) {
  benchmark::DoNotOptimize(torch::cuda::device_count());
  for (auto _ : state) benchmark::DoNotOptimize(torch::cuda::device_count());
}
BENCHMARK(BM_TorchCudaDeviceCount);

}  // namespace

BENCHMARK_MAIN();
