// SPDX-License-Identifier: MIT
// Benchmarks of <ai_core/trace.hpp>: what the trace range inside `ai_core::dispatch` costs with
// tracing compiled in but off (goal: at most 2 ns, so the dispatch <= 1.02x goal holds), and what
// an enabled range costs in each sink (goal for NVTX: at most 100 ns without a tool attached).
//   Off:      BM_TraceRange_Off (the range alone), BM_Dispatch_Cpu_Numel against
//             BM_DispatchUntraced_Cpu_Numel (dispatch's CPU branch written out without the range)
//             and BM_DirectCpu_Numel (the op called directly).
//   NVTX:     BM_TraceRange_Nvtx against BM_NvtxRange_Raw (nvtxDomainRangePushEx/Pop by hand).
//   torch:    BM_TraceRange_Profiler against BM_RecordFunction_Torch (RECORD_USER_SCOPE), both with
//             no profiler session (the cost every traced op pays when nobody records).
//   Timeline: BM_TraceRange_Timeline_Cpu (host span, collection included every 65536 ranges).
//   GPU:      BM_DirectGpu_EmptyKernel, BM_Dispatch_Gpu_EmptyKernel (off), ..._Nvtx and
//             ..._Timeline (two CUDA events per launch), synchronised every 256 launches.
// The NVTX figures are without an NVTX tool; under `nsys profile` the tool's own cost is added.
#include <ai_core/device.hpp>
#include <ai_core/dispatch.hpp>
#include <ai_core/torch_error.hpp>
#include <ai_core/trace.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/randn.h>
#include <ATen/record_function.h>
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>

#if AI_CORE_WITH_CUDA
#  include <ATen/cuda/CUDAContext.h>
#  include <c10/cuda/CUDAFunctions.h>
#  include <cuda_runtime_api.h>
#  if __has_include(<nvtx3/nvToolsExt.h>)
#    include <nvtx3/nvToolsExt.h>
#    define AI_CORE_BENCH_HAS_NVTX 1
#  endif

namespace ai_core_bench {
void launch_empty_kernel(cudaStream_t stream);  // dispatch_benchmark.cu
}  // namespace ai_core_bench
#endif
#ifndef AI_CORE_BENCH_HAS_NVTX
#  define AI_CORE_BENCH_HAS_NVTX 0
#endif

