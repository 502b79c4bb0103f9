// SPDX-License-Identifier: MIT
// Tests of <ai_core/dispatch.hpp> on the CPU: routing by device type, the once-per-process CPU
// warning, `device_not_available` for meta/xpu/mps (and for CUDA on a machine without a GPU), the
// device check of the input through `ai_core::tensors_on_device` (tensors, optionals, tuples,
// ranges, a user struct with the hook), ops that keep control with their own `dispatch`,
// `gpu_available`, and concurrent use of one op from many threads. The GPU side is
// tests/cuda/dispatch_cuda_test.cu.
#include <ai_core/dispatch.hpp>

#include <ai_core/device.hpp>
#include <ai_core/log.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/testing/cuda_probe.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/randn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace test_dispatch {

using ai_core::CoreError;
using ai_core::ErrorCode;
using ai_core::Result;
using ::testing::HasSubstr;

const c10::Device kCpu(c10::kCPU);
const c10::Device kMeta(c10::kMeta);

/// y = x * scale + bias on either device, with libtorch ops; counts the calls of each path.
class ScaleBiasOp {
 public:
  using Input = std::tuple<at::Tensor, at::Tensor>;  // x [n, m], bias [m]
  using Output = at::Tensor;

  explicit ScaleBiasOp(double scale) : scale_(scale) {}

  std::string_view name() const { return "test::ScaleBias"; }

  Result<at::Tensor> dispatch_gpu(const Input& input, c10::Device device) const {
    gpu_calls_.fetch_add(1, std::memory_order_relaxed);
    return compute(input, device);
  }
  Result<at::Tensor> dispatch_cpu(const Input& input, c10::Device device) const {
    cpu_calls_.fetch_add(1, std::memory_order_relaxed);
    return compute(input, device);
  }

  int cpu_calls() const { return cpu_calls_.load(); }
  int gpu_calls() const { return gpu_calls_.load(); }

 private:
  Result<at::Tensor> compute(const Input& input, c10::Device device) const {
    const auto& [x, bias] = input;
    AI_CORE_CHECK(x.device() == bias.device() && x.device().type() == device.type(),
                  ErrorCode::device_mismatch, "scale_bias: inputs on ", x.device(), " and ",
                  bias.device(), ", dispatched on ", device);
    if (x.dim() != 2 || bias.dim() != 1 || bias.size(0) != x.size(1)) {
      return CoreError::shape_mismatch({x.size(-1)}, bias.sizes().vec(), "scale_bias: bias");
    }
    return x.mul(scale_).add(bias);
  }

  double scale_;
  mutable std::atomic<int> cpu_calls_{0};  // Atomics: the op is shared between threads.
  mutable std::atomic<int> gpu_calls_{0};
};

static_assert(ai_core::GpuDispatchable<ScaleBiasOp>);

/// An op without `name()`: the warning names its type.
struct UnnamedOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device) const { return x.neg(); }
  Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device) const { return x.neg(); }
};

/// An op that routes by itself: accepts any device, no guard, no check.
struct SelfRoutingOp {
  using Input = at::Tensor;
  using Output = int;
  Result<int> dispatch_gpu(const at::Tensor&, c10::Device) const { return 1; }
  Result<int> dispatch_cpu(const at::Tensor&, c10::Device) const { return 2; }
  Result<int> dispatch(const at::Tensor& x, c10::Device device) const {
    return device.is_meta() && x.device().is_cpu() ? 42 : 0;
  }
};
static_assert(ai_core::detail::HasDispatchMember<SelfRoutingOp>);

struct GpuOverrideOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  bool available = false;
  bool gpu_available() const { return available; }
  Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device) const { return x; }
  Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device) const { return x; }
};

/// Installs a fake CUDA probe (no driver) and resets the device layer's warn-once flag for the
/// test's lifetime, so each test sees its own first CPU warning.
class DispatchTest : public ::testing::Test {
 protected:
  ai_core::testing::ScopedCudaProbe probe_{
      std::make_shared<ai_core::testing::FakeCudaProbe>(ai_core::testing::FakeCudaProbe::unusable(
          ai_core::CudaStatus::no_driver, "fake probe: no driver"))};
  ai_core::LogCapture capture_;
};

TEST_F(DispatchTest, CpuRunsDispatchCpu) {
  const ScaleBiasOp op(2.0);
  const at::Tensor x = at::randn({4, 3});
  const at::Tensor bias = at::randn({3});
  const Result<at::Tensor> y = ai_core::dispatch(op, {x, bias}, kCpu);
  ASSERT_TRUE(y.has_value()) << y.error().to_string();
  EXPECT_TRUE(y->allclose(x.mul(2).add(bias)));
  EXPECT_EQ(op.cpu_calls(), 1);
  EXPECT_EQ(op.gpu_calls(), 0);
}

