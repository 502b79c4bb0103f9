// SPDX-License-Identifier: MIT
// Tests of <ai_core/cuda/error.hpp>, compiled by nvcc (a C++20 CUDA translation unit that uses
// Result and the macros). Runs without a GPU: cudaGetErrorName/cudaGetErrorString need none, and
// the CUDA calls below fail with a real cudaError_t whether or not a device is present.
#include <ai_core/cuda/error.hpp>
#include <ai_core/testing/matchers.hpp>

#include <cuda_runtime_api.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>

namespace ai_core {
namespace {

using ::ai_core::testing::HasErrorCode;
using ::ai_core::testing::HasMessage;
using ::ai_core::testing::IsOkAndHolds;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

__global__ void fill(int* out, int value) { out[threadIdx.x] = value; }

TEST(CudaErrorTest, MapsAllocationFailuresToOutOfMemory) {
  const CoreError e = from_cuda_error(cudaErrorMemoryAllocation, "cudaMalloc of the KV cache");
  EXPECT_EQ(e.code(), ErrorCode::out_of_memory);
  ASSERT_NE(e.cuda_info(), nullptr);
  EXPECT_EQ(e.cuda_info()->code, 2);
  EXPECT_EQ(e.cuda_info()->name, "cudaErrorMemoryAllocation");
  EXPECT_EQ(
      e.to_string(),
      "out of memory: cudaMalloc of the KV cache: out of memory (cudaErrorMemoryAllocation = 2)");
}

TEST(CudaErrorTest, MapsOtherErrorsToKernelErrors) {
  struct Case {
    cudaError_t status;
    int number;
    const char* name;
  };
  const Case cases[] = {
      {cudaErrorIllegalAddress, 700, "cudaErrorIllegalAddress"},
      {cudaErrorInvalidValue, 1, "cudaErrorInvalidValue"},
      {cudaErrorLaunchOutOfResources, 701, "cudaErrorLaunchOutOfResources"},
      {cudaErrorNoDevice, 100, "cudaErrorNoDevice"},
      {cudaErrorInvalidDeviceFunction, 98, "cudaErrorInvalidDeviceFunction"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const CoreError e = from_cuda_error(c.status, "launching fill");
    EXPECT_EQ(e.code(), ErrorCode::kernel_error);
    EXPECT_EQ(e.cuda_info()->code, c.number);
    EXPECT_EQ(e.cuda_info()->name, c.name);
    EXPECT_THAT(e.message(),
                HasSubstr(std::string("launching fill: ") + cudaGetErrorString(c.status)));
    EXPECT_THAT(e.message(), HasSubstr(std::string(c.name) + " = " + std::to_string(c.number)));
  }
}

TEST(CudaErrorTest, CheckCudaPassesSuccess) {
  AI_CORE_EXPECT_OK(check_cuda(cudaSuccess, "nothing"));
  EXPECT_THAT(check_cuda(cudaErrorInvalidValue, "cudaMemcpy"),
              HasMessage("kernel error: cudaMemcpy: invalid argument"));
}

// A function returning Result<int> that calls the CUDA runtime: with a GPU it succeeds, without
// one (or without a driver) the macro returns the real error the runtime gave.
Result<int> device_count() {
  int count = 0;
  AI_CORE_CUDA_TRY(cudaGetDeviceCount(&count), "counting devices");
  return count;
}

// Asks the runtime for an impossible amount of device memory (2^60 bytes): a real
// cudaErrorMemoryAllocation on a GPU, a real "no device"/driver error without one.
Result<void> allocate_too_much() {
  void* memory = nullptr;
  AI_CORE_CUDA_TRY(cudaMalloc(&memory, std::size_t{1} << 60));
  AI_CORE_CUDA_TRY(cudaFree(memory));
  return {};
}

// Launches a kernel with an invalid configuration (2048 threads per block): a real launch error on
// a GPU (its name depends on the runtime version, see below).
Result<std::string> bad_launch() {
  fill<<<1, 2048>>>(nullptr, 1);
  AI_CORE_CUDA_TRY(cudaGetLastError(), "launching fill with 2048 threads");
  return std::string("launched");
}

TEST(CudaErrorTest, MacroReturnsRealRuntimeErrors) {
  const Result<int> count = device_count();
  if (count.has_value() && *count > 0) {
    const Result<void> oom = allocate_too_much();
    ASSERT_THAT(oom, HasErrorCode(ErrorCode::out_of_memory));
    EXPECT_EQ(oom.error().cuda_info()->name, "cudaErrorMemoryAllocation");
    EXPECT_THAT(oom.error().message(), HasSubstr("cudaMalloc(&memory"));
    const Result<std::string> launch = bad_launch();
    ASSERT_THAT(launch, HasErrorCode(ErrorCode::kernel_error));
    // CUDA 13 with driver 580 on an H100 reports this launch as cudaErrorInvalidValue; older
    // runtimes said cudaErrorInvalidConfiguration. Either is the real error of that launch.
    EXPECT_THAT(launch.error().cuda_info()->name,
                AnyOf("cudaErrorInvalidConfiguration", "cudaErrorInvalidValue"));
    EXPECT_THAT(launch.error().context(), ElementsAre("launching fill with 2048 threads"));
    return;
  }
  // No GPU or no driver here: cudaGetDeviceCount itself failed (or reported zero devices).
  if (!count.has_value()) {
    const CoreError& e = count.error();
    EXPECT_EQ(e.code(), ErrorCode::kernel_error);
    ASSERT_NE(e.cuda_info(), nullptr);
    EXPECT_NE(e.cuda_info()->code, 0);
    EXPECT_EQ(e.cuda_info()->name, cudaGetErrorName(static_cast<cudaError_t>(e.cuda_info()->code)));
    EXPECT_THAT(e.message(), HasSubstr("cudaGetDeviceCount(&count)"));
    EXPECT_THAT(e.context(), ElementsAre("counting devices"));
    EXPECT_THAT(e.location().function_name(), HasSubstr("device_count"));
  }
  const Result<void> oom = allocate_too_much();
  ASSERT_FALSE(oom.has_value());
  EXPECT_NE(oom.error().cuda_info(), nullptr);
  EXPECT_THAT(oom.error().message(), HasSubstr("cudaMalloc(&memory, std::size_t{1} << 60)"));
}

}  // namespace
}  // namespace ai_core
