// SPDX-License-Identifier: MIT
// Tests for <nf4/double_quant.hpp> and `Nf4Encoding::bitsandbytes` on the CPU: the dynamic code
// against bitsandbytes' construction redone with libtorch ops, the nested constants against an
// independent computation, the double-quantized round-trip bound, import and export of synthetic
// bitsandbytes-layout states (plain and nested) with the values bitsandbytes' formula gives, and
// where bitsandbytes' encoding differs from the nearest one (thresholds, all-zero blocks).
#include <nf4/code_table.hpp>
#include <nf4/config.hpp>
#include <nf4/double_quant.hpp>
#include <nf4/quantizer.hpp>

#include <ai_core/error.hpp>
#include <ai_core/testing/matchers.hpp>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <vector>

namespace nf4 {
namespace {

using ::ai_core::testing::HasErrorCode;
using ::ai_core::testing::HasMessage;
using ::ai_core::testing::IsOk;
using ::testing::HasSubstr;

const c10::Device kCpu(c10::DeviceType::CPU);

Nf4Quantizer make_quantizer(Nf4Config config) {
  auto quantizer = Nf4Quantizer::create(config);
  EXPECT_TRUE(quantizer.has_value());
  return *quantizer;
}

int code_at(const at::Tensor& codes, std::int64_t e) {
  const std::uint8_t byte = codes.data_ptr<std::uint8_t>()[e / 2];
  return e % 2 == 0 ? byte >> 4 : byte & 0x0F;
}

std::uint32_t bits_of(float v) { return std::bit_cast<std::uint32_t>(v); }

// bitsandbytes' formula for one element of a state, written out here: the absmax of block b
// (reconstructed from the nested parts when `nested`), the product, the rounding to `dtype`.
at::Tensor bnb_reference(const at::Tensor& codes, const at::Tensor& absmax, bool nested,
                         const at::Tensor& nested_absmax, const at::Tensor& table, float offset,
                         std::int64_t nested_block, std::int64_t block, std::int64_t numel,
                         c10::ScalarType dtype) {
  std::vector<float> values(static_cast<std::size_t>(numel));
  for (std::int64_t e = 0; e < numel; ++e) {
    const std::int64_t b = e / block;
    float a = 0.0f;
    if (nested) {
      volatile float product = table.data_ptr<float>()[absmax.data_ptr<std::uint8_t>()[b]] *
                               nested_absmax.data_ptr<float>()[b / nested_block];
      a = product + offset;
    } else {
      a = absmax.data_ptr<float>()[b];
    }
    values[static_cast<std::size_t>(e)] = kCodeValues[code_at(codes, e)] * a;
  }
  return at::from_blob(values.data(), {numel}, at::kFloat).clone().to(dtype);
}

TEST(DynamicCode, MatchesBitsandbytesConstructionRedoneWithLibtorch) {
  // create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8), step by step.
  std::vector<float> data;
  for (int i = 0; i < 7; ++i) {
    const at::Tensor boundaries = at::linspace(0.1, 1, (1 << i) + 1, at::kFloat);
    const at::Tensor means = (boundaries.slice(0, 0, -1) + boundaries.slice(0, 1)) / 2.0;
    const double scale = std::pow(10.0, -6 + i);
    const at::Tensor pos = (i == 6 ? means * 1 : means * scale).contiguous();
    const at::Tensor neg = (i == 6 ? means * -1 : means * -scale).contiguous();
    for (std::int64_t k = 0; k < pos.numel(); ++k) data.push_back(pos.data_ptr<float>()[k]);
    for (std::int64_t k = 0; k < neg.numel(); ++k) data.push_back(neg.data_ptr<float>()[k]);
  }
  data.push_back(0.0f);
  data.push_back(1.0f);
  std::sort(data.begin(), data.end());
  ASSERT_EQ(data.size(), 256u);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(bits_of(kDynamicCode[i]), bits_of(data[i])) << i;
  EXPECT_EQ(kDynamicCode[127], 0.0f);
  EXPECT_EQ(kDynamicCode[255], 1.0f);
}

TEST(DynamicCode, EveryTableValueEncodesToItselfAndOthersToANeighbour) {
  for (int i = 0; i < 256; ++i) EXPECT_EQ(encode_dynamic(kDynamicCode.data(), kDynamicCode[i]), i);
  at::manual_seed(3);
  const at::Tensor x = at::rand({4096}, at::kFloat) * 2 - 1;
  for (std::int64_t k = 0; k < x.numel(); ++k) {
    const float v = x.data_ptr<float>()[k];
    const int c = encode_dynamic(kDynamicCode.data(), v);
    // The chosen value is the nearest one, or (at an exact float midpoint) its neighbour.
    double best = 1e9;
    for (int i = 0; i < 256; ++i) best = std::min(best, std::abs(double{v} - kDynamicCode[i]));
    EXPECT_LE(std::abs(double{v} - kDynamicCode[c]), best + 1e-7) << v;
  }
}

// bitsandbytes' 15 NF4 thresholds as the decimal literals of its `dQuantizeNF4` (csrc/kernels.cu),
// codes 0|1 to 14|15, and the float32 bit patterns of the FSETP immediates in its compiled
// quantize kernels (0.50.2, sm_90, every dtype and block size). The literals are correctly
// rounded to float32 here by `std::strtof`, independently of the constants in code_table.hpp.
constexpr const char* kBnbThresholdLiterals[kNumCodes - 1] = {
    "-0.8480964004993439",  "-0.6106329262256622",  "-0.4599952697753906",   "-0.33967943489551544",
    "-0.23460740596055984", "-0.13791173323988914", "-0.045525018125772476", "0.03979014977812767",
    "0.1202552504837513",   "0.2035212516784668",   "0.2920137718319893",    "0.3893125355243683",
    "0.5016634166240692",   "0.6427869200706482",   "0.8614784181118011"};
constexpr std::uint32_t kBnbThresholdBits[kNumCodes - 1] = {
    0xBF591CD9, 0xBF1C5270, 0xBEEB8480, 0xBEADEA76, 0xBE703CEC, 0xBE0D38BC, 0xBD3A7871, 0x3D22FAFF,
    0x3DF64863, 0x3E5067E0, 0x3E9582D4, 0x3EC753F9, 0x3F006D03, 0x3F248DAF, 0x3F5C89D9};

TEST(Bitsandbytes, ThresholdsAreItsLiteralsRoundedToFloat) {
  for (int i = 0; i < kNumCodes - 1; ++i) {
    const float t = std::strtof(kBnbThresholdLiterals[i], nullptr);
    EXPECT_EQ(bits_of(t), kBnbThresholdBits[i]) << "threshold " << i;
    // Strict `>`: the threshold float itself keeps the lower code, the next float up does not.
    EXPECT_EQ(encode_normalized_bitsandbytes(t), i) << "threshold " << i;
    EXPECT_EQ(encode_normalized_bitsandbytes(std::nextafter(t, 2.0f)), i + 1) << "threshold " << i;
  }
  EXPECT_EQ(encode_normalized_bitsandbytes(-1.0f), 0);
  EXPECT_EQ(encode_normalized_bitsandbytes(1.0f), 15);
  EXPECT_EQ(encode_normalized_bitsandbytes(std::nanf("")), 0);
}

TEST(Bitsandbytes, ThresholdsDifferFromTheMidpointsAtFourFloats) {
  std::vector<int> differing;
  for (int i = 0; i < kNumCodes - 1; ++i) {
    const float above = std::nextafter(kMidpoints[i], 2.0f);
    EXPECT_EQ(encode_normalized_bitsandbytes(kMidpoints[i]), i);
    EXPECT_EQ(encode_normalized_bitsandbytes(std::nextafter(above, 2.0f)), i + 1);
    if (encode_normalized_bitsandbytes(above) == i) {
      // bitsandbytes' threshold is this float: it stays at the lower code, though it is nearer
      // the upper one (the exact midpoint lies below it).
      EXPECT_EQ(encode_normalized(above), i + 1);
      EXPECT_LT(std::abs(double{above} - kCodeValues[i + 1]),
                std::abs(double{above} - kCodeValues[i]));
      differing.push_back(i);
    } else {
      EXPECT_EQ(encode_normalized_bitsandbytes(above), i + 1);
    }
  }
  EXPECT_EQ(differing, (std::vector<int>{1, 3, 4, 8}));
}

TEST(Bitsandbytes, ConfigRejectsAnEncodingOutsideTheEnum) {
  const Nf4Config config{.encoding = static_cast<Nf4Encoding>(7)};
  EXPECT_THAT(config.validate(), HasErrorCode(ai_core::ErrorCode::invalid_config));
  EXPECT_THAT(config.validate(), HasMessage("nf4 encoding 7"));
}

TEST(Bitsandbytes, EncodingGivesCodeZeroForAllZeroBlocksAndTheirPad) {
  const Nf4Quantizer nearest = make_quantizer({.block_size = 64});
  const Nf4Quantizer bnb =
      make_quantizer({.block_size = 64, .encoding = Nf4Encoding::bitsandbytes});
  at::Tensor x = at::zeros({64 * 2 + 33}, at::kFloat);
  x.slice(0, 0, 64).normal_();  // block 0 non-zero; block 1 zero; block 2 (33, odd) zero
  auto q_bnb = bnb.quantize(x, kCpu);
  auto q_near = nearest.quantize(x, kCpu);
  ASSERT_THAT(q_bnb, IsOk());
  ASSERT_THAT(q_near, IsOk());
  const at::Tensor& c = q_bnb->codes();
  for (std::int64_t j = 32; j < c.numel(); ++j) EXPECT_EQ(c.data_ptr<std::uint8_t>()[j], 0) << j;
  for (std::int64_t j = 32; j < c.numel() - 1; ++j) {
    EXPECT_EQ(q_near->codes().data_ptr<std::uint8_t>()[j], 0x77) << j;
  }
  EXPECT_EQ(q_near->codes().data_ptr<std::uint8_t>()[c.numel() - 1], 0x77);  // code, then pad
  EXPECT_TRUE(at::equal(q_bnb->absmax(), q_near->absmax()));
  // Block 0 (absmax a power-of-two-free value): both pick nearest-or-threshold codes; the zero
  // blocks dequantize to -0.0 under bitsandbytes' codes, +0.0 under ours.
  auto w = bnb.dequantize(*q_bnb, kCpu);
  ASSERT_THAT(w, IsOk());
  const at::Tensor wf = w->to(at::kFloat);
  EXPECT_TRUE(std::signbit(wf.data_ptr<float>()[100]));
  EXPECT_EQ(wf.data_ptr<float>()[100], 0.0f);
}

TEST(Bitsandbytes, EncodingMatchesItsThresholdsAtTheSevenTiedMidpoints) {
  // The seven exact midpoints that lie halfway between two floats (lower, upper). bitsandbytes'
  // code for each float is the number of its thresholds (kBnbThresholdBits) below it; the nearest
  // code is the lower one for the lower float and the upper one for the upper float.
  struct Case {
    std::uint32_t bits;
    int bnb;
    int nearest;
  };
  const Case cases[] = {{0xBF591CD9, 0, 0},   {0xBF591CD8, 1, 1},  // 0|1: threshold the lower float
                        {0xBF1C5271, 1, 1},   {0xBF1C5270, 1, 2},  // 1|2: threshold the upper float
                        {0xBEADEA77, 3, 3},   {0xBEADEA76, 3, 4},  // 3|4: upper
                        {0xBE703CED, 4, 4},   {0xBE703CEC, 4, 5},  // 4|5: upper
                        {0x3DF64862, 8, 8},   {0x3DF64863, 8, 9},  // 8|9: upper
                        {0x3F006D03, 12, 12}, {0x3F006D04, 13, 13},   // 12|13: lower
                        {0x3F5C89D9, 14, 14}, {0x3F5C89DA, 15, 15}};  // 14|15: lower
  constexpr std::int64_t kCases = std::size(cases);
  // Absmax 1 and absmax 4: both reciprocals are exact powers of two, so the normalised values are
  // exactly the floats above on either side (float32 input: no other dtype holds them).
  for (const float absmax : {1.0f, 4.0f}) {
    std::vector<float> values(64, 0.0f);
    values[0] = absmax;
    for (std::int64_t k = 0; k < kCases; ++k) {
      values[static_cast<std::size_t>(k + 1)] = std::bit_cast<float>(cases[k].bits) * absmax;
    }
    const at::Tensor x = at::from_blob(values.data(), {64}, at::kFloat).clone();
    auto near = make_quantizer({}).quantize(x, kCpu);
    auto bnb = make_quantizer({.encoding = Nf4Encoding::bitsandbytes}).quantize(x, kCpu);
    ASSERT_THAT(near, IsOk());
    ASSERT_THAT(bnb, IsOk());
    EXPECT_EQ(code_at(bnb->codes(), 0), 15);
    for (std::int64_t k = 0; k < kCases; ++k) {
      EXPECT_EQ(code_at(bnb->codes(), k + 1), cases[k].bnb)
          << std::hex << cases[k].bits << " absmax " << absmax;
      EXPECT_EQ(code_at(near->codes(), k + 1), cases[k].nearest)
          << std::hex << cases[k].bits << " absmax " << absmax;
    }
    for (std::int64_t e = kCases + 1; e < 64; ++e) EXPECT_EQ(code_at(bnb->codes(), e), 7) << e;
  }
}

class DoubleQuantTest : public ::testing::TestWithParam<c10::ScalarType> {};

TEST_P(DoubleQuantTest, NestedConstantsMatchAnIndependentComputationAndTheBoundHolds) {
  const c10::ScalarType dtype = GetParam();
  at::manual_seed(11);
  const std::int64_t numel = 64 * 700 + 17;  // 701 blocks: 3 nested blocks, the last partial
  at::Tensor x = (at::randn({numel}, at::kFloat) * 0.05).to(dtype);
  x.slice(0, 64 * 5, 64 * 6).zero_();  // an all-zero block
  const Nf4Quantizer quantizer = make_quantizer({.block_size = 64, .compute_dtype = dtype});
  auto plain = quantizer.quantize(x, kCpu);
  auto dq = quantizer.quantize_double(x, kCpu);
  ASSERT_THAT(plain, IsOk());
  ASSERT_THAT(dq, IsOk());
  EXPECT_TRUE(at::equal(plain->codes(), dq->codes()));
  ASSERT_EQ(dq->num_blocks(), 701);
  ASSERT_EQ(dq->nested_absmax().numel(), 3);
  EXPECT_EQ(dq->nested_block_size(), 256);
  // Independent: the mean in long double, the nested max, and the byte's value the closest of
  // the table to v / nested (within one table gap of float rounding).
  const float* absmax = plain->absmax().data_ptr<float>();
  long double sum = 0;
  for (int b = 0; b < 701; ++b) sum += absmax[b];
  EXPECT_EQ(dq->offset(), static_cast<float>(sum / 701));
  for (int n = 0; n < 3; ++n) {
    float m = 0.0f;
    for (int b = n * 256; b < std::min(701, (n + 1) * 256); ++b) {
      m = std::max(m, std::fabs(absmax[b] - dq->offset()));
    }
    EXPECT_EQ(dq->nested_absmax().data_ptr<float>()[n], m) << n;
  }
  for (int b = 0; b < 701; ++b) {
    const float nested = dq->nested_absmax().data_ptr<float>()[b / 256];
    const double v = (double{absmax[b]} - dq->offset()) / nested;
    const int q = dq->absmax_codes().data_ptr<std::uint8_t>()[b];
    double best = 1e9;
    for (int i = 0; i < 256; ++i) best = std::min(best, std::abs(v - kDynamicCode[i]));
    EXPECT_LE(std::abs(v - kDynamicCode[q]), best + 1e-6) << b;
  }
  auto reconstructed = reconstruct_absmax(*dq);
  ASSERT_THAT(reconstructed, IsOk());
  auto w = dequantize_double(*dq, dtype);
  ASSERT_THAT(w, IsOk());
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor wf = w->to(at::kFloat);
  double worst = 0.0;
  for (std::int64_t e = 0; e < numel; ++e) {
    const std::int64_t b = e / 64;
    const double bound = double_quant_bound(absmax[b], reconstructed->data_ptr<float>()[b], dtype);
    const double err = std::abs(double{xf.data_ptr<float>()[e]} - wf.data_ptr<float>()[e]);
    ASSERT_LE(err, bound) << "element " << e;
    worst = std::max(worst, err / bound);
  }
  EXPECT_GT(worst, 0.1);  // the bound is not vacuous
  // The values are bitsandbytes' formula on the parts, bit for bit.
  const at::Tensor expected =
      bnb_reference(dq->codes(), dq->absmax_codes(), true, dq->nested_absmax(), dq->nested_code(),
                    dq->offset(), 256, 64, numel, dtype);
  EXPECT_TRUE(at::equal(w->view({numel}), expected));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, DoubleQuantTest,
                         ::testing::Values(c10::kFloat, c10::kHalf, c10::kBFloat16));

TEST(DoubleQuant, SavesMemoryAsQlora) {
  const at::Tensor x = at::randn({64 * 4096}, at::kFloat);
  auto plain = make_quantizer({}).quantize(x, kCpu);
  auto dq = make_quantizer({}).quantize_double(x, kCpu);
  ASSERT_THAT(plain, IsOk());
  ASSERT_THAT(dq, IsOk());
  // 32 bits per 64 elements become 8 + 32 / 256: 0.5 -> 0.127 bits per parameter.
  const double plain_constants = 8.0 * (plain->nbytes() - plain->codes().numel()) / x.numel();
  const double dq_constants =
      8.0 * (dq->absmax_codes().numel() + 4 * dq->nested_absmax().numel()) / x.numel();
  EXPECT_DOUBLE_EQ(plain_constants, 0.5);
  EXPECT_DOUBLE_EQ(dq_constants, 8.0 / 64 + 32.0 / (64 * 256));
}

TEST(Interchange, ImportsANestedBitsandbytesStateAndDequantizesWithItsFormula) {
  at::manual_seed(5);
  const std::int64_t numel = 64 * 600 + 9;  // odd
  const std::int64_t blocks = 601;
  // A synthetic state in bitsandbytes' layout: packed weight [n, 1], uint8 absmax codes, state2.
  const at::Tensor codes = at::randint(0, 256, {(numel + 1) / 2, 1}, at::kByte);
  const at::Tensor qabsmax = at::randint(0, 256, {blocks}, at::kByte);
  const at::Tensor nested = at::rand({3}, at::kFloat) * 0.01 + 0.001;
  const at::Tensor table =
      at::from_blob(const_cast<float*>(kDynamicCode.data()), {256}, at::kFloat).clone();
  const float offset = 0.0123f;
  for (c10::ScalarType dtype : {c10::kBFloat16, c10::kHalf, c10::kFloat}) {
    BnbQuantState state{.codes = codes,
                        .absmax = qabsmax,
                        .shape = {numel},
                        .dtype = dtype,
                        .blocksize = 64,
                        .quant_type = "nf4",
                        .nested = BnbNestedState{
                            .absmax = nested, .code = table, .blocksize = 256, .offset = offset}};
    auto imported = from_bitsandbytes(state);
    ASSERT_THAT(imported, IsOk());
    ASSERT_TRUE(imported->nested.has_value());
    EXPECT_EQ(imported->nested->codes().data_ptr(), codes.data_ptr());  // no copy
    auto w = dequantize_double(*imported->nested, dtype);
    ASSERT_THAT(w, IsOk());
    const at::Tensor expected = bnb_reference(codes.view({-1}), qabsmax, true, nested, table,
                                              offset, 256, 64, numel, dtype);
    EXPECT_TRUE(at::equal(*w, expected)) << c10::toString(dtype);
  }
}

TEST(Interchange, ImportsAPlainStateAndExportsBoth) {
  at::manual_seed(6);
  const std::int64_t numel = 128 * 40;
  const at::Tensor codes = at::randint(0, 256, {numel / 2, 1}, at::kByte);
  const at::Tensor absmax = at::rand({40}, at::kFloat);
  BnbQuantState state{.codes = codes,
                      .absmax = absmax,
                      .shape = {40, 128},
                      .dtype = c10::kBFloat16,
                      .blocksize = 128,
                      .quant_type = "nf4",
                      .nested = std::nullopt};
  auto imported = from_bitsandbytes(state);
  ASSERT_THAT(imported, IsOk());
  ASSERT_TRUE(imported->plain.has_value());
  auto w = make_quantizer({.block_size = 128}).dequantize(*imported->plain, kCpu);
  ASSERT_THAT(w, IsOk());
  EXPECT_TRUE(at::equal(w->view({numel}), bnb_reference(codes.view({-1}), absmax, false, {}, {},
                                                        0.0f, 1, 128, numel, c10::kBFloat16)));
  // Export: the fields bitsandbytes reads, and its formula on them gives our values.
  const at::Tensor x = at::randn({40, 128}, at::kBFloat16);
  auto dq = make_quantizer({.block_size = 128}).quantize_double(x, kCpu);
  ASSERT_THAT(dq, IsOk());
  const BnbQuantState out = to_bitsandbytes(*dq);
  EXPECT_EQ(out.codes.sizes(), (std::vector<std::int64_t>{numel / 2, 1}));
  EXPECT_EQ(out.absmax.scalar_type(), at::kByte);
  ASSERT_TRUE(out.nested.has_value());
  EXPECT_EQ(out.nested->blocksize, 256);
  EXPECT_EQ(out.shape, (std::vector<std::int64_t>{40, 128}));
  EXPECT_EQ(out.dtype, c10::kBFloat16);
  EXPECT_EQ(out.blocksize, 128);
  auto ours = dequantize_double(*dq, c10::kBFloat16);
  ASSERT_THAT(ours, IsOk());
  EXPECT_TRUE(at::equal(
      ours->view({numel}),
      bnb_reference(out.codes.view({-1}), out.absmax, true, out.nested->absmax, out.nested->code,
                    out.nested->offset, 256, 128, numel, c10::kBFloat16)));
  auto back = from_bitsandbytes(out);
  ASSERT_THAT(back, IsOk());
  ASSERT_TRUE(back->nested.has_value());
  const BnbQuantState plain_out = to_bitsandbytes(*imported->plain);
  EXPECT_FALSE(plain_out.nested.has_value());
  EXPECT_EQ(plain_out.absmax.data_ptr(), absmax.data_ptr());
}

TEST(Interchange, RejectsStatesItCannotRepresent) {
  const at::Tensor codes = at::zeros({32, 1}, at::kByte);
  const at::Tensor absmax = at::ones({1}, at::kFloat);
  BnbQuantState state{.codes = codes,
                      .absmax = absmax,
                      .shape = {64},
                      .dtype = c10::kHalf,
                      .blocksize = 64,
                      .quant_type = "fp4",
                      .nested = std::nullopt};
  auto fp4 = from_bitsandbytes(state);
  ASSERT_FALSE(fp4.has_value());
  EXPECT_THAT(fp4.error().to_string(), HasSubstr("expected \"nf4\""));
  state.quant_type = "nf4";
  state.codes = at::zeros({32, 1}, at::kFloat);
  auto wrong_storage = from_bitsandbytes(state);
  ASSERT_FALSE(wrong_storage.has_value());
  EXPECT_THAT(wrong_storage.error().to_string(), HasSubstr("expected uint8"));
  state.codes = codes;
  state.nested = BnbNestedState{
      .absmax = at::ones({1}, at::kFloat), .code = at::zeros({255}, at::kFloat), .blocksize = 256};
  state.absmax = at::zeros({1}, at::kByte);
  auto short_table = from_bitsandbytes(state);
  ASSERT_FALSE(short_table.has_value());
  EXPECT_THAT(short_table.error().to_string(), HasSubstr("256"));
  state.nested->code = at::zeros({256}, at::kFloat);
  state.nested->blocksize = 100;
  auto bad_nested = from_bitsandbytes(state);
  ASSERT_FALSE(bad_nested.has_value());
  EXPECT_EQ(bad_nested.error().code(), Nf4ErrorCode::invalid_block_size);
  state.nested->blocksize = 256;
  state.nested->offset = std::nanf("");
  auto nan_offset = from_bitsandbytes(state);
  ASSERT_FALSE(nan_offset.has_value());
  EXPECT_THAT(nan_offset.error().to_string(), HasSubstr("finite"));
}

TEST(DoubleQuant, DequantizeRejectsBadOutputs) {
  auto dq = make_quantizer({}).quantize_double(at::randn({256}, at::kFloat), kCpu);
  ASSERT_THAT(dq, IsOk());
  EXPECT_THAT(dequantize_double_into(*dq, at::empty({255}, at::kFloat)),
              HasErrorCode(ai_core::ErrorCode::shape_mismatch));
  EXPECT_THAT(dequantize_double_into(*dq, at::empty({256}, at::kInt)), HasMessage("i32"));
  EXPECT_THAT(dequantize_double_into(*dq, at::empty({512}, at::kFloat).slice(0, 0, 512, 2)),
              HasMessage("contiguous"));
  EXPECT_FALSE(dequantize_double_into(*dq, at::Tensor()).has_value());
}

}  // namespace
}  // namespace nf4
