// SPDX-License-Identifier: MIT
// Private to src/device*.cpp: what device selection (device.cpp), the report (device_report.cpp)
// and the probe (device_probe.cpp) share. Not installed.
#pragma once

#include <ai_core/device.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ai_core {

// Fills in the `*_source_` fields of a `DeviceConfig` (it befriends this struct).
struct DeviceConfigAccess {
  static std::string& cuda_device_source(DeviceConfig& config) {
    return config.cuda_device_source_;
  }
  static std::string& force_cpu_source(DeviceConfig& config) { return config.force_cpu_source_; }
  static std::string& fallback_source(DeviceConfig& config) { return config.fallback_source_; }
};

namespace detail {

// The environment variables, in priority order within each setting (docs/device.md).
inline constexpr const char* kForceCpuVariables[] = {"RUST_AI_FORCE_CPU", "AXOLOTL_FORCE_CPU",
                                                     "VSA_OPTIM_FORCE_CPU"};
inline constexpr const char* kCudaDeviceVariables[] = {"RUST_AI_CUDA_DEVICE", "AXOLOTL_CUDA_DEVICE",
                                                       "VSA_OPTIM_CUDA_DEVICE", "LOCAL_RANK"};
inline constexpr const char* kFallbackVariables[] = {"RUST_AI_CPU_FALLBACK"};

// Reads the device settings from `lookup` (the process environment when null). With `report`,
// reads every variable (also those a higher-priority one shadows), records each with its effect,
// and keeps going after a malformed value; the first error is returned either way.
Result<DeviceConfig> read_device_env(const EnvLookup* lookup,
                                     std::vector<EnvVariableReport>* report);

// Returns whether the process environment declares CPU intended (the force-CPU setting, read with
// the usual priority, is true). A malformed value counts as not declared.
bool cpu_declared_by_env() noexcept;

// Returns the probe ai_core asks: the one a test installed, else the system probe.
std::shared_ptr<CudaProbe> installed_cuda_probe();

// Runs `probe`, turning an exception into `driver_error` and making the result consistent
// (`ok` with no device becomes `no_device`; `device_count` is never negative).
CudaProbeResult run_probe(CudaProbe& probe, const CudaProbeOptions& options) noexcept;

// Returns whether `result` says CUDA is usable.
inline bool is_usable(const CudaProbeResult& result) noexcept {
  return result.status == CudaStatus::ok && result.device_count > 0;
}

// Returns why CUDA is not usable, in words, for messages ("no NVIDIA driver was found (...)").
std::string describe_unusable(const CudaProbeResult& result);

// Returns "NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB".
std::string describe_device(const CudaDeviceInfo& device);

// Returns "cuda:0 (NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB), cuda:1 (...)".
std::string list_devices(const CudaProbeResult& result);

// Returns "13.0" for 13000.
std::string format_cuda_version(int version);

// Returns `bytes` in GiB with one decimal ("79.1 GiB").
std::string format_gib(std::uint64_t bytes);

// Returns `value` in single quotes, with control and non-ASCII bytes escaped as \xNN and long
// values cut ("'abc'", "' 1'", "''").
AI_CORE_API std::string quote(std::string_view value);  // Exported: env_parse.hpp.

// The error for an ordinal that is not among the visible devices.
CoreError ordinal_out_of_range(const DeviceConfig& config, const CudaProbeResult& result);

// The error for "no usable CUDA" under `FallbackPolicy::error`.
CoreError fallback_forbidden(const DeviceConfig& config, const std::string& reason);

}  // namespace detail
}  // namespace ai_core