TEST_F(DispatchTest, CpuWarnsOncePerProcessNamingTheOp) {
  const ScaleBiasOp op(1.0);
  const at::Tensor x = at::randn({2, 2});
  const at::Tensor bias = at::randn({2});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ai_core::dispatch(op, {x, bias}, kCpu).has_value());
  EXPECT_EQ(capture_.count("test::ScaleBias", ai_core::LogLevel::warn), 1u);
  // Another op later: the process has been warned already.
  ASSERT_TRUE(ai_core::dispatch(UnnamedOp{}, x, kCpu).has_value());
  std::size_t warnings = 0;
  for (const auto& record : capture_.records()) warnings += record.level == ai_core::LogLevel::warn;
  EXPECT_EQ(warnings, 1u);
  EXPECT_EQ(op.cpu_calls(), 5);
}

TEST_F(DispatchTest, CpuWarningNamesTheTypeOfAnOpWithoutName) {
  ASSERT_TRUE(ai_core::dispatch(UnnamedOp{}, at::randn({3}), kCpu).has_value());
  EXPECT_EQ(capture_.count("test_dispatch::UnnamedOp", ai_core::LogLevel::warn), 1u);
}

TEST_F(DispatchTest, OtherDeviceTypesAreNotAvailable) {
  const ScaleBiasOp op(1.0);
  const at::Tensor x = at::empty({2, 2}, at::TensorOptions().device(kMeta));
  const at::Tensor bias = at::empty({2}, at::TensorOptions().device(kMeta));
  for (const c10::Device device :
       {kMeta, c10::Device(c10::kXPU, 0), c10::Device(c10::kMPS), c10::Device(c10::kHIP, 0)}) {
    SCOPED_TRACE(device.str());
    const Result<at::Tensor> y = ai_core::dispatch(op, {x, bias}, device);
    ASSERT_FALSE(y.has_value());
    EXPECT_EQ(y.error().code(), ErrorCode::device_not_available);
    EXPECT_THAT(y.error().to_string(), HasSubstr(device.str()));
    ASSERT_NE(y.error().device_info(), nullptr);
    EXPECT_EQ(y.error().device_info()->device, device);
  }
  EXPECT_EQ(op.cpu_calls() + op.gpu_calls(), 0);
  EXPECT_EQ(capture_.count("", ai_core::LogLevel::warn), 0u);  // Not a CPU fallback.
}

TEST_F(DispatchTest, CudaWithoutAGpuIsNotAvailable) {
  if (ai_core::detail::cuda_primary_context(0) != nullptr) {
    GTEST_SKIP() << "a CUDA device is present: tests/cuda/dispatch_cuda_test.cu covers CUDA";
  }
  const ScaleBiasOp op(1.0);
  const at::Tensor x = at::randn({2, 2});
  const at::Tensor bias = at::randn({2});
  for (const c10::Device device :
       {c10::Device(c10::kCUDA, 0), c10::Device(c10::kCUDA, 3), c10::Device(c10::kCUDA)}) {
    SCOPED_TRACE(device.str());
    const Result<at::Tensor> y = ai_core::dispatch(op, {x, bias}, device);
    ASSERT_FALSE(y.has_value());
    EXPECT_EQ(y.error().code(), ErrorCode::device_not_available);
    EXPECT_THAT(y.error().to_string(), HasSubstr(device.str()));
  }
  EXPECT_EQ(op.cpu_calls() + op.gpu_calls(), 0);
  EXPECT_EQ(capture_.count("", ai_core::LogLevel::warn), 0u);
}

TEST_F(DispatchTest, ATensorOnAnotherDeviceIsADeviceMismatch) {
  const ScaleBiasOp op(1.0);
  const at::Tensor cpu_x = at::randn({2, 2});
  const at::Tensor cpu_bias = at::randn({2});
  const at::Tensor meta_bias = at::empty({2}, at::TensorOptions().device(kMeta));
  const Result<at::Tensor> y = ai_core::dispatch(op, {cpu_x, meta_bias}, kCpu);
  ASSERT_FALSE(y.has_value());
  EXPECT_EQ(y.error().code(), ErrorCode::device_mismatch);
  EXPECT_THAT(y.error().message(), HasSubstr("expected cpu, got meta"));
  EXPECT_THAT(y.error().context(), ::testing::ElementsAre("in element 1 of a tuple"));
  ASSERT_NE(y.error().device_info(), nullptr);
  EXPECT_EQ(y.error().device_info()->device, kMeta);
  EXPECT_EQ(y.error().device_info()->expected, kCpu);
  EXPECT_EQ(op.cpu_calls(), 0);  // The op never saw the bad input.
  EXPECT_EQ(capture_.count("", ai_core::LogLevel::warn), 0u);
}

