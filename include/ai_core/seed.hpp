// SPDX-License-Identifier: MIT
// ai_core/seed.hpp: seeds, determinism switches and the random-number state of a run.
//
// `seed_everything(seed, options)` seeds torch's CPU generator and the default generator of every
// visible CUDA device, and optionally turns on torch's deterministic algorithms and the cuDNN
// switches. `derive_seed(seed, "component")` gives each component of a program its own stable
// seed from the run's one seed (Note [per-component seeds]). `capture_rng_state()` and
// `restore_rng_state(state)` save and restore every generator, and `RngState::to_bytes` /
// `RngState::from_bytes` put that state in a checkpoint, so a resumed run continues the same
// random streams. docs/observability.md shows the whole recipe.
//
// Example:
//   AI_CORE_TRY(ai_core::seed_everything(1234, ai_core::DeterminismOptions::reproducible()));
//   const std::uint64_t dropout_seed = ai_core::derive_seed(1234, "dropout");
//   ...
//   AI_CORE_ASSIGN_OR_RETURN(ai_core::RngState state, ai_core::capture_rng_state());
//   checkpoint.write("rng", state.to_bytes());
//
// Thread safety: the functions lock each generator's own mutex while they read or write it, as
// torch does; seeding while other threads draw random numbers is safe but makes those draws
// depend on the interleaving.
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace ai_core {

/// Whether torch's deterministic-algorithm mode is on
/// (`at::globalContext().setDeterministicAlgorithms`).
enum class DeterministicAlgorithms : std::uint8_t {
  unchanged = 0,  ///< Leaves torch's setting as it is (the default of `DeterminismOptions`).
  off = 1,        ///< Nondeterministic algorithms allowed (torch's default).
  warn_only = 2,  ///< An op without a deterministic implementation warns and runs anyway.
  strict = 3,     ///< An op without a deterministic implementation throws (an error at dispatch).
};

/// Returns the snake_case name of `mode` ("unchanged", "off", "warn_only", "strict").
[[nodiscard]] AI_CORE_API std::string_view to_string(DeterministicAlgorithms mode) noexcept;

/// What `seed_everything` switches besides the seeds. Every field left at its default leaves
/// torch's setting unchanged.
struct DeterminismOptions {
  /// torch's deterministic-algorithm mode. `strict` on CUDA also needs
  /// `CUBLAS_WORKSPACE_CONFIG=:4096:8` (or `:16:8`) in the environment before the first cuBLAS
  /// call; `seed_everything` warns when it is missing and never sets it behind the caller's back.
  DeterministicAlgorithms algorithms = DeterministicAlgorithms::unchanged;
  /// `torch.backends.cudnn.deterministic`: cuDNN picks deterministic convolution algorithms.
  std::optional<bool> cudnn_deterministic;
  /// `torch.backends.cudnn.benchmark`: cuDNN times candidate algorithms and keeps the fastest,
  /// which may differ between runs. Reproducible runs turn it off.
  std::optional<bool> cudnn_benchmark;

  /// Returns the settings of a bit-reproducible run: `strict`, cuDNN deterministic, no cuDNN
  /// benchmarking.
  [[nodiscard]] static DeterminismOptions reproducible() noexcept {
    return {DeterministicAlgorithms::strict, true, false};
  }
};

/// torch's determinism switches as they are now, and the seed of the last `seed_everything`.
struct DeterminismSettings {
  std::optional<std::uint64_t> seed;      ///< The last `seed_everything` seed, if it was called.
  bool deterministic_algorithms = false;  ///< `at::globalContext().deterministicAlgorithms()`.
  bool deterministic_algorithms_warn_only = false;  ///< Its warn-only flag.
  bool cudnn_deterministic = false;                 ///< `at::globalContext().deterministicCuDNN()`.
  bool cudnn_benchmark = false;                     ///< `at::globalContext().benchmarkCuDNN()`.
};

/// Seeds torch's CPU generator and the default generator of every visible CUDA device with
/// `seed`, then applies `options`. Returns `invalid_config` for an `options.algorithms` outside
/// the enumeration, and `torch` when libtorch throws (nothing is left half-applied for the
/// determinism switches: they are validated before any is changed). Calling it again with the
/// same seed restarts the same random streams.
AI_CORE_API Result<void> seed_everything(std::uint64_t seed,
                                         const DeterminismOptions& options = {});

/// Returns torch's determinism switches and the last seed given to `seed_everything`.
[[nodiscard]] AI_CORE_API DeterminismSettings determinism_settings();

// Note [per-component seeds]: a program with one run seed often needs independent streams for
// its parts (data shuffling, dropout, each worker). `derive_seed(seed, component)` mixes a 64-bit
// FNV-1a hash of the component name into the seed with the splitmix64 finaliser:
//   derive_seed(seed, name) = splitmix64(seed ^ splitmix64(fnv1a64(name)))
// Why these: both are fixed, published functions of the bytes alone, so the value is the same on
// every platform, compiler, standard library and run (std::hash promises none of that); the
// splitmix64 finaliser spreads a one-bit change of seed or name over all 64 bits, so neighbouring
// seeds ("run 1", "run 2") and similar names ("worker3", "worker4") give unrelated values. It is
// not a cryptographic hash: do not use it where seeds must be unguessable.

/// Returns splitmix64's finaliser of `x` (Note [per-component seeds]).
[[nodiscard]] constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Returns the seed of `component` within a run seeded with `seed` (Note [per-component seeds]).
/// The same pair always gives the same value, on any machine.
///
/// Example:
///   at::Generator shuffle = at::make_generator<at::CPUGeneratorImpl>(
///       ai_core::derive_seed(run_seed, "data.shuffle"));
[[nodiscard]] constexpr std::uint64_t derive_seed(std::uint64_t seed,
                                                  std::string_view component) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis.
  for (const char c : component) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;  // FNV-1a 64 prime.
  }
  return splitmix64(seed ^ splitmix64(hash));
}

