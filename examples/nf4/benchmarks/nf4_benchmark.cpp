// SPDX-License-Identifier: MIT
// NF4 benchmarks (Google Benchmark), one binary: ai_core_nf4's kernels against what a libtorch
// user writes today (the dequantization in libtorch ops: a lookup of the 16 NF4 levels, times
// absmax) and
// against a plain copy of the same number of bytes, on the GPU (64M elements to bf16, timed with
// CUDA events and manual time) and on the CPU (16M elements, wall time).
//
// Bytes counted for dequantization: codes read + absmax read + output written; for quantization:
// input read + codes and absmax written; for the copy: bytes read + bytes written. Counters:
// `bytes_per_second` (SetBytesProcessed) and `frac_of_copy`, the kernel's bandwidth over the
// copy bandwidth measured in the same run on the same device (the goal, in docs/benchmarks.md:
// >= 0.85 for dequantization). GPU benchmarks report an error and stop when no GPU is present.
//
//   build/examples/nf4/nf4_benchmark --benchmark_filter=cuda    # the H100 figures
#include <nf4/code_table.hpp>
#include <nf4/double_quant.hpp>
#include <nf4/quantizer.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#if AI_CORE_WITH_CUDA
#  include <c10/cuda/CUDAFunctions.h>
#  include <cuda_runtime.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace {

constexpr std::int64_t kGpuElements = std::int64_t{4096} * 4096 * 4;  // 64M, as in the anchor
constexpr std::int64_t kCpuElements = std::int64_t{4096} * 4096;      // 16M

bool gpu_present() {
#if AI_CORE_WITH_CUDA
  return c10::cuda::device_count() > 0;
#else
  return false;
#endif
}

c10::Device device_for(bool cuda) {
  return cuda ? c10::Device(c10::DeviceType::CUDA, 0) : c10::Device(c10::DeviceType::CPU);
}

// Times `work` once: CUDA events on the current stream for the GPU, the steady clock on the CPU.
template <class Work>
double seconds_of([[maybe_unused]] bool cuda, Work&& work) {
#if AI_CORE_WITH_CUDA
  if (cuda) {
    cudaEvent_t start = nullptr;
    cudaEvent_t stop = nullptr;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    cudaEventRecord(start, nullptr);
    work();
    cudaEventRecord(stop, nullptr);
    cudaEventSynchronize(stop);
    float ms = 0.0f;
    cudaEventElapsedTime(&ms, start, stop);
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return ms * 1e-3;
  }
#endif
  const auto begin = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
}

std::int64_t elements_for(bool cuda) { return cuda ? kGpuElements : kCpuElements; }

std::int64_t dequant_bytes(std::int64_t numel) {
  return numel / 2 + numel / 64 * 4 + numel * 2;  // codes + absmax + bf16 out
}

// Returns the copy bandwidth (bytes read + written per second) of a device-to-device `copy_` on
// the GPU, or a `memcpy` on the CPU, moving as many bytes as the dequantization does: the median
// of 15 batches, measured once per device and process.
double copy_bandwidth(bool cuda) {
  const std::int64_t moved_bytes = dequant_bytes(elements_for(cuda));
  static double cached[2] = {0.0, 0.0};
  double& bandwidth = cached[cuda ? 1 : 0];
  if (bandwidth > 0.0) return bandwidth;
  const auto options = at::TensorOptions().dtype(at::kByte).device(device_for(cuda));
  const at::Tensor source = at::ones({moved_bytes / 2}, options);
  at::Tensor target = at::empty({moved_bytes / 2}, options);
  std::vector<double> times;
  for (int i = 0; i < 18; ++i) {
    const int batch = cuda ? 10 : 1;
    const double s = seconds_of(cuda,
                                [&] {
                                  for (int k = 0; k < batch; ++k) {
                                    if (cuda) {
                                      target.copy_(source);
                                    } else {
                                      std::memcpy(target.data_ptr(), source.data_ptr(),
                                                  static_cast<std::size_t>(moved_bytes / 2));
                                    }
                                  }
                                }) /
                     batch;
    if (i >= 3) times.push_back(s);
  }
  std::sort(times.begin(), times.end());
  bandwidth = static_cast<double>(moved_bytes / 2 * 2) / times[times.size() / 2];
  return bandwidth;
}

// Also sets the CPU benchmarks' thread count, the benchmark's argument (`/threads:N` in its name):
// both ai_core's at::parallel_for and libtorch's ops use that pool.
bool skip_without_gpu(benchmark::State& state, bool cuda) {
  if (cuda && !gpu_present()) {
    state.SkipWithError("no CUDA device: GPU benchmark skipped (run it on the GPU machine)");
    return true;
  }
  if (!cuda) at::set_num_threads(static_cast<int>(state.range(0)));
  return false;
}

// Operations per timed sample on the GPU: launched back to back, the host work between them (the
// dispatch, the buffer checks, the launch itself: a few microseconds) overlaps the previous
// kernel instead of adding an idle gap to a measurement of a few tens of microseconds.
constexpr int kGpuBatch = 10;

