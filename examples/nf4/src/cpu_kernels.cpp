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
#include <bit>
#include <cmath>
#include <limits>

namespace nf4::detail {
namespace {

// Blocks per parallel task: enough work per task that scheduling costs nothing measurable.
constexpr std::int64_t kGrainElements = 1 << 16;

// Note [NF4 CPU loops]
// The CPU path keeps its inner loops free of branches so that the compiler vectorises them:
// pass 1 takes the block's max |x| as an integer max of the sign-cleared bit patterns, which also
// flags NaN and infinities (their patterns exceed FLT_MAX's); only a block so flagged is scanned
// again for the first bad index. Pass 2 encodes into a local array (division and the 15 comparisons
// vectorise), then packs pairs. Dequantization converts the 16 scaled table values of a block once
// (the same float32 product and rounding as per element, so the results are identical) and then
// only copies.

// Returns `v` with a subnormal flushed to (signed) zero, as bitsandbytes' fast-math kernels see it.
inline float flush_subnormal(float v) {
  return std::fabs(v) < std::numeric_limits<float>::min() ? 0.0f * v : v;
}

template <class T>
std::int64_t quantize_typed(const T* input, std::int64_t numel, int log2_block, std::uint8_t* codes,
                            float* absmax, bool bitsandbytes) {
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
      // The max |x| as an integer max over the bit patterns with the sign cleared: for
      // non-negative floats integer order is float order, infinities and NaNs sort above every
      // finite value, and (unlike a float max, whose NaN rules forbid reassociation) the
      // compiler vectorises the reduction.
      std::int32_t max_bits = 0;
      for (std::int64_t i = 0; i < count; ++i) {
        const float v = static_cast<float>(input[start + i]);
        values[i] = v;
        max_bits = std::max(max_bits, std::bit_cast<std::int32_t>(v) & 0x7FFFFFFF);
      }
      float scale = std::bit_cast<float>(max_bits);
      const bool bad = max_bits > 0x7F7FFFFF;  // above FLT_MAX: an infinity or a NaN
      if (bad) {
        std::int64_t i = 0;
        while (std::isfinite(values[i])) ++i;
        std::int64_t seen = first_bad.load(std::memory_order_relaxed);
        while (start + i < seen && !first_bad.compare_exchange_weak(seen, start + i)) {
        }
        continue;
      }
      if (bitsandbytes) {
        // Note [NF4 and bitsandbytes]: flushed subnormals, x * (1 / absmax), its thresholds; an
        // all-zero block gives NaN and code 0, pad nibble included.
        scale = 0.0f;
        for (std::int64_t i = 0; i < count; ++i) {
          values[i] = flush_subnormal(values[i]);
          scale = std::max(scale, std::fabs(values[i]));
        }
        absmax[b] = scale;
        const float inverse = 1.0f / scale;
        for (std::int64_t i = 0; i < count; ++i)
          block_codes[i] = encode_normalized_bitsandbytes(values[i] * inverse);
        std::uint8_t* out = codes + (start >> 1);
        for (std::int64_t j = 0; j < (count >> 1); ++j) {
          out[j] = pack_codes(block_codes[2 * j], block_codes[2 * j + 1]);
        }
        if (count & 1) {
          out[count >> 1] =
              pack_codes(block_codes[count - 1], encode_normalized_bitsandbytes(0.0f * inverse));
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

// `absmax_of(b)` returns block b's float32 absmax.
template <class T, class AbsmaxOf>
void dequantize_typed(const std::uint8_t* codes, AbsmaxOf absmax_of, std::int64_t numel,
                      int log2_block, T* output) {
  const std::int64_t block = std::int64_t{1} << log2_block;
  const std::int64_t num_blocks = (numel + block - 1) >> log2_block;
  const std::int64_t grain = std::max<std::int64_t>(1, kGrainElements >> log2_block);
  at::parallel_for(0, num_blocks, grain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      T lut[kNumCodes];
      const float scale = absmax_of(b);
      for (int c = 0; c < kNumCodes; ++c) lut[c] = static_cast<T>(kCodeValues[c] * scale);
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
                          int log2_block, std::uint8_t* codes, float* absmax, bool bitsandbytes) {
  switch (dtype) {
    case c10::ScalarType::Float:
      return quantize_typed(static_cast<const float*>(input), numel, log2_block, codes, absmax,
                            bitsandbytes);
    case c10::ScalarType::Half:
      return quantize_typed(static_cast<const c10::Half*>(input), numel, log2_block, codes, absmax,
                            bitsandbytes);
    case c10::ScalarType::BFloat16:
      return quantize_typed(static_cast<const c10::BFloat16*>(input), numel, log2_block, codes,
                            absmax, bitsandbytes);
    default: break;
  }
  return kAllFinite;  // Unreachable: the caller checked the dtype.
}

namespace {

template <class AbsmaxOf>
void dequantize_any(const std::uint8_t* codes, AbsmaxOf absmax_of, std::int64_t numel,
                    int log2_block, void* output, c10::ScalarType dtype) {
  switch (dtype) {
    case c10::ScalarType::Float:
      dequantize_typed(codes, absmax_of, numel, log2_block, static_cast<float*>(output));
      break;
    case c10::ScalarType::Half:
      dequantize_typed(codes, absmax_of, numel, log2_block, static_cast<c10::Half*>(output));
      break;
    case c10::ScalarType::BFloat16:
      dequantize_typed(codes, absmax_of, numel, log2_block, static_cast<c10::BFloat16*>(output));
      break;
    default: break;
  }
}

}  // namespace

void dequantize_cpu(const std::uint8_t* codes, const float* absmax, std::int64_t numel,
                    int log2_block, void* output, c10::ScalarType dtype) {
  dequantize_any(
      codes, [absmax](std::int64_t b) { return absmax[b]; }, numel, log2_block, output, dtype);
}

void dequantize_double_cpu(const DoubleQuantParts& parts, std::int64_t numel, int log2_block,
                           void* output, c10::ScalarType dtype) {
  // Two separate float32 roundings (product, then sum), as bitsandbytes' two kernels do: the
  // volatile keeps a compiler targeting FMA instructions from contracting them (once per block).
  const auto absmax_of = [&parts](std::int64_t b) {
    const volatile float product =
        parts.code[parts.absmax_codes[b]] * parts.nested_absmax[b >> parts.log2_nested];
    return product + parts.offset;
  };
  dequantize_any(parts.codes, absmax_of, numel, log2_block, output, dtype);
}

void double_quantize_cpu(const float* absmax, std::int64_t num_blocks, float offset,
                         const float* code, int log2_nested, std::uint8_t* absmax_codes,
                         float* nested_absmax, bool bitsandbytes) {
  const std::int64_t nested = std::int64_t{1} << log2_nested;
  const std::int64_t num_nested = (num_blocks + nested - 1) >> log2_nested;
  at::parallel_for(0, num_nested, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t n = begin; n < end; ++n) {
      const std::int64_t start = n << log2_nested;
      const std::int64_t count = std::min(nested, num_blocks - start);
      float scale = 0.0f;
      for (std::int64_t i = 0; i < count; ++i) {
        scale = std::max(scale, std::fabs(absmax[start + i] - offset));
      }
      nested_absmax[n] = scale;
      const float inverse = 1.0f / scale;
      for (std::int64_t i = 0; i < count; ++i) {
        const float v = absmax[start + i] - offset;
        const float x = bitsandbytes ? v * inverse : (scale > 0.0f ? v / scale : 0.0f);
        absmax_codes[start + i] = encode_dynamic(code, x);
      }
    }
  });
}

}  // namespace nf4::detail