namespace {

using ai_core::Result;

const c10::Device kCpu(c10::kCPU);

/// The smallest op: returns the element count, so dispatch's own overhead shows in nanoseconds.
struct NumelOp {
  using Input = at::Tensor;
  using Output = std::int64_t;
  std::string_view name() const { return "bench::Numel"; }
  Result<std::int64_t> dispatch_gpu(const at::Tensor& x, c10::Device) const { return x.numel(); }
  Result<std::int64_t> dispatch_cpu(const at::Tensor& x, c10::Device) const { return x.numel(); }
};

/// Switches the sinks for one benchmark and back off afterwards.
class Sinks {
 public:
  explicit Sinks(ai_core::TraceSink sinks) { ai_core::set_trace_sinks(sinks); }
  ~Sinks() {
    ai_core::set_trace_sinks(ai_core::TraceSink::none);
    (void)ai_core::take_timeline_events();
  }
};

void BM_DirectCpu_Numel(benchmark::State& state) {
  const NumelOp op;
  const at::Tensor x = at::randn({64});
  for (auto _ : state) benchmark::DoNotOptimize(op.dispatch_cpu(x, kCpu));
}

void BM_Dispatch_Cpu_Numel(benchmark::State& state) {
  const Sinks sinks(ai_core::TraceSink::none);
  const NumelOp op;
  const at::Tensor x = at::randn({64});
  for (auto _ : state) benchmark::DoNotOptimize(ai_core::dispatch(op, x, kCpu));
}

/// The CPU branch of `ai_core::dispatch` without its trace range: the reference the range's cost
/// is measured against.
template <class Op>
Result<typename Op::Output> dispatch_cpu_untraced(const Op& op, const typename Op::Input& input,
                                                  c10::Device device) {
  if (Result<void> status = ai_core::tensors_on_device(input, device); !status.has_value())
      [[unlikely]] {
    return std::move(status).error();
  }
  ai_core::warn_if_cpu(device, op.name());
  return ai_core::capture([&] { return op.dispatch_cpu(input, device); });
}

void BM_DispatchUntraced_Cpu_Numel(benchmark::State& state) {
  const NumelOp op;
  const at::Tensor x = at::randn({64});
  for (auto _ : state) benchmark::DoNotOptimize(dispatch_cpu_untraced(op, x, kCpu));
}

void BM_TraceRange_Off(benchmark::State& state) {
  const Sinks sinks(ai_core::TraceSink::none);
  for (auto _ : state) {
    const ai_core::TraceRange range("bench::Range", kCpu);
    benchmark::DoNotOptimize(&range);
  }
}

void BM_TraceRange_Nvtx(benchmark::State& state) {
  const Sinks sinks(ai_core::TraceSink::nvtx);
  const c10::Device cuda0(c10::kCUDA, 0);
  for (auto _ : state) {
    const ai_core::TraceRange range("bench::Range", cuda0);
    benchmark::DoNotOptimize(&range);
  }
}

#if AI_CORE_BENCH_HAS_NVTX
void BM_NvtxRange_Raw(benchmark::State& state) {
  const nvtxDomainHandle_t domain = nvtxDomainCreateA("ai_core_bench");
  for (auto _ : state) {
    nvtxEventAttributes_t attributes{};
    attributes.version = NVTX_VERSION;
    attributes.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    attributes.messageType = NVTX_MESSAGE_TYPE_ASCII;
    attributes.message.ascii = "bench::Range (cuda:0)";
    nvtxDomainRangePushEx(domain, &attributes);
    nvtxDomainRangePop(domain);
  }
  nvtxDomainDestroy(domain);
}
#endif

void BM_TraceRange_Profiler(benchmark::State& state) {
  const Sinks sinks(ai_core::TraceSink::profiler);
  for (auto _ : state) {
    const ai_core::TraceRange range("bench::Range", kCpu);
    benchmark::DoNotOptimize(&range);
  }
}

void BM_RecordFunction_Torch(benchmark::State& state) {
  for (auto _ : state) {
    RECORD_USER_SCOPE("bench::Range");
    benchmark::ClobberMemory();
  }
}

void BM_TraceRange_Timeline_Cpu(benchmark::State& state) {
  const Sinks sinks(ai_core::TraceSink::timeline);
  std::int64_t i = 0;
  for (auto _ : state) {
    {
      const ai_core::TraceRange range("bench::Range", kCpu);
      benchmark::DoNotOptimize(&range);
    }
    if (++i % 65536 == 0) benchmark::DoNotOptimize(ai_core::take_timeline_events());
  }
}

#if AI_CORE_WITH_CUDA

/// An op whose GPU path launches an empty kernel on the device's current stream.
struct EmptyKernelOp {
  using Input = at::Tensor;
  using Output = int;
  std::string_view name() const { return "bench::EmptyKernel"; }
  Result<int> dispatch_gpu(const at::Tensor&, c10::Device device) const {
    ai_core_bench::launch_empty_kernel(at::cuda::getCurrentCUDAStream(device.index()).stream());
    return 0;
  }
  Result<int> dispatch_cpu(const at::Tensor&, c10::Device) const { return 0; }
};

constexpr int kSyncEvery = 256;

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

void dispatch_empty_kernels(benchmark::State& state, ai_core::TraceSink sink) {
  const Sinks sinks(sink);
  const EmptyKernelOp op;
  const c10::Device cuda0(c10::kCUDA, 0);
  const at::Tensor x = at::empty({16}, at::TensorOptions().device(cuda0));
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ai_core::dispatch(op, x, cuda0));
    if (++i % kSyncEvery == 0) {
      (void)cudaDeviceSynchronize();
      if (i % (16 * kSyncEvery) == 0) benchmark::DoNotOptimize(ai_core::take_timeline_events());
    }
  }
  (void)cudaDeviceSynchronize();
}

