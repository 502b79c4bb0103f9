// SPDX-License-Identifier: MIT
// Private to src/memory*.cpp: the CUDA side of <ai_core/memory.hpp> (memory_cuda.cpp), which is
// compiled against c10/cuda only when AI_CORE_WITH_CUDA is on. Not installed.
#pragma once

#include <ai_core/expected.hpp>
#include <ai_core/memory.hpp>

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace ai_core::detail {

// Fills `stats.allocator` (and the driver's free/total with `query_driver`) for a CUDA `device`.
// `device_not_available` when CUDA is absent or the index is not visible.
Result<void> cuda_memory_stats(c10::Device device, bool query_driver, MemoryStats& stats);

// Resets the caching allocator's peaks of a CUDA `device`.
Result<void> cuda_reset_peak_memory_stats(c10::Device device);

// Returns `bytes` in the unit that reads best ("512 B", "3.4 MiB", "12.1 GiB").
std::string format_bytes(std::uint64_t bytes);

}  // namespace ai_core::detail
