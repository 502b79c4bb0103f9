// SPDX-License-Identifier: MIT
// GPU tests of <ai_core/dispatch.hpp> (label `cuda`; each test skips with a message when no GPU is
// present): a GPU-dispatchable op with a real CUDA kernel (scale_bias_kernel.cu) and a CPU path
// built from libtorch ops agree on random inputs; dispatch on CUDA never warns; the device guard
// makes the target device current for the launch and restores exactly what was current before
// (another device, no context at all, or a context the user created with the driver API).
#include <ai_core/detail/device_scope.hpp>
#include <ai_core/device.hpp>
#include <ai_core/dispatch.hpp>
#include <ai_core/log.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/testing/cuda_probe.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/randn.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "scale_bias_kernel.hpp"

namespace test_dispatch_cuda {

using ai_core::CoreError;
using ai_core::ErrorCode;
using ai_core::Result;
using ::testing::HasSubstr;

/// y = x * scale + bias: a CUDA kernel on the GPU, libtorch ops on the CPU. Records, for the last
/// GPU call, the device the runtime had current, the context current and the device it was given.
class CudaScaleBiasOp {
 public:
  using Input = std::tuple<at::Tensor, at::Tensor>;  // x [rows, cols] float32, bias [cols]
  using Output = at::Tensor;

  explicit CudaScaleBiasOp(float scale) : scale_(scale) {}

  std::string_view name() const { return "test::CudaScaleBias"; }

  Result<at::Tensor> dispatch_gpu(const Input& input, c10::Device device) const {
    const auto& [x, bias] = input;
    AI_CORE_TRY(check(x, bias));
    int current = -1;
    if (const cudaError_t err = cudaGetDevice(&current); err != cudaSuccess) {
      return CoreError::cuda(err, cudaGetErrorName(err), "cudaGetDevice");
    }
    runtime_device_.store(current);
    context_.store(ai_core::detail::current_cuda_context());
    given_index_.store(device.index());
    at::Tensor y = at::empty_like(x);
    const cudaError_t err = launch_scale_bias(
        x.data_ptr<float>(), bias.data_ptr<float>(), y.data_ptr<float>(), scale_, x.size(0),
        x.size(1), at::cuda::getCurrentCUDAStream(device.index()).stream());
    if (err != cudaSuccess) return CoreError::cuda(err, cudaGetErrorName(err), "scale_bias launch");
    return y;
  }

  Result<at::Tensor> dispatch_cpu(const Input& input, c10::Device /*device*/) const {
    const auto& [x, bias] = input;
    AI_CORE_TRY(check(x, bias));
    return x.mul(scale_).add(bias);
  }

  int runtime_device() const { return runtime_device_.load(); }
  void* context() const { return context_.load(); }
  int given_index() const { return given_index_.load(); }

 private:
  static Result<void> check(const at::Tensor& x, const at::Tensor& bias) {
    AI_CORE_CHECK(x.scalar_type() == at::kFloat && bias.scalar_type() == at::kFloat,
                  ErrorCode::invalid_config, "scale_bias: expected Float tensors, got ",
                  c10::toString(x.scalar_type()), " and ", c10::toString(bias.scalar_type()));
    AI_CORE_CHECK(x.is_contiguous() && bias.is_contiguous(), ErrorCode::invalid_config,
                  "scale_bias: expected contiguous tensors");
    AI_CORE_CHECK(x.dim() == 2 && bias.dim() == 1, ErrorCode::dimension_mismatch,
                  "scale_bias: expected x of rank 2 and bias of rank 1, got ", x.dim(), " and ",
                  bias.dim());
    if (bias.size(0) != x.size(1)) {
      return CoreError::shape_mismatch({x.size(1)}, {bias.size(0)}, "scale_bias: bias");
    }
    return {};
  }

  float scale_;
  mutable std::atomic<int> runtime_device_{-2};
  mutable std::atomic<void*> context_{nullptr};
  mutable std::atomic<int> given_index_{-2};
};

static_assert(ai_core::GpuDispatchable<CudaScaleBiasOp>);

c10::Device cuda(int index) {
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

// The driver functions the tests use, through the runtime's entry-point query (no libcuda link,
// so the binary also starts, and skips, on a machine without a driver).
template <class Fn>
Fn driver_function(const char* symbol, unsigned int version = 12000) {
  void* address = nullptr;
  cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
  if (cudaGetDriverEntryPointByVersion(symbol, &address, version, cudaEnableDefault, &found) !=
          cudaSuccess ||
      found != cudaDriverEntryPointSuccess) {
    return nullptr;
  }
  Fn fn = nullptr;
  std::memcpy(&fn, &address, sizeof(fn));
  return fn;
}

class DispatchCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (c10::cuda::device_count() == 0) {
      GTEST_SKIP() << "no CUDA device: the dispatch GPU tests need one (run on the GPU machine)";
    }
  }