TEST_F(DispatchTest, AnUndefinedTensorIsAnError) {
  const ScaleBiasOp op(1.0);
  const Result<at::Tensor> y = ai_core::dispatch(op, {at::Tensor(), at::randn({2})}, kCpu);
  ASSERT_FALSE(y.has_value());
  EXPECT_EQ(y.error().code(), ErrorCode::invalid_config);
  EXPECT_THAT(y.error().message(), HasSubstr("undefined tensor"));
  EXPECT_THAT(y.error().context(), ::testing::ElementsAre("in element 0 of a tuple"));
  EXPECT_EQ(op.cpu_calls(), 0);
}

TEST_F(DispatchTest, AnOpWithItsOwnDispatchKeepsControl) {
  const SelfRoutingOp op;
  // The meta device and a CPU tensor: the free function would refuse both; the member decides.
  const Result<int> r = ai_core::dispatch(op, at::randn({1}), kMeta);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(capture_.count("", ai_core::LogLevel::warn), 0u);
}

TEST_F(DispatchTest, GpuAvailableAsksTheOpOrTheProbe) {
  GpuOverrideOp op;
  EXPECT_FALSE(ai_core::gpu_available(op));
  op.available = true;
  EXPECT_TRUE(ai_core::gpu_available(op));
  EXPECT_EQ(ai_core::gpu_available(ScaleBiasOp(1.0)), ai_core::cuda_available());
  EXPECT_FALSE(ai_core::gpu_available(ScaleBiasOp(1.0)));  // The fake probe says no driver.
}

TEST(GpuAvailableTest, FollowsTheDeviceProbe) {
  ai_core::testing::ScopedCudaProbe probe(std::make_shared<ai_core::testing::FakeCudaProbe>(
      ai_core::testing::FakeCudaProbe::with_devices(2)));
  EXPECT_TRUE(ai_core::gpu_available(ScaleBiasOp(1.0)));
  EXPECT_TRUE(ai_core::gpu_available(UnnamedOp{}));
}

// Note [thread safety of implementors]: one op shared by many threads.
TEST_F(DispatchTest, ConcurrentDispatchOfOneOp) {
  const ScaleBiasOp op(3.0);
  constexpr int kThreads = 8;
  constexpr int kIterations = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&op, &failures, t] {
      const at::Tensor x = at::full({2, 3}, static_cast<double>(t));
      const at::Tensor bias = at::full({3}, 1.0);
      const double expected = 3.0 * t + 1.0;
      for (int i = 0; i < kIterations; ++i) {
        const Result<at::Tensor> y = ai_core::dispatch(op, {x, bias}, kCpu);
        if (!y.has_value() || !y->eq(expected).all().item<bool>()) failures.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(op.cpu_calls(), kThreads * kIterations);
  EXPECT_EQ(capture_.count("test::ScaleBias", ai_core::LogLevel::warn), 1u);  // Exactly once.
}

// --- tensors_on_device ---------------------------------------------------------------------------

struct AttentionInput {
  at::Tensor q, k, v;
  std::optional<at::Tensor> mask;
  int heads = 8;
};

Result<void> ai_core_tensors_on_device(const AttentionInput& in, c10::Device device) {
  AI_CORE_TRY(ai_core::tensors_on_device(std::tie(in.q, in.k, in.v), device), "attention q/k/v");
  AI_CORE_TRY(ai_core::tensors_on_device(in.mask, device), "attention mask");
  return {};
}

struct Opaque {
  int handle = 0;
};

}  // namespace test_dispatch

template <>
struct ai_core::holds_no_tensors<test_dispatch::Opaque> : std::true_type {};

