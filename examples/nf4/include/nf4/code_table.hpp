// SPDX-License-Identifier: MIT
// nf4/code_table.hpp: the 4-bit NormalFloat (NF4) code table of QLoRA and the scalar encode and
// decode rules every NF4 path (CPU, CUDA, tests) shares.
//
// The 16 values are those of the QLoRA paper's table as bitsandbytes hard-codes them
// (`bitsandbytes/functional.py`, `get_4bit_type("nf4")`), written here as the exact float32 values
// bitsandbytes stores. They are not recomputed from normal quantiles: recomputing them is off by up
// to 2e-7 and would make our codes differ from every other NF4 implementation.
//
// Encoding a value normalised by its block's absmax picks the nearest table value; an exact tie
// goes to the lower code (Note [NF4 midpoints]). Both functions are `constexpr` and callable from
// CUDA device code, so the CPU path and the kernels apply literally the same comparisons.
//
// Example:
//   std::uint8_t c = nf4::encode_normalized(0.5f);   // 13: 0.5626170039 is nearest
//   float v = nf4::kCodeValues[c] * absmax;
#pragma once

#include <array>
#include <cstdint>

/// Marks a function callable from host and CUDA device code (empty when not compiled by nvcc).
#if defined(__CUDACC__)
#  define NF4_HOST_DEVICE __host__ __device__
#else
#  define NF4_HOST_DEVICE
#endif

