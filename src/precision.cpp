// SPDX-License-Identifier: MIT
// src/precision.cpp: `parse_precision` and `auto_precision` of <ai_core/precision.hpp>.
#include <ai_core/device.hpp>
#include <ai_core/error.hpp>
#include <ai_core/precision.hpp>
#include <ai_core/str_cat.hpp>

#include <cctype>
#include <string>
#include <string_view>

namespace ai_core {

Result<PrecisionMode> parse_precision(std::string_view text) {
  std::string_view trimmed = text;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) {
    trimmed.remove_prefix(1);
  }
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) {
    trimmed.remove_suffix(1);
  }
  std::string key(trimmed);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (key == "full" || key == "fp32" || key == "f32" || key == "float32") {
    return PrecisionMode::full;
  }
  if (key == "bf16" || key == "bfloat16") return PrecisionMode::bf16;
  if (key == "fp16" || key == "f16" || key == "float16" || key == "half") {
    return PrecisionMode::fp16;
  }
  return CoreError::invalid_config(
      str_cat("unknown precision '", text,
              "'; expected full, fp32, f32, float32, bf16, bfloat16, fp16, f16, float16 or half "
              "(any case)"));
}

Result<PrecisionMode> auto_precision(c10::Device device) {
  if (device.is_cpu()) return PrecisionMode::full;
  if (!device.is_cuda()) {
    return CoreError::not_implemented(
        str_cat("auto_precision for ", device, " (supported: cpu and cuda devices)"));
  }
  const CudaProbeResult& probe = cuda_probe_result();
  if (probe.status != CudaStatus::ok || probe.devices.empty()) {
    return CoreError::device_not_available(
        device, str_cat("CUDA is not usable (", to_string(probe.status),
                        probe.message.empty() ? "" : ": ", probe.message, ")"));
  }
  const int index = device.has_index() ? device.index() : 0;
  if (index < 0 || static_cast<std::size_t>(index) >= probe.devices.size()) {
    std::string visible;
    for (const CudaDeviceInfo& info : probe.devices) {
      visible += str_cat(visible.empty() ? "" : ", ", "cuda:", info.index, " (", info.name, ", sm_",
                         info.capability_major, info.capability_minor, ")");
    }
    return CoreError::device_not_available(
        device, str_cat("not among the ", probe.devices.size(), " visible devices: ", visible));
  }
  const CudaDeviceInfo& info = probe.devices[static_cast<std::size_t>(index)];
  // bf16 tensor-core math arrived with Ampere (sm_80); older GPUs emulate it slowly.
  return info.capability_major >= 8 ? PrecisionMode::bf16 : PrecisionMode::fp16;
}

}  // namespace ai_core
