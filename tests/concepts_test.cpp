// SPDX-License-Identifier: MIT
// Tests of <ai_core/concepts.hpp> with real implementations: a config with range and cross-field
// rules and the `static create(config)` pattern; an absmax int8 quantizer (Quantize + Dequantize)
// on CPU f32/f16/bf16 tensors, held to the error bound of its scheme; a one-way quantizer that
// models Quantize only. The compile-failure side (what a type missing a member reads like) is in
// tests/compile_fail/.
#include <ai_core/concepts.hpp>

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/result_macros.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <c10/core/ScalarType.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace test_concepts {

using ai_core::CoreError;
using ai_core::ErrorCode;
using ai_core::Result;
using ::testing::HasSubstr;

// --- a config with ranges and cross-field rules --------------------------------------------------

struct OptimizerConfig {
  std::string name = "adamw";
  double lr = 1e-3;
  double min_lr = 0.0;  // Cross-field: in [0, lr].
  std::int64_t total_steps = 1000;
  std::int64_t warmup_steps = 100;  // Cross-field: in [0, total_steps].
  double beta1 = 0.9;
  double beta2 = 0.999;
  double weight_decay = 0.01;

  Result<void> validate() const {
    AI_CORE_CHECK(!name.empty(), ErrorCode::invalid_config, "optimizer name must not be empty");
    AI_CORE_CHECK(lr > 0.0 && lr <= 1.0, ErrorCode::invalid_config,
                  "optimizer lr must be in (0, 1], got ", lr);
    AI_CORE_CHECK(min_lr >= 0.0 && min_lr <= lr, ErrorCode::invalid_config,
                  "optimizer min_lr must be in [0, lr = ", lr, "], got ", min_lr);
    AI_CORE_CHECK(total_steps >= 1, ErrorCode::invalid_config,
                  "optimizer total_steps must be at least 1, got ", total_steps);
    AI_CORE_CHECK(warmup_steps >= 0 && warmup_steps <= total_steps, ErrorCode::invalid_config,
                  "optimizer warmup_steps must be in [0, total_steps = ", total_steps, "], got ",
                  warmup_steps);
    AI_CORE_CHECK(beta1 >= 0.0 && beta1 < 1.0, ErrorCode::invalid_config,
                  "optimizer beta1 must be in [0, 1), got ", beta1);
    AI_CORE_CHECK(beta2 >= 0.0 && beta2 < 1.0, ErrorCode::invalid_config,
                  "optimizer beta2 must be in [0, 1), got ", beta2);
    AI_CORE_CHECK(weight_decay >= 0.0, ErrorCode::invalid_config,
                  "optimizer weight_decay must be at least 0, got ", weight_decay);
    return {};
  }
};

// The "validate in the constructor" pattern: no Scheduler with an invalid config can exist.
class Scheduler {
 public:
  static Result<Scheduler> create(OptimizerConfig config) {
    AI_CORE_TRY(config.validate());
    return Scheduler(std::move(config));
  }

  /// Returns the learning rate at `step`: linear warm-up, then linear decay to min_lr.
  double lr_at(std::int64_t step) const {
    const auto& c = config_;
    if (step < c.warmup_steps) return c.lr * static_cast<double>(step + 1) / c.warmup_steps;
    const double t = static_cast<double>(step - c.warmup_steps) /
                     static_cast<double>(std::max<std::int64_t>(1, c.total_steps - c.warmup_steps));
    return c.lr + (c.min_lr - c.lr) * std::min(1.0, t);
  }

  const OptimizerConfig& config() const { return config_; }

 private:
  explicit Scheduler(OptimizerConfig config) : config_(std::move(config)) {}
  OptimizerConfig config_;
};

struct NoValidate {
  int x = 0;
};
struct BoolValidate {
  bool validate() const { return true; }
};
struct NonConstValidate {
  Result<void> validate() { return {}; }
};
struct MoveOnlyConfig {
  std::unique_ptr<int> p;
  Result<void> validate() const { return {}; }
};

static_assert(ai_core::ValidatableConfig<OptimizerConfig>);
static_assert(ai_core::check_validatable_config<OptimizerConfig>());
static_assert(!ai_core::ValidatableConfig<NoValidate>);
static_assert(!ai_core::ValidatableConfig<BoolValidate>);
static_assert(!ai_core::ValidatableConfig<NonConstValidate>);
static_assert(!ai_core::ValidatableConfig<MoveOnlyConfig>);

struct ConfigCase {
  std::string name;
  void (*mutate)(OptimizerConfig&);
  std::string expected;  // A substring of the error message; empty: the config is valid.
};

class ValidatableConfigTest : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(ValidatableConfigTest, ValidatesRangesAndCrossFieldRules) {
  const ConfigCase& c = GetParam();
  SCOPED_TRACE(c.name);
  OptimizerConfig config;
  c.mutate(config);
  const Result<void> status = config.validate();
  if (c.expected.empty()) {
    EXPECT_TRUE(status.has_value()) << status.error().to_string();
    return;
  }
  ASSERT_FALSE(status.has_value()) << "expected an error containing: " << c.expected;
  EXPECT_EQ(status.error().code(), ErrorCode::invalid_config);
  EXPECT_THAT(status.error().message(), HasSubstr(c.expected));
}

INSTANTIATE_TEST_SUITE_P(
    Rules, ValidatableConfigTest,
    ::testing::Values(
        ConfigCase{"defaults", [](OptimizerConfig&) {}, ""},
        ConfigCase{"lr at its upper bound", [](OptimizerConfig& c) { c.lr = 1.0; }, ""},
        ConfigCase{"lr zero", [](OptimizerConfig& c) { c.lr = 0.0; },
                   "lr must be in (0, 1], got 0"},
        ConfigCase{"lr above one", [](OptimizerConfig& c) { c.lr = 2.5; },
                   "lr must be in (0, 1], got 2.5"},
        ConfigCase{"lr NaN",
                   [](OptimizerConfig& c) { c.lr = std::numeric_limits<double>::quiet_NaN(); },
                   "lr must be in (0, 1], got nan"},
        ConfigCase{"empty name", [](OptimizerConfig& c) { c.name.clear(); },
                   "name must not be empty"},
        ConfigCase{"min_lr above lr (cross-field)",
                   [](OptimizerConfig& c) {
                     c.lr = 0.001;
                     c.min_lr = 0.01;
                   },
                   "min_lr must be in [0, lr = 0.001], got 0.01"},
        ConfigCase{"min_lr equal to lr", [](OptimizerConfig& c) { c.min_lr = c.lr; }, ""},
        ConfigCase{"warmup longer than training (cross-field)",
                   [](OptimizerConfig& c) {
                     c.total_steps = 10;
                     c.warmup_steps = 11;
                   },
                   "warmup_steps must be in [0, total_steps = 10], got 11"},
        ConfigCase{"negative warmup", [](OptimizerConfig& c) { c.warmup_steps = -1; },
                   "warmup_steps must be in [0, total_steps = 1000], got -1"},
        ConfigCase{"no steps", [](OptimizerConfig& c) { c.total_steps = 0; },
                   "total_steps must be at least 1, got 0"},
        ConfigCase{"beta1 one", [](OptimizerConfig& c) { c.beta1 = 1.0; },
                   "beta1 must be in [0, 1), got 1"},
        ConfigCase{"beta2 negative", [](OptimizerConfig& c) { c.beta2 = -0.5; },
                   "beta2 must be in [0, 1), got -0.5"},
        ConfigCase{"negative weight decay", [](OptimizerConfig& c) { c.weight_decay = -1e-3; },
                   "weight_decay must be at least 0, got -0.001"}),
    [](const ::testing::TestParamInfo<ConfigCase>& info) {
      std::string id;
      for (char ch : info.param.name) id += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return id;
    });

TEST(ValidatedTest, ReturnsTheConfigWhenValid) {
  OptimizerConfig config;
  config.lr = 0.25;
  const Result<OptimizerConfig> copy = ai_core::validated(config);  // lvalue: copied
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(copy->lr, 0.25);
  EXPECT_EQ(config.name, "adamw");  // The source is untouched.
  const Result<OptimizerConfig> moved = ai_core::validated(OptimizerConfig{"sgd", 0.5});
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->name, "sgd");
  EXPECT_EQ(moved->lr, 0.5);
}

