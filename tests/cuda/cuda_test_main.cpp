// SPDX-License-Identifier: MIT
// main() of the `cuda`-labelled test binaries (ai_core_add_test(... CUDA)). Without a CUDA device
// it runs nothing, says why, and exits 77, which CTest reports as "Skipped" (SKIP_RETURN_CODE);
// with one it runs every test. A child run (--gtest_also_run_disabled_tests) always runs.
// Individual tests still GTEST_SKIP what needs more (two GPUs).
#include <c10/cuda/CUDAFunctions.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>

int main(int argc, char** argv) {
  testing::InitGoogleMock(&argc, argv);
  const auto devices = c10::cuda::device_count();  // 0 without a driver or a device; never throws
  // A run that asks for disabled tests is a test's own child process (device_cuda_test re-executes
  // itself with CUDA_VISIBLE_DEVICES= to check the fallback): it must run even without a device.
  if (devices == 0 && !GTEST_FLAG_GET(also_run_disabled_tests)) {
    std::printf(
        "[  SKIPPED ] %d tests: no CUDA device visible (these tests need a GPU; run them on "
        "a GPU machine, e.g. scripts/gpu.sh)\n",
        testing::UnitTest::GetInstance()->test_to_run_count());
    return 77;
  }
  return RUN_ALL_TESTS();
}
