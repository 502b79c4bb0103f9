// SPDX-License-Identifier: MIT
// Tests for <ai_core/precision.hpp>: parsing, compute dtypes, auto_precision from a fake CUDA
// probe, and the dtype questions over the interop vocabulary.
#include <ai_core/device.hpp>
#include <ai_core/precision.hpp>
#include <ai_core/testing/cuda_probe.hpp>
#include <ai_core/testing/matchers.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ai_core {
namespace {

using testing::FakeCudaProbe;
using testing::HasErrorCode;
using testing::HasMessage;
using ::testing::HasSubstr;
using testing::IsOkAndHolds;
using testing::ScopedCudaProbe;

TEST(PrecisionTest, ToStringNamesEveryMode) {
  EXPECT_EQ(to_string(PrecisionMode::full), "full");
  EXPECT_EQ(to_string(PrecisionMode::bf16), "bf16");
  EXPECT_EQ(to_string(PrecisionMode::fp16), "fp16");
  EXPECT_EQ(to_string(static_cast<PrecisionMode>(9)), "unknown");
}

TEST(PrecisionTest, ParsesEverySpellingInAnyCase) {
  const struct {
    const char* text;
    PrecisionMode mode;
  } cases[] = {{"full", PrecisionMode::full},    {"FP32", PrecisionMode::full},
               {"f32", PrecisionMode::full},     {"Float32", PrecisionMode::full},
               {"bf16", PrecisionMode::bf16},    {"BFloat16", PrecisionMode::bf16},
               {"fp16", PrecisionMode::fp16},    {"F16", PrecisionMode::fp16},
               {"float16", PrecisionMode::fp16}, {"half", PrecisionMode::fp16},
               {"  bf16\n", PrecisionMode::bf16}};
  for (const auto& c : cases) {
    EXPECT_THAT(parse_precision(c.text), IsOkAndHolds(c.mode)) << "text: '" << c.text << "'";
  }
}

TEST(PrecisionTest, RejectsUnknownSpellingsNamingValueAndAcceptedOnes) {
  for (const char* text : {"", "bf17", "fp8", "float", "b f16"}) {
    EXPECT_THAT(parse_precision(text), HasErrorCode(ErrorCode::invalid_config)) << text;
  }
  EXPECT_THAT(parse_precision("bf17"), HasMessage("unknown precision 'bf17'; expected full, fp32"));
}

TEST(PrecisionTest, ComputeDtypeOfEachMode) {
  static_assert(compute_dtype(PrecisionMode::full) == c10::ScalarType::Float);
  static_assert(compute_dtype(PrecisionMode::bf16) == c10::ScalarType::BFloat16);
  static_assert(compute_dtype(PrecisionMode::fp16) == c10::ScalarType::Half);
  EXPECT_EQ(compute_dtype(static_cast<PrecisionMode>(7)), c10::ScalarType::Float);
}

CudaProbeResult probe_with_capability(int major, int minor) {
  CudaProbeResult result = FakeCudaProbe::with_devices(2);
  result.devices[1].capability_major = major;
  result.devices[1].capability_minor = minor;
  return result;
}

TEST(PrecisionTest, AutoPrecisionIsFullOnTheCpu) {
  EXPECT_THAT(auto_precision(c10::Device(c10::DeviceType::CPU)), IsOkAndHolds(PrecisionMode::full));
}

TEST(PrecisionTest, AutoPrecisionFollowsTheProbedComputeCapability) {
  const struct {
    int major, minor;
    PrecisionMode expected;
  } cases[] = {{9, 0, PrecisionMode::bf16},
               {8, 0, PrecisionMode::bf16},
               {8, 6, PrecisionMode::bf16},
               {7, 5, PrecisionMode::fp16},
               {6, 1, PrecisionMode::fp16}};
  for (const auto& c : cases) {
    ScopedCudaProbe probe(std::make_shared<FakeCudaProbe>(probe_with_capability(c.major, c.minor)));
    EXPECT_THAT(auto_precision(c10::Device(c10::DeviceType::CUDA, 1)), IsOkAndHolds(c.expected))
        << "sm_" << c.major << c.minor;
    // Device 0 keeps the fake probe's sm_90.
    EXPECT_THAT(auto_precision(c10::Device(c10::DeviceType::CUDA, 0)),
                IsOkAndHolds(PrecisionMode::bf16));
  }
}

TEST(PrecisionTest, AutoPrecisionUsesTheCachedProbe) {
  auto fake = std::make_shared<FakeCudaProbe>(FakeCudaProbe::with_devices(1));
  ScopedCudaProbe probe(fake);
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(auto_precision(c10::Device(c10::DeviceType::CUDA)),
                IsOkAndHolds(PrecisionMode::bf16));
  }
  EXPECT_EQ(fake->calls(), 1);
}

