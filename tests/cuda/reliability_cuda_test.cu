// SPDX-License-Identifier: MIT
// The GPU half of the reliability suite (issue 8; the CPU half is tests/bad_input_test.cpp):
//   - out of memory: `allocate_output_buffer` of 1 TiB on the card returns `out_of_memory` with
//     the requested and the free bytes, and afterwards the process allocates and computes
//     correctly (the caching allocator and the context are unharmed);
//   - a raw `cudaMalloc` of 1 TiB is `out_of_memory` named cudaErrorMemoryAllocation, not sticky;
//   - a kernel fault (a kernel writing through a null pointer) in a SUBPROCESS — this binary run
//     again with `--reliability-child=kernel-fault` — surfaces as `kernel_error` with the CUDA
//     error name (cudaErrorIllegalAddress), within a bounded wait: a hang fails the test.
// Without a GPU every test skips with a message.
//
// compute-sanitizer: the kernel-fault child faults on purpose; the lead's memcheck run excludes
// `ReliabilityCudaTest.KernelFault*` (docs/reliability.md, "On the GPU machine").
#include <ai_core/cuda/error.hpp>
#include <ai_core/error.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/tensor_view.hpp>

#include <ATen/core/Tensor.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace test_reliability_cuda {

#define SKIP_WITHOUT_GPU()                                                            \
  if (c10::cuda::device_count() == 0) {                                               \
    GTEST_SKIP() << "no CUDA device: reliability_cuda_test needs a GPU (label cuda)"; \
  }

constexpr std::string_view kChildFlag = "--reliability-child=";
constexpr std::uint64_t kOneTiB = std::uint64_t{1} << 40;
std::string g_self = "/proc/self/exe";  // this binary, re-executed for the child

__global__ void iota_kernel(ai_core::TensorView<float, 1> out) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i < out.size(0)) out(i) = static_cast<float>(i) * 0.5f;
}

__global__ void write_through(float* p) { p[threadIdx.x] = 1.0f; }

/// Fills a fresh 1024-element f32 output buffer on cuda:0 with i/2 and checks every element on
/// the host: the process still allocates and computes.
void expect_allocate_and_compute() {
  const std::int64_t sizes[] = {1024};
  auto allocated = ai_core::allocate_output_buffer(sizes, c10::kFloat, c10::Device(c10::kCUDA, 0));
  ASSERT_TRUE(allocated.has_value()) << allocated.error().to_string();
  auto& [tensor, buffer] = *allocated;
  auto view = ai_core::make_tensor_view<float, 1>(buffer.view());
  ASSERT_TRUE(view.has_value()) << view.error().to_string();
  auto stream = static_cast<cudaStream_t>(buffer.stream());
  iota_kernel<<<4, 256, 0, stream>>>(*view);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  std::vector<float> host(1024);
  ASSERT_EQ(cudaMemcpyAsync(host.data(), buffer.data(), 1024 * sizeof(float),
                            cudaMemcpyDeviceToHost, stream),
            cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  for (int i = 0; i < 1024; ++i)
    ASSERT_EQ(host[i], static_cast<float>(i) * 0.5f) << "element " << i;
}

TEST(ReliabilityCudaTest, OneTebibyteOutputIsOutOfMemoryWithRequestedAndFreeBytes) {
  SKIP_WITHOUT_GPU();
  const std::int64_t sizes[] = {static_cast<std::int64_t>(kOneTiB)};
  auto result = ai_core::allocate_output_buffer(sizes, c10::kByte, c10::Device(c10::kCUDA, 0));
  ASSERT_FALSE(result.has_value()) << "1 TiB was allocated on the card?";
  const ai_core::CoreError& error = result.error();
  EXPECT_EQ(error.code(), ai_core::ErrorCode::out_of_memory) << error.to_string();
  const ai_core::MemoryInfo* memory = error.memory_info();
  ASSERT_NE(memory, nullptr) << "no memory payload: " << error.to_string();
  ASSERT_TRUE(memory->requested_bytes.has_value()) << error.to_string();
  EXPECT_GE(*memory->requested_bytes, kOneTiB) << error.to_string();
  ASSERT_TRUE(memory->free_bytes.has_value()) << error.to_string();
  EXPECT_LT(*memory->free_bytes, kOneTiB) << error.to_string();
  // The caching allocator's view, as typed fields (with_allocator_view in interop).
  EXPECT_EQ(memory->device, c10::Device(c10::kCUDA, 0)) << error.to_string();
  ASSERT_TRUE(memory->allocated_bytes.has_value()) << error.to_string();
  ASSERT_TRUE(memory->reserved_bytes.has_value()) << error.to_string();
  EXPECT_GE(*memory->reserved_bytes, *memory->allocated_bytes) << error.to_string();
  ASSERT_TRUE(memory->total_bytes.has_value()) << error.to_string();
  EXPECT_LT(*memory->total_bytes, kOneTiB) << error.to_string();
  ASSERT_FALSE(memory->advice.empty()) << error.to_string();
  EXPECT_NE(memory->advice.front().find("smaller batch"), std::string::npos) << error.to_string();
  // The error is not sticky: the context and the caching allocator still work.
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  expect_allocate_and_compute();
}

TEST(ReliabilityCudaTest, RawCudaMallocOfOneTebibyteIsOutOfMemoryAndNotSticky) {
  SKIP_WITHOUT_GPU();
  void* p = nullptr;
  const cudaError_t status = cudaMalloc(&p, kOneTiB);
  ASSERT_NE(status, cudaSuccess);
  const ai_core::CoreError error = ai_core::from_cuda_error(status, "cudaMalloc(1 TiB)");
  EXPECT_EQ(error.code(), ai_core::ErrorCode::out_of_memory) << error.to_string();
  ASSERT_NE(error.cuda_info(), nullptr);
  EXPECT_EQ(error.cuda_info()->name, "cudaErrorMemoryAllocation");
  EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);  // clears the non-sticky error
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  expect_allocate_and_compute();
}