TEST(ValidatedTest, ReturnsTheErrorOfValidate) {
  OptimizerConfig config;
  config.total_steps = 5;
  config.warmup_steps = 6;
  const Result<OptimizerConfig> result = ai_core::validated(config);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::invalid_config);
  EXPECT_EQ(result.error().message(), config.validate().error().message());
}

TEST(CreatePatternTest, CreateRejectsAnInvalidConfig) {
  OptimizerConfig config;
  config.min_lr = 1.0;  // Above lr.
  const Result<Scheduler> scheduler = Scheduler::create(config);
  ASSERT_FALSE(scheduler.has_value());
  EXPECT_EQ(scheduler.error().code(), ErrorCode::invalid_config);
  EXPECT_THAT(scheduler.error().message(), HasSubstr("min_lr"));
}

TEST(CreatePatternTest, CreateBuildsAnObjectThatUsesTheConfig) {
  OptimizerConfig config;
  config.lr = 0.1;
  config.min_lr = 0.0;
  config.total_steps = 110;
  config.warmup_steps = 10;
  const Result<Scheduler> scheduler = Scheduler::create(config);
  ASSERT_TRUE(scheduler.has_value()) << scheduler.error().to_string();
  EXPECT_EQ(scheduler->config().total_steps, 110);
  EXPECT_DOUBLE_EQ(scheduler->lr_at(0), 0.01);   // First warm-up step.
  EXPECT_DOUBLE_EQ(scheduler->lr_at(10), 0.1);   // Peak.
  EXPECT_DOUBLE_EQ(scheduler->lr_at(60), 0.05);  // Half-way through the decay.
  EXPECT_DOUBLE_EQ(scheduler->lr_at(110), 0.0);  // min_lr.
}

