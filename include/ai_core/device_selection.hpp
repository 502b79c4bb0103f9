// SPDX-License-Identifier: MIT
// ai_core/device_selection.hpp: CUDA-first device selection.
//
// `get_device(config)` answers "which device should this component compute on?": the configured
// CUDA device when CUDA is usable, otherwise what the fallback policy says (by default the CPU plus
// one warning per process, see Note [CPU fallback warning] in src/device.cpp). The configuration
// comes from code (`DeviceConfig` builder) or from the environment (`DeviceConfig::from_env`,
// variables shared with the Rust crates of the same ecosystem, docs/device.md). The CUDA probe
// (driver, devices, capability, memory) runs once per process; afterwards `get_device` makes no
// CUDA call and takes no lock. `check_device` is the one rule for device indices that every
// ai_core function taking a device applies, against the same cached probe.
//
// Part of the device module (<ai_core/device.hpp>): the report `ai-core doctor` prints is in
// <ai_core/device_report.hpp>, the probe tests install in <ai_core/testing/cuda_probe.hpp>.
//
// Example:
//   AI_CORE_ASSIGN_OR_RETURN(auto config, ai_core::DeviceConfig::from_env());
//   AI_CORE_ASSIGN_OR_RETURN(c10::Device device,
//                            ai_core::get_device(config.with_component("nf4")));
//   ai_core::warn_if_cpu(input.device(), "nf4");  // in a kernel's CPU branch
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>

#include <c10/core/Device.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ai_core {

/// What `get_device` does when CUDA is not usable (and CPU was not asked for).
enum class FallbackPolicy : std::uint8_t {
  warn = 0,   ///< Returns the CPU and emits the one-time CPU fallback warning (the default).
  error = 1,  ///< Returns a `device_not_available` error: for jobs that must never run on CPU.
  allow = 2,  ///< Returns the CPU, logged at info: CPU is an acceptable outcome.
};

/// Returns the lower-case name of `policy` ("warn", "error", "allow").
[[nodiscard]] AI_CORE_API std::string_view to_string(FallbackPolicy policy) noexcept;

/// Looks up an environment variable by name: the value when it is set (possibly empty), nothing
/// when it is not. `DeviceConfig::from_env` takes one so that tests and fuzzers need not touch
/// the real environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The largest CUDA device ordinal a configuration accepts (the int16 range). Note that
/// `c10::DeviceIndex` is 8 bits in torch 2.11, so ordinals above 127 are valid settings that no
/// machine can satisfy: `get_device` reports them as `device_not_available`.
inline constexpr int kMaxCudaOrdinal = 32767;

/// Settings for `get_device`: which CUDA device, whether CPU is asked for, what to do without
/// CUDA, and who is asking (the component named in log messages). Models `ValidatableConfig`.
///
/// Example:
///   auto config = ai_core::DeviceConfig{}.with_cuda_device(1).with_component("unsloth");
///   auto strict = ai_core::DeviceConfig{}.with_fallback(ai_core::FallbackPolicy::error);
class DeviceConfig {
 public:
  /// Creates the default configuration: `cuda:0`, no forced CPU, `FallbackPolicy::warn`,
  /// component "ai_core".
  DeviceConfig() = default;

  /// Reads the configuration from the process environment (docs/device.md has the table):
  /// `RUST_AI_FORCE_CPU` / `RUST_AI_CUDA_DEVICE`, then the legacy `AXOLOTL_*`, then `VSA_OPTIM_*`
  /// (the first variable that is set decides, even when it says 0 or false), `LOCAL_RANK` when no
  /// ordinal variable is set, and `RUST_AI_CPU_FALLBACK`. A malformed value is an `invalid_config`
  /// error naming the variable and its value; it is never ignored.
  [[nodiscard]] AI_CORE_API static Result<DeviceConfig> from_env();

  /// Reads the configuration like `from_env()`, asking `lookup` instead of the process
  /// environment. A null `lookup` is an `invalid_config` error.
  [[nodiscard]] AI_CORE_API static Result<DeviceConfig> from_env(const EnvLookup& lookup);

  /// Sets the CUDA device ordinal (an index into the devices `CUDA_VISIBLE_DEVICES` leaves
  /// visible). Range-checked by `validate()` and `get_device`, not here.
  DeviceConfig& with_cuda_device(int ordinal) & noexcept {
    cuda_device_ = ordinal;
    cuda_device_source_.clear();
    return *this;
  }
  /// Sets the CUDA device ordinal on a temporary (see the `&` overload).
  [[nodiscard]] DeviceConfig with_cuda_device(int ordinal) && noexcept {
    return std::move(with_cuda_device(ordinal));
  }

  /// Asks for the CPU (`true`): `get_device` then returns the CPU without probing CUDA and
  /// without the fallback warning.
  DeviceConfig& with_force_cpu(bool force_cpu) & noexcept {
    force_cpu_ = force_cpu;
    force_cpu_source_.clear();
    return *this;
  }
  /// Sets `force_cpu` on a temporary (see the `&` overload).
  [[nodiscard]] DeviceConfig with_force_cpu(bool force_cpu) && noexcept {
    return std::move(with_force_cpu(force_cpu));
  }

