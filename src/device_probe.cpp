// SPDX-License-Identifier: MIT
// The system CUDA probe (CUDA runtime API + libtorch's backend registry). The words device
// selection uses to describe what it found are in device.cpp. Compiled by the host compiler; the
// CUDA parts only when AI_CORE_WITH_CUDA is 1 (ai_core built without CUDA reports `not_compiled`).
//
// Note [what the probe asks]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~
// In order, stopping at the first problem:
//   1. libtorch's CUDA backend: `c10::impl::hasDeviceGuardImpl(CUDA)` is true only when
//      libtorch_cuda (c10_cuda) is loaded. False: `cpu_only_torch` (a CPU wheel, or a link that
//      dropped libtorch_cuda). Checked first because without it no CUDA tensor can exist anyway.
//   2. `cudaDriverGetVersion`: 0 means no driver is installed: `no_driver`.
//   3. `cudaGetDeviceCount`: cudaErrorNoDevice (also what an empty `CUDA_VISIBLE_DEVICES` gives)
//      is `no_device`; cudaErrorInsufficientDriver / cudaErrorStubLibrary mean no usable driver
//      (`no_driver`, with the versions); anything else is `driver_error` with the error's name and
//      text. A count of 0 is `no_device`.
//   4. `cudaGetDeviceProperties` per device (name, capability, total memory). This does not create
//      a CUDA context. Free memory (`cudaMemGetInfo`) does, on every device, so it is only asked
//      for by diagnostics (`CudaProbeOptions::query_free_memory`), and the current device is
//      restored afterwards.
// Errors of the runtime are cleared (`cudaGetLastError`) so that they do not surface later in an
// unrelated libtorch check. Nothing here throws; `detail::run_probe` also catches what an installed
// probe throws and records it as `driver_error`.
#include <ai_core/device.hpp>

#include "device_internal.hpp"

#include <c10/core/impl/DeviceGuardImplInterface.h>

#if AI_CORE_WITH_CUDA
#  include <cuda_runtime_api.h>
#  include <ai_core/cuda/error.hpp>
#endif

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace ai_core {

CudaProbe::~CudaProbe() = default;

std::string_view to_string(CudaStatus status) noexcept {
  switch (status) {
    case CudaStatus::ok: return "ok";
    case CudaStatus::no_driver: return "no_driver";
    case CudaStatus::no_device: return "no_device";
    case CudaStatus::cpu_only_torch: return "cpu_only_torch";
    case CudaStatus::not_compiled: return "not_compiled";
    case CudaStatus::driver_error: return "driver_error";
  }
  return "unknown";
}

namespace {

#if AI_CORE_WITH_CUDA
std::string describe_cuda_error(const char* call, cudaError_t error) {
  return from_cuda_error(error, call).message();
}
#endif

#if AI_CORE_WITH_CUDA
// The steps of Note [what the probe asks]. Each returns true when the probe may go on, after
// writing what it found into `result`; false when `result` is final.

/// Records the runtime and driver versions (step 0, informational); returns the driver query's
/// status and the driver version.
cudaError_t read_versions(CudaProbeResult& result, int* driver) {
  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) result.runtime_version = runtime;
  const cudaError_t status = cudaDriverGetVersion(driver);
  if (status == cudaSuccess && *driver > 0) result.driver_version = *driver;
  cudaGetLastError();
  return status;
}

/// Step 1: libtorch's CUDA backend is loaded.
bool check_torch_backend(CudaProbeResult& result) {
  if (c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA)) return true;
  result.status = CudaStatus::cpu_only_torch;
  result.message =
      "libtorch in this process has no CUDA backend (a CPU-only libtorch, or libtorch_cuda was "
      "not loaded)";
  return false;
}

/// Step 2: a driver is installed.
bool check_driver(CudaProbeResult& result, cudaError_t driver_status, int driver) {
  if (driver_status == cudaSuccess && driver != 0) return true;
  result.status = CudaStatus::no_driver;
  result.message = driver_status != cudaSuccess
                       ? describe_cuda_error("cudaDriverGetVersion", driver_status)
                       : "no NVIDIA driver is installed (cudaDriverGetVersion reported 0)";
  return false;
}