/// Runs this binary with `--reliability-child=<mode>`, returns its stdout; fails the test (and
/// kills the child) if it runs longer than `limit`.
std::string run_child(std::string_view mode, std::chrono::seconds limit, int* exit_status) {
  int out[2];
  if (pipe(out) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return {};
  }
  const std::string flag = std::string(kChildFlag) + std::string(mode);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(g_self.c_str(), g_self.c_str(), flag.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool timed_out = false;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fd{out[0], POLLIN, 0};
    const int ready = poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[512];
    const ssize_t n = read(out[0], chunk, sizeof(chunk));
    if (n <= 0) break;  // EOF: the child closed stdout (exited)
    text.append(chunk, static_cast<std::size_t>(n));
  }
  close(out[0]);
  if (timed_out) {
    kill(pid, SIGKILL);
    ADD_FAILURE() << "the child '" << mode << "' did not finish within " << limit.count()
                  << " s: a kernel fault must surface as an error, not a hang. Output so far: "
                  << text;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  *exit_status = status;
  return text;
}

TEST(ReliabilityCudaTest, KernelFaultInSubprocessIsKernelErrorNamedNotAHang) {
  SKIP_WITHOUT_GPU();
  int status = 0;
  const std::string out = run_child("kernel-fault", std::chrono::seconds(120), &status);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died by signal " << WTERMSIG(status)
                                 << "; output: " << out;
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_NE(out.find("code=kernel error"), std::string::npos) << out;
  EXPECT_NE(out.find("name=cudaErrorIllegalAddress"), std::string::npos) << out;
  // This process's own context is untouched by the child's fault.
  expect_allocate_and_compute();
}

/// The child: launches a kernel that writes through a null pointer, synchronises, and prints the
/// CoreError it got ("code=<code> name=<CUDA error name>"). Exit 0 when it got an error.
int kernel_fault_child() {
  write_through<<<1, 32>>>(nullptr);
  ai_core::Result<void> launched =
      ai_core::check_cuda(cudaGetLastError(), "launching write_through");
  ai_core::Result<void> result =
      launched.has_value()
          ? ai_core::check_cuda(cudaDeviceSynchronize(), "synchronising after write_through")
          : launched;
  if (result.has_value()) {
    std::printf("no error: the null write went unnoticed\n");
    return 1;
  }
  const ai_core::CoreError& error = result.error();
  std::printf("code=%s name=%s message=%s\n", std::string(ai_core::to_string(error.code())).c_str(),
              error.cuda_info() != nullptr ? error.cuda_info()->name.c_str() : "(none)",
              error.to_string().c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace test_reliability_cuda

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, test_reliability_cuda::kChildFlag.size()) ==
        test_reliability_cuda::kChildFlag) {
      const std::string_view mode = arg.substr(test_reliability_cuda::kChildFlag.size());
      if (mode == "kernel-fault") return test_reliability_cuda::kernel_fault_child();
      std::fprintf(stderr, "unknown child mode '%.*s'\n", static_cast<int>(mode.size()),
                   mode.data());
      return 2;
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
