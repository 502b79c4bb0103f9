// SPDX-License-Identifier: MIT
// ai_core/testing/cuda_probe.hpp: test hooks of device selection: install a CUDA probe for a scope
// (`ScopedCudaProbe`), a fake probe with a fixed answer (`FakeCudaProbe`), and the reset of the
// cached device state. A test probe changes everything that asks the cached probe: `get_device`,
// `check_device` and so every ai_core function that takes a device. Needs no GoogleTest.
#pragma once

#include <ai_core/device_selection.hpp>
#include <ai_core/export.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace ai_core {
namespace testing {

/// Installs `probe` as the process's CUDA probe (`nullptr`: the system probe) and resets the
/// device state: the cached probe result, the warn-once flag and the once-only info logs. Returns
/// the probe installed before (`nullptr` for the system probe). Test-only: call it while no other
/// thread selects devices. Prefer `ScopedCudaProbe`.
AI_CORE_API std::shared_ptr<CudaProbe> set_cuda_probe_for_testing(std::shared_ptr<CudaProbe> probe);

/// Resets the device state (as `set_cuda_probe_for_testing` does) keeping the installed probe.
/// Test-only: call it while no other thread selects devices.
AI_CORE_API void reset_device_state_for_testing();

/// Installs a CUDA probe for the life of the guard, resetting the device state on entry and exit,
/// so every test starts with a fresh probe cache and an unspent CPU fallback warning.
///
/// Example:
///   ai_core::testing::ScopedCudaProbe probe(std::make_shared<ai_core::testing::FakeCudaProbe>(
///       ai_core::testing::FakeCudaProbe::with_devices(2)));
class ScopedCudaProbe {
 public:
  /// Installs `probe` and resets the device state.
  explicit ScopedCudaProbe(std::shared_ptr<CudaProbe> probe)
      : previous_(set_cuda_probe_for_testing(std::move(probe))) {}
  /// Restores the previous probe and resets the device state.
  ~ScopedCudaProbe() { set_cuda_probe_for_testing(std::move(previous_)); }
  ScopedCudaProbe(const ScopedCudaProbe&) = delete;
  ScopedCudaProbe& operator=(const ScopedCudaProbe&) = delete;

 private:
  std::shared_ptr<CudaProbe> previous_;
};

/// A probe that returns a fixed result and counts how often it was asked.
class FakeCudaProbe : public CudaProbe {
 public:
  /// Creates a probe that always answers `result`.
  explicit FakeCudaProbe(CudaProbeResult result) : result_(std::move(result)) {}

  /// Returns the fixed result (with `free_memory_bytes` only when asked for) and counts the call.
  CudaProbeResult probe(const CudaProbeOptions& options) override {
    calls_.fetch_add(1, std::memory_order_relaxed);
    CudaProbeResult result = result_;
    if (!options.query_free_memory) {
      for (auto& device : result.devices) device.free_memory_bytes.reset();
    }
    return result;
  }

  /// Returns how many times `probe` was called.
  [[nodiscard]] int calls() const noexcept { return calls_.load(std::memory_order_relaxed); }

  /// Returns a result with `count` usable fake devices ("Fake GPU <i>", sm_90, 80 GiB, 79 GiB
  /// free), CUDA 13.0.
  [[nodiscard]] static CudaProbeResult with_devices(int count) {
    CudaProbeResult result;
    result.status = CudaStatus::ok;
    result.message = "fake probe";
    result.device_count = count;
    result.runtime_version = 13000;
    result.driver_version = 13000;
    for (int i = 0; i < count; ++i) {
      result.devices.push_back(CudaDeviceInfo{i, "Fake GPU " + std::to_string(i), 9, 0,
                                              std::uint64_t{80} << 30, std::uint64_t{79} << 30});
    }
    return result;
  }

  /// Returns a result with no usable CUDA: `status` with `message`.
  [[nodiscard]] static CudaProbeResult unusable(CudaStatus status, std::string message) {
    CudaProbeResult result;
    result.status = status;
    result.message = std::move(message);
    return result;
  }

 private:
  CudaProbeResult result_;
  std::atomic<int> calls_{0};
};

}  // namespace testing
}  // namespace ai_core
