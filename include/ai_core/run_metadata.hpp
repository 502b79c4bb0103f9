// SPDX-License-Identifier: MIT
// ai_core/run_metadata.hpp: "what produced this run": versions, GPUs, environment, seed,
// determinism and the caller's configuration, as one JSON object.
//
// `RunMetadata::collect()` gathers the ai_core, torch, CUDA runtime and driver, cuDNN and NCCL
// versions, the GPUs of the cached device probe (name, capability, memory), the variables of a
// documented allow-list (`run_metadata_environment_allow_list`; never the whole environment),
// the seed and determinism switches (<ai_core/seed.hpp>), the host name and the time. A config
// that models `DescribableConfig` (a `ValidatableConfig` with a `describe()` member listing its
// settings) is recorded too. `to_json()` writes it for a file next to the training metrics.
//
// Example:
//   struct TrainConfig {
//     int steps = 1000;
//     double learning_rate = 3e-4;
//     ai_core::Result<void> validate() const;
//     ai_core::ConfigDescription describe() const {
//       return {{"steps", std::to_string(steps)}, {"learning_rate",
//       std::to_string(learning_rate)}};
//     }
//   };
//   AI_CORE_ASSIGN_OR_RETURN(ai_core::RunMetadata metadata, ai_core::RunMetadata::collect(config));
//   std::ofstream("run.json") << metadata.to_json();
#pragma once

#include <ai_core/concepts.hpp>
#include <ai_core/device.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/seed.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ai_core {

/// A configuration's settings as `(key, value)` text pairs, in the order the config lists them.
using ConfigDescription = std::vector<std::pair<std::string, std::string>>;

/// A `ValidatableConfig` that can describe itself for the run metadata: `config.describe()`
/// returns its settings as text pairs (`ConfigDescription`, or anything that converts to it).
///
/// Semantic requirements: `describe()` is `const`, has no side effects, and lists every setting
/// that changes what the run computes. It must not list secrets (tokens, passwords): the metadata
/// is written next to training logs and shared. Modelled by any config type that adds the member;
/// opting in is adding it.
template <class C>
concept DescribableConfig = ValidatableConfig<C> && requires(const C& config) {
  { config.describe() } -> std::convertible_to<ConfigDescription>;
};

/// One environment variable of the allow-list that was set.
struct EnvironmentEntry {
  std::string name;   ///< The variable ("CUDA_VISIBLE_DEVICES").
  std::string value;  ///< Its value, or "<redacted>" for a name that looks like a secret.
  friend bool operator==(const EnvironmentEntry&, const EnvironmentEntry&) = default;
};

/// Returns the exact names of the environment variables `RunMetadata::collect` records when they
/// are set, besides every variable starting with one of `run_metadata_environment_prefixes()`.
/// docs/observability.md lists them with the reason for each.
[[nodiscard]] AI_CORE_API std::span<const std::string_view>
run_metadata_environment_allow_list() noexcept;

/// Returns the prefixes of ai_core's own variable families ("RUST_AI_", "AXOLOTL_",
/// "VSA_OPTIM_"). A variable of these families whose name contains KEY, TOKEN, SECRET,
/// PASSWORD, PASSWD, CREDENTIAL or AUTH is recorded with the value "<redacted>".
[[nodiscard]] AI_CORE_API std::span<const std::string_view>
run_metadata_environment_prefixes() noexcept;

/// What produced a run. Every field is filled by `collect`; fields torch or the machine cannot
/// answer stay empty (`std::nullopt`), and `to_json` writes them as `null`.
struct AI_CORE_API RunMetadata {
  std::string ai_core_version;                ///< `ai_core::runtime_version()`.
  std::string torch_version;                  ///< The libtorch version ai_core was built with.
  bool cuda_compiled = false;                 ///< ai_core built with `AI_CORE_WITH_CUDA`.
  std::string cuda_status;                    ///< The cached probe's status ("ok", "no_driver").
  std::optional<int> cuda_runtime_version;    ///< 1000 * major + 10 * minor (13000 for 13.0).
  std::optional<int> cuda_driver_version;     ///< The newest CUDA version the driver supports.
  std::optional<long> cudnn_version;          ///< cuDNN as torch reports it (91000 for 9.10.0).
  std::optional<std::string> nccl_version;    ///< "2.27.3", when libtorch's NCCL is loaded.
  std::vector<CudaDeviceInfo> gpus;           ///< The visible GPUs of the cached probe.
  std::vector<EnvironmentEntry> environment;  ///< The allow-listed variables that are set.
  DeterminismSettings determinism;            ///< Seed and determinism switches.
  std::string host;                           ///< The host name (`gethostname`).
  std::int64_t process_id = 0;                ///< The process id.
  std::string collected_at;                   ///< UTC time of `collect`, ISO 8601.
  std::optional<std::string> config_type;     ///< The config's type name, when one was given.
  ConfigDescription config;                   ///< The config's `describe()`, when one was given.

  /// Gathers everything but a config. Never fails: what cannot be read is left empty.
  [[nodiscard]] static RunMetadata collect();

  /// Gathers everything and records `config` after checking it: returns the error of
  /// `config.validate()` for an invalid config (metadata must not describe a run that cannot
  /// happen).
  template <DescribableConfig C>
  [[nodiscard]] static Result<RunMetadata> collect(const C& config) {
    AI_CORE_TRY(config.validate());
    RunMetadata metadata = collect();
    metadata.config_type = std::string(detail::type_name<C>());
    metadata.config = config.describe();
    return metadata;
  }

  /// Returns the metadata as one JSON object (UTF-8; any byte string is escaped to valid JSON,
  /// invalid UTF-8 becoming U+FFFD). docs/observability.md lists the fields.
  [[nodiscard]] std::string to_json() const;
};

}  // namespace ai_core
