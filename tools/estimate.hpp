// SPDX-License-Identifier: MIT
// tools/estimate.hpp: `ai-core estimate`, the QLoRA memory estimate of a model given on the command
// line (tools/estimate.cpp).
#pragma once

#include <ai_core/memory.hpp>

#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace ai_core_tool {

/// The `estimate` subcommand: registers its options on construction, runs when selected.
class EstimateCommand {
 public:
  /// Adds `estimate` and its options to `app`.
  explicit EstimateCommand(CLI::App& app);
  /// Returns whether the command line selected `estimate`.
  [[nodiscard]] bool selected() const;
  /// Prints the estimate (a table, or JSON with --json). Exit status: 0, or 2 for an invalid
  /// configuration (the error goes to stderr).
  [[nodiscard]] int run();

 private:
  CLI::App* command_ = nullptr;
  ai_core::QloraMemoryConfig config_;
  std::string model_;
  std::string targets_ = "all";
  std::string optimizer_ = "adamw_32bit";
  std::string compute_dtype_ = "bf16";
  std::string adapter_dtype_ = "bf16";
  bool no_double_quant_ = false;
  bool json_ = false;
};

}  // namespace ai_core_tool