void BM_Dispatch_Gpu_EmptyKernel(benchmark::State& state) {
  dispatch_empty_kernels(state, ai_core::TraceSink::none);
}
void BM_Dispatch_Gpu_EmptyKernel_Nvtx(benchmark::State& state) {
  dispatch_empty_kernels(state, ai_core::TraceSink::nvtx);
}
void BM_Dispatch_Gpu_EmptyKernel_Timeline(benchmark::State& state) {
  dispatch_empty_kernels(state, ai_core::TraceSink::timeline);
}

#endif  // AI_CORE_WITH_CUDA

}  // namespace

int main(int argc, char** argv) {
  // Decide the sinks now (RUST_AI_TRACE is ignored here): each benchmark sets its own.
  ai_core::set_trace_sinks(ai_core::TraceSink::none);
  (void)ai_core::cuda_available();      // The probe runs once, outside any timing.
  ai_core::warn_if_cpu(kCpu, "bench");  // Spend the one-time CPU warning outside any timing.
  benchmark::RegisterBenchmark("BM_DirectCpu_Numel", BM_DirectCpu_Numel);
  benchmark::RegisterBenchmark("BM_DispatchUntraced_Cpu_Numel", BM_DispatchUntraced_Cpu_Numel);
  benchmark::RegisterBenchmark("BM_Dispatch_Cpu_Numel", BM_Dispatch_Cpu_Numel);
  // The pair again in the other order: nanosecond differences drift over a run.
  benchmark::RegisterBenchmark("BM_Dispatch_Cpu_Numel_Again", BM_Dispatch_Cpu_Numel);
  benchmark::RegisterBenchmark("BM_DispatchUntraced_Cpu_Numel_Again",
                               BM_DispatchUntraced_Cpu_Numel);
  benchmark::RegisterBenchmark("BM_TraceRange_Off", BM_TraceRange_Off);
  benchmark::RegisterBenchmark("BM_TraceRange_Nvtx", BM_TraceRange_Nvtx);
#if AI_CORE_BENCH_HAS_NVTX
  benchmark::RegisterBenchmark("BM_NvtxRange_Raw", BM_NvtxRange_Raw);
#endif
  benchmark::RegisterBenchmark("BM_TraceRange_Profiler", BM_TraceRange_Profiler);
  benchmark::RegisterBenchmark("BM_RecordFunction_Torch", BM_RecordFunction_Torch);
  benchmark::RegisterBenchmark("BM_TraceRange_Timeline_Cpu", BM_TraceRange_Timeline_Cpu);
#if AI_CORE_WITH_CUDA
  if (c10::cuda::device_count() > 0) {
    benchmark::RegisterBenchmark("BM_DirectGpu_EmptyKernel", BM_DirectGpu_EmptyKernel);
    benchmark::RegisterBenchmark("BM_Dispatch_Gpu_EmptyKernel", BM_Dispatch_Gpu_EmptyKernel);
    benchmark::RegisterBenchmark("BM_Dispatch_Gpu_EmptyKernel_Nvtx",
                                 BM_Dispatch_Gpu_EmptyKernel_Nvtx);
    benchmark::RegisterBenchmark("BM_Dispatch_Gpu_EmptyKernel_Timeline",
                                 BM_Dispatch_Gpu_EmptyKernel_Timeline);
    benchmark::RegisterBenchmark("BM_Dispatch_Gpu_EmptyKernel_Again", BM_Dispatch_Gpu_EmptyKernel);
    benchmark::RegisterBenchmark("BM_DirectGpu_EmptyKernel_Again", BM_DirectGpu_EmptyKernel);
  } else {
    std::fprintf(stderr, "trace_benchmark: no CUDA device, the GPU benchmarks are skipped\n");
  }
#else
  std::fprintf(stderr, "trace_benchmark: built without CUDA, the GPU benchmarks are skipped\n");
#endif
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