namespace nf4 {

/// Number of NF4 codes (4 bits).
inline constexpr int kNumCodes = 16;

/// Returns the code whose value is exactly 0.0; it also pads the low nibble of the last byte when
/// a tensor has an odd number of elements.
inline constexpr std::uint8_t kZeroCode = 7;

/// The NF4 code table: `kCodeValues[c]` is the value code `c` stands for, in [-1, 1], ascending.
/// Bit for bit the float32 values of bitsandbytes' NF4 table.
inline constexpr std::array<float, kNumCodes> kCodeValues = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

// Note [NF4 midpoints]
// Code c is chosen for a normalised value x when x lies closer to kCodeValues[c] than to any other
// value, and an exact tie goes to the lower code. Equivalently, c = the number of midpoints m_i =
// (v_i + v_{i+1}) / 2 with x > m_i. The exact midpoint of two float32 values is not always a
// float32; comparing a float32 x against it exactly is the same as comparing against the largest
// float32 not above it, `kMidpoints[i]` (x > m exactly <=> x > round_down(m): when m is not a
// float, no float lies between round_down(m) and m). So the float32 comparisons below are exact,
// need no double precision on the GPU, and give the same answer on every platform. A test
// recomputes each midpoint in double and checks both properties. The absmax normalisation is an
// IEEE float32 division on both sides (`__fdiv_rn` in the kernels, so no fast-math flag can change
// it).

/// The 15 decision midpoints, each the largest float32 not above the exact midpoint of two
/// neighbouring table values (Note [NF4 midpoints]).
inline constexpr std::array<float, kNumCodes - 1> kMidpoints = {
    -0.8480964303016663f,  -0.6106329560279846f,  -0.4599952697753906f,   -0.33967944979667664f,
    -0.23460741341114044f, -0.13791173696517944f, -0.045525018125772476f, 0.03979014977812767f,
    0.120255246758461f,    0.2035212516784668f,   0.2920137643814087f,    0.3893125355243683f,
    0.5016633868217468f,   0.6427869200706482f,   0.8614783883094788f,
};

/// Half of the widest gap between neighbouring table values (between -1.0 and -0.6961928): no
/// value in [-1, 1] is farther than this from its nearest code value.
inline constexpr float kMaxHalfGap = 0.15190359950065613f;

/// Returns the NF4 code of `x`, a value already divided by its block's absmax (so in [-1, 1]):
/// the code of the nearest table value, the lower one on an exact tie. NaN gives code 0; callers
/// reject non-finite input before encoding.
///
/// The midpoints are written out as literals rather than read from `kMidpoints` because CUDA
/// device code cannot index a host `constexpr` array; a test checks the two agree.
[[nodiscard]] NF4_HOST_DEVICE constexpr std::uint8_t encode_normalized(float x) noexcept {
  // Fifteen branch-free comparisons (Note [NF4 midpoints]); the sum is the code.
  return static_cast<std::uint8_t>(
      static_cast<int>(x > -0.8480964303016663f) + static_cast<int>(x > -0.6106329560279846f) +
      static_cast<int>(x > -0.4599952697753906f) + static_cast<int>(x > -0.33967944979667664f) +
      static_cast<int>(x > -0.23460741341114044f) + static_cast<int>(x > -0.13791173696517944f) +
      static_cast<int>(x > -0.045525018125772476f) + static_cast<int>(x > 0.03979014977812767f) +
      static_cast<int>(x > 0.120255246758461f) + static_cast<int>(x > 0.2035212516784668f) +
      static_cast<int>(x > 0.2920137643814087f) + static_cast<int>(x > 0.3893125355243683f) +
      static_cast<int>(x > 0.5016633868217468f) + static_cast<int>(x > 0.6427869200706482f) +
      static_cast<int>(x > 0.8614783883094788f));
}

/// Returns the NF4 code bitsandbytes' CUDA encoder (`dQuantizeNF4`) gives `x`, a value already
/// scaled by its block's reciprocal absmax: its 15 thresholds as the float32 its decimal literals
/// round to, each compared with a strict `>`. Four of them (1|2, 3|4, 4|5, 8|9) lie one float
/// above `kMidpoints` (Note [NF4 and bitsandbytes]), so each of those four float values maps to the
/// lower code here and to the nearer, upper one in `encode_normalized`. NaN (an all-zero block:
/// 0 * (1 / 0)) gives code 0.
[[nodiscard]] NF4_HOST_DEVICE constexpr std::uint8_t encode_normalized_bitsandbytes(
    float x) noexcept {
  return static_cast<std::uint8_t>(
      static_cast<int>(x > -0.8480964303016663f) + static_cast<int>(x > -0.6106328964233398f) +
      static_cast<int>(x > -0.4599952697753906f) + static_cast<int>(x > -0.33967941999435425f) +
      static_cast<int>(x > -0.23460739850997925f) + static_cast<int>(x > -0.13791173696517944f) +
      static_cast<int>(x > -0.045525018125772476f) + static_cast<int>(x > 0.03979014977812767f) +
      static_cast<int>(x > 0.1202552542090416f) + static_cast<int>(x > 0.2035212516784668f) +
      static_cast<int>(x > 0.2920137643814087f) + static_cast<int>(x > 0.3893125355243683f) +
      static_cast<int>(x > 0.5016633868217468f) + static_cast<int>(x > 0.6427869200706482f) +
      static_cast<int>(x > 0.8614783883094788f));
}

/// Returns the byte bitsandbytes' 8-bit blockwise encoder (`dQuantize<0>`) picks for `x`, a value
/// already scaled by its block's reciprocal absmax, over `code`: 256 ascending float32 values
/// (nf4::kDynamicCode for double quantization). Its exact steps: a 7-step binary search from index
/// 127, then a comparison with the float32 midpoint (neighbour + value) * 0.5 on the side x lies.
/// Double quantization uses it so that the nested bytes are bitsandbytes' bytes.
[[nodiscard]] NF4_HOST_DEVICE inline std::uint8_t encode_dynamic(const float* code,
                                                                 float x) noexcept {
  int pivot = 127;
  int upper_pivot = 255;
  int lower_pivot = 0;
  float lower = -1.0f;
  float upper = 1.0f;
  float value = code[pivot];
  for (int step = 64; step > 0; step >>= 1) {
    if (x > value) {
      lower_pivot = pivot;
      lower = value;
      pivot += step;
    } else {
      upper_pivot = pivot;
      upper = value;
      pivot -= step;
    }
    value = code[pivot];
  }
  if (upper_pivot == 255) upper = code[upper_pivot];
  if (lower_pivot == 0) lower = code[lower_pivot];
  if (x > value) {
    const float midpoint = (upper + value) * 0.5f;
    return static_cast<std::uint8_t>(x > midpoint ? upper_pivot : pivot);
  }
  const float midpoint = (lower + value) * 0.5f;
  return static_cast<std::uint8_t>(x < midpoint ? lower_pivot : pivot);
}

/// Returns the high nibble (the code of element 2j) of packed byte j.
[[nodiscard]] NF4_HOST_DEVICE constexpr std::uint8_t high_code(std::uint8_t byte) noexcept {
  return static_cast<std::uint8_t>(byte >> 4);
}

/// Returns the low nibble (the code of element 2j + 1) of packed byte j.
[[nodiscard]] NF4_HOST_DEVICE constexpr std::uint8_t low_code(std::uint8_t byte) noexcept {
  return static_cast<std::uint8_t>(byte & 0x0F);
}

/// Packs the codes of elements 2j (`first`, high nibble) and 2j + 1 (`second`, low nibble) into
/// byte j, the order bitsandbytes uses.
[[nodiscard]] NF4_HOST_DEVICE constexpr std::uint8_t pack_codes(std::uint8_t first,
                                                                std::uint8_t second) noexcept {
  return static_cast<std::uint8_t>((first << 4) | (second & 0x0F));
}

}  // namespace nf4
