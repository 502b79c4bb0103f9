// SPDX-License-Identifier: MIT
// `ai-core demo`: the library end to end, as a user's program would use it. Selects the device
// with `get_device` (env settings honoured), quantizes a random 4096x4096 bf16 weight to NF4 with
// ai_core_nf4 (examples/nf4), dequantizes it with the kernel through `ai_core::dispatch`, checks
// every element against the per-block error bound, and prints the timings, the bandwidth and its
// fraction of a plain copy of the same bytes measured in the same run (a device-to-device copy_ on
// a GPU, a memcpy on the CPU). Without a GPU it runs the CPU path after ai_core's one-time warning.
#include "demo.hpp"

#include <nf4/code_table.hpp>
#include <nf4/double_quant.hpp>
#include <nf4/quantizer.hpp>

#include <ai_core/device.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>

#include <ATen/ATen.h>
#if AI_CORE_WITH_CUDA
#  include <c10/cuda/CUDAFunctions.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace ai_core_tool {
namespace {

void synchronize(c10::Device device) {
#if AI_CORE_WITH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#else
  (void)device;
#endif
}

// Returns the median seconds per call of `work`, run `repeats` times back to back (so on a GPU
// the host work of one call overlaps the previous kernel) in each of 5 samples.
template <class Work>
double seconds_per_call(c10::Device device, int repeats, Work&& work) {
  std::vector<double> samples;
  for (int s = 0; s < 5; ++s) {
    synchronize(device);
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) work();
    synchronize(device);
    samples.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() / repeats);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// Returns the exit code for `error` after printing it with the step that failed.
int fail(const char* step, const ai_core::CoreError& error) {
  std::string message = std::string("ai-core demo: ") + step + ": " + error.to_string();
  if (message.back() != '\n') message += '\n';
  std::fputs(message.c_str(), stderr);
  return error.code() == ai_core::ErrorCode::invalid_config ? 2 : 1;
}

// A failed step: its name and its error.
struct StepError {
  const char* step;
  ai_core::CoreError error;
};

template <class T>
using StepResult = ai_core::Expected<T, StepError>;

// Step 1: the device `get_device` selects from the environment, as a user's program asks for it.
StepResult<c10::Device> select_device() {
  auto config = ai_core::DeviceConfig::from_env();
  if (!config) return ai_core::Unexpected(StepError{"reading the environment", config.error()});
  config->with_component("ai-core demo");
  const auto selected = ai_core::get_device(*config);
  if (!selected) return ai_core::Unexpected(StepError{"selecting the device", selected.error()});
  return *selected;
}

// What the quantize and dequantize steps produce.
struct Quantized {
  nf4::Nf4Tensor tensor;
  at::Tensor output;  // the dequantized weight
  double quantize_s = 0;
  double dequantize_s = 0;
};

// Step 2: quantizes `weight` and dequantizes it with the kernel (both through ai_core::dispatch),
// timing each; the first quantize call, which includes one-time set-up, is not timed.
StepResult<Quantized> quantize_and_dequantize(const nf4::Nf4Quantizer& quantizer,
                                              const at::Tensor& weight, c10::Device device,
                                              int dequantize_repeats) {
  ai_core::Result<nf4::Nf4Tensor> quantized = quantizer.quantize(weight, device);
  if (!quantized) return ai_core::Unexpected(StepError{"quantizing", quantized.error()});
  const int quantize_repeats = device.is_cuda() ? 10 : 1;
  const double quantize_s = seconds_per_call(
      device, quantize_repeats, [&] { quantized = quantizer.quantize(weight, device); });
  if (!quantized) return ai_core::Unexpected(StepError{"quantizing", quantized.error()});

  // Into a preallocated bf16 tensor, as a training loop would.
  auto dequantized = quantizer.dequantize(*quantized, device);
  if (!dequantized) return ai_core::Unexpected(StepError{"dequantizing", dequantized.error()});
  const at::Tensor output = *dequantized;
  ai_core::Result<void> status;
  const double dequantize_s = seconds_per_call(
      device, dequantize_repeats, [&] { status = quantizer.dequantize_into(*quantized, output); });
  if (!status) return ai_core::Unexpected(StepError{"dequantizing", status.error()});
  return Quantized{std::move(*quantized), output, quantize_s, dequantize_s};
}

// How far the reconstruction is from the weight, relative to each block's bound.
struct BoundCheck {
  std::int64_t over = 0;  // elements over their bound
  double worst = 0;       // the largest |x - x'| / bound
};

// Step 3: every element against its block's bound (Note [NF4 error bound] in nf4/quantizer.hpp).
BoundCheck check_error_bound(const at::Tensor& weight, const Quantized& quantized) {
  const at::Tensor error =
      (weight.to(at::kFloat) - quantized.output.to(at::kFloat)).abs().reshape({-1, 64});
  const double slack = static_cast<double>(nf4::kMaxHalfGap) + std::ldexp(1.0, -22) +
                       nf4::unit_roundoff(at::kBFloat16);
  const at::Tensor bound = (quantized.tensor.absmax().to(at::kDouble) * slack).unsqueeze(1);
  return {(error.to(at::kDouble) > bound).sum().item<std::int64_t>(),
          (error.to(at::kDouble) / bound.clamp_min(1e-300)).max().item<double>()};
}

// Step 4: the seconds of a plain copy of `bytes` bytes (half read, half written) in the same run:
// a device-to-device copy_ on a GPU, a memcpy on the CPU.
double time_copy(c10::Device device, std::int64_t bytes, int repeats) {
  const auto byte_options = at::TensorOptions().dtype(at::kByte).device(device);
  const at::Tensor source = at::ones({bytes / 2}, byte_options);
  at::Tensor target = at::empty({bytes / 2}, byte_options);
  return seconds_per_call(device, repeats, [&] {
    if (device.is_cuda()) {
      target.copy_(source);
    } else {
      std::memcpy(target.data_ptr(), source.data_ptr(), static_cast<std::size_t>(bytes / 2));
    }
  });
}

// Step 5: the report.
void print_report(c10::Device device, std::int64_t rows, std::int64_t cols,
                  const Quantized& quantized, const BoundCheck& check, std::int64_t bytes,
                  double copy_s) {
  const std::int64_t numel = rows * cols;
  const double dequantize_gbps = static_cast<double>(bytes) / quantized.dequantize_s / 1e9;
  const double copy_gbps = static_cast<double>(bytes / 2 * 2) / copy_s / 1e9;
  std::printf("weight        %lld x %lld bf16 (%.1f MiB), NF4 block 64 -> %.1f MiB\n",
              static_cast<long long>(rows), static_cast<long long>(cols),
              static_cast<double>(numel * 2) / (1 << 20),
              static_cast<double>(quantized.tensor.nbytes()) / (1 << 20));
  std::printf("quantize      %.3f ms\n", quantized.quantize_s * 1e3);
  std::printf("dequantize    %.3f ms   %.1f GB/s (codes + absmax read, bf16 written)\n",
              quantized.dequantize_s * 1e3, dequantize_gbps);
  std::printf("copy          %.3f ms   %.1f GB/s (%s of the same bytes)\n", copy_s * 1e3, copy_gbps,
              device.is_cuda() ? "device-to-device copy_" : "memcpy");
  std::printf("fraction      %.2f of the copy bandwidth\n", dequantize_gbps / copy_gbps);
  std::printf("error bound   max |x - x'| / bound = %.3f, %lld of %lld elements over it\n",
              check.worst, static_cast<long long>(check.over), static_cast<long long>(numel));
}

// Step 6: the double-quantized path (QLoRA's `bnb_4bit_use_double_quant`): the absmax constants stored
// as bytes, dequantized by the fused kernel; checked element by element against the bound of
// nf4::double_quant_bound and timed against the same copy bandwidth. Returns the exit status.
int run_double_quant_step(const nf4::Nf4Quantizer& quantizer, const at::Tensor& weight,
                          const nf4::Nf4Tensor& plain, const at::Tensor& output, c10::Device device,
                          int repeats, double copy_gbps) {
  auto quantized = quantizer.quantize_double(weight, device);
  if (!quantized) return fail("double quantizing", quantized.error());
  ai_core::Result<void> status;
  const double dequantize_s = seconds_per_call(
      device, repeats, [&] { status = nf4::dequantize_double_into(*quantized, output); });
  if (!status) return fail("dequantizing the double-quantized weight", status.error());
  auto reconstructed = nf4::reconstruct_absmax(*quantized);
  if (!reconstructed) return fail("reconstructing the absmax", reconstructed.error());
  const at::Tensor absmax = plain.absmax().to(at::kDouble);
  const at::Tensor recon = reconstructed->to(at::kDouble);
  const double u = nf4::unit_roundoff(at::kBFloat16);
  const double slack = static_cast<double>(nf4::kMaxHalfGap) + std::ldexp(1.0, -22) + u;
  const at::Tensor bound = (absmax * slack + (absmax - recon).abs() + recon.abs() * u).unsqueeze(1);
  const at::Tensor error =
      (weight.to(at::kFloat) - output.to(at::kFloat)).abs().reshape({-1, 64}).to(at::kDouble);
  const std::int64_t over = (error > bound).sum().item<std::int64_t>();
  const double worst = (error / bound.clamp_min(1e-300)).max().item<double>();
  const std::int64_t numel = weight.numel();
  const std::int64_t bytes =
      numel / 2 + quantized->num_blocks() + quantized->nested_absmax().numel() * 4 + numel * 2;
  const double gbps = static_cast<double>(bytes) / dequantize_s / 1e9;
  std::printf("double quant  absmax as bytes (nested blocks of 256) -> %.1f MiB\n",
              static_cast<double>(quantized->nbytes()) / (1 << 20));
  std::printf("dq dequantize %.3f ms   %.1f GB/s, %.2f of the copy bandwidth (one pass)\n",
              dequantize_s * 1e3, gbps, gbps / copy_gbps);
  std::printf("dq error      max |x - x'| / bound = %.3f, %lld of %lld elements over it\n", worst,
              static_cast<long long>(over), static_cast<long long>(numel));
  if (over != 0) {
    std::fputs("ai-core demo: double-quantized reconstruction error exceeds its bound\n", stderr);
    return 3;
  }
  return 0;
}

}  // namespace

