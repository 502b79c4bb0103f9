// SPDX-License-Identifier: MIT
// ai-core: the command-line tool. `ai-core doctor` tells what device a program using ai_core gets
// and why; `ai-core demo` runs quantize -> kernel -> tensor end to end.
#include <ai_core/device.hpp>
#include <ai_core/distributed.hpp>
#include <ai_core/version.hpp>

#include "demo.hpp"
#include "estimate.hpp"

#include <c10/core/Device.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

namespace {

// `ai-core doctor [--json]`: prints `ai_core::device_report()`. Exit status: 0 when a device
// would be selected, 1 when selection would fail (`device_not_available`: an ordinal that is not
// visible, or no CUDA under RUST_AI_CPU_FALLBACK=error), 2 when the environment is malformed
// (`invalid_config`). The error also goes to stderr, so scripts see it with --json too.
int run_doctor(bool json) {
  const ai_core::DeviceReport report = ai_core::device_report();
  std::string text = json ? ai_core::to_json(report) : ai_core::to_string(report);
  // The torchrun variables (ai_core::distributed) and what they imply; a malformed one exits 2.
  const ai_core::DistributedReport distributed = ai_core::distributed_report(report.cuda, json);
  if (json) {
    const std::size_t close = text.rfind('}');  // The report's object: add one member.
    if (close != std::string::npos) {
      text.insert(close, ",\"distributed\":" + distributed.text);
    }
  } else {
    text += "\nDistributed (torchrun variables)\n";
    for (std::size_t at = 0; at < distributed.text.size();) {
      const std::size_t end = distributed.text.find('\n', at);
      text += "  " + distributed.text.substr(at, end - at) + "\n";
      at = end == std::string::npos ? distributed.text.size() : end + 1;
    }
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  if (distributed.error) {
    std::fputs(("ai-core doctor: " + distributed.error->to_string() + "\n").c_str(), stderr);
    return 2;
  }
  if (!report.error) return 0;
  std::string message = "ai-core doctor: " + report.error->to_string();
  if (message.back() != '\n') message += '\n';
  std::fputs(message.c_str(), stderr);
  return report.error->code() == ai_core::ErrorCode::invalid_config ? 2 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ai-core: device diagnostics and an end-to-end demo of the ai_core library"};
  app.require_subcommand(1);
  auto* doctor = app.add_subcommand(
      "doctor",
      "Show what device you get and why (exit 1: no device would be selected, 2: malformed env)");
  bool doctor_json = false;
  doctor->add_flag("--json", doctor_json, "Print the report as one JSON object");
  auto* demo = app.add_subcommand(
      "demo", "Quantize a random bf16 weight to NF4 and dequantize it with the kernel, timed");
  std::int64_t demo_rows = 4096;
  std::int64_t demo_cols = 4096;
  demo->add_option("--rows", demo_rows, "Rows of the weight")->check(CLI::Range(1, 1 << 16));
  demo->add_option("--cols", demo_cols, "Columns of the weight (a multiple of 64)")
      ->check(CLI::Range(64, 1 << 16));
  ai_core_tool::EstimateCommand estimate(app);
  CLI11_PARSE(app, argc, argv);
  if (*doctor) return run_doctor(doctor_json);
  if (estimate.selected()) return estimate.run();
  if (*demo) return ai_core_tool::run_demo(demo_rows, demo_cols);
  return 0;
}
