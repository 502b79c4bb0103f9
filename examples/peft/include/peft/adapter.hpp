// SPDX-License-Identifier: MIT
// peft/adapter.hpp: a small LoRA adapter registry, written the way a downstream PEFT library
// would write it on ai_core: domain errors (`PeftError`) for what only PEFT can get wrong,
// ai_core's CoreError for the rest (shapes, devices, libtorch errors), and the ai_core macros
// moving errors across the two.
//
// Example:
//   peft::AdapterRegistry registry(/*max_rank=*/32);
//   AI_CORE_TRY(registry.add("q_proj", a, b, /*alpha=*/16.0));   // in a peft::Result function
//   AI_CORE_ASSIGN_OR_RETURN(at::Tensor y, registry.delta("q_proj", x));
#pragma once

#include <peft/error.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace peft {

/// One LoRA adapter: `delta(x) = (alpha / rank) * x @ a^T @ b^T`.
struct LoraAdapter {
  std::string name;  ///< The registered name ("q_proj").
  at::Tensor a;      ///< [rank, in_features].
  at::Tensor b;      ///< [out_features, rank].
  double alpha = 1;  ///< The LoRA scaling numerator.
  /// Returns the rank (`a.size(0)`).
  [[nodiscard]] std::int64_t rank() const { return a.size(0); }
};

/// Adapters by name, with a maximum rank. Not thread-safe for concurrent `add`.
class AdapterRegistry {
 public:
  /// Makes an empty registry accepting ranks up to `max_rank`.
  explicit AdapterRegistry(std::int64_t max_rank) : max_rank_(max_rank) {}

  /// Registers an adapter. Errors: `rank_too_large` (domain); `invalid_config` for an empty name
  /// or a non-positive alpha, `dimension_mismatch` for a or b not 2-d, `shape_mismatch` when b's
  /// columns differ from a's rows, `device_mismatch` when a and b live on different devices
  /// (ai_core). Keeps references to `a` and `b` (no copy).
  Result<void> add(std::string name, at::Tensor a, at::Tensor b, double alpha);

  /// Returns the adapter named `name`, or `adapter_not_found`. The pointer lives as long as the
  /// registry.
  [[nodiscard]] Result<const LoraAdapter*> find(std::string_view name) const;

  /// Returns the adapter's output for `x` ([batch, in_features]). Errors: `adapter_not_found`;
  /// `shape_mismatch` when x's last dimension is not in_features, `device_mismatch`, and any
  /// libtorch error as `torch` (ai_core), with the adapter's name as context.
  [[nodiscard]] Result<at::Tensor> delta(std::string_view name, const at::Tensor& x) const;

 private:
  std::int64_t max_rank_;
  std::map<std::string, LoraAdapter, std::less<>> adapters_;
};

/// Applies an adapter from code that only speaks ai_core: the PeftError converts to a CoreError
/// (the domain code is named in its message).
[[nodiscard]] ai_core::Result<at::Tensor> apply_adapter(const AdapterRegistry& registry,
                                                        std::string_view name, const at::Tensor& x);

}  // namespace peft