TEST(PrecisionTest, AutoPrecisionErrors) {
  {
    ScopedCudaProbe probe(std::make_shared<FakeCudaProbe>(FakeCudaProbe::with_devices(1)));
    EXPECT_THAT(auto_precision(c10::Device(c10::DeviceType::CUDA, 3)),
                HasErrorCode(ErrorCode::device_not_available));
    EXPECT_THAT(auto_precision(c10::Device(c10::DeviceType::CUDA, 3)),
                HasMessage("not among the 1 visible devices: cuda:0 (Fake GPU 0, sm_90)"));
    EXPECT_THAT(auto_precision(c10::Device(c10::DeviceType::MPS)),
                HasErrorCode(ErrorCode::not_implemented));
  }
  ScopedCudaProbe probe(std::make_shared<FakeCudaProbe>(
      FakeCudaProbe::unusable(CudaStatus::no_driver, "libcuda.so not found")));
  EXPECT_THAT(auto_precision(c10::Device(c10::DeviceType::CUDA, 0)),
              HasErrorCode(ErrorCode::device_not_available));
  EXPECT_THAT(auto_precision(c10::Device(c10::DeviceType::CUDA, 0)),
              HasMessage("no_driver: libcuda.so not found"));
}

TEST(PrecisionTest, DtypeQuestionsOverTheInteropVocabulary) {
  const struct {
    c10::ScalarType dtype;
    std::int64_t size;
    bool floating;
    bool reduced;
    const char* name;
  } cases[] = {{c10::ScalarType::Float, 4, true, false, "f32"},
               {c10::ScalarType::Half, 2, true, true, "f16"},
               {c10::ScalarType::BFloat16, 2, true, true, "bf16"},
               {c10::ScalarType::Double, 8, true, false, "f64"},
               {c10::ScalarType::Char, 1, false, false, "i8"},
               {c10::ScalarType::Byte, 1, false, false, "u8"},
               {c10::ScalarType::Short, 2, false, false, "i16"},
               {c10::ScalarType::Int, 4, false, false, "i32"},
               {c10::ScalarType::Long, 8, false, false, "i64"},
               {c10::ScalarType::Bool, 1, false, false, "bool"},
               {c10::ScalarType::Float8_e4m3fn, 1, true, true, "fp8_e4m3fn"},
               {c10::ScalarType::Float8_e5m2, 1, true, true, "fp8_e5m2"}};
  int covered = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(is_interop_dtype(c.dtype));
    EXPECT_EQ(dtype_size(c.dtype), c.size);
    EXPECT_EQ(is_floating_dtype(c.dtype), c.floating);
    EXPECT_EQ(is_reduced_precision(c.dtype), c.reduced);
    EXPECT_EQ(dtype_name(c.dtype), c.name);
    // The answers agree with torch's own predicates.
    EXPECT_EQ(is_floating_dtype(c.dtype), c10::isFloatingType(c.dtype));
    ++covered;
  }
  EXPECT_EQ(covered, 12);  // every interop dtype
  EXPECT_FALSE(is_floating_dtype(c10::ScalarType::QInt8));
  EXPECT_TRUE(is_floating_dtype(c10::ScalarType::ComplexFloat));
  EXPECT_FALSE(is_reduced_precision(c10::ScalarType::ComplexFloat));
}

}  // namespace
}  // namespace ai_core