// Runs the timed loop and sets the counters; `work` is one operation moving `bytes` bytes.
template <class Work>
void run_timed(benchmark::State& state, bool cuda, std::int64_t bytes, Work&& work) {
  for (int i = 0; i < 3; ++i) work();  // warm-up: caching allocator, occupancy queries
  const int batch = cuda ? kGpuBatch : 1;
  double total = 0.0;
  for (auto _ : state) {
    const double s = seconds_of(cuda,
                                [&] {
                                  for (int i = 0; i < batch; ++i) work();
                                }) /
                     batch;
    total += s;
    if (cuda) state.SetIterationTime(s);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  const double bandwidth =
      static_cast<double>(bytes) * static_cast<double>(state.iterations()) / total;
  state.counters["frac_of_copy"] = bandwidth / copy_bandwidth(cuda);
}

struct QuantizedWeight {
  at::Tensor weight;
  nf4::Nf4Tensor quantized;
};

QuantizedWeight make_weight(bool cuda, std::int64_t numel) {
  const at::Tensor w =
      at::randn({numel}, at::TensorOptions().dtype(at::kBFloat16).device(device_for(cuda)));
  auto q = nf4::Nf4Quantizer{}.quantize(w, device_for(cuda));
  if (!q.has_value()) throw ai_core::Exception(q.error());
  return {w, *q};
}

void BM_Nf4Dequant_AiCore(benchmark::State& state, bool cuda) {
  if (skip_without_gpu(state, cuda)) return;
  const std::int64_t numel = elements_for(cuda);
  const QuantizedWeight w = make_weight(cuda, numel);
  const at::Tensor out = at::empty_like(w.weight);
  const nf4::Nf4Quantizer quantizer;
  run_timed(state, cuda, dequant_bytes(numel), [&] {
    auto status = quantizer.dequantize_into(w.quantized, out);
    benchmark::DoNotOptimize(status);
  });
}

void BM_Nf4Dequant_TorchOps(benchmark::State& state, bool cuda) {
  if (skip_without_gpu(state, cuda)) return;
  const std::int64_t numel = elements_for(cuda);
  const QuantizedWeight w = make_weight(cuda, numel);
  const at::Tensor code =
      at::tensor(std::vector<float>(nf4::kCodeValues.begin(), nf4::kCodeValues.end()))
          .to(device_for(cuda));
  const at::Tensor& q = w.quantized.codes();
  const at::Tensor& absmax = w.quantized.absmax();
  run_timed(state, cuda, dequant_bytes(numel), [&] {
    // anchor.cu's libtorch version, what a user writes without a kernel.
    const at::Tensor hi = at::bitwise_right_shift(q, 4).to(at::kLong);
    const at::Tensor lo = at::bitwise_and(q, 15).to(at::kLong);
    const at::Tensor idx = at::stack({hi, lo}, 1).reshape({-1});
    at::Tensor r = (code.index_select(0, idx).reshape({-1, 64}) * absmax.unsqueeze(1))
                       .reshape({-1})
                       .to(at::kBFloat16);
    benchmark::DoNotOptimize(r);
  });
}

void BM_Nf4Dequant_Copy(benchmark::State& state, bool cuda) {
  if (skip_without_gpu(state, cuda)) return;
  const std::int64_t bytes = dequant_bytes(elements_for(cuda));
  const auto options = at::TensorOptions().dtype(at::kByte).device(device_for(cuda));
  const at::Tensor source = at::ones({bytes / 2}, options);
  at::Tensor target = at::empty({bytes / 2}, options);
  run_timed(state, cuda, bytes / 2 * 2, [&] {
    if (cuda) {
      target.copy_(source);
    } else {
      std::memcpy(target.data_ptr(), source.data_ptr(), static_cast<std::size_t>(bytes / 2));
    }
  });
}

void BM_Nf4Quantize_AiCore(benchmark::State& state, bool cuda) {
  if (skip_without_gpu(state, cuda)) return;
  const std::int64_t numel = elements_for(cuda);
  const at::Tensor w =
      at::randn({numel}, at::TensorOptions().dtype(at::kBFloat16).device(device_for(cuda)));
  const nf4::Nf4Quantizer quantizer;
  const std::int64_t bytes = numel * 2 + numel / 2 + numel / 64 * 4;
  run_timed(state, cuda, bytes, [&] {
    auto q = quantizer.quantize(w, device_for(cuda));
    benchmark::DoNotOptimize(q);
  });
}

void BM_Nf4Quantize_TorchOps(benchmark::State& state, bool cuda) {
  if (skip_without_gpu(state, cuda)) return;
  const std::int64_t numel = elements_for(cuda);
  const at::Tensor w =
      at::randn({numel}, at::TensorOptions().dtype(at::kBFloat16).device(device_for(cuda)));
  const at::Tensor mids =
      at::tensor(std::vector<float>(nf4::kMidpoints.begin(), nf4::kMidpoints.end()))
          .to(device_for(cuda));
  const std::int64_t bytes = numel * 2 + numel / 2 + numel / 64 * 4;
  run_timed(state, cuda, bytes, [&] {
    // The libtorch way: absmax per block, normalise, bucketize against the midpoints, pack.
    const at::Tensor blocks = w.to(at::kFloat).reshape({-1, 64});
    const at::Tensor absmax = blocks.abs().amax(1);
    const at::Tensor normalized =
        (blocks / absmax.unsqueeze(1).clamp_min(std::numeric_limits<float>::min())).reshape({-1});
    const at::Tensor codes = at::bucketize(normalized, mids, /*out_int32=*/true).to(at::kByte);
    const at::Tensor pairs = codes.reshape({-1, 2});
    at::Tensor packed =
        at::bitwise_or(at::bitwise_left_shift(pairs.select(1, 0), 4), pairs.select(1, 1));
    benchmark::DoNotOptimize(packed);
    benchmark::DoNotOptimize(absmax);
  });
}

// The double-quantized dequantization: one fused kernel (reconstructing each block's absmax from
// its byte, the nested absmax and the offset) against the same computation in libtorch ops.
struct DoubleQuantWeight {
  at::Tensor weight;
  nf4::Nf4DoubleQuantTensor quantized;
};

DoubleQuantWeight make_double_weight(bool cuda, std::int64_t numel) {
  const at::Tensor w =
      at::randn({numel}, at::TensorOptions().dtype(at::kBFloat16).device(device_for(cuda)));
  auto q = nf4::Nf4Quantizer{}.quantize_double(w, device_for(cuda));
  if (!q.has_value()) throw ai_core::Exception(q.error());
  return {w, *q};
}

std::int64_t dequant_double_bytes(std::int64_t numel) {
  return numel / 2 + numel / 64 + numel / (64 * 256) * 4 + numel * 2;
}

void BM_Nf4DequantDouble_AiCore(benchmark::State& state, bool cuda) {
  if (skip_without_gpu(state, cuda)) return;
  const std::int64_t numel = elements_for(cuda);
  const DoubleQuantWeight w = make_double_weight(cuda, numel);
  const at::Tensor out = at::empty_like(w.weight);
  run_timed(state, cuda, dequant_double_bytes(numel), [&] {
    auto status = nf4::dequantize_double_into(w.quantized, out);
    benchmark::DoNotOptimize(status);
  });
}

void BM_Nf4DequantDouble_TorchOps(benchmark::State& state, bool cuda) {
  if (skip_without_gpu(state, cuda)) return;
  const std::int64_t numel = elements_for(cuda);
  const DoubleQuantWeight w = make_double_weight(cuda, numel);
  const at::Tensor code =
      at::tensor(std::vector<float>(nf4::kCodeValues.begin(), nf4::kCodeValues.end()))
          .to(device_for(cuda));
  const nf4::Nf4DoubleQuantTensor& d = w.quantized;
  run_timed(state, cuda, dequant_double_bytes(numel), [&] {
    // bitsandbytes' two steps in libtorch ops: the absmax, then the plain dequantization.
    const at::Tensor absmax =
        (d.nested_code().index_select(0, d.absmax_codes().to(at::kLong)).reshape({-1, 256}) *
         d.nested_absmax().unsqueeze(1))
            .reshape({-1}) +
        d.offset();
    const at::Tensor& q = d.codes();
    const at::Tensor hi = at::bitwise_right_shift(q, 4).to(at::kLong);
    const at::Tensor lo = at::bitwise_and(q, 15).to(at::kLong);
    const at::Tensor idx = at::stack({hi, lo}, 1).reshape({-1});
    at::Tensor r = (code.index_select(0, idx).reshape({-1, 64}) * absmax.unsqueeze(1))
                       .reshape({-1})
                       .to(at::kBFloat16);
    benchmark::DoNotOptimize(r);
  });
}

// CPU benchmarks run with 2 threads (the development machine) and 16 (the GPU host).
#define NF4_BENCHMARK_BOTH(fn)        \
  BENCHMARK_CAPTURE(fn, cpu, false)   \
      ->ArgName("threads")            \
      ->Arg(2)                        \
      ->Arg(16)                       \
      ->Unit(benchmark::kMillisecond) \
      ->UseRealTime();                \
  BENCHMARK_CAPTURE(fn, cuda, true)->Arg(0)->Unit(benchmark::kMillisecond)->UseManualTime()

NF4_BENCHMARK_BOTH(BM_Nf4Dequant_AiCore);
NF4_BENCHMARK_BOTH(BM_Nf4Dequant_TorchOps);
NF4_BENCHMARK_BOTH(BM_Nf4Dequant_Copy);
NF4_BENCHMARK_BOTH(BM_Nf4Quantize_AiCore);
NF4_BENCHMARK_BOTH(BM_Nf4Quantize_TorchOps);
NF4_BENCHMARK_BOTH(BM_Nf4DequantDouble_AiCore);
NF4_BENCHMARK_BOTH(BM_Nf4DequantDouble_TorchOps);

}  // namespace

BENCHMARK_MAIN();
