// SPDX-License-Identifier: MIT
// src/interop_cuda.cpp: the CUDA side of <ai_core/interop.hpp>: the stream lookup behind
// `TensorBufferView::stream()`, the device count, `CudaEvent`, `wait_stream` and the
// `release_after` parking list. Compiled by the host compiler against cuda_runtime_api.h and
// c10/cuda; in a build without CUDA (AI_CORE_WITH_CUDA=0) every function reports that CUDA is not
// available.
#include "interop_internal.hpp"

#include <ai_core/device.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/log.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/torch_error.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#if AI_CORE_WITH_CUDA
#  include <c10/cuda/CUDAFunctions.h>
#  include <c10/cuda/CUDAGuard.h>
#  include <c10/cuda/CUDAStream.h>
#  include <cuda_runtime_api.h>
#  include <ai_core/cuda/error.hpp>
#endif

namespace ai_core {
namespace detail {

#if AI_CORE_WITH_CUDA

StreamHandle current_cuda_stream(c10::DeviceIndex index) noexcept {
  try {
    return static_cast<StreamHandle>(c10::cuda::getCurrentCUDAStream(index).stream());
  } catch (const std::exception& error) {
    // Only reachable for a device index that does not exist, which the factories rule out.
    log(LogLevel::error, str_cat("TensorBufferView::stream(): no current stream for cuda:",
                                 static_cast<int>(index), ": ", error.what()));
    return nullptr;
  }
}

std::optional<std::uint64_t> cuda_free_bytes(c10::DeviceIndex index) noexcept {
  try {
    c10::cuda::CUDAGuard guard(index);
    std::size_t free = 0;
    std::size_t total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
      (void)cudaGetLastError();  // a failed query must not poison the caller's next CUDA call
      return std::nullopt;
    }
    return static_cast<std::uint64_t>(free);
  } catch (const std::exception&) {
    return std::nullopt;  // the guard could not select the device
  }
}

#else  // !AI_CORE_WITH_CUDA

StreamHandle current_cuda_stream(c10::DeviceIndex /*index*/) noexcept { return nullptr; }

std::optional<std::uint64_t> cuda_free_bytes(c10::DeviceIndex /*index*/) noexcept {
  return std::nullopt;
}

namespace {
CoreError no_cuda(std::string_view what) {
  return CoreError::device_not_available(
      str_cat(what, ": ai_core was built without CUDA (AI_CORE_WITH_CUDA=OFF)"));
}
}  // namespace

#endif

namespace {

// The device rule of the CUDA entry points, the same with and without CUDA compiled in: a CUDA
// device that `check_device` accepts.
Result<void> check_cuda_device(c10::Device device, std::string_view what) {
  if (!device.is_cuda()) {
    return CoreError::device_mismatch(c10::Device(c10::DeviceType::CUDA, 0), device,
                                      str_cat(what, " needs a CUDA device"));
  }
  return check_device(device, what);
}

}  // namespace

}  // namespace detail

// --- CudaEvent
// ------------------------------------------------------------------------------------

#if AI_CORE_WITH_CUDA

Result<CudaEvent> CudaEvent::create(c10::Device device) {
  AI_CORE_TRY(detail::check_cuda_device(device, "CudaEvent::create"));
  // The guard throws when CUDA cannot select the device (a probe that shows more devices than
  // the driver has): the exception becomes the error, with the device named.
  return capture([&]() -> Result<CudaEvent> {
           c10::cuda::CUDAGuard guard(device.index());
           cudaEvent_t event = nullptr;
           if (cudaError_t rc = cudaEventCreateWithFlags(&event, cudaEventDisableTiming);
               rc != cudaSuccess) {
             return from_cuda_error(rc, "CudaEvent::create: cudaEventCreateWithFlags");
           }
           return CudaEvent(static_cast<void*>(event), device);
         })
      .transform_error([&](CoreError error) {
        return std::move(error).with_context(str_cat("in CudaEvent::create on ", device));
      });
}

Result<void> CudaEvent::record(StreamHandle stream) {
  if (event_ == nullptr) {
    return CoreError::invalid_config("CudaEvent::record: the event was moved from");
  }
  return capture([&]() -> Result<void> {
    c10::cuda::CUDAGuard guard(device_.index());
    if (cudaError_t rc =
            cudaEventRecord(static_cast<cudaEvent_t>(event_), static_cast<cudaStream_t>(stream));
        rc != cudaSuccess) {
      return from_cuda_error(rc, "CudaEvent::record: cudaEventRecord");
    }
    return {};
  });
}

Result<void> CudaEvent::block(StreamHandle stream) const {
  if (event_ == nullptr) {
    return CoreError::invalid_config("CudaEvent::block: the event was moved from");
  }
  if (cudaError_t rc = cudaStreamWaitEvent(static_cast<cudaStream_t>(stream),
                                           static_cast<cudaEvent_t>(event_), 0);
      rc != cudaSuccess) {
    return from_cuda_error(rc, "CudaEvent::block: cudaStreamWaitEvent");
  }
  return {};
}

Result<bool> CudaEvent::query() const {
  if (event_ == nullptr) {
    return CoreError::invalid_config("CudaEvent::query: the event was moved from");
  }
  const cudaError_t rc = cudaEventQuery(static_cast<cudaEvent_t>(event_));
  if (rc == cudaSuccess) return true;
  if (rc == cudaErrorNotReady) return false;
  return from_cuda_error(rc, "CudaEvent::query: cudaEventQuery");
}

