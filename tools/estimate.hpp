// SPDX-License-Identifier: MIT
// tools/estimate.hpp: `ai-core estimate`, the QLoRA memory estimate of a model given on the command
// line, or the largest batch that fits a memory budget (tools/estimate.cpp).
#pragma once

#include <ai_core/memory.hpp>

#include <cstdint>
#include <string>
#include <vector>

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
  /// Prints the estimate (a table, or JSON with --json); with --fit, the largest batch that fits
  /// per sequence length. Exit status: 0; 1 when nothing fits (--fit) or the device cannot be
  /// read; 2 for an invalid configuration or a malformed option (the error goes to stderr).
  [[nodiscard]] int run();

 private:
  int run_fit(const ai_core::QloraMemoryConfig& config);

  CLI::App* command_ = nullptr;
  ai_core::QloraMemoryConfig config_;
  std::string model_;
  std::string targets_ = "all";
  std::string optimizer_ = "adamw_32bit";
  std::string compute_dtype_ = "bf16";
  std::string adapter_dtype_ = "bf16";
  bool no_double_quant_ = false;
  bool json_ = false;
  std::string fit_;                 // --fit: a memory size or a CUDA device
  std::vector<std::int64_t> seqs_;  // --seqs: the sequence lengths --fit tries
  std::int64_t max_batch_ = 65536;  // --max-batch: the largest batch --fit tries
};

}  // namespace ai_core_tool
