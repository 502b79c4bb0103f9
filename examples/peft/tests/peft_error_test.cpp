// SPDX-License-Identifier: MIT
// Tests of the PEFT example: the domain error pattern (domain codes and payloads, automatic
// conversion from CoreError, the ai_core macros and matchers across both error types).
#include <peft/adapter.hpp>
#include <peft/error.hpp>

#include <ai_core/testing/matchers.hpp>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace peft {
namespace {

using ::ai_core::CoreError;
using ::ai_core::ErrorCode;
using ::ai_core::testing::HasErrorCode;
using ::ai_core::testing::HasMessage;
using ::ai_core::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

static_assert(std::is_convertible_v<CoreError, Result<int>>);
static_assert(std::is_convertible_v<PeftError, Result<int>>);
static_assert(std::is_convertible_v<ai_core::Unexpected<CoreError>, Result<int>>);
static_assert(std::is_convertible_v<ai_core::Unexpected<PeftError>, ai_core::Result<int>>);

TEST(PeftErrorTest, DomainCodesAndPayloads) {
  EXPECT_EQ(static_cast<int>(PeftErrorCode::core), 0);
  EXPECT_EQ(static_cast<int>(PeftErrorCode::adapter_not_found), 1);
  EXPECT_EQ(static_cast<int>(PeftErrorCode::rank_too_large), 2);
  EXPECT_EQ(to_string(static_cast<PeftErrorCode>(42)), "unknown peft error");

  const PeftError missing = PeftError::adapter_not_found("v_proj");
  EXPECT_EQ(missing.code(), PeftErrorCode::adapter_not_found);
  ASSERT_NE(missing.adapter_not_found_info(), nullptr);
  EXPECT_EQ(missing.adapter_not_found_info()->name, "v_proj");
  EXPECT_EQ(missing.rank_too_large_info(), nullptr);
  EXPECT_EQ(missing.to_string(),
            "invalid config: peft adapter not found: no adapter named 'v_proj' is registered");

  const PeftError rank = PeftError::rank_too_large(64, 32);
  ASSERT_NE(rank.rank_too_large_info(), nullptr);
  EXPECT_EQ(rank.rank_too_large_info()->rank, 64);
  EXPECT_EQ(rank.rank_too_large_info()->max, 32);
  EXPECT_THAT(rank, HasErrorCode(PeftErrorCode::rank_too_large));
  EXPECT_THAT(rank, HasMessage("rank 64 exceeds the maximum 32"));
  std::ostringstream os;
  os << rank;
  EXPECT_EQ(os.str(), rank.to_string());
}

TEST(PeftErrorTest, WrapsCoreErrorsAutomatically) {
  const PeftError wrapped = CoreError::device_mismatch(c10::Device("cuda:0"), c10::Device("cpu"));
  EXPECT_EQ(wrapped.code(), PeftErrorCode::core);
  EXPECT_EQ(wrapped.core().code(), ErrorCode::device_mismatch);
  ASSERT_NE(wrapped.core().device_info(), nullptr);  // the payload survives
  EXPECT_EQ(wrapped.core().device_info()->expected, c10::Device("cuda:0"));
  const CoreError back = wrapped;  // and converts back
  EXPECT_EQ(back, wrapped.core());
}

class RegistryTest : public ::testing::Test {
 protected:
  AdapterRegistry registry{/*max_rank=*/8};
};

TEST_F(RegistryTest, AddsFindsAndApplies) {
  AI_CORE_ASSERT_OK(registry.add("q_proj", at::ones({4, 3}), at::ones({2, 4}), 8.0));
  AI_CORE_ASSERT_OK_AND_ASSIGN(const LoraAdapter* adapter, registry.find("q_proj"));
  EXPECT_EQ(adapter->rank(), 4);
  AI_CORE_ASSERT_OK_AND_ASSIGN(at::Tensor y, registry.delta("q_proj", at::ones({5, 3})));
  // ones(5,3) @ ones(3,4) = 3, @ ones(4,2) = 12, times alpha/rank = 2: 24 everywhere.
  EXPECT_THAT(y.sizes().vec(), ElementsAre(5, 2));
  EXPECT_TRUE(at::allclose(y, at::full({5, 2}, 24.0)));
  EXPECT_THAT(apply_adapter(registry, "q_proj", at::ones({1, 3})), IsOk());
}

TEST_F(RegistryTest, ReturnsDomainErrors) {
  const Result<void> too_large = registry.add("k_proj", at::ones({16, 3}), at::ones({2, 16}), 1.0);
  ASSERT_THAT(too_large, HasErrorCode(PeftErrorCode::rank_too_large));
  EXPECT_EQ(too_large.error().rank_too_large_info()->rank, 16);
  EXPECT_EQ(too_large.error().rank_too_large_info()->max, 8);
  EXPECT_THAT(too_large.error().core().context(), ElementsAre("registering adapter 'k_proj'"));

  const auto missing = registry.find("o_proj");
  ASSERT_THAT(missing, HasErrorCode(PeftErrorCode::adapter_not_found));
  EXPECT_EQ(missing.error().adapter_not_found_info()->name, "o_proj");
  // Propagated by AI_CORE_ASSIGN_OR_RETURN inside delta(): still the domain error.
  EXPECT_THAT(registry.delta("o_proj", at::ones({1, 3})),
              HasErrorCode(PeftErrorCode::adapter_not_found));
}

TEST_F(RegistryTest, PropagatesCoreErrorsIntoTheDomainType) {
  // AI_CORE_CHECK (a CoreError) in a function returning peft::Result.
  const auto bad_alpha = registry.add("q_proj", at::ones({2, 3}), at::ones({2, 2}), -1.0);
  ASSERT_THAT(bad_alpha, HasErrorCode(PeftErrorCode::core));
  EXPECT_EQ(bad_alpha.error().core().code(), ErrorCode::invalid_config);
  EXPECT_THAT(bad_alpha, HasMessage("alpha is -1: expected a positive value (adapter 'q_proj')"));
  EXPECT_THAT(bad_alpha.error().core().location().function_name(), HasSubstr("add"));

  // AI_CORE_TRY on an ai_core::Result, with context.
  const auto three_d = registry.add("q_proj", at::ones({2, 3, 1}), at::ones({2, 2}), 1.0);
  ASSERT_THAT(three_d, HasErrorCode(PeftErrorCode::core));
  EXPECT_EQ(three_d.error().core().code(), ErrorCode::dimension_mismatch);
  EXPECT_EQ(three_d.error().to_string(),
            "dimension mismatch: a has 3 dimensions [2, 3, 1]: expected 2\n"
            "  registering adapter 'q_proj'");

  // A CoreError returned directly (enable_implicit_error<PeftError>).
  const auto shapes = registry.add("q_proj", at::ones({2, 3}), at::ones({4, 5}), 1.0);
  ASSERT_THAT(shapes, HasErrorCode(PeftErrorCode::core));
  ASSERT_NE(shapes.error().core().shape_info(), nullptr);
  EXPECT_THAT(shapes.error().core().shape_info()->expected, ElementsAre(4, 2));
  EXPECT_THAT(shapes.error().core().shape_info()->actual, ElementsAre(4, 5));

  // A libtorch error caught by ai_core::capture inside the PEFT function.
  AI_CORE_ASSERT_OK(registry.add("q_proj", at::ones({2, 3}), at::ones({4, 2}), 1.0));
  const auto wrong_x = registry.delta("q_proj", at::ones({5, 7}));
  ASSERT_THAT(wrong_x, HasErrorCode(PeftErrorCode::core));
  EXPECT_EQ(wrong_x.error().core().to_string(),
            "shape mismatch: expected [5, 3], got [5, 7] (x)\n  applying adapter 'q_proj'");
  const auto wrong_dtype = registry.delta("q_proj", at::ones({5, 3}, at::kDouble));
  ASSERT_THAT(wrong_dtype, HasErrorCode(PeftErrorCode::core));
  EXPECT_EQ(wrong_dtype.error().core().code(), ErrorCode::torch);
  EXPECT_THAT(wrong_dtype.error().core().context(), ElementsAre("applying adapter 'q_proj'"));
}

TEST_F(RegistryTest, PropagatesDomainErrorsIntoAiCoreResults) {
  const ai_core::Result<at::Tensor> missing = apply_adapter(registry, "nope", at::ones({1, 3}));
  ASSERT_THAT(missing, HasErrorCode(ErrorCode::invalid_config));
  EXPECT_EQ(missing.error().to_string(),
            "invalid config: peft adapter not found: no adapter named 'nope' is registered\n"
            "  in apply_adapter");
}

}  // namespace
}  // namespace peft