  static std::tuple<at::Tensor, at::Tensor> random_input(std::int64_t rows, std::int64_t cols) {
    return {at::randn({rows, cols}), at::randn({cols})};
  }
};

TEST_F(DispatchCudaTest, GpuAndCpuPathsAgreeOnRandomInputs) {
  const CudaScaleBiasOp op(1.75f);
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
      {1, 1}, {3, 5}, {257, 33}, {1024, 1024}, {7, 4099}};
  for (const auto& [rows, cols] : shapes) {
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols));
    const auto [x, bias] = random_input(rows, cols);
    const Result<at::Tensor> on_cpu = ai_core::dispatch(op, {x, bias}, c10::Device(c10::kCPU));
    ASSERT_TRUE(on_cpu.has_value()) << on_cpu.error().to_string();
    const Result<at::Tensor> on_gpu =
        ai_core::dispatch(op, {x.to(cuda(0)), bias.to(cuda(0))}, cuda(0));
    ASSERT_TRUE(on_gpu.has_value()) << on_gpu.error().to_string();
    EXPECT_EQ(on_gpu->device(), cuda(0));
    // fmaf on the GPU against mul then add on the CPU: at most a rounding apart.
    EXPECT_TRUE(on_gpu->cpu().allclose(*on_cpu, 1e-6, 1e-6));
    EXPECT_FALSE(on_gpu->cpu().allclose(x, 1e-6, 1e-6));  // The kernel did run.
  }
}

TEST_F(DispatchCudaTest, DispatchOnCudaNeverWarns) {
  ai_core::testing::reset_device_state_for_testing();  // An unspent CPU warning.
  ai_core::LogCapture capture;
  const CudaScaleBiasOp op(2.0f);
  const auto [x, bias] = random_input(16, 16);
  const at::Tensor gx = x.to(cuda(0));
  const at::Tensor gbias = bias.to(cuda(0));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(ai_core::dispatch(op, {gx, gbias}, cuda(0)).has_value());
  EXPECT_EQ(capture.count("", ai_core::LogLevel::warn), 0u);
  // The capture works: the CPU path warns, once.
  ASSERT_TRUE(ai_core::dispatch(op, {x, bias}, c10::Device(c10::kCPU)).has_value());
  EXPECT_EQ(capture.count("test::CudaScaleBias", ai_core::LogLevel::warn), 1u);
}

TEST_F(DispatchCudaTest, ACpuTensorForACudaDeviceIsADeviceMismatch) {
  const CudaScaleBiasOp op(1.0f);
  const auto [x, bias] = random_input(4, 4);
  const Result<at::Tensor> y = ai_core::dispatch(op, {x.to(cuda(0)), bias}, cuda(0));
  ASSERT_FALSE(y.has_value());
  EXPECT_EQ(y.error().code(), ErrorCode::device_mismatch);
  EXPECT_THAT(y.error().message(), HasSubstr("expected cuda:0, got cpu"));
  EXPECT_THAT(y.error().context(), ::testing::ElementsAre("in element 1 of a tuple"));
}

TEST_F(DispatchCudaTest, AnIndexPastTheLastDeviceIsNotAvailable) {
  const CudaScaleBiasOp op(1.0f);
  const int count = c10::cuda::device_count();
  const auto [x, bias] = random_input(2, 2);
  const Result<at::Tensor> y = ai_core::dispatch(op, {x, bias}, cuda(count));
  ASSERT_FALSE(y.has_value());
  EXPECT_EQ(y.error().code(), ErrorCode::device_not_available);
  EXPECT_THAT(y.error().to_string(), HasSubstr("cuda:" + std::to_string(count)));
  EXPECT_THAT(y.error().to_string(), HasSubstr("[0, " + std::to_string(count) + ")"));
}

TEST_F(DispatchCudaTest, AnIndexlessDeviceMeansTheCurrentDevice) {
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  const CudaScaleBiasOp op(1.0f);
  const auto [x, bias] = random_input(8, 8);
  const Result<at::Tensor> y =
      ai_core::dispatch(op, {x.to(cuda(0)), bias.to(cuda(0))}, c10::Device(c10::kCUDA));
  ASSERT_TRUE(y.has_value()) << y.error().to_string();
  EXPECT_EQ(op.given_index(), 0);  // dispatch_gpu receives the index filled in.
}

TEST_F(DispatchCudaTest, AFreshThreadGetsItsNoContextStateBack) {
  const CudaScaleBiasOp op(3.0f);
  const auto [x, bias] = random_input(32, 32);
  const at::Tensor gx = x.to(cuda(0));
  const at::Tensor gbias = bias.to(cuda(0));
  void* before = reinterpret_cast<void*>(1);
  void* after = reinterpret_cast<void*>(1);
  bool ok = false;
  std::thread([&] {
    before = ai_core::detail::current_cuda_context();  // A new thread: no context yet.
    const Result<at::Tensor> y = ai_core::dispatch(op, {gx, gbias}, cuda(0));
    // Read before anything else: y->cpu() is a runtime call, which binds a context itself.
    after = ai_core::detail::current_cuda_context();
    ok = y.has_value() && y->cpu().allclose(x.mul(3.0f).add(bias), 1e-6, 1e-6);
  }).join();
  EXPECT_TRUE(ok);
  EXPECT_EQ(before, nullptr);
  EXPECT_EQ(after, before);  // Restored to "no context", not left on the primary context.
  EXPECT_EQ(op.context(), ai_core::detail::cuda_primary_context(0));  // The launch ran there.
}