/// The state of torch's CPU generator and of the default generator of each visible CUDA device,
/// as `capture_rng_state` found it. A value type: copy it, compare it, keep it in a checkpoint.
///
/// Byte format of `to_bytes` (all integers little-endian), version 1:
///   8 bytes   magic "AICORNG\0"
///   u32       format version (1)
///   u64 n, n bytes: the CPU generator's state (torch's `Generator::get_state()` bytes)
///   u32 d     the number of CUDA generators, then d times: u64 n, n bytes of state
///   u64       FNV-1a 64 of every byte before it (catches truncation and corruption)
class AI_CORE_API RngState {
 public:
  /// The current version of the byte format.
  static constexpr std::uint32_t kFormatVersion = 1;

  RngState() = default;
  /// Makes a state from the bytes of each generator (as `Generator::get_state()` gives them).
  RngState(std::vector<std::uint8_t> cpu, std::vector<std::vector<std::uint8_t>> cuda)
      : cpu_(std::move(cpu)), cuda_(std::move(cuda)) {}

  /// Returns the CPU generator's state bytes.
  [[nodiscard]] const std::vector<std::uint8_t>& cpu() const noexcept { return cpu_; }
  /// Returns the state bytes of each CUDA device's default generator, by ordinal.
  [[nodiscard]] const std::vector<std::vector<std::uint8_t>>& cuda() const noexcept {
    return cuda_;
  }

  /// Returns the state in the versioned byte format above.
  [[nodiscard]] std::vector<std::uint8_t> to_bytes() const;

  /// Reads a state written by `to_bytes`. Returns `invalid_config` naming what is wrong for bytes
  /// that are not an ai_core RNG state (wrong magic), of another format version, truncated, with
  /// trailing bytes, or whose checksum does not match.
  [[nodiscard]] static Result<RngState> from_bytes(std::span<const std::uint8_t> bytes);

  friend bool operator==(const RngState&, const RngState&) = default;

 private:
  std::vector<std::uint8_t> cpu_;
  std::vector<std::vector<std::uint8_t>> cuda_;
};

/// Returns the state of torch's CPU generator and of every visible CUDA device's default
/// generator. Returns `torch` when libtorch throws.
[[nodiscard]] AI_CORE_API Result<RngState> capture_rng_state();

/// Sets every generator to `state`, so the following draws repeat those made after the capture.
/// Returns `invalid_config` when `state` holds another number of CUDA generators than this process
/// sees (naming both counts), or when libtorch rejects a generator's bytes; in both cases no
/// generator is left changed.
AI_CORE_API Result<void> restore_rng_state(const RngState& state);

}  // namespace ai_core
