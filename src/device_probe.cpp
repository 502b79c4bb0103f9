// SPDX-License-Identifier: MIT
// The system CUDA probe (CUDA runtime API + libtorch's backend registry) and the words device
// selection uses to describe what it found. Compiled by the host compiler; the CUDA parts only
// when AI_CORE_WITH_CUDA is 1 (ai_core built without CUDA reports `not_compiled`).
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

class SystemCudaProbe final : public CudaProbe {
 public:
  CudaProbeResult probe([[maybe_unused]] const CudaProbeOptions& options) override {
    CudaProbeResult result;
#if !AI_CORE_WITH_CUDA
    result.status = CudaStatus::not_compiled;
    result.message = "ai_core was built with AI_CORE_WITH_CUDA=OFF";
    return result;
#else
    int runtime = 0;
    if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) result.runtime_version = runtime;
    int driver = 0;
    const cudaError_t driver_status = cudaDriverGetVersion(&driver);
    if (driver_status == cudaSuccess && driver > 0) result.driver_version = driver;
    cudaGetLastError();

    if (!c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA)) {
      result.status = CudaStatus::cpu_only_torch;
      result.message =
          "libtorch in this process has no CUDA backend (a CPU-only libtorch, or libtorch_cuda "
          "was not loaded)";
      return result;
    }
    if (driver_status != cudaSuccess || driver == 0) {
      result.status = CudaStatus::no_driver;
      result.message = driver_status != cudaSuccess
                           ? describe_cuda_error("cudaDriverGetVersion", driver_status)
                           : "no NVIDIA driver is installed (cudaDriverGetVersion reported 0)";
      return result;
    }

    int count = 0;
    const cudaError_t count_status = cudaGetDeviceCount(&count);
    cudaGetLastError();
    if (count_status != cudaSuccess) {
      result.message = describe_cuda_error("cudaGetDeviceCount", count_status);
      switch (count_status) {
        case cudaErrorNoDevice: result.status = CudaStatus::no_device; break;
        case cudaErrorInsufficientDriver:
        case cudaErrorStubLibrary:
          result.status = CudaStatus::no_driver;
          result.message += " (driver supports CUDA " + detail::format_cuda_version(driver) +
                            ", runtime is CUDA " + detail::format_cuda_version(runtime) + ")";
          break;
        default: result.status = CudaStatus::driver_error; break;
      }
      return result;
    }
    if (count <= 0) {
      result.status = CudaStatus::no_device;
      result.message = "cudaGetDeviceCount reported 0 devices";
      return result;
    }

    int previous_device = -1;
    if (options.query_free_memory && cudaGetDevice(&previous_device) != cudaSuccess) {
      previous_device = -1;
      cudaGetLastError();
    }
    for (int i = 0; i < count; ++i) {
      cudaDeviceProp properties{};
      const cudaError_t status = cudaGetDeviceProperties(&properties, i);
      if (status != cudaSuccess) {
        cudaGetLastError();
        result.status = CudaStatus::driver_error;
        result.message = describe_cuda_error("cudaGetDeviceProperties", status) + " for device " +
                         std::to_string(i);
        result.devices.clear();
        return result;
      }
      CudaDeviceInfo info;
      info.index = i;
      info.name = properties.name;
      info.capability_major = properties.major;
      info.capability_minor = properties.minor;
      info.total_memory_bytes = properties.totalGlobalMem;
      if (options.query_free_memory) {
        std::size_t free_bytes = 0;
        std::size_t total_bytes = 0;
        if (cudaSetDevice(i) == cudaSuccess &&
            cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
          info.free_memory_bytes = free_bytes;
        }
        cudaGetLastError();
      }
      result.devices.push_back(std::move(info));
    }
    if (previous_device >= 0) {
      cudaSetDevice(previous_device);
      cudaGetLastError();
    }
    result.status = CudaStatus::ok;
    result.device_count = count;
    result.message = std::to_string(count) + " device(s) visible";
    return result;
#endif
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

