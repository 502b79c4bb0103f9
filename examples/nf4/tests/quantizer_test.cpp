// SPDX-License-Identifier: MIT
// Tests for <nf4/quantizer.hpp>, <nf4/tensor.hpp>, <nf4/config.hpp> and <nf4/error.hpp> on the
// CPU: config validation, the exact code choice and absmax of every element against an independent
// brute-force reference, the round-trip bound for each dtype, bitsandbytes' packing, padding and
// partial blocks, and every bad input of the public functions, each with its error.
#include <nf4/code_table.hpp>
#include <nf4/config.hpp>
#include <nf4/error.hpp>
#include <nf4/quantizer.hpp>
#include <nf4/tensor.hpp>

#include <ai_core/concepts.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/testing/matchers.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
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

// Returns the code of the table value nearest to `x` (lower code on a tie), in double: written
// independently of encode_normalized.
int nearest_code(float x) {
  int best = 0;
  for (int c = 1; c < kNumCodes; ++c) {
    if (std::abs(static_cast<double>(x) - kCodeValues[c]) <
        std::abs(static_cast<double>(x) - kCodeValues[best])) {
      best = c;
    }
  }
  return best;
}

int code_at(const at::Tensor& codes, std::int64_t e) {
  const std::uint8_t byte = codes.data_ptr<std::uint8_t>()[e / 2];
  return e % 2 == 0 ? byte >> 4 : byte & 0x0F;
}

// Random values of `dtype` with blocks of very different magnitudes, exact zeros, and values
// landing exactly on the table (x = absmax * code value).
at::Tensor random_input(std::int64_t numel, c10::ScalarType dtype, std::uint64_t seed) {
  at::Generator generator = at::detail::createCPUGenerator(seed);
  at::Tensor x = at::randn({numel}, generator, at::TensorOptions().dtype(at::kFloat));
  at::Tensor scale = at::exp(at::randn({numel / 64 + 1}, generator) * 4.0f);
  if (dtype == c10::ScalarType::Half) scale = scale.clamp_max(1000.0f);  // f16 tops out at 65504
  x = x * scale.repeat_interleave(64).slice(0, 0, numel);
  x.slice(0, 0, std::min<std::int64_t>(numel, 7)).zero_();
  return x.to(dtype);
}

// --- config -------------------------------------------------------------------------------------

TEST(Nf4ConfigTest, ModelsValidatableConfig) {
  static_assert(ai_core::ValidatableConfig<Nf4Config>);
  EXPECT_TRUE(Nf4Config{}.validate().has_value());
  EXPECT_EQ(Nf4Config{}.block_size, 64);
  EXPECT_EQ(Nf4Config{}.compute_dtype, c10::ScalarType::BFloat16);
}

TEST(Nf4ConfigTest, AcceptsEveryPowerOfTwoFrom32To4096) {
  for (std::int64_t block = 32; block <= 4096; block *= 2) {
    EXPECT_TRUE(Nf4Config{.block_size = block}.validate().has_value()) << "block " << block;
  }
}

TEST(Nf4ConfigTest, RejectsForbiddenBlockSizesNamingThem) {
  for (const std::int64_t block : {0LL, -64LL, 1LL, 16LL, 31LL, 48LL, 96LL, 100LL, 8192LL}) {
    const ai_core::Result<void> status = Nf4Config{.block_size = block}.validate();
    ASSERT_FALSE(status.has_value()) << "block " << block;
    EXPECT_EQ(status.error().code(), ai_core::ErrorCode::invalid_config) << "block " << block;
    EXPECT_THAT(status, HasMessage("invalid block size: block size " + std::to_string(block)))
        << "block " << block;
    EXPECT_THAT(status, HasMessage("power of two in [32, 4096]"));
  }
}

TEST(Nf4ConfigTest, RejectsComputeDtypeOutsideF32F16Bf16) {
  for (const c10::ScalarType dtype : {c10::ScalarType::Double, c10::ScalarType::Int,
                                      c10::ScalarType::Byte, c10::ScalarType::Bool}) {
    const ai_core::Result<void> status = Nf4Config{.compute_dtype = dtype}.validate();
    ASSERT_FALSE(status.has_value()) << dtype;
    EXPECT_THAT(status, HasMessage("unsupported dtype: compute dtype has dtype"));
  }
}