int run_demo(std::int64_t rows, std::int64_t cols) {
  const StepResult<c10::Device> device = select_device();
  if (!device) return fail(device.error().step, device.error().error);
  std::printf("device        %s\n", device->str().c_str());

  if (cols % 64 != 0) {
    std::fprintf(stderr, "ai-core demo: --cols %lld is not a multiple of 64 (the NF4 block)\n",
                 static_cast<long long>(cols));
    return 2;
  }
  at::manual_seed(0);
  const at::Tensor weight =
      at::randn({rows, cols}, at::TensorOptions().dtype(at::kBFloat16).device(*device));
  auto quantizer = nf4::Nf4Quantizer::create({.block_size = 64, .compute_dtype = at::kBFloat16});
  if (!quantizer) return fail("creating the quantizer", quantizer.error());

  const int repeats = device->is_cuda() ? 50 : 3;
  const StepResult<Quantized> quantized =
      quantize_and_dequantize(*quantizer, weight, *device, repeats);
  if (!quantized) return fail(quantized.error().step, quantized.error().error);
  const BoundCheck check = check_error_bound(weight, *quantized);
  // As many bytes as the dequantization moves: codes and absmax read, bf16 written.
  const std::int64_t numel = rows * cols;
  const std::int64_t bytes = numel / 2 + quantized->tensor.num_blocks() * 4 + numel * 2;
  const double copy_s = time_copy(*device, bytes, repeats);
  print_report(*device, rows, cols, *quantized, check, bytes, copy_s);
  if (check.over != 0) {
    std::fputs("ai-core demo: reconstruction error exceeds the NF4 bound\n", stderr);
    return 3;
  }
  const double copy_gbps = static_cast<double>(bytes / 2 * 2) / copy_s / 1e9;
  return run_double_quant_step(*quantizer, weight, quantized->tensor, quantized->output, *device,
                               repeats, copy_gbps);
}

}  // namespace ai_core_tool
