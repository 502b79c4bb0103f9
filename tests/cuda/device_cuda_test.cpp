// SPDX-License-Identifier: MIT
// GPU tests for <ai_core/device.hpp> (label `cuda`): the real probe on a machine with CUDA
// devices. cuda:0 is chosen without a warning; an ordinal equal to the device count is an error
// listing the devices; with `CUDA_VISIBLE_DEVICES=` (empty) a fresh process gets the CPU and the
// warning once. Every test skips with a message when no CUDA device is visible.
#include <ai_core/device.hpp>
#include <ai_core/log.hpp>
#include <ai_core/testing/cuda_probe.hpp>

#include <cuda_runtime_api.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace ai_core {
namespace {

using ::testing::HasSubstr;
using testing::ScopedCudaProbe;

constexpr const char* kWarningText = "is running on the CPU";

// Asks the runtime directly, independently of the code under test.
int visible_devices() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

#define SKIP_WITHOUT_GPU()                                          \
  if (visible_devices() == 0)                                       \
  GTEST_SKIP() << "no CUDA device visible: these tests need a GPU " \
                  "(the lead runs them on the H100 machine)"

TEST(DeviceCudaTest, SystemProbeFindsEveryVisibleDevice) {
  SKIP_WITHOUT_GPU();
  const ScopedCudaProbe scope(nullptr);
  const CudaProbeResult& result = cuda_probe_result();
  ASSERT_EQ(result.status, CudaStatus::ok) << result.message;
  EXPECT_EQ(result.device_count, visible_devices());
  ASSERT_EQ(result.devices.size(), static_cast<std::size_t>(visible_devices()));
  cudaDeviceProp properties{};
  ASSERT_EQ(cudaGetDeviceProperties(&properties, 0), cudaSuccess);
  EXPECT_EQ(result.devices[0].name, properties.name);
  EXPECT_EQ(result.devices[0].capability_major, properties.major);
  EXPECT_EQ(result.devices[0].total_memory_bytes, properties.totalGlobalMem);
  EXPECT_TRUE(result.runtime_version.has_value());
  EXPECT_TRUE(result.driver_version.has_value());
  EXPECT_TRUE(cuda_available());
}

TEST(DeviceCudaTest, Cuda0IsChosenWithoutWarning) {
  SKIP_WITHOUT_GPU();
  const ScopedCudaProbe scope(nullptr);
  LogCapture capture;
  for (int i = 0; i < 3; ++i) {
    const Result<c10::Device> device = get_device(DeviceConfig{}.with_component("gpu-test"));
    ASSERT_TRUE(device.has_value()) << device.error().to_string();
    EXPECT_EQ(*device, c10::Device(c10::DeviceType::CUDA, 0));
  }
  EXPECT_EQ(capture.count(kWarningText), 0u);
  EXPECT_EQ(capture.count("gpu-test: using cuda:0", LogLevel::info), 1u);
}

TEST(DeviceCudaTest, OrdinalEqualToTheDeviceCountIsAnError) {
  SKIP_WITHOUT_GPU();
  const ScopedCudaProbe scope(nullptr);
  LogCapture capture;
  const int count = visible_devices();  // 1 on a one-GPU machine: ordinal 1 is not there.
  const Result<c10::Device> device = get_device(DeviceConfig{}.with_cuda_device(count));
  ASSERT_FALSE(device.has_value());
  EXPECT_EQ(device.error().code(), ErrorCode::device_not_available);
  EXPECT_THAT(device.error().message(), HasSubstr("cuda:" + std::to_string(count)));
  cudaDeviceProp properties{};
  ASSERT_EQ(cudaGetDeviceProperties(&properties, 0), cudaSuccess);
  EXPECT_THAT(device.error().message(), HasSubstr(std::string("cuda:0 (") + properties.name));
  EXPECT_EQ(capture.count(kWarningText), 0u);
}

TEST(DeviceCudaTest, ReportShowsFreeMemoryAndSelectsCuda0) {
  SKIP_WITHOUT_GPU();
  const ScopedCudaProbe scope(nullptr);
  DeviceReportOptions options;
  options.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  const DeviceReport report = device_report(options);
  ASSERT_EQ(report.cuda.status, CudaStatus::ok) << report.cuda.message;
  for (const auto& info : report.cuda.devices) {
    ASSERT_TRUE(info.free_memory_bytes.has_value()) << info.name;
    EXPECT_LE(*info.free_memory_bytes, info.total_memory_bytes);
    EXPECT_GT(*info.free_memory_bytes, 0u);
  }
  ASSERT_TRUE(report.device.has_value()) << to_string(report);
  EXPECT_EQ(*report.device, c10::Device(c10::DeviceType::CUDA, 0));
}

// The child: runs only when the parent re-executes this binary with the DISABLED_ test enabled.
TEST(DeviceCudaChild, DISABLED_HiddenDevices) {
  const ScopedCudaProbe scope(nullptr);
  LogCapture capture;
  const Result<c10::Device> device = get_device(DeviceConfig{}.with_component("hidden"));
  ASSERT_TRUE(device.has_value()) << device.error().to_string();
  EXPECT_TRUE(device->is_cpu());
  EXPECT_EQ(cuda_probe_result().status, CudaStatus::no_device) << cuda_probe_result().message;
  EXPECT_EQ(capture.count(kWarningText, LogLevel::warn), 1u);
}

TEST(DeviceCudaTest, EmptyCudaVisibleDevicesGivesTheCpuWithTheWarningInAFreshProcess) {
  SKIP_WITHOUT_GPU();
  char self[4096];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(length, 0);
  self[length] = '\0';
  const std::string command =
      "env -u RUST_AI_FORCE_CPU -u AXOLOTL_FORCE_CPU -u VSA_OPTIM_FORCE_CPU -u SPDLOG_LEVEL "
      "CUDA_VISIBLE_DEVICES= '" +
      std::string(self) +
      "' --gtest_also_run_disabled_tests --gtest_filter=DeviceCudaChild.DISABLED_HiddenDevices "
      "2>&1 >/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string stderr_text;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) stderr_text.append(buffer, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << stderr_text;
  std::size_t warnings = 0;
  for (auto pos = stderr_text.find(kWarningText); pos != std::string::npos;
       pos = stderr_text.find(kWarningText, pos + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << stderr_text;
  EXPECT_THAT(stderr_text, HasSubstr("the CUDA driver sees no device"));
  EXPECT_THAT(stderr_text, HasSubstr("CUDA_VISIBLE_DEVICES=''"));
}

}  // namespace
}  // namespace ai_core