TEST(Nf4QuantizerTest, CreateRefusesAnInvalidConfig) {
  const auto quantizer = Nf4Quantizer::create({.block_size = 48});
  ASSERT_FALSE(quantizer.has_value());
  EXPECT_THAT(quantizer, HasMessage("block size 48"));
}

TEST(Nf4QuantizerTest, ModelsTheConcepts) {
  static_assert(ai_core::Quantize<Nf4Quantizer, Nf4Tensor>);
  static_assert(ai_core::Dequantize<Nf4Quantizer, Nf4Tensor>);
  static_assert(ai_core::GpuDispatchable<Nf4QuantizeOp>);
  static_assert(ai_core::GpuDispatchable<Nf4DequantizeOp>);
  static_assert(ai_core::GpuDispatchable<Nf4DequantizeIntoOp>);
  SUCCEED();
}

// --- exact codes, absmax and the round-trip bound ----------------------------------------------

struct RoundTripCase {
  c10::ScalarType dtype;
  std::int64_t block_size;
  std::int64_t numel;
};

class Nf4RoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(Nf4RoundTripTest, CodesAbsmaxAndErrorBoundHoldForEveryElement) {
  const RoundTripCase param = GetParam();
  const at::Tensor x = random_input(param.numel, param.dtype, 1000 + param.numel);
  for (const c10::ScalarType out_dtype :
       {c10::ScalarType::Float, c10::ScalarType::Half, c10::ScalarType::BFloat16}) {
    // Blocks reach 1e7 here: only an f16 input is sure to fit an f16 output.
    if (out_dtype == c10::ScalarType::Half && param.dtype != c10::ScalarType::Half) continue;
    const Nf4Quantizer quantizer =
        make_quantizer({.block_size = param.block_size, .compute_dtype = out_dtype});
    auto q = quantizer.quantize(x, kCpu);
    ASSERT_THAT(q, IsOk());
    ASSERT_EQ(q->numel(), param.numel);
    ASSERT_EQ(q->codes().numel(), (param.numel + 1) / 2);
    ASSERT_EQ(q->num_blocks(), (param.numel + param.block_size - 1) / param.block_size);
    EXPECT_EQ(q->dtype(), param.dtype);
    auto y = quantizer.dequantize(*q, kCpu);
    ASSERT_THAT(y, IsOk());
    ASSERT_EQ(y->scalar_type(), out_dtype);
    ASSERT_EQ(y->sizes(), x.sizes());

    const at::Tensor xf = x.to(at::kFloat);
    const at::Tensor yf = y->to(at::kFloat);
    const float* xs = xf.data_ptr<float>();
    const float* ys = yf.data_ptr<float>();
    const float* absmax = q->absmax().data_ptr<float>();
    double worst_ratio = 0.0;
    for (std::int64_t b = 0; b < q->num_blocks(); ++b) {
      const std::int64_t begin = b * param.block_size;
      const std::int64_t end = std::min(begin + param.block_size, param.numel);
      float expected_absmax = 0.0f;
      for (std::int64_t e = begin; e < end; ++e) {
        expected_absmax = std::max(expected_absmax, std::abs(xs[e]));
      }
      ASSERT_EQ(absmax[b], expected_absmax) << "block " << b;
      const double bound = reconstruction_bound(absmax[b], out_dtype);
      for (std::int64_t e = begin; e < end; ++e) {
        const float normalized = absmax[b] > 0.0f ? xs[e] / absmax[b] : 0.0f;
        ASSERT_EQ(code_at(q->codes(), e), nearest_code(normalized))
            << "element " << e << " x=" << xs[e] << " absmax=" << absmax[b];
        const double error = std::abs(static_cast<double>(xs[e]) - ys[e]);
        ASSERT_LE(error, bound) << "element " << e << " x=" << xs[e] << " x'=" << ys[e];
        if (bound > 0) worst_ratio = std::max(worst_ratio, error / bound);
      }
    }
    // The bound is tight: enough random data comes close to it (a bound 10x too loose would pass
    // the check above too).
    if (param.numel >= 10000) {
      EXPECT_GT(worst_ratio, 0.9) << "out dtype " << out_dtype;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    DtypesAndBlocks, Nf4RoundTripTest,
    ::testing::Values(RoundTripCase{c10::ScalarType::Float, 64, 64 * 1024},
                      RoundTripCase{c10::ScalarType::Half, 64, 64 * 1024},
                      RoundTripCase{c10::ScalarType::BFloat16, 64, 64 * 1024},
                      RoundTripCase{c10::ScalarType::BFloat16, 32, 32 * 999 + 17},
                      RoundTripCase{c10::ScalarType::Float, 4096, 4096 * 9 + 1001},
                      RoundTripCase{c10::ScalarType::Half, 128, 12345},
                      RoundTripCase{c10::ScalarType::BFloat16, 256, 3}));

TEST(Nf4QuantizerTest, PacksElementTwoJInTheHighNibbleLikeBitsandbytes) {
  // absmax 1: each value is exactly a table value, so the codes are known.
  std::vector<float> values(32, 0.0f);
  values[0] = -1.0f;                  // code 0
  values[1] = 1.0f;                   // code 15
  values[2] = 0.5626170039176941f;    // code 13
  values[3] = -0.09105003625154495f;  // code 6
  const at::Tensor x = at::tensor(values);
  auto q = make_quantizer({.block_size = 32}).quantize(x, kCpu);
  ASSERT_THAT(q, IsOk());
  const std::uint8_t* codes = q->codes().data_ptr<std::uint8_t>();
  EXPECT_EQ(codes[0], 0x0F);
  EXPECT_EQ(codes[1], 0xD6);
  for (int j = 2; j < 16; ++j) EXPECT_EQ(codes[j], 0x77) << "byte " << j;  // zeros: code 7
  EXPECT_EQ(q->absmax().item<float>(), 1.0f);
}

TEST(Nf4QuantizerTest, OddCountPadsTheLastLowNibbleAndLastBlockHasItsOwnAbsmax) {
  std::vector<float> values(33, 2.0f);
  values[32] = -0.25f;  // alone in the second, partial block
  auto q = make_quantizer({.block_size = 32}).quantize(at::tensor(values), kCpu);
  ASSERT_THAT(q, IsOk());
  ASSERT_EQ(q->codes().numel(), 17);
  ASSERT_EQ(q->absmax().numel(), 2);
  EXPECT_EQ(q->absmax()[0].item<float>(), 2.0f);
  EXPECT_EQ(q->absmax()[1].item<float>(), 0.25f);
  EXPECT_EQ(q->codes()[16].item<std::uint8_t>(), pack_codes(0, kZeroCode));  // -1.0, pad
  auto y = make_quantizer({.block_size = 32, .compute_dtype = c10::ScalarType::Float})
               .dequantize(*q, kCpu);
  ASSERT_THAT(y, IsOk());
  ASSERT_EQ(y->numel(), 33);
  EXPECT_EQ(y->data_ptr<float>()[32], -0.25f);
  EXPECT_EQ(y->data_ptr<float>()[0], 2.0f);
}

TEST(Nf4QuantizerTest, AllZeroBlockHasZeroAbsmaxAndDequantizesToZero) {
  const at::Tensor x = at::zeros({2, 64}, at::kBFloat16);
  auto q = make_quantizer({}).quantize(x, kCpu);
  ASSERT_THAT(q, IsOk());
  EXPECT_TRUE(at::equal(q->absmax(), at::zeros({2})));
  EXPECT_TRUE(at::equal(q->codes(), at::full({64}, 0x77, at::kByte)));
  auto y = make_quantizer({}).dequantize(*q, kCpu);
  ASSERT_THAT(y, IsOk());
  EXPECT_TRUE(at::equal(*y, x));
}

TEST(Nf4QuantizerTest, KeepsShapeAndDtypeOfTheOriginal) {
  const at::Tensor x = random_input(4 * 96, c10::ScalarType::Half, 3).reshape({4, 8, 12});
  auto q = make_quantizer({}).quantize(x, kCpu);
  ASSERT_THAT(q, IsOk());
  EXPECT_THAT(std::vector<std::int64_t>(q->shape().begin(), q->shape().end()),
              ::testing::ElementsAre(4, 8, 12));
  EXPECT_EQ(q->dtype(), c10::ScalarType::Half);
  EXPECT_EQ(q->nbytes(), 4 * 96 / 2 + 4 * (4 * 96 / 64));
}

TEST(Nf4QuantizerTest, DequantizeIntoMatchesDequantizeForEachOutputDtype) {
  const at::Tensor x = random_input(1000, c10::ScalarType::Float, 5).reshape({10, 100});
  for (const c10::ScalarType dtype :
       {c10::ScalarType::Float, c10::ScalarType::Half, c10::ScalarType::BFloat16}) {
    const Nf4Quantizer quantizer = make_quantizer({.compute_dtype = dtype});
    auto q = quantizer.quantize(x, kCpu);
    ASSERT_THAT(q, IsOk());
    auto expected = quantizer.dequantize(*q, kCpu);
    ASSERT_THAT(expected, IsOk());
    const at::Tensor out = at::empty({10, 100}, dtype);
    auto status = quantizer.dequantize_into(*q, out);
    ASSERT_THAT(status, IsOk());
    EXPECT_TRUE(at::equal(out, *expected)) << dtype;
  }
}

TEST(Nf4QuantizerTest, EmptyTensorIsAllowedOnlyWhenConfigured) {
  const at::Tensor x = at::empty({0, 16}, at::kFloat);
  auto refused = make_quantizer({}).quantize(x, kCpu);
  ASSERT_THAT(refused, HasErrorCode(ai_core::ErrorCode::invalid_config));
  EXPECT_THAT(refused, HasMessage("nf4 empty input: input tensor of shape [0, 16]"));

  const Nf4Quantizer allowing = make_quantizer({.allow_empty = true});
  auto q = allowing.quantize(x, kCpu);
  ASSERT_THAT(q, IsOk());
  EXPECT_EQ(q->numel(), 0);
  EXPECT_EQ(q->codes().numel(), 0);
  auto y = allowing.dequantize(*q, kCpu);
  ASSERT_THAT(y, IsOk());
  EXPECT_EQ(y->sizes(), x.sizes());
}

TEST(Nf4QuantizerTest, SameQuantizerFromManyThreadsGivesIdenticalResults) {
  const Nf4Quantizer quantizer = make_quantizer({});
  const at::Tensor x = random_input(64 * 256, c10::ScalarType::BFloat16, 11);
  auto reference = quantizer.quantize(x, kCpu);
  ASSERT_TRUE(reference.has_value());
  std::vector<int> same(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto q = quantizer.quantize(x, kCpu);
      same[t] = q.has_value() && at::equal(q->codes(), reference->codes()) &&
                at::equal(q->absmax(), reference->absmax());
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(same, ::testing::Each(1));
}

// --- bad inputs ----------------------------------------------------------------------------------

TEST(Nf4BadInputTest, NonFiniteValueNamesElementAndBlock) {
  struct Case {
    float value;
    const char* text;
  };
  for (const Case c : {Case{std::numeric_limits<float>::quiet_NaN(), "nan"},
                       Case{std::numeric_limits<float>::infinity(), "inf"},
                       Case{-std::numeric_limits<float>::infinity(), "-inf"}}) {
    for (const c10::ScalarType dtype :
         {c10::ScalarType::Float, c10::ScalarType::Half, c10::ScalarType::BFloat16}) {
      at::Tensor x = at::ones({300}, at::kFloat);
      x[70].fill_(c.value);
      x[250].fill_(c.value);  // a later one: the first is reported
      auto q = make_quantizer({}).quantize(x.to(dtype), kCpu);
      ASSERT_THAT(q, HasErrorCode(ai_core::ErrorCode::invalid_config)) << c.text << " " << dtype;
      EXPECT_THAT(q, HasMessage(std::string("nf4 non-finite input: ") + c.text +
                                " at element 70 (block 1, offset 6 of 64)"))
          << dtype;
    }
  }
}

TEST(Nf4BadInputTest, NonFiniteErrorKeepsItsDomainCodeAsNf4Error) {
  at::Tensor x = at::ones({128}, at::kFloat);
  x[127] = std::numeric_limits<float>::quiet_NaN();
  const Nf4Error error = make_quantizer({}).quantize(x, kCpu).error();  // converts implicitly
  EXPECT_EQ(error.code(), Nf4ErrorCode::core);  // it crossed ai_core::dispatch as a CoreError
  const Nf4Error direct = Nf4Error::non_finite_input(127, 1, 64, std::nan(""));
  EXPECT_EQ(direct.code(), Nf4ErrorCode::non_finite_input);
  EXPECT_EQ(direct.element(), 127);
  EXPECT_EQ(direct.block(), 1);
  EXPECT_EQ(direct.message(), error.message());
}

TEST(Nf4BadInputTest, UnsupportedDtypeIsNamed) {
  for (const c10::ScalarType dtype :
       {c10::ScalarType::Double, c10::ScalarType::Int, c10::ScalarType::Byte}) {
    auto q = make_quantizer({}).quantize(at::ones({64}, dtype), kCpu);
    ASSERT_FALSE(q.has_value()) << dtype;
    EXPECT_THAT(q, HasMessage("nf4 unsupported dtype: input tensor has dtype"));
    EXPECT_THAT(q, HasMessage("expected f32, f16 or bf16"));
  }
}

TEST(Nf4BadInputTest, UndefinedTensorIsAnError) {
  auto q = make_quantizer({}).quantize(at::Tensor(), kCpu);
  ASSERT_THAT(q, HasErrorCode(ai_core::ErrorCode::invalid_config));
  EXPECT_THAT(q, HasMessage("undefined"));
}

TEST(Nf4BadInputTest, NonContiguousTensorIsAnErrorNotACopy) {
  const at::Tensor x = at::ones({64, 128}, at::kFloat).t();
  auto q = make_quantizer({}).quantize(x, kCpu);
  ASSERT_FALSE(q.has_value());
  EXPECT_THAT(q, HasMessage("contiguous"));
}

TEST(Nf4BadInputTest, DevicesOtherThanCpuAndCudaAreRefused) {
  const at::Tensor x = at::ones({64}, at::TensorOptions().dtype(at::kFloat).device(at::kMeta));
  auto q = make_quantizer({}).quantize(x, c10::Device(c10::DeviceType::Meta));
  ASSERT_THAT(q, HasErrorCode(ai_core::ErrorCode::device_not_available));
}

TEST(Nf4BadInputTest, TensorOnAnotherDeviceThanAskedIsAnError) {
  // The CPU tensor asked to run on CUDA: without a GPU the device is not available; with one it
  // is a device mismatch. Never a silent copy.
  auto q = make_quantizer({}).quantize(at::ones({64}), c10::Device(c10::DeviceType::CUDA, 0));
  ASSERT_FALSE(q.has_value());
  EXPECT_THAT(q.error().code(), ::testing::AnyOf(ai_core::ErrorCode::device_not_available,
                                                 ai_core::ErrorCode::device_mismatch));
}

TEST(Nf4BadInputTest, Nf4TensorPartsWhoseSizesDisagreeAreRefused) {
  const at::Tensor codes = at::zeros({32}, at::kByte);
  const at::Tensor absmax = at::ones({1}, at::kFloat);
  ASSERT_TRUE(Nf4Tensor::create(codes, absmax, {64}, c10::ScalarType::Float, 64).has_value());

  auto wrong_codes =
      Nf4Tensor::create(at::zeros({31}, at::kByte), absmax, {64}, c10::ScalarType::Float, 64);
  ASSERT_THAT(wrong_codes, HasErrorCode(Nf4ErrorCode::size_mismatch));
  EXPECT_EQ(wrong_codes.error().core().code(), ai_core::ErrorCode::shape_mismatch);
  EXPECT_THAT(wrong_codes, HasMessage("codes has 31 elements, expected 32"));
  ASSERT_NE(wrong_codes.error().core().shape_info(), nullptr);
  EXPECT_EQ(wrong_codes.error().core().shape_info()->expected, std::vector<std::int64_t>{32});

  auto wrong_absmax =
      Nf4Tensor::create(codes, at::ones({2}, at::kFloat), {64}, c10::ScalarType::Float, 64);
  ASSERT_THAT(wrong_absmax, HasErrorCode(Nf4ErrorCode::size_mismatch));
  EXPECT_THAT(wrong_absmax, HasMessage("absmax has 2 elements, expected 1"));

  auto bad_block = Nf4Tensor::create(codes, absmax, {64}, c10::ScalarType::Float, 48);
  ASSERT_THAT(bad_block, HasErrorCode(Nf4ErrorCode::invalid_block_size));

  auto bad_dtype = Nf4Tensor::create(codes, absmax, {64}, c10::ScalarType::Double, 64);
  ASSERT_THAT(bad_dtype, HasErrorCode(Nf4ErrorCode::unsupported_dtype));

  auto codes_2d =
      Nf4Tensor::create(at::zeros({2, 16}, at::kByte), absmax, {64}, c10::ScalarType::Float, 64);
  ASSERT_FALSE(codes_2d.has_value());
  EXPECT_EQ(codes_2d.error().core().code(), ai_core::ErrorCode::dimension_mismatch);

  auto codes_int =
      Nf4Tensor::create(at::zeros({32}, at::kInt), absmax, {64}, c10::ScalarType::Float, 64);
  ASSERT_FALSE(codes_int.has_value());
  EXPECT_THAT(codes_int, HasMessage("codes has dtype i32; expected u8"));

  auto negative = Nf4Tensor::create(codes, absmax, {-64}, c10::ScalarType::Float, 64);
  ASSERT_FALSE(negative.has_value());
  EXPECT_THAT(negative, HasMessage("negative"));

  auto overflow =
      Nf4Tensor::create(codes, absmax, {1LL << 40, 1LL << 40}, c10::ScalarType::Float, 64);
  ASSERT_FALSE(overflow.has_value());
  EXPECT_THAT(overflow, HasMessage("overflows int64"));
}

TEST(Nf4BadInputTest, DequantizeIntoChecksTheOutput) {
  const Nf4Quantizer quantizer = make_quantizer({});
  auto q = quantizer.quantize(at::ones({4, 64}), kCpu);
  ASSERT_TRUE(q.has_value());

  auto shape = quantizer.dequantize_into(*q, at::empty({64, 4}));
  ASSERT_THAT(shape, HasErrorCode(ai_core::ErrorCode::shape_mismatch));
  ASSERT_NE(shape.error().shape_info(), nullptr);
  EXPECT_EQ(shape.error().shape_info()->actual, (std::vector<std::int64_t>{64, 4}));

  auto dtype = quantizer.dequantize_into(*q, at::empty({4, 64}, at::kInt));
  ASSERT_FALSE(dtype.has_value());
  EXPECT_THAT(dtype, HasMessage("output tensor has dtype i32"));

  auto strided = quantizer.dequantize_into(*q, at::empty({64, 4}).t());
  ASSERT_FALSE(strided.has_value());
  EXPECT_THAT(strided, HasMessage("contiguous"));

  auto undefined = quantizer.dequantize_into(*q, at::Tensor());
  ASSERT_FALSE(undefined.has_value());
  EXPECT_THAT(undefined, HasMessage("undefined"));
}

TEST(Nf4BadInputTest, QuantizedTensorOnAnotherDeviceIsAMismatch) {
  const Nf4Quantizer quantizer = make_quantizer({});
  auto q = quantizer.quantize(at::ones({64}), kCpu);
  ASSERT_TRUE(q.has_value());
  auto y = quantizer.dequantize(*q, c10::Device(c10::DeviceType::Meta));
  ASSERT_THAT(y, HasErrorCode(ai_core::ErrorCode::device_not_available));
}

// --- the error type ------------------------------------------------------------------------------

ai_core::Result<int> core_failure() { return ai_core::CoreError::kernel_error("launch failed"); }

Nf4Result<int> domain_caller() {
  AI_CORE_ASSIGN_OR_RETURN(int value, core_failure(), "in the domain caller");
  return value;
}

ai_core::Result<int> core_caller_of_domain() {
  AI_CORE_ASSIGN_OR_RETURN(int value, domain_caller());
  return value;
}

TEST(Nf4ErrorTest, CoreErrorsPropagateIntoNf4ResultAndBack) {
  const Nf4Result<int> domain = domain_caller();
  ASSERT_THAT(domain, HasErrorCode(Nf4ErrorCode::core));
  EXPECT_EQ(domain.error().core().code(), ai_core::ErrorCode::kernel_error);
  EXPECT_THAT(domain.error().core().context(), ::testing::ElementsAre("in the domain caller"));

  const ai_core::Result<int> core = core_caller_of_domain();
  ASSERT_THAT(core, HasErrorCode(ai_core::ErrorCode::kernel_error));
  EXPECT_EQ(core.error().message(), "launch failed");
}

TEST(Nf4ErrorTest, DomainCodesHaveNames) {
  EXPECT_EQ(to_string(Nf4ErrorCode::non_finite_input), "non-finite input");
  EXPECT_EQ(to_string(Nf4ErrorCode::size_mismatch), "size mismatch");
  EXPECT_EQ(to_string(static_cast<Nf4ErrorCode>(99)), "unknown nf4 error");
  Nf4Error error = Nf4Error::empty_input("weight");
  error.with_context("loading layer 3");
  EXPECT_THAT(error.to_string(), HasSubstr("invalid config: nf4 empty input: weight has no"));
  EXPECT_THAT(error.to_string(), HasSubstr("\n  loading layer 3"));
}

}  // namespace
}  // namespace nf4