// --- an absmax int8 quantizer (both ways) and a one-way quantizer --------------------------------

/// The int8 form of a tensor: `values[..., j] * scales[..., 0]` approximates the tensor, one scale
/// per row (the last dimension).
struct Int8Tensor {
  at::Tensor values;      ///< int8, the shape of the quantized tensor.
  at::Tensor scales;      ///< float32, the shape of the tensor with a last dimension of 1.
  c10::ScalarType dtype;  ///< The dtype of the quantized tensor; dequantize returns it.
};

Result<void> check_float_input(const at::Tensor& tensor, c10::Device device,
                               std::string_view scheme) {
  AI_CORE_CHECK(tensor.defined(), ErrorCode::invalid_config, scheme,
                ": expected a defined tensor, got an undefined one");
  const auto dtype = tensor.scalar_type();
  AI_CORE_CHECK(dtype == at::kFloat || dtype == at::kHalf || dtype == at::kBFloat16,
                ErrorCode::invalid_config, scheme,
                ": expected a Float, Half or BFloat16 tensor, got ", c10::toString(dtype));
  AI_CORE_CHECK(tensor.dim() >= 1, ErrorCode::dimension_mismatch, scheme,
                ": expected at least 1 dimension, got ", tensor.dim());
  if (tensor.device().type() != device.type()) {
    // Quantizing where the tensor is not would need a copy the caller did not ask for.
    return CoreError::device_mismatch(device, tensor.device(),
                                      std::string(scheme) + " quantizes where the tensor lives");
  }
  return {};
}

/// Symmetric absmax int8 quantization per row: scale = max|x| / 127, q = round(x / scale).
/// Bound: |x - dequantize(q)| <= scale / 2 per element, before rounding to the output dtype.
class AbsmaxInt8Quantizer {
 public:
  Result<Int8Tensor> quantize(const at::Tensor& tensor, c10::Device device) const {
    AI_CORE_TRY(check_float_input(tensor, device, "absmax int8"));
    const at::Tensor x = tensor.to(at::kFloat);
    const at::Tensor scales = x.abs().amax({-1}, /*keepdim=*/true).div(127.0);
    const at::Tensor safe_scales = scales.masked_fill(scales.eq(0.0), 1.0);  // All-zero rows.
    at::Tensor values = x.div(safe_scales).round().clamp(-127, 127).to(at::kChar);
    return Int8Tensor{std::move(values), scales, tensor.scalar_type()};
  }

  Result<at::Tensor> dequantize(const Int8Tensor& q, c10::Device device) const {
    AI_CORE_CHECK(q.values.defined() && q.scales.defined(), ErrorCode::invalid_config,
                  "absmax int8: expected defined values and scales");
    AI_CORE_CHECK(q.values.scalar_type() == at::kChar, ErrorCode::invalid_config,
                  "absmax int8: expected Char (int8) values, got ",
                  c10::toString(q.values.scalar_type()));
    std::vector<std::int64_t> expected(q.values.sizes().begin(), q.values.sizes().end());
    if (!expected.empty()) expected.back() = 1;
    const std::vector<std::int64_t> actual(q.scales.sizes().begin(), q.scales.sizes().end());
    if (actual != expected) {
      return CoreError::shape_mismatch(expected, actual, "absmax int8: one scale per row");
    }
    if (q.values.device().type() != device.type()) {
      return CoreError::device_mismatch(device, q.values.device(),
                                        "absmax int8 dequantizes where the values live");
    }
    return q.values.to(at::kFloat).mul(q.scales).to(q.dtype);
  }
};

