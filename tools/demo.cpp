// SPDX-License-Identifier: MIT
// `ai-core demo`: the library end to end, as a user's program would use it. Selects the device
// with `get_device` (env settings honoured), quantizes a random 4096x4096 bf16 weight to NF4 with
// ai_core_nf4 (examples/nf4), dequantizes it with the kernel through `ai_core::dispatch`, checks
// every element against the per-block error bound, and prints the timings, the bandwidth and its
// fraction of a plain copy of the same bytes measured in the same run (a device-to-device copy_ on
// a GPU, a memcpy on the CPU). Without a GPU it runs the CPU path after ai_core's one-time warning.
// While it works, an `ai_core::ProgressBar` on stderr (a bar on a terminal, a log line every ten
// seconds otherwise) counts the timed samples and checks; the report follows it on stdout.
#include "demo.hpp"

#include <nf4/code_table.hpp>
#include <nf4/double_quant.hpp>
#include <nf4/quantizer.hpp>

#include <ai_core/device.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/metrics.hpp>

#include <ATen/ATen.h>
#if AI_CORE_WITH_CUDA
#  include <c10/cuda/CUDAFunctions.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
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

// The samples `seconds_per_call` takes.
constexpr int kSamples = 5;

// The progress units of the whole demo: per step, its untimed first call or check plus its
// timed samples.
constexpr std::uint64_t kQuantizeUnits = 1 + kSamples;         // step 2, quantize
constexpr std::uint64_t kDequantizeUnits = 1 + kSamples;       // step 2, dequantize
constexpr std::uint64_t kBoundUnits = 1;                       // step 3
constexpr std::uint64_t kCopyUnits = kSamples;                 // step 4
constexpr std::uint64_t kDoubleQuantUnits = 1 + kSamples + 1;  // step 6
constexpr std::uint64_t kDemoUnits =
    kQuantizeUnits + kDequantizeUnits + kBoundUnits + kCopyUnits + kDoubleQuantUnits;