/// Step 3: the driver sees at least one device; writes the count.
bool count_devices(CudaProbeResult& result, int driver, int* count) {
  const cudaError_t status = cudaGetDeviceCount(count);
  cudaGetLastError();
  if (status != cudaSuccess) {
    result.message = describe_cuda_error("cudaGetDeviceCount", status);
    switch (status) {
      case cudaErrorNoDevice: result.status = CudaStatus::no_device; break;
      case cudaErrorInsufficientDriver:
      case cudaErrorStubLibrary:
        result.status = CudaStatus::no_driver;
        result.message += " (driver supports CUDA " + detail::format_cuda_version(driver) +
                          ", runtime is CUDA " +
                          detail::format_cuda_version(result.runtime_version.value_or(0)) + ")";
        break;
      default: result.status = CudaStatus::driver_error; break;
    }
    return false;
  }
  if (*count > 0) return true;
  result.status = CudaStatus::no_device;
  result.message = "cudaGetDeviceCount reported 0 devices";
  return false;
}

/// Step 4: the properties of device `index`, and its free memory when asked (which creates a
/// context on it; the caller restores the current device).
bool read_device(CudaProbeResult& result, int index, bool query_free_memory) {
  cudaDeviceProp properties{};
  const cudaError_t status = cudaGetDeviceProperties(&properties, index);
  if (status != cudaSuccess) {
    cudaGetLastError();
    result.status = CudaStatus::driver_error;
    result.message = describe_cuda_error("cudaGetDeviceProperties", status) + " for device " +
                     std::to_string(index);
    result.devices.clear();
    return false;
  }
  CudaDeviceInfo info;
  info.index = index;
  info.name = properties.name;
  info.capability_major = properties.major;
  info.capability_minor = properties.minor;
  info.total_memory_bytes = properties.totalGlobalMem;
  if (query_free_memory) {
    std::size_t free_bytes = 0;
    std::size_t total_bytes = 0;
    if (cudaSetDevice(index) == cudaSuccess &&
        cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
      info.free_memory_bytes = free_bytes;
    }
    cudaGetLastError();
  }
  result.devices.push_back(std::move(info));
  return true;
}

/// Step 4 for every device, restoring the current device afterwards when free memory was asked.
bool read_devices(CudaProbeResult& result, int count, bool query_free_memory) {
  int previous_device = -1;
  if (query_free_memory && cudaGetDevice(&previous_device) != cudaSuccess) {
    previous_device = -1;
    cudaGetLastError();
  }
  bool ok = true;
  for (int i = 0; i < count && ok; ++i) ok = read_device(result, i, query_free_memory);
  if (previous_device >= 0) {
    cudaSetDevice(previous_device);
    cudaGetLastError();
  }
  return ok;
}
#endif

class SystemCudaProbe final : public CudaProbe {
 public:
  CudaProbeResult probe([[maybe_unused]] const CudaProbeOptions& options) override {
    CudaProbeResult result;
#if !AI_CORE_WITH_CUDA
    result.status = CudaStatus::not_compiled;
    result.message = "ai_core was built with AI_CORE_WITH_CUDA=OFF";
#else
    int driver = 0;
    int count = 0;
    const cudaError_t driver_status = read_versions(result, &driver);
    if (check_torch_backend(result) && check_driver(result, driver_status, driver) &&
        count_devices(result, driver, &count) &&
        read_devices(result, count, options.query_free_memory)) {
      result.status = CudaStatus::ok;
      result.device_count = count;
      result.message = std::to_string(count) + " device(s) visible";
    }
#endif
    return result;
  }
};

}  // namespace

std::shared_ptr<CudaProbe> make_system_cuda_probe() { return std::make_shared<SystemCudaProbe>(); }

namespace detail {

CudaProbeResult run_probe(CudaProbe& probe, const CudaProbeOptions& options) noexcept {
  CudaProbeResult result;
  try {
    result = probe.probe(options);
  } catch (const std::exception& e) {
    result = CudaProbeResult{};
    result.status = CudaStatus::driver_error;
    try {
      result.message = std::string("the CUDA probe threw: ") + e.what();
    } catch (...) {
    }
  } catch (...) {
    result = CudaProbeResult{};
    result.status = CudaStatus::driver_error;
    result.message = "the CUDA probe threw an exception that is not a std::exception";
  }
  if (result.device_count < 0) result.device_count = 0;
  if (result.status == CudaStatus::ok && result.device_count == 0) {
    result.status = CudaStatus::no_device;
    if (result.message.empty()) result.message = "the probe reported 0 devices";
  }
  if (result.status != CudaStatus::ok) result.device_count = 0;
  // c10::DeviceIndex is 8 bits: more devices than it can name are not addressable.
  constexpr int kMaxDevices = 128;
  if (result.device_count > kMaxDevices) result.device_count = kMaxDevices;
  return result;
}

}  // namespace detail
}  // namespace ai_core