  /// Names the component asking for a device ("unsloth", "nf4"), shown in log messages and in the
  /// CPU fallback warning. Must not be empty (checked by `validate()`).
  DeviceConfig& with_component(std::string component) & noexcept {
    component_ = std::move(component);
    return *this;
  }
  /// Sets the component on a temporary (see the `&` overload).
  [[nodiscard]] DeviceConfig with_component(std::string component) && noexcept {
    return std::move(with_component(std::move(component)));
  }

  /// Sets what happens when CUDA is not usable (`FallbackPolicy`).
  DeviceConfig& with_fallback(FallbackPolicy policy) & noexcept {
    fallback_ = policy;
    fallback_source_.clear();
    return *this;
  }
  /// Sets the fallback policy on a temporary (see the `&` overload).
  [[nodiscard]] DeviceConfig with_fallback(FallbackPolicy policy) && noexcept {
    return std::move(with_fallback(policy));
  }

  /// Returns the CUDA device ordinal.
  [[nodiscard]] int cuda_device() const noexcept { return cuda_device_; }
  /// Returns whether the CPU is asked for.
  [[nodiscard]] bool force_cpu() const noexcept { return force_cpu_; }
  /// Returns the component name.
  [[nodiscard]] const std::string& component() const noexcept { return component_; }
  /// Returns the fallback policy.
  [[nodiscard]] FallbackPolicy fallback() const noexcept { return fallback_; }

  /// Returns where the ordinal came from ("RUST_AI_CUDA_DEVICE=1", "LOCAL_RANK=3"), or an empty
  /// string when it was set in code or is the default. Used in messages.
  [[nodiscard]] const std::string& cuda_device_source() const noexcept {
    return cuda_device_source_;
  }
  /// Returns where `force_cpu` came from ("RUST_AI_FORCE_CPU=1"), or an empty string.
  [[nodiscard]] const std::string& force_cpu_source() const noexcept { return force_cpu_source_; }
  /// Returns where the fallback policy came from ("RUST_AI_CPU_FALLBACK=error"), or an empty
  /// string.
  [[nodiscard]] const std::string& fallback_source() const noexcept { return fallback_source_; }

  /// Checks the settings: the ordinal is in [0, `kMaxCudaOrdinal`], the fallback policy is one of
  /// the enumerators, the component is not empty. Returns an `invalid_config` error naming the
  /// setting, its value and what is expected.
  [[nodiscard]] AI_CORE_API Result<void> validate() const;

 private:
  friend struct DeviceConfigAccess;  // src/device.cpp fills in the *_source_ fields.

  int cuda_device_ = 0;
  bool force_cpu_ = false;
  FallbackPolicy fallback_ = FallbackPolicy::warn;
  std::string component_ = "ai_core";
  std::string cuda_device_source_;
  std::string force_cpu_source_;
  std::string fallback_source_;
};

/// Why CUDA is or is not usable, as the probe found it.
enum class CudaStatus : std::uint8_t {
  ok = 0,         ///< CUDA is usable: a driver, at least one visible device, a CUDA libtorch.
  no_driver = 1,  ///< No NVIDIA driver (or only the stub `libcuda.so`) was found.
  no_device = 2,  ///< The driver works but sees no device (`CUDA_VISIBLE_DEVICES` may hide them).
  cpu_only_torch = 3,  ///< libtorch in this process has no CUDA backend.
  not_compiled = 4,    ///< ai_core was built with `AI_CORE_WITH_CUDA=OFF`.
  driver_error = 5,    ///< The driver or runtime reported an error (or the probe threw).
};

/// Returns the snake_case name of `status` ("ok", "no_driver", ...).
[[nodiscard]] AI_CORE_API std::string_view to_string(CudaStatus status) noexcept;

/// One visible CUDA device as the probe found it.
struct CudaDeviceInfo {
  int index = 0;             ///< The ordinal (`cuda:<index>`), among the visible devices.
  std::string name;          ///< The marketing name ("NVIDIA H100 80GB HBM3").
  int capability_major = 0;  ///< Compute capability, major part (9 for sm_90).
  int capability_minor = 0;  ///< Compute capability, minor part (0 for sm_90).
  std::uint64_t total_memory_bytes = 0;            ///< Total device memory.
  std::optional<std::uint64_t> free_memory_bytes;  ///< Free memory, when it was asked for.
};

/// What a `CudaProbe` found.
struct CudaProbeResult {
  CudaStatus status = CudaStatus::not_compiled;  ///< Whether CUDA is usable, and if not, why.
  std::string message;                  ///< Details: the failing call, error name and text.
  int device_count = 0;                 ///< How many devices are visible (0 unless `ok`).
  std::vector<CudaDeviceInfo> devices;  ///< The visible devices, by ordinal.
  std::optional<int> runtime_version;   ///< CUDA runtime version, 1000 * major + 10 * minor.
  std::optional<int> driver_version;    ///< Newest CUDA version the driver supports, same encoding.
};