/// One bit per element: the sign. There is no way back, so it models Quantize only.
struct SignBits {
  at::Tensor bits;  ///< bool, true where the element is >= 0.
};

class SignQuantizer {
 public:
  Result<SignBits> quantize(const at::Tensor& tensor, c10::Device device) const {
    AI_CORE_TRY(check_float_input(tensor, device, "sign"));
    return SignBits{tensor.ge(0)};
  }
};

static_assert(ai_core::Quantize<AbsmaxInt8Quantizer, Int8Tensor>);
static_assert(ai_core::Dequantize<AbsmaxInt8Quantizer, Int8Tensor>);
static_assert(ai_core::check_quantize<AbsmaxInt8Quantizer, Int8Tensor>());
static_assert(ai_core::check_dequantize<AbsmaxInt8Quantizer, Int8Tensor>());
static_assert(ai_core::Quantize<SignQuantizer, SignBits>);
static_assert(!ai_core::Dequantize<SignQuantizer, SignBits>);      // One way only.
static_assert(!ai_core::Quantize<AbsmaxInt8Quantizer, SignBits>);  // Q is part of the contract.
static_assert(!ai_core::Quantize<SignQuantizer, Int8Tensor>);

struct NonConstQuantizer {
  Result<SignBits> quantize(const at::Tensor&, c10::Device) { return SignBits{}; }
};
static_assert(!ai_core::Quantize<NonConstQuantizer, SignBits>);  // Implementors are shared.

// Unit roundoff of the output dtype: the rounding of the dequantized value adds at most this much
// of its magnitude to the scheme's bound.
double unit_roundoff(c10::ScalarType dtype) {
  switch (dtype) {
    case at::kHalf: return std::ldexp(1.0, -11);
    case at::kBFloat16: return std::ldexp(1.0, -8);
    default: return std::ldexp(1.0, -24);
  }
}

class AbsmaxInt8Test : public ::testing::TestWithParam<c10::ScalarType> {};

TEST_P(AbsmaxInt8Test, RoundTripStaysWithinTheSchemeBound) {
  const c10::ScalarType dtype = GetParam();
  const c10::Device cpu(c10::kCPU);
  at::Tensor x = at::randn({32, 96}, at::TensorOptions().dtype(at::kFloat)).mul(3.0);
  x[5].zero_();      // An all-zero row.
  x[7][11] = 250.0;  // An outlier sets its row's scale.
  x = x.to(dtype);

  const AbsmaxInt8Quantizer quantizer;
  const Result<Int8Tensor> q = quantizer.quantize(x, cpu);
  ASSERT_TRUE(q.has_value()) << q.error().to_string();
  EXPECT_EQ(q->values.scalar_type(), at::kChar);
  EXPECT_EQ(q->values.sizes(), x.sizes());
  EXPECT_EQ(q->scales.sizes(), (std::vector<std::int64_t>{32, 1}));
  EXPECT_LE(q->values.abs().max().item<int>(), 127);

  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor absmax = xf.abs().amax({-1}, true);
  // The largest element of each non-zero row maps to +-127; the zero row stays zero.
  const at::Tensor row_max = q->values.to(at::kInt).abs().amax({-1}, true);
  EXPECT_TRUE(row_max.eq(127).logical_or(absmax.eq(0)).all().item<bool>());
  EXPECT_TRUE(q->values[5].eq(0).all().item<bool>());

  const Result<at::Tensor> back = quantizer.dequantize(*q, cpu);
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_EQ(back->scalar_type(), dtype);
  EXPECT_EQ(back->sizes(), x.sizes());

  const at::Tensor backf = back->to(at::kFloat);
  const at::Tensor error = xf.sub(backf).abs();
  // |x - x^| <= absmax / 127 / 2 per row, plus the rounding of x^ to the output dtype.
  const at::Tensor bound =
      absmax.div(127.0).mul(0.5 * (1 + 1e-5)).add(backf.abs().mul(unit_roundoff(dtype)));
  const at::Tensor excess = error.sub(bound);
  EXPECT_LE(excess.max().item<double>(), 0.0)
      << "largest error " << error.max().item<double>() << " over the bound";
  EXPECT_TRUE(back->select(0, 5).eq(0).all().item<bool>());
  // Quantization loses information: the round trip is not the identity (the test can fail).
  EXPECT_GT(error.max().item<double>(), 0.0);
}

