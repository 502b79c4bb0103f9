// SPDX-License-Identifier: MIT
// ai_core/detail/device_scope.hpp: the device guard `ai_core::dispatch` runs `dispatch_gpu` under.
//
// `DeviceScope` makes a CUDA device current on the calling thread for its lifetime and restores
// exactly what was current before (Note [cheap device guard] in src/device_guard.cpp). It costs a
// read of the thread's current CUDA context and one comparison when the device is already current,
// the common case, where `c10::cuda::OptionalCUDAGuard` asks the runtime every time
// (docs/benchmarks.md compares the two). The CUDA work happens in src/device_guard.cpp behind opaque,
// exported functions: this header includes no CUDA header and compiles with AI_CORE_WITH_CUDA=0.
//
// This is ai_core::detail: no stability promise. Users reach it through `ai_core::dispatch`.
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/export.hpp>

#include <c10/core/Device.h>

#include <cstdint>

namespace ai_core::detail {

/// What `enter_cuda_device` did, and why it failed when it did.
enum class DeviceScopeState : std::uint8_t {
  unchanged = 0,      ///< The device's primary context was already current; nothing to undo.
  switched = 1,       ///< Another context (or none) was current; `leave_cuda_device` restores it.
  no_cuda_build = 2,  ///< ai_core was built with AI_CORE_WITH_CUDA=0.
  no_device = 3,      ///< The CUDA runtime reports no usable device; `error` is a cudaError_t.
  out_of_range = 4,   ///< The index is not below the number of visible devices.
  runtime_error = 5,  ///< A CUDA runtime call failed; `error` is its cudaError_t.
  driver_error = 6,   ///< A CUDA driver call failed; `error` is its CUresult.
};

/// The outcome of `enter_cuda_device`: 16 bytes, returned in registers.
struct DeviceScopeEntry {
  void* previous_context;  ///< The CUcontext current before (`switched` only; may be null).
  std::int32_t error;      ///< The CUDA error code of a failed state, 0 otherwise.
  c10::DeviceIndex index;  ///< The device entered: the one asked for, or the current one for -1.
  DeviceScopeState state;  ///< What happened.
};

/// Makes the primary context of CUDA device `index` current on the calling thread (`index == -1`:
/// the thread's current device) and returns what is needed to undo it. Never throws; the first
/// call on a process loads the driver entry points and counts the devices.
[[nodiscard]] AI_CORE_API DeviceScopeEntry enter_cuda_device(c10::DeviceIndex index) noexcept;

/// Makes `previous_context` (a CUcontext from `enter_cuda_device`, possibly null) current again.
AI_CORE_API void leave_cuda_device(void* previous_context) noexcept;

/// Returns the error describing a failed `entry` for the device index that was asked for:
/// `device_not_available` naming the device when there is none, `kernel_error` (through
/// `CoreError::cuda`) with the CUDA error's name when a CUDA call failed.
[[nodiscard]] AI_CORE_API CoreError device_scope_error(const DeviceScopeEntry& entry,
                                                       c10::DeviceIndex requested);

/// Returns the CUcontext current on the calling thread, or null (none, or no CUDA). For tests and
/// benchmarks of the guard.
[[nodiscard]] AI_CORE_API void* current_cuda_context() noexcept;

/// Returns the primary context of CUDA device `index` as the guard caches it (retaining it on
/// first use), or null when there is no such device. For tests of the guard.
[[nodiscard]] AI_CORE_API void* cuda_primary_context(c10::DeviceIndex index) noexcept;

/// Makes a device current on the calling thread while it lives (RAII) and restores the previous
/// state when destroyed. For a CUDA device it enters that device's primary context
/// (`enter_cuda_device`); for any other device it does nothing. It is neither copyable nor
/// movable: it restores on the thread and in the scope that created it.
///
/// Example:
///   detail::DeviceScope scope(device);
///   if (!scope.ok()) return scope.error();
///   launch(..., at::cuda::getCurrentCUDAStream(scope.device().index()));
class [[nodiscard]] DeviceScope {
 public:
  /// Enters `device` (CUDA) or does nothing (any other type).
  explicit DeviceScope(c10::Device device) noexcept
      : requested_(device),
        entry_(device.is_cuda()
                   ? enter_cuda_device(device.index())
                   : DeviceScopeEntry{nullptr, 0, device.index(), DeviceScopeState::unchanged}) {}

  /// Restores the context that was current before, when the scope switched it.
  ~DeviceScope() {
    if (entry_.state == DeviceScopeState::switched) leave_cuda_device(entry_.previous_context);
  }

  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

  /// Returns whether the device is current (always for a non-CUDA device).
  [[nodiscard]] bool ok() const noexcept {
    return entry_.state == DeviceScopeState::unchanged ||
           entry_.state == DeviceScopeState::switched;
  }

  /// Returns whether the scope had to switch the thread's context.
  [[nodiscard]] bool switched() const noexcept {
    return entry_.state == DeviceScopeState::switched;
  }

  /// Returns the device now current: the one asked for, with its index filled in for an
  /// index-less CUDA device. Meaningful only when `ok()`.
  [[nodiscard]] c10::Device device() const noexcept {
    return c10::Device(requested_.type(), entry_.index);
  }

  /// Returns why entering failed. Call only when `!ok()`.
  [[nodiscard]] CoreError error() const { return device_scope_error(entry_, requested_.index()); }

 private:
  c10::Device requested_;
  DeviceScopeEntry entry_;
};

}  // namespace ai_core::detail