Result<void> CudaEvent::synchronize() const {
  if (event_ == nullptr) {
    return CoreError::invalid_config("CudaEvent::synchronize: the event was moved from");
  }
  if (cudaError_t rc = cudaEventSynchronize(static_cast<cudaEvent_t>(event_)); rc != cudaSuccess) {
    return from_cuda_error(rc, "CudaEvent::synchronize: cudaEventSynchronize");
  }
  return {};
}

CudaEvent& CudaEvent::operator=(CudaEvent&& other) noexcept {
  if (this != &other) {
    if (event_ != nullptr) cudaEventDestroy(static_cast<cudaEvent_t>(event_));
    event_ = std::exchange(other.event_, nullptr);
    device_ = other.device_;
  }
  return *this;
}

CudaEvent::~CudaEvent() {
  if (event_ != nullptr) cudaEventDestroy(static_cast<cudaEvent_t>(event_));
}

Result<void> wait_stream(StreamHandle consumer, StreamHandle producer, c10::Device device) {
  AI_CORE_TRY(detail::check_cuda_device(device, "wait_stream"));
  if (consumer == producer) return {};
  AI_CORE_ASSIGN_OR_RETURN(CudaEvent event, CudaEvent::create(device));
  AI_CORE_TRY(event.record(producer));
  return event.block(consumer);
}

#else  // !AI_CORE_WITH_CUDA

Result<CudaEvent> CudaEvent::create(c10::Device device) {
  AI_CORE_TRY(detail::check_cuda_device(device, "CudaEvent::create"));
  return detail::no_cuda(str_cat("CudaEvent::create on ", device));
}
Result<void> CudaEvent::record(StreamHandle /*stream*/) {
  return detail::no_cuda("CudaEvent::record");
}
Result<void> CudaEvent::block(StreamHandle /*stream*/) const {
  return detail::no_cuda("CudaEvent::block");
}
Result<bool> CudaEvent::query() const { return detail::no_cuda("CudaEvent::query"); }
Result<void> CudaEvent::synchronize() const { return detail::no_cuda("CudaEvent::synchronize"); }
CudaEvent& CudaEvent::operator=(CudaEvent&& other) noexcept {
  event_ = std::exchange(other.event_, nullptr);
  device_ = other.device_;
  return *this;
}
CudaEvent::~CudaEvent() = default;
Result<void> wait_stream(StreamHandle /*consumer*/, StreamHandle /*producer*/, c10::Device device) {
  AI_CORE_TRY(detail::check_cuda_device(device, "wait_stream"));
  return detail::no_cuda(str_cat("wait_stream on ", device));
}

#endif

// --- release_after
// --------------------------------------------------------------------------------

namespace {

struct Parked {
  CudaEvent event;
  TensorBuffer buffer;
};

struct ParkingLot {
  std::mutex mutex;
  std::vector<Parked> parked;
};

// Leaked on purpose: parked buffers must not be released by a static destructor that runs after
// the CUDA context is gone (whatever is still parked at exit is leaked, not freed out of order).
ParkingLot& parking_lot() {
  static ParkingLot* lot = new ParkingLot();
  return *lot;
}

/// Drops completed entries; the caller holds the lot's mutex. Returns how many remain. The
/// dropped buffers are moved to `released` so that their memory is freed outside the lock.
std::int64_t sweep_locked(ParkingLot& lot, bool wait, std::vector<Parked>& released) {
  std::vector<Parked> keep;
  for (Parked& entry : lot.parked) {
    bool done = true;
    if (wait) {
      if (auto synced = entry.event.synchronize(); !synced) {
        log(LogLevel::error, str_cat("collect_released_buffers: ", synced.error().to_string()));
      }
    } else if (auto finished = entry.event.query(); finished) {
      done = *finished;
    } else {
      // A broken event would park the buffer forever; release it and say so.
      log(LogLevel::error, str_cat("release_after: dropping a buffer whose event failed: ",
                                   finished.error().to_string()));
    }
    (done ? released : keep).push_back(std::move(entry));
  }
  lot.parked = std::move(keep);
  return static_cast<std::int64_t>(lot.parked.size());
}

}  // namespace

Result<void> release_after(StreamHandle stream, TensorBuffer buffer) {
  if (!buffer.owns_storage()) {
    return CoreError::invalid_config(
        "release_after: the buffer owns no storage; expected an owning buffer");
  }
  c10::Device device = buffer.device();
  if (!device.is_cuda()) {
    return CoreError::device_mismatch(c10::Device(c10::DeviceType::CUDA, 0), device,
                                      "release_after: the buffer is not on a CUDA device");
  }
  AI_CORE_ASSIGN_OR_RETURN(CudaEvent event, CudaEvent::create(device));
  AI_CORE_TRY(event.record(stream));
  std::vector<Parked> released;
  return capture([&] {
    ParkingLot& lot = parking_lot();
    std::lock_guard<std::mutex> lock(lot.mutex);
    sweep_locked(lot, /*wait=*/false, released);
    lot.parked.push_back(Parked{std::move(event), std::move(buffer)});
  });
}

std::int64_t collect_released_buffers(bool wait) {
  std::vector<Parked> released;
  std::int64_t remaining = 0;
  {
    ParkingLot& lot = parking_lot();
    std::lock_guard<std::mutex> lock(lot.mutex);
    remaining = sweep_locked(lot, wait, released);
  }
  return remaining;
}

}  // namespace ai_core