TEST_F(DispatchCudaTest, AUsersOwnContextIsRestored) {
  // Asked at version 3020: at 12000 the driver hands out cuCtxCreate_v11040, whose parameters
  // differ (affinity params), and the call fails with CUDA_ERROR_INVALID_DEVICE (seen on the H100).
  const auto ctx_create = driver_function<PFN_cuCtxCreate_v3020>("cuCtxCreate", 3020);
  const auto ctx_destroy = driver_function<PFN_cuCtxDestroy_v4000>("cuCtxDestroy");
  const auto ctx_set_current = driver_function<PFN_cuCtxSetCurrent_v4000>("cuCtxSetCurrent");
  const auto device_get = driver_function<PFN_cuDeviceGet_v2000>("cuDeviceGet");
  ASSERT_TRUE(ctx_create && ctx_destroy && ctx_set_current && device_get);
  const CudaScaleBiasOp op(0.5f);
  const auto [x, bias] = random_input(64, 16);
  const at::Tensor gx = x.to(cuda(0));
  const at::Tensor gbias = bias.to(cuda(0));
  void* const previous = ai_core::detail::current_cuda_context();

  CUdevice device = 0;
  ASSERT_EQ(device_get(&device, 0), CUDA_SUCCESS);
  CUcontext own = nullptr;
  ASSERT_EQ(ctx_create(&own, 0, device), CUDA_SUCCESS);  // Also makes it current.
  ASSERT_EQ(ai_core::detail::current_cuda_context(), own);
  const Result<at::Tensor> y = ai_core::dispatch(op, {gx, gbias}, cuda(0));
  void* const after = ai_core::detail::current_cuda_context();
  // Leave the thread as it was before checking anything.
  ASSERT_EQ(ctx_set_current(static_cast<CUcontext>(previous)), CUDA_SUCCESS);
  ASSERT_EQ(ctx_destroy(own), CUDA_SUCCESS);

  ASSERT_TRUE(y.has_value()) << y.error().to_string();
  EXPECT_TRUE(y->cpu().allclose(x.mul(0.5f).add(bias), 1e-6, 1e-6));
  EXPECT_EQ(op.context(), ai_core::detail::cuda_primary_context(0));  // libtorch's context.
  EXPECT_NE(op.context(), static_cast<void*>(own));
  EXPECT_EQ(after, static_cast<void*>(own));  // The user's context, not device 0's primary.
}

TEST_F(DispatchCudaTest, TheLaunchLandsOnTheRequestedDevice) {
  if (c10::cuda::device_count() < 2) GTEST_SKIP() << "needs 2 CUDA devices";
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  const CudaScaleBiasOp op(1.25f);
  const auto [x, bias] = random_input(128, 64);
  const Result<at::Tensor> y = ai_core::dispatch(op, {x.to(cuda(1)), bias.to(cuda(1))}, cuda(1));
  int current = -1;
  ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
  ASSERT_TRUE(y.has_value()) << y.error().to_string();
  EXPECT_EQ(op.runtime_device(), 1);  // cuda:1 was current during the launch,
  EXPECT_EQ(current, 0);              // and cuda:0 is current again afterwards.
  EXPECT_EQ(y->device(), cuda(1));
  EXPECT_TRUE(y->cpu().allclose(x.mul(1.25f).add(bias), 1e-6, 1e-6));
  // The other way round, from cuda:1 to cuda:0.
  ASSERT_EQ(cudaSetDevice(1), cudaSuccess);
  const Result<at::Tensor> z = ai_core::dispatch(op, {x.to(cuda(0)), bias.to(cuda(0))}, cuda(0));
  ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  ASSERT_TRUE(z.has_value()) << z.error().to_string();
  EXPECT_EQ(op.runtime_device(), 0);
  EXPECT_EQ(current, 1);
}

TEST_F(DispatchCudaTest, ConcurrentGpuDispatch) {
  const CudaScaleBiasOp op(2.5f);
  const auto [x, bias] = random_input(256, 128);
  const at::Tensor expected = x.mul(2.5f).add(bias);
  const at::Tensor gx = x.to(cuda(0));
  const at::Tensor gbias = bias.to(cuda(0));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        const Result<at::Tensor> y = ai_core::dispatch(op, {gx, gbias}, cuda(0));
        if (!y.has_value() || !y->cpu().allclose(expected, 1e-6, 1e-6)) failures.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace test_dispatch_cuda
