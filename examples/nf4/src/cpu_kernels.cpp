// SPDX-License-Identifier: MIT
// src/cpu_kernels.cpp: the NF4 CPU path, over raw memory (src/kernels.hpp).
//
// This is also the reference the CUDA kernels must match bit for bit: absmax is a float32 max of
// |x| (order-independent), the normalisation one IEEE float32 division, the code choice the shared
// `encode_normalized`, and dequantization one float32 product rounded to nearest even.
#include "kernels.hpp"

#include <nf4/code_table.hpp>

#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

namespace nf4::detail {
namespace {

// Blocks per parallel task: enough work per task that scheduling costs nothing measurable.
constexpr std::int64_t kGrainElements = 1 << 16;

template <class T>
std::int64_t quantize_typed(const T* input, std::int64_t numel, int log2_block, std::uint8_t* codes,
                            float* absmax) {
  const std::int64_t block = std::int64_t{1} << log2_block;
  const std::int64_t num_blocks = (numel + block - 1) >> log2_block;
  std::atomic<std::int64_t> first_bad{std::numeric_limits<std::int64_t>::max()};
  const std::int64_t grain = std::max<std::int64_t>(1, kGrainElements >> log2_block);
  at::parallel_for(0, num_blocks, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      const std::int64_t start = b << log2_block;
      const std::int64_t stop = std::min(start + block, numel);
      float scale = 0.0f;
      for (std::int64_t e = start; e < stop; ++e) {
        const float v = static_cast<float>(input[e]);
        if (!std::isfinite(v)) {
          std::int64_t seen = first_bad.load(std::memory_order_relaxed);
          while (e < seen && !first_bad.compare_exchange_weak(seen, e)) {
          }
          break;
        }
        scale = std::max(scale, std::fabs(v));
      }
      absmax[b] = scale;
      // Pairs (2j, 2j + 1) never straddle a block: block sizes are even.
      for (std::int64_t e = start; e < stop; e += 2) {
        const float v0 = static_cast<float>(input[e]);
        const std::uint8_t c0 = encode_normalized(scale > 0.0f ? v0 / scale : 0.0f);
        std::uint8_t c1 = kZeroCode;  // Pad nibble of an odd count.
        if (e + 1 < stop) {
          const float v1 = static_cast<float>(input[e + 1]);
          c1 = encode_normalized(scale > 0.0f ? v1 / scale : 0.0f);
        }
        codes[e >> 1] = pack_codes(c0, c1);
      }
    }
  });
  const std::int64_t bad = first_bad.load();
  return bad == std::numeric_limits<std::int64_t>::max() ? kAllFinite : bad;
}

template <class T>
void dequantize_typed(const std::uint8_t* codes, const float* absmax, std::int64_t numel,
                      int log2_block, T* output) {
  const std::int64_t num_pairs = numel >> 1;
  at::parallel_for(0, num_pairs, kGrainElements / 2, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t j = begin; j < end; ++j) {
      const std::uint8_t byte = codes[j];
      const float scale = absmax[(2 * j) >> log2_block];  // 2j and 2j + 1 share a block.
      output[2 * j] = static_cast<T>(kCodeValues[high_code(byte)] * scale);
      output[2 * j + 1] = static_cast<T>(kCodeValues[low_code(byte)] * scale);
    }
  });
  if (numel & 1) {
    const std::int64_t e = numel - 1;
    output[e] = static_cast<T>(kCodeValues[high_code(codes[e >> 1])] * absmax[e >> log2_block]);
  }
}

}  // namespace

std::int64_t quantize_cpu(const void* input, c10::ScalarType dtype, std::int64_t numel,
                          int log2_block, std::uint8_t* codes, float* absmax) {
  switch (dtype) {
    case c10::ScalarType::Float:
      return quantize_typed(static_cast<const float*>(input), numel, log2_block, codes, absmax);
    case c10::ScalarType::Half:
      return quantize_typed(static_cast<const c10::Half*>(input), numel, log2_block, codes, absmax);
    case c10::ScalarType::BFloat16:
      return quantize_typed(static_cast<const c10::BFloat16*>(input), numel, log2_block, codes,
                            absmax);
    default: break;
  }
  return kAllFinite;  // Unreachable: the caller checked the dtype.
}

void dequantize_cpu(const std::uint8_t* codes, const float* absmax, std::int64_t numel,
                    int log2_block, void* output, c10::ScalarType dtype) {
  switch (dtype) {
    case c10::ScalarType::Float:
      dequantize_typed(codes, absmax, numel, log2_block, static_cast<float*>(output));
      break;
    case c10::ScalarType::Half:
      dequantize_typed(codes, absmax, numel, log2_block, static_cast<c10::Half*>(output));
      break;
    case c10::ScalarType::BFloat16:
      dequantize_typed(codes, absmax, numel, log2_block, static_cast<c10::BFloat16*>(output));
      break;
    default: break;
  }
}

}  // namespace nf4::detail