namespace test_dispatch {

at::Tensor meta_tensor() { return at::empty({1}, at::TensorOptions().device(kMeta)); }

TEST(TensorsOnDeviceTest, AcceptsScalarsAndTensorsWhereTheyBelong) {
  const at::Tensor t = at::randn({2});
  EXPECT_TRUE(ai_core::tensors_on_device(t, kCpu).has_value());
  EXPECT_TRUE(ai_core::tensors_on_device(3, kCpu).has_value());
  EXPECT_TRUE(ai_core::tensors_on_device(std::string("x"), kCpu).has_value());
  EXPECT_TRUE(ai_core::tensors_on_device(kMeta, kCpu).has_value());  // A device is not a tensor.
  EXPECT_TRUE(ai_core::tensors_on_device(Opaque{}, kCpu).has_value());
  EXPECT_TRUE(ai_core::tensors_on_device(std::optional<at::Tensor>(), kCpu).has_value());
  EXPECT_TRUE(ai_core::tensors_on_device(std::make_pair(t, 1.5), kCpu).has_value());
  EXPECT_TRUE(ai_core::tensors_on_device(std::vector<at::Tensor>{t, t}, kCpu).has_value());
  EXPECT_TRUE(ai_core::tensors_on_device(std::vector<int>(1000, 1), kCpu).has_value());
  EXPECT_TRUE(ai_core::tensors_on_device(meta_tensor(), kMeta).has_value());
}

TEST(TensorsOnDeviceTest, FindsTheTensorOnTheWrongDeviceAndSaysWhere) {
  const at::Tensor t = at::randn({2});
  const at::Tensor m = meta_tensor();
  struct Case {
    std::string name;
    std::function<Result<void>()> check;
    std::vector<std::string> context;
  };
  const std::vector<Case> cases = {
      {"tensor", [&] { return ai_core::tensors_on_device(m, kCpu); }, {}},
      {"optional",
       [&] { return ai_core::tensors_on_device(std::optional<at::Tensor>(m), kCpu); },
       {}},
      {"pair",
       [&] { return ai_core::tensors_on_device(std::make_pair(t, m), kCpu); },
       {"in element 1 of a tuple"}},
      {"array",
       [&] {
         return ai_core::tensors_on_device(std::array<at::Tensor, 3>{t, t, m}, kCpu);
       },
       {"in element 2 of a tuple"}},
      {"vector",
       [&] {
         return ai_core::tensors_on_device(std::vector<at::Tensor>{t, m}, kCpu);
       },
       {"in item 1 of a range"}},
      {"tensor list",
       [&] {
         const std::vector<at::Tensor> v{m};
         return ai_core::tensors_on_device(at::TensorList(v), kCpu);
       },
       {"in item 0 of a range"}},
      {"reference_wrapper", [&] { return ai_core::tensors_on_device(std::cref(m), kCpu); }, {}},
      {"nested",
       [&] {
         return ai_core::tensors_on_device(
             std::make_tuple(1, std::vector<std::optional<at::Tensor>>{std::nullopt, m}), kCpu);
       },
       {"in item 1 of a range", "in element 1 of a tuple"}},
      {"struct with hook",
       [&] {
         return ai_core::tensors_on_device(AttentionInput{t, t, t, m}, kCpu);
       },
       {"attention mask"}},
      {"struct with hook, q/k/v",
       [&] {
         return ai_core::tensors_on_device(AttentionInput{t, m, t, std::nullopt}, kCpu);
       },
       {"in element 1 of a tuple", "attention q/k/v"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Result<void> status = c.check();
    ASSERT_FALSE(status.has_value());
    EXPECT_EQ(status.error().code(), ErrorCode::device_mismatch);
    EXPECT_THAT(status.error().message(), HasSubstr("expected cpu, got meta"));
    EXPECT_EQ(status.error().context(), c.context);
  }
}

TEST(TensorsOnDeviceTest, AnIndexlessDeviceMatchesAnyIndex) {
  using ai_core::detail::device_matches;
  const c10::Device cuda0(c10::kCUDA, 0);
  const c10::Device cuda1(c10::kCUDA, 1);
  EXPECT_TRUE(device_matches(cuda1, c10::Device(c10::kCUDA)));
  EXPECT_TRUE(device_matches(cuda0, cuda0));
  EXPECT_FALSE(device_matches(cuda1, cuda0));
  EXPECT_FALSE(device_matches(kCpu, cuda0));
  EXPECT_FALSE(device_matches(cuda0, kCpu));
  EXPECT_TRUE(device_matches(kCpu, c10::Device(c10::kCPU, 0)));  // The CPU index is not used.
}

// --- the device scope without a GPU --------------------------------------------------------------

TEST(DeviceScopeTest, DoesNothingForTheCpu) {
  const ai_core::detail::DeviceScope scope(kCpu);
  EXPECT_TRUE(scope.ok());
  EXPECT_FALSE(scope.switched());
  EXPECT_EQ(scope.device(), kCpu);
}

TEST(DeviceScopeTest, ReportsAMissingCudaDevice) {
  if (ai_core::detail::cuda_primary_context(0) != nullptr) {
    GTEST_SKIP() << "a CUDA device is present: tests/cuda/dispatch_cuda_test.cu covers CUDA";
  }
  const ai_core::detail::DeviceScope scope(c10::Device(c10::kCUDA, 0));
  ASSERT_FALSE(scope.ok());
  EXPECT_FALSE(scope.switched());
  const CoreError error = scope.error();
  EXPECT_EQ(error.code(), ErrorCode::device_not_available);
  EXPECT_THAT(error.to_string(), HasSubstr("cuda:0"));
  EXPECT_EQ(ai_core::detail::current_cuda_context(), nullptr);
}

}  // namespace test_dispatch
