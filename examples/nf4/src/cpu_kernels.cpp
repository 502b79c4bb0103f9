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
#include <array>
#include <atomic>
#include <cmath>
#include <limits>

namespace nf4::detail {
namespace {

// Blocks per parallel task: enough work per task that scheduling costs nothing measurable.
constexpr std::int64_t kGrainElements = 1 << 16;

// Note [NF4 CPU loops]
// The CPU path keeps its inner loops free of branches so that the compiler vectorises them:
// pass 1 takes the block's max |x| and ORs a "not finite" flag (`!(|x| <= FLT_MAX)` is true for
// NaN and both infinities); only a block whose flag is set is scanned again for the first bad
// index. Pass 2 encodes into a local array (division and the 15 comparisons vectorise), then packs
// pairs. Dequantization converts the 16 scaled table values of a block once (the same float32
// product and rounding as per element, so the results are identical) and then only copies.

template <class T>
std::int64_t quantize_typed(const T* input, std::int64_t numel, int log2_block, std::uint8_t* codes,
                            float* absmax) {
  const std::int64_t block = std::int64_t{1} << log2_block;
  const std::int64_t num_blocks = (numel + block - 1) >> log2_block;
  std::atomic<std::int64_t> first_bad{std::numeric_limits<std::int64_t>::max()};
  const std::int64_t grain = std::max<std::int64_t>(1, kGrainElements >> log2_block);
  at::parallel_for(0, num_blocks, grain, [&](std::int64_t begin, std::int64_t end) {
    std::array<float, 4096> values{};  // kMaxBlockSize
    std::array<std::uint8_t, 4096> block_codes{};
    for (std::int64_t b = begin; b < end; ++b) {
      const std::int64_t start = b << log2_block;
      const std::int64_t count = std::min(block, numel - start);
      if (count <= 0) continue;  // Never true (b < num_blocks); tells the optimiser count >= 1.
      float scale = 0.0f;
      bool bad = false;
      for (std::int64_t i = 0; i < count; ++i) {
        const float v = static_cast<float>(input[start + i]);
        values[i] = v;
        const float magnitude = std::fabs(v);
        bad |= !(magnitude <= std::numeric_limits<float>::max());
        scale = std::max(scale, magnitude);
      }
      if (bad) {
        std::int64_t i = 0;
        while (std::isfinite(values[i])) ++i;
        std::int64_t seen = first_bad.load(std::memory_order_relaxed);
        while (start + i < seen && !first_bad.compare_exchange_weak(seen, start + i)) {
        }
        continue;
      }
      absmax[b] = scale;
      if (scale > 0.0f) {
        for (std::int64_t i = 0; i < count; ++i)
          block_codes[i] = encode_normalized(values[i] / scale);
      } else {
        for (std::int64_t i = 0; i < count; ++i) block_codes[i] = kZeroCode;
      }
      std::uint8_t* out = codes + (start >> 1);
      for (std::int64_t j = 0; j < (count >> 1); ++j) {
        out[j] = pack_codes(block_codes[2 * j], block_codes[2 * j + 1]);
      }
      if (count & 1) out[count >> 1] = pack_codes(block_codes[count - 1], kZeroCode);  // pad
    }
  });
  const std::int64_t bad = first_bad.load();
  return bad == std::numeric_limits<std::int64_t>::max() ? kAllFinite : bad;
}

template <class T>
void dequantize_typed(const std::uint8_t* codes, const float* absmax, std::int64_t numel,
                      int log2_block, T* output) {
  const std::int64_t block = std::int64_t{1} << log2_block;
  const std::int64_t num_blocks = (numel + block - 1) >> log2_block;
  const std::int64_t grain = std::max<std::int64_t>(1, kGrainElements >> log2_block);
  at::parallel_for(0, num_blocks, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      T lut[kNumCodes];
      for (int c = 0; c < kNumCodes; ++c) lut[c] = static_cast<T>(kCodeValues[c] * absmax[b]);
      const std::int64_t start = b << log2_block;
      const std::int64_t count = std::min(block, numel - start);
      const std::uint8_t* block_codes = codes + (start >> 1);
      T* out = output + start;
      for (std::int64_t j = 0; j < (count >> 1); ++j) {
        const std::uint8_t byte = block_codes[j];
        out[2 * j] = lut[high_code(byte)];
        out[2 * j + 1] = lut[low_code(byte)];
      }
      if (count & 1) out[count - 1] = lut[high_code(block_codes[count >> 1])];
    }
  });
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