INSTANTIATE_TEST_SUITE_P(FloatingTypes, AbsmaxInt8Test,
                         ::testing::Values(at::kFloat, at::kHalf, at::kBFloat16),
                         [](const ::testing::TestParamInfo<c10::ScalarType>& info) {
                           return std::string(c10::toString(info.param));
                         });

TEST(AbsmaxInt8Test, DequantizeRejectsScalesOfTheWrongShape) {
  const c10::Device cpu(c10::kCPU);
  const AbsmaxInt8Quantizer quantizer;
  Result<Int8Tensor> q = quantizer.quantize(at::randn({4, 8}), cpu);
  ASSERT_TRUE(q.has_value());
  q->scales = at::zeros({8, 1});
  const Result<at::Tensor> back = quantizer.dequantize(*q, cpu);
  ASSERT_FALSE(back.has_value());
  EXPECT_EQ(back.error().code(), ErrorCode::shape_mismatch);
  EXPECT_THAT(back.error().to_string(), HasSubstr("[4, 1]"));
  EXPECT_THAT(back.error().to_string(), HasSubstr("[8, 1]"));
}

// Behaviour every quantizer of this file shares, over the quantizer types.
template <class Quantizer>
class QuantizerTest : public ::testing::Test {};

using Quantizers = ::testing::Types<AbsmaxInt8Quantizer, SignQuantizer>;
TYPED_TEST_SUITE(QuantizerTest, Quantizers);

TYPED_TEST(QuantizerTest, RejectsAnUndefinedTensor) {
  const TypeParam quantizer;
  const auto result = quantizer.quantize(at::Tensor(), c10::Device(c10::kCPU));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::invalid_config);
  EXPECT_THAT(result.error().message(), HasSubstr("expected a defined tensor"));
}

TYPED_TEST(QuantizerTest, RejectsAnIntegerTensor) {
  const TypeParam quantizer;
  const auto result = quantizer.quantize(at::zeros({2, 2}, at::kLong), c10::Device(c10::kCPU));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::invalid_config);
  EXPECT_THAT(result.error().message(), HasSubstr("got Long"));
}

TYPED_TEST(QuantizerTest, RefusesToCopyToAnotherDevice) {
  const TypeParam quantizer;
  const auto result = quantizer.quantize(at::randn({2, 2}), c10::Device(c10::kMeta));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::device_mismatch);
  EXPECT_THAT(result.error().to_string(), HasSubstr("meta"));
  EXPECT_THAT(result.error().to_string(), HasSubstr("cpu"));
}

TEST(SignQuantizerTest, KeepsTheSign) {
  const at::Tensor x = at::randn({64});
  const Result<SignBits> q = SignQuantizer{}.quantize(x, c10::Device(c10::kCPU));
  ASSERT_TRUE(q.has_value());
  EXPECT_TRUE(q->bits.eq(x.ge(0)).all().item<bool>());
}

// --- GpuDispatchable (the routing itself is tested in dispatch_test.cpp) -------------------------

struct CompleteOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device) const { return x; }
  Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device) const { return x; }
};
struct CpuOnlyOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device) const { return x; }
};
struct NoTypesOp {
  Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device) const { return x; }
  Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device) const { return x; }
};
struct WrongOutputOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  at::Tensor dispatch_gpu(const at::Tensor& x, c10::Device) const { return x; }
  Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device) const { return x; }
};
struct MutatingOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device) { return x; }
  Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device) { return x; }
};

static_assert(ai_core::GpuDispatchable<CompleteOp>);
static_assert(ai_core::check_gpu_dispatchable<CompleteOp>());
static_assert(!ai_core::GpuDispatchable<CpuOnlyOp>);
static_assert(!ai_core::GpuDispatchable<NoTypesOp>);
static_assert(!ai_core::GpuDispatchable<WrongOutputOp>);
static_assert(!ai_core::GpuDispatchable<MutatingOp>);

}  // namespace test_concepts

namespace some_lib {
struct NamedThing {};
}  // namespace some_lib

TEST(TypeNameTest, SpellsTheQualifiedName) {
  EXPECT_EQ(ai_core::detail::type_name<some_lib::NamedThing>(), "some_lib::NamedThing");
  EXPECT_EQ(ai_core::detail::type_name<int>(), "int");
  static_assert(!ai_core::detail::type_name<test_concepts::CompleteOp>().empty());
}