std::string format_cuda_version(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

std::string format_gib(std::uint64_t bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f GiB",
                static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buffer;
}

std::string describe_device(const CudaDeviceInfo& device) {
  std::string text = device.name.empty() ? std::string("unnamed device") : device.name;
  text +=
      ", sm_" + std::to_string(device.capability_major) + std::to_string(device.capability_minor);
  if (device.total_memory_bytes > 0) text += ", " + format_gib(device.total_memory_bytes);
  return text;
}

std::string list_devices(const CudaProbeResult& result) {
  if (result.device_count == 0) return "none";
  std::string text;
  for (int i = 0; i < result.device_count; ++i) {
    if (i > 0) text += ", ";
    text += "cuda:" + std::to_string(i);
    if (static_cast<std::size_t>(i) < result.devices.size()) {
      text += " (" + describe_device(result.devices[static_cast<std::size_t>(i)]) + ")";
    }
  }
  return text;
}

std::string describe_unusable(const CudaProbeResult& result) {
  const std::string detail = result.message.empty() ? std::string() : ": " + result.message;
  switch (result.status) {
    case CudaStatus::ok:
      return result.device_count > 0 ? std::string("CUDA is usable")
                                     : "no CUDA device is visible" + detail;
    case CudaStatus::no_driver: return "no usable NVIDIA driver" + detail;
    case CudaStatus::no_device: {
      std::string text = "the CUDA driver sees no device" + detail;
      if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
        text += " (CUDA_VISIBLE_DEVICES=" + quote(visible) + " limits which devices are visible)";
      }
      return text;
    }
    case CudaStatus::cpu_only_torch: return "libtorch has no CUDA support" + detail;
    case CudaStatus::not_compiled: return "ai_core was built without CUDA" + detail;
    case CudaStatus::driver_error: return "the CUDA driver reported an error" + detail;
  }
  return "CUDA status " + std::to_string(static_cast<int>(result.status)) + detail;
}

std::string quote(std::string_view value) {
  constexpr std::size_t kMaxShown = 64;
  std::string text = "'";
  std::size_t shown = 0;
  for (char c : value) {
    if (shown == kMaxShown) {
      text += "...' (" + std::to_string(value.size()) + " bytes)";
      return text;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '\'' || c == '\\') {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned>(byte));
      text += escaped;
    } else {
      text += c;
    }
    ++shown;
  }
  text += "'";
  return text;
}

CoreError ordinal_out_of_range(const DeviceConfig& config, const CudaProbeResult& result) {
  const int ordinal = config.cuda_device();
  std::string detail = config.component() + " asked for cuda:" + std::to_string(ordinal);
  if (!config.cuda_device_source().empty()) detail += " (" + config.cuda_device_source() + ")";
  detail += ", but " + std::to_string(result.device_count) +
            " CUDA device(s) are visible: " + list_devices(result);
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
    detail += "; CUDA_VISIBLE_DEVICES=" + quote(visible);
  }
  if (config.cuda_device_source().starts_with("LOCAL_RANK=")) {
    detail +=
        "; if the launcher gives each rank its own GPU through CUDA_VISIBLE_DEVICES, set "
        "RUST_AI_CUDA_DEVICE=0";
  }
  if (ordinal <= 127) {
    return CoreError::device_not_available(
        c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(ordinal)),
        std::move(detail));
  }
  return CoreError::device_not_available("cuda:" + std::to_string(ordinal) + " (" + detail + ")");
}

CoreError fallback_forbidden(const DeviceConfig& config, const std::string& reason) {
  const std::string origin = config.fallback_source().empty()
                                 ? std::string("DeviceConfig::with_fallback(FallbackPolicy::error)")
                                 : config.fallback_source();
  std::string detail = config.component() + " needs a CUDA device and the CPU fallback is " +
                       "forbidden (" + origin + "): " + reason;
  const int ordinal = config.cuda_device();
  if (ordinal <= 127) {
    return CoreError::device_not_available(
        c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(ordinal)),
        std::move(detail));
  }
  return CoreError::device_not_available("cuda:" + std::to_string(ordinal) + " (" + detail + ")");
}

}  // namespace detail
}  // namespace ai_core
