// SPDX-License-Identifier: MIT
// Tests for <nf4/code_table.hpp>: the table bit for bit against bitsandbytes' values, the
// midpoints against their exact definition, and the encode rule (nearest value, ties to the lower
// code) against a brute-force search in double precision.
#include <nf4/code_table.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

namespace nf4 {
namespace {

// The float32 bit patterns of bitsandbytes' NF4 table (functional.py, get_4bit_type("nf4")):
// the decimal literals -1.0, -0.6961928009986877, ..., 1.0 as stored in a float32 tensor.
constexpr std::uint32_t kBitsandbytesBits[kNumCodes] = {
    0xbf800000, 0xbf3239b1, 0xbf066b30, 0xbeca32a0, 0xbe91a24d, 0xbe3d353f, 0xbdba7871, 0x00000000,
    0x3da2faff, 0x3e24cae3, 0x3e7c04dd, 0x3ead033a, 0x3ee1a4b8, 0x3f1007ab, 0x3f3913b3, 0x3f800000,
};

// Returns the code of the table value nearest to `x`, the lower one on a tie, in double.
int nearest_code(float x) {
  int best = 0;
  double best_distance = std::abs(static_cast<double>(x) - kCodeValues[0]);
  for (int c = 1; c < kNumCodes; ++c) {
    const double distance = std::abs(static_cast<double>(x) - kCodeValues[c]);
    if (distance < best_distance) {  // Strict: a tie keeps the lower code.
      best = c;
      best_distance = distance;
    }
  }
  return best;
}

TEST(Nf4CodeTableTest, ValuesAreBitsandbytesTableBitForBit) {
  for (int c = 0; c < kNumCodes; ++c) {
    EXPECT_EQ(std::bit_cast<std::uint32_t>(kCodeValues[c]), kBitsandbytesBits[c]) << "code " << c;
  }
  EXPECT_EQ(kCodeValues[kZeroCode], 0.0f);
  EXPECT_FALSE(std::signbit(kCodeValues[kZeroCode]));
}

TEST(Nf4CodeTableTest, ValuesAscend) {
  for (int c = 1; c < kNumCodes; ++c) EXPECT_LT(kCodeValues[c - 1], kCodeValues[c]) << "code " << c;
}

TEST(Nf4CodeTableTest, MidpointsAreLargestFloatNotAboveExactMidpoint) {
  for (int i = 0; i < kNumCodes - 1; ++i) {
    // Exact in double: the sum of two float32 values needs at most 25 significant bits.
    const double exact = (static_cast<double>(kCodeValues[i]) + kCodeValues[i + 1]) / 2.0;
    const float m = kMidpoints[i];
    EXPECT_LE(static_cast<double>(m), exact) << "midpoint " << i;
    EXPECT_GT(static_cast<double>(std::nextafter(m, std::numeric_limits<float>::infinity())), exact)
        << "midpoint " << i;
  }
}

TEST(Nf4CodeTableTest, MaxHalfGapIsWidestGapHalved) {
  double widest = 0.0;
  for (int i = 0; i < kNumCodes - 1; ++i) {
    widest = std::max(widest, (static_cast<double>(kCodeValues[i + 1]) - kCodeValues[i]) / 2.0);
  }
  EXPECT_EQ(static_cast<double>(kMaxHalfGap), widest);
}

TEST(Nf4CodeTableTest, EncodeOfEachTableValueIsItsCode) {
  for (int c = 0; c < kNumCodes; ++c) EXPECT_EQ(encode_normalized(kCodeValues[c]), c);
}

TEST(Nf4CodeTableTest, EncodeAgreesWithMidpointTableAroundEveryMidpoint) {
  // The literals inside encode_normalized against kMidpoints, at each midpoint and one float to
  // either side: the code changes exactly above the midpoint.
  for (int i = 0; i < kNumCodes - 1; ++i) {
    const float m = kMidpoints[i];
    EXPECT_EQ(encode_normalized(m), i) << "at midpoint " << i;
    EXPECT_EQ(encode_normalized(std::nextafter(m, -1.0f)), i) << "below midpoint " << i;
    EXPECT_EQ(encode_normalized(std::nextafter(m, 1.0f)), i + 1) << "above midpoint " << i;
  }
}

TEST(Nf4CodeTableTest, EncodeIsNearestWithTiesToLowerCode) {
  // Every float near each midpoint (where rounding matters), then random values in [-1, 1].
  for (int i = 0; i < kNumCodes - 1; ++i) {
    float x = kMidpoints[i];
    for (int k = 0; k < 64; ++k) x = std::nextafter(x, -2.0f);
    for (int k = 0; k < 128; ++k, x = std::nextafter(x, 2.0f)) {
      ASSERT_EQ(encode_normalized(x), nearest_code(x)) << "x = " << x;
    }
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (int k = 0; k < 200000; ++k) {
    const float x = uniform(rng);
    ASSERT_EQ(encode_normalized(x), nearest_code(x)) << "x = " << x;
  }
}

TEST(Nf4CodeTableTest, ExactTieGoesToLowerCode) {
  // Midpoints 2, 6, 7, 9, 11 and 13 are exact float32 values: a value there is a true tie.
  int ties = 0;
  for (int i = 0; i < kNumCodes - 1; ++i) {
    const double exact = (static_cast<double>(kCodeValues[i]) + kCodeValues[i + 1]) / 2.0;
    if (static_cast<double>(kMidpoints[i]) != exact) continue;
    ++ties;
    EXPECT_EQ(encode_normalized(kMidpoints[i]), i) << "tie at midpoint " << i;
  }
  EXPECT_EQ(ties, 6);
}

TEST(Nf4CodeTableTest, SignedZeroEncodesToZeroCode) {
  EXPECT_EQ(encode_normalized(0.0f), kZeroCode);
  EXPECT_EQ(encode_normalized(-0.0f), kZeroCode);
}

TEST(Nf4CodeTableTest, PackingPutsFirstElementInHighNibble) {
  const std::uint8_t byte = pack_codes(0xA, 0x3);
  EXPECT_EQ(byte, 0xA3);
  EXPECT_EQ(high_code(byte), 0xA);
  EXPECT_EQ(low_code(byte), 0x3);
  EXPECT_EQ(pack_codes(0xF, 0x1F), 0xFF);  // Only the low nibble of the second code is kept.
}

}  // namespace
}  // namespace nf4
