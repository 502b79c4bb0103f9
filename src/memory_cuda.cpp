// SPDX-License-Identifier: MIT
// src/memory_cuda.cpp: the CUDA side of `memory_stats` and `reset_peak_memory_stats`: torch's
// caching allocator (`getDeviceStats`, `resetPeakStats`) and the driver (`cudaMemGetInfo`).
// Compiled by the host compiler against c10/cuda and cuda_runtime_api.h; in a build without CUDA
// (AI_CORE_WITH_CUDA=0) both functions report that CUDA is not available.
#include "memory_internal.hpp"

#include <ai_core/error.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>

#include <algorithm>
#include <cstdint>
#include <exception>

#if AI_CORE_WITH_CUDA
#  include <ATen/Context.h>
#  include <c10/cuda/CUDACachingAllocator.h>
#  include <c10/cuda/CUDAFunctions.h>
#  include <c10/cuda/CUDAGuard.h>
#  include <cuda_runtime_api.h>
#endif

namespace ai_core::detail {

#if AI_CORE_WITH_CUDA

namespace {

// Returns the index `device` names (the current device for a bare `cuda`), after checking that
// it is visible. Initialises torch's CUDA state (the allocator keeps per-device tables that exist
// only after that).
Result<c10::DeviceIndex> visible_index(c10::Device device) {
  try {
    const c10::DeviceIndex count = c10::cuda::device_count();
    if (count <= 0) {
      return CoreError::device_not_available(device, "no CUDA device is visible to this process");
    }
    const c10::DeviceIndex index =
        device.has_index() ? device.index() : c10::cuda::current_device();
    if (index < 0 || index >= count) {
      return CoreError::device_not_available(
          device, str_cat("index ", static_cast<int>(index), " is not among the ",
                          static_cast<int>(count), " visible CUDA devices"));
    }
    at::globalContext().lazyInitDevice(c10::DeviceType::CUDA);
    return index;
  } catch (const std::exception& error) {
    return CoreError::device_not_available(device,
                                           str_cat("CUDA initialisation failed: ", error.what()));
  }
}

ByteStat byte_stat(const c10::CachingDeviceAllocator::Stat& stat) {
  return ByteStat{static_cast<std::uint64_t>(std::max<std::int64_t>(stat.current, 0)),
                  static_cast<std::uint64_t>(std::max<std::int64_t>(stat.peak, 0))};
}

constexpr auto kAggregate = static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE);

}  // namespace

Result<void> cuda_memory_stats(c10::Device device, bool query_driver, MemoryStats& stats) {
  AI_CORE_ASSIGN_OR_RETURN(c10::DeviceIndex index, visible_index(device));
  stats.device = c10::Device(c10::DeviceType::CUDA, index);
  try {
    const auto raw = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    AllocatorStats a;
    a.allocated = byte_stat(raw.allocated_bytes[kAggregate]);
    a.reserved = byte_stat(raw.reserved_bytes[kAggregate]);
    a.active = byte_stat(raw.active_bytes[kAggregate]);
    a.requested = byte_stat(raw.requested_bytes[kAggregate]);
    a.allocation_retries =
        static_cast<std::uint64_t>(std::max<std::int64_t>(raw.num_alloc_retries, 0));
    a.oom_count = static_cast<std::uint64_t>(std::max<std::int64_t>(raw.num_ooms, 0));
    stats.allocator = a;
  } catch (const std::exception& error) {
    return CoreError::kernel_error(str_cat("reading the CUDA caching allocator's statistics of ",
                                           stats.device, " failed: ", error.what()));
  }
  if (query_driver) {
    try {
      c10::cuda::CUDAGuard guard(index);
      std::size_t free = 0;
      std::size_t total = 0;
      const cudaError_t code = cudaMemGetInfo(&free, &total);
      if (code != cudaSuccess) {
        (void)cudaGetLastError();  // a failed query must not poison the caller's next CUDA call
        return CoreError::cuda(
            static_cast<int>(code), cudaGetErrorName(code),
            str_cat("cudaMemGetInfo on ", stats.device, ": ", cudaGetErrorString(code)));
      }
      stats.free_bytes = free;
      stats.total_bytes = total;
    } catch (const std::exception& error) {
      return CoreError::kernel_error(
          str_cat("selecting ", stats.device, " failed: ", error.what()));
    }
  }
  return {};
}

Result<void> cuda_reset_peak_memory_stats(c10::Device device) {
  AI_CORE_ASSIGN_OR_RETURN(c10::DeviceIndex index, visible_index(device));
  try {
    c10::cuda::CUDACachingAllocator::resetPeakStats(index);
  } catch (const std::exception& error) {
    return CoreError::kernel_error(str_cat("resetting the CUDA caching allocator's peaks of cuda:",
                                           static_cast<int>(index), " failed: ", error.what()));
  }
  return {};
}

#else  // !AI_CORE_WITH_CUDA

Result<void> cuda_memory_stats(c10::Device device, bool, MemoryStats&) {
  return CoreError::device_not_available(device, "ai_core was built without CUDA");
}

Result<void> cuda_reset_peak_memory_stats(c10::Device device) {
  return CoreError::device_not_available(device, "ai_core was built without CUDA");
}

#endif

}  // namespace ai_core::detail