// Returns the median seconds per call of `work`, run `repeats` times back to back (so on a GPU
// the host work of one call overlaps the previous kernel) in each of `kSamples` samples; advances
// `progress` by one per sample.
template <class Work>
double seconds_per_call(c10::Device device, int repeats, ai_core::ProgressBar& progress,
                        Work&& work) {
  std::vector<double> samples;
  for (int s = 0; s < kSamples; ++s) {
    synchronize(device);
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < repeats; ++i) work();
    synchronize(device);
    samples.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() / repeats);
    progress.advance();
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
                                              int dequantize_repeats,
                                              ai_core::ProgressBar& progress) {
  ai_core::Result<nf4::Nf4Tensor> quantized = quantizer.quantize(weight, device);
  if (!quantized) return ai_core::Unexpected(StepError{"quantizing", quantized.error()});
  progress.advance();
  const int quantize_repeats = device.is_cuda() ? 10 : 1;
  const double quantize_s = seconds_per_call(
      device, quantize_repeats, progress, [&] { quantized = quantizer.quantize(weight, device); });
  if (!quantized) return ai_core::Unexpected(StepError{"quantizing", quantized.error()});

  // Into a preallocated bf16 tensor, as a training loop would.
  auto dequantized = quantizer.dequantize(*quantized, device);
  if (!dequantized) return ai_core::Unexpected(StepError{"dequantizing", dequantized.error()});
  progress.advance();
  const at::Tensor output = *dequantized;
  ai_core::Result<void> status;
  const double dequantize_s = seconds_per_call(device, dequantize_repeats, progress, [&] {
    status = quantizer.dequantize_into(*quantized, output);
  });
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
double time_copy(c10::Device device, std::int64_t bytes, int repeats,
                 ai_core::ProgressBar& progress) {
  const auto byte_options = at::TensorOptions().dtype(at::kByte).device(device);
  const at::Tensor source = at::ones({bytes / 2}, byte_options);
  at::Tensor target = at::empty({bytes / 2}, byte_options);
  return seconds_per_call(device, repeats, progress, [&] {
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

// What the double-quantized step measures.
struct DoubleQuantResult {
  std::uint64_t nbytes = 0;  // the double-quantized weight
  double dequantize_s = 0;
  double gbps = 0;        // bytes moved by the fused dequantization per second
  double worst = 0;       // the largest |x - x'| / bound
  std::int64_t over = 0;  // elements over their bound
};

// Step 6: the double-quantized path (QLoRA's `bnb_4bit_use_double_quant`): the absmax constants
// stored as bytes, dequantized by the fused kernel; checked element by element against the bound
// of nf4::double_quant_bound and timed.
StepResult<DoubleQuantResult> run_double_quant_step(const nf4::Nf4Quantizer& quantizer,
                                                    const at::Tensor& weight,
                                                    const nf4::Nf4Tensor& plain,
                                                    const at::Tensor& output, c10::Device device,
                                                    int repeats, ai_core::ProgressBar& progress) {
  auto quantized = quantizer.quantize_double(weight, device);
  if (!quantized) return ai_core::Unexpected(StepError{"double quantizing", quantized.error()});
  progress.advance();
  ai_core::Result<void> status;
  const double dequantize_s = seconds_per_call(
      device, repeats, progress, [&] { status = nf4::dequantize_double_into(*quantized, output); });
  if (!status) {
    return ai_core::Unexpected(
        StepError{"dequantizing the double-quantized weight", status.error()});
  }
  auto reconstructed = nf4::reconstruct_absmax(*quantized);
  if (!reconstructed) {
    return ai_core::Unexpected(StepError{"reconstructing the absmax", reconstructed.error()});
  }
  const at::Tensor absmax = plain.absmax().to(at::kDouble);
  const at::Tensor recon = reconstructed->to(at::kDouble);
  const double u = nf4::unit_roundoff(at::kBFloat16);
  const double slack = static_cast<double>(nf4::kMaxHalfGap) + std::ldexp(1.0, -22) + u;
  const at::Tensor bound = (absmax * slack + (absmax - recon).abs() + recon.abs() * u).unsqueeze(1);
  const at::Tensor error =
      (weight.to(at::kFloat) - output.to(at::kFloat)).abs().reshape({-1, 64}).to(at::kDouble);
  DoubleQuantResult result;
  result.over = (error > bound).sum().item<std::int64_t>();
  result.worst = (error / bound.clamp_min(1e-300)).max().item<double>();
  progress.advance();
  const std::int64_t numel = weight.numel();
  const std::int64_t bytes =
      numel / 2 + quantized->num_blocks() + quantized->nested_absmax().numel() * 4 + numel * 2;
  result.nbytes = static_cast<std::uint64_t>(quantized->nbytes());
  result.dequantize_s = dequantize_s;
  result.gbps = static_cast<double>(bytes) / dequantize_s / 1e9;
  return result;
}

// Step 6's report; returns the exit status (3 when an element is over its bound).
int print_double_quant(const DoubleQuantResult& dq, std::int64_t numel, double copy_gbps) {
  std::printf("double quant  absmax as bytes (nested blocks of 256) -> %.1f MiB\n",
              static_cast<double>(dq.nbytes) / (1 << 20));
  std::printf("dq dequantize %.3f ms   %.1f GB/s, %.2f of the copy bandwidth (one pass)\n",
              dq.dequantize_s * 1e3, dq.gbps, dq.gbps / copy_gbps);
  std::printf("dq error      max |x - x'| / bound = %.3f, %lld of %lld elements over it\n",
              dq.worst, static_cast<long long>(dq.over), static_cast<long long>(numel));
  if (dq.over != 0) {
    std::fflush(stdout);
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
  std::fflush(stdout);  // before the progress bar takes the terminal's line

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
  const std::int64_t numel = rows * cols;
  // Steps 2 to 6 under the bar; it finishes (its last line out) before the report or an error.
  ai_core::ProgressBar bar("ai-core demo", kDemoUnits);
  const StepResult<Quantized> quantized =
      quantize_and_dequantize(*quantizer, weight, *device, repeats, bar);
  if (!quantized) {
    bar.finish();
    return fail(quantized.error().step, quantized.error().error);
  }
  const BoundCheck check = check_error_bound(weight, *quantized);
  bar.advance(kBoundUnits);
  // As many bytes as the dequantization moves: codes and absmax read, bf16 written.
  const std::int64_t bytes = numel / 2 + quantized->tensor.num_blocks() * 4 + numel * 2;
  const double copy_s = time_copy(*device, bytes, repeats, bar);
  // The double-quantized step runs only when the plain reconstruction is within its bound.
  std::optional<StepResult<DoubleQuantResult>> double_quant;
  if (check.over == 0) {
    double_quant = run_double_quant_step(*quantizer, weight, quantized->tensor, quantized->output,
                                         *device, repeats, bar);
  }
  bar.finish();

  print_report(*device, rows, cols, *quantized, check, bytes, copy_s);
  if (check.over != 0) {
    std::fflush(stdout);
    std::fputs("ai-core demo: reconstruction error exceeds the NF4 bound\n", stderr);
    return 3;
  }
  if (!*double_quant) {
    std::fflush(stdout);
    return fail((*double_quant).error().step, (*double_quant).error().error);
  }
  const double copy_gbps = static_cast<double>(bytes / 2 * 2) / copy_s / 1e9;
  return print_double_quant(**double_quant, numel, copy_gbps);
}

}  // namespace ai_core_tool
