// SPDX-License-Identifier: MIT
// ai_core/device_report.hpp: everything `ai-core doctor` shows about devices: versions, a fresh
// CUDA probe, the environment variables with their effect, and the device `get_device` would
// choose with the reason; formatted as a table (`to_string`) or as JSON (`to_json`).
//
// Part of the device module (<ai_core/device.hpp>).
#pragma once

#include <ai_core/device_selection.hpp>
#include <ai_core/error.hpp>
#include <ai_core/export.hpp>

#include <c10/core/Device.h>

#include <optional>
#include <string>
#include <vector>

namespace ai_core {

/// One environment variable as `device_report` read it.
struct EnvVariableReport {
  std::string name;                  ///< The variable ("RUST_AI_FORCE_CPU").
  std::optional<std::string> value;  ///< Its value, or nothing when it is not set.
  std::string effect;                ///< What it does here ("decides force_cpu = true", ...).
};

/// Everything `ai-core doctor` shows: versions, the CUDA probe, the environment, and the device
/// `get_device(DeviceConfig::from_env())` would choose with the reason.
struct DeviceReport {
  std::string library_version;  ///< `ai_core::runtime_version()`.
  std::string torch_version;    ///< The libtorch version ai_core was compiled against.
  bool cuda_compiled = false;   ///< Whether ai_core was built with `AI_CORE_WITH_CUDA`.
  CudaProbeResult cuda;         ///< A fresh probe (with free memory unless told otherwise).
  std::vector<EnvVariableReport> environment;  ///< Every variable read, in priority order.
  std::optional<c10::Device> device;           ///< The device `get_device` would choose, if any.
  std::string reason;                          ///< Why that device, or why none.
  /// The error, when there is one: `invalid_config` for a malformed environment,
  /// `device_not_available` when selection would fail.
  std::optional<CoreError> error;
};

/// Options of `device_report`.
struct DeviceReportOptions {
  EnvLookup env;                  ///< Where to read variables; empty: the process environment.
  bool query_free_memory = true;  ///< See `CudaProbeOptions::query_free_memory`.
};

/// Gathers the `DeviceReport`. Runs a fresh probe through the installed probe (not the cache),
/// emits no warning and changes no state. Never throws for a malformed environment: the error
/// goes into `DeviceReport::error`.
[[nodiscard]] AI_CORE_API DeviceReport device_report(const DeviceReportOptions& options = {});

/// Formats `report` as the human-readable table `ai-core doctor` prints.
[[nodiscard]] AI_CORE_API std::string to_string(const DeviceReport& report);

/// Formats `report` as one JSON object (`ai-core doctor --json`).
[[nodiscard]] AI_CORE_API std::string to_json(const DeviceReport& report);

}  // namespace ai_core
