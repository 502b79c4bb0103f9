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

int fail(const char* step, const ai_core::CoreError& error) {
  std::string message = std::string("ai-core demo: ") + step + ": " + error.to_string();
  if (message.back() != '\n') message += '\n';
  std::fputs(message.c_str(), stderr);
  return error.code() == ai_core::ErrorCode::invalid_config ? 2 : 1;
}

// The double-quantized path (QLoRA's `bnb_4bit_use_double_quant`): the absmax constants stored
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
  auto config = ai_core::DeviceConfig::from_env();
  if (!config) return fail("reading the environment", config.error());
  config->with_component("ai-core demo");
  const auto selected = ai_core::get_device(*config);
  if (!selected) return fail("selecting the device", selected.error());
  const c10::Device device = *selected;
  std::printf("device        %s\n", device.str().c_str());

  if (cols % 64 != 0) {
    std::fprintf(stderr, "ai-core demo: --cols %lld is not a multiple of 64 (the NF4 block)\n",
                 static_cast<long long>(cols));
    return 2;
  }
  const std::int64_t numel = rows * cols;
  at::manual_seed(0);
  const at::Tensor weight =
      at::randn({rows, cols}, at::TensorOptions().dtype(at::kBFloat16).device(device));
  auto quantizer = nf4::Nf4Quantizer::create({.block_size = 64, .compute_dtype = at::kBFloat16});
  if (!quantizer) return fail("creating the quantizer", quantizer.error());

  // Quantize (through ai_core::dispatch): the first call includes one-time set-up.
  ai_core::Result<nf4::Nf4Tensor> quantized = quantizer->quantize(weight, device);
  if (!quantized) return fail("quantizing", quantized.error());
  const int quantize_repeats = device.is_cuda() ? 10 : 1;
  const double quantize_s = seconds_per_call(
      device, quantize_repeats, [&] { quantized = quantizer->quantize(weight, device); });
  if (!quantized) return fail("quantizing", quantized.error());

  // Dequantize with the kernel (through ai_core::dispatch) into a preallocated bf16 tensor.
  auto dequantized = quantizer->dequantize(*quantized, device);
  if (!dequantized) return fail("dequantizing", dequantized.error());
  const at::Tensor output = *dequantized;
  ai_core::Result<void> status;
  const int dequantize_repeats = device.is_cuda() ? 50 : 3;
  const double dequantize_s = seconds_per_call(
      device, dequantize_repeats, [&] { status = quantizer->dequantize_into(*quantized, output); });
  if (!status) return fail("dequantizing", status.error());

  // Every element against its block's bound (Note [NF4 error bound] in nf4/quantizer.hpp).
  const at::Tensor error = (weight.to(at::kFloat) - output.to(at::kFloat)).abs().reshape({-1, 64});
  const double slack = static_cast<double>(nf4::kMaxHalfGap) + std::ldexp(1.0, -22) +
                       nf4::unit_roundoff(at::kBFloat16);
  const at::Tensor bound = (quantized->absmax().to(at::kDouble) * slack).unsqueeze(1);
  const std::int64_t over = (error.to(at::kDouble) > bound).sum().item<std::int64_t>();
  const double worst = (error.to(at::kDouble) / bound.clamp_min(1e-300)).max().item<double>();

  // A plain copy of as many bytes as the dequantization moves, in the same run.
  const std::int64_t bytes = numel / 2 + quantized->num_blocks() * 4 + numel * 2;
  const auto byte_options = at::TensorOptions().dtype(at::kByte).device(device);
  const at::Tensor source = at::ones({bytes / 2}, byte_options);
  at::Tensor target = at::empty({bytes / 2}, byte_options);
  const double copy_s = seconds_per_call(device, dequantize_repeats, [&] {
    if (device.is_cuda()) {
      target.copy_(source);
    } else {
      std::memcpy(target.data_ptr(), source.data_ptr(), static_cast<std::size_t>(bytes / 2));
    }
  });
  const double dequantize_gbps = static_cast<double>(bytes) / dequantize_s / 1e9;
  const double copy_gbps = static_cast<double>(bytes / 2 * 2) / copy_s / 1e9;

  std::printf("weight        %lld x %lld bf16 (%.1f MiB), NF4 block 64 -> %.1f MiB\n",
              static_cast<long long>(rows), static_cast<long long>(cols),
              static_cast<double>(numel * 2) / (1 << 20),
              static_cast<double>(quantized->nbytes()) / (1 << 20));
  std::printf("quantize      %.3f ms\n", quantize_s * 1e3);
  std::printf("dequantize    %.3f ms   %.1f GB/s (codes + absmax read, bf16 written)\n",
              dequantize_s * 1e3, dequantize_gbps);
  std::printf("copy          %.3f ms   %.1f GB/s (%s of the same bytes)\n", copy_s * 1e3, copy_gbps,
              device.is_cuda() ? "device-to-device copy_" : "memcpy");
  std::printf("fraction      %.2f of the copy bandwidth\n", dequantize_gbps / copy_gbps);
  std::printf("error bound   max |x - x'| / bound = %.3f, %lld of %lld elements over it\n", worst,
              static_cast<long long>(over), static_cast<long long>(numel));
  if (over != 0) {
    std::fputs("ai-core demo: reconstruction error exceeds the NF4 bound\n", stderr);
    return 3;
  }
  return run_double_quant_step(*quantizer, weight, *quantized, output, device, dequantize_repeats,
                               copy_gbps);
}

}  // namespace ai_core_tool