/// What a probe is asked to find out.
struct CudaProbeOptions {
  /// Also query free memory per device. This creates a CUDA context on every visible device
  /// (hundreds of MiB each), so only diagnostics (`device_report`) ask for it.
  bool query_free_memory = false;
};

/// Finds out whether CUDA is usable. ai_core asks the installed probe once per process and caches
/// the answer; tests install a fake one (`testing::ScopedCudaProbe`). `probe` may throw: ai_core
/// catches the exception and records a `driver_error`.
class AI_CORE_API CudaProbe {
 public:
  virtual ~CudaProbe();
  /// Probes the CUDA driver and devices.
  [[nodiscard]] virtual CudaProbeResult probe(const CudaProbeOptions& options) = 0;
};

/// Returns the real probe: the CUDA runtime API (driver and runtime versions, device count and
/// properties) and libtorch (whether its CUDA backend is loaded). Never throws out of `probe`.
[[nodiscard]] AI_CORE_API std::shared_ptr<CudaProbe> make_system_cuda_probe();

/// Selects the device for `config`:
/// - `force_cpu` → the CPU, logged at info (once per process), no warning, no CUDA call;
/// - CUDA usable and ordinal < device count → `cuda:<ordinal>`, logged at info once per ordinal;
/// - CUDA usable, ordinal out of range → a `device_not_available` error listing the visible
///   devices (not a fallback: the user asked for a GPU that is not there);
/// - no usable CUDA → per `config.fallback()`: `warn` → CPU plus the one-time warning naming the
///   reason, `allow` → CPU logged at info, `error` → a `device_not_available` error with the
///   reason.
/// An invalid `config` is an `invalid_config` error. The first call probes CUDA (and blocks
/// concurrent first calls until the probe is done); later calls make no CUDA call and take no lock.
[[nodiscard]] AI_CORE_API Result<c10::Device> get_device(const DeviceConfig& config);

/// Checks `device` by the one rule every ai_core function that takes a device applies, against
/// the cached probe that `get_device` uses (a `testing::ScopedCudaProbe` changes both):
/// - `cpu` or `cpu:0` passes; another CPU index is `device_not_available`;
/// - `cuda:N` passes when 0 <= N < the visible device count; a negative N, or N past the visible
///   devices, is `device_not_available` naming the device and the visible devices (or why none);
/// - `cuda` without an index is `invalid_config` (ai_core never guesses the current device);
/// - any other device type is `device_mismatch`.
/// `caller` starts the message ("to_tensor"). Probes CUDA on the first call, as `get_device`.
[[nodiscard]] AI_CORE_API Result<void> check_device(c10::Device device,
                                                    std::string_view caller = {});

/// Returns the number of visible CUDA devices of the cached probe (0 when CUDA is not usable).
/// Probes on the first call. ai_core asks this, never CUDA directly, for the count.
[[nodiscard]] AI_CORE_API int visible_cuda_device_count() noexcept;

/// Warns, once per process, that `component` is computing on the CPU, when `device` is the CPU.
/// The warning names the component, the reason (from the cached CUDA probe), the cost, and how to
/// declare CPU intended (`RUST_AI_FORCE_CPU=1`, which silences it). It goes to `ai_core::log` at
/// warn, and to stderr when the logger would drop a warning. Later calls, from any component,
/// never warn again; each further component is logged once at debug level. Thread-safe: however
/// many threads race, exactly one warning. Does nothing for non-CPU devices. See
/// Note [CPU fallback warning] in src/device.cpp.
AI_CORE_API void warn_if_cpu(c10::Device device, std::string_view component) noexcept;

/// Receives the text of the CPU fallback warning (`set_cpu_warning_handler`). Must not throw.
using CpuWarningHandler = void (*)(std::string_view message) noexcept;

/// Installs `handler` to show the CPU fallback warning in place of stderr, for a host with its own
/// warning channel (the Python package turns it into a Python warning); `nullptr` restores
/// stderr. Returns the handler installed before. The warning is still given once per process and
/// still reaches the logger (at warn, or at debug while ai_core's default stderr logger would
/// print it a second time). Thread-safe; the handler is called with the warning's lock held.
AI_CORE_API CpuWarningHandler set_cpu_warning_handler(CpuWarningHandler handler) noexcept;

/// Returns whether CUDA is usable (the cached probe's status is `ok`). Probes on the first call.
[[nodiscard]] AI_CORE_API bool cuda_available() noexcept;

/// Returns the cached probe result (probing on the first call). The reference stays valid for
/// the life of the process.
[[nodiscard]] AI_CORE_API const CudaProbeResult& cuda_probe_result();

}  // namespace ai_core
