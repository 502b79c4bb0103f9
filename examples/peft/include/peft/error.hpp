// SPDX-License-Identifier: MIT
// peft/error.hpp: the PEFT example's domain error, built with ai_core's extension pattern
// (docs/errors.md, "Domain errors"): the Rust crate rust-ai-core's
//   enum PeftError { AdapterNotFound(String), RankTooLarge { rank, max }, Core(CoreError) }
// in C++.
//
// The pattern, in four parts:
//   1. a domain code enum (`PeftErrorCode`), stable numbers, `core` for errors from ai_core;
//   2. typed domain payloads (`AdapterNotFound`, `RankTooLarge`), read without parsing text;
//   3. an implicit constructor from `ai_core::CoreError` (the Rust `Core(CoreError)` with
//      `From<CoreError>`), plus `enable_implicit_error<PeftError>` so a PeftError or a CoreError
//      can be `return`ed from a function returning `peft::Result<T>`;
//   4. `with_context(std::string)` and a conversion back to CoreError, so the ai_core macros work
//      in both directions: an ai_core call inside a PEFT function, and a PEFT call inside a
//      function that only speaks ai_core (the domain code stays in the message: "peft rank too
//      large: ...").
//
// Example:
//   peft::Result<const peft::LoraAdapter*> found = registry.find("q_proj");
//   if (!found && found.error().code() == peft::PeftErrorCode::adapter_not_found)
//     std::cerr << "missing: " << found.error().adapter_not_found_info()->name << "\n";
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>

#include <cstdint>
#include <ostream>
#include <source_location>
#include <string>
#include <string_view>
#include <variant>

namespace peft {

/// What went wrong in the PEFT library. Stable numbers, only appended to.
enum class PeftErrorCode : std::int32_t {
  core = 0,               ///< An ai_core error (shape, device, torch...): see `core()`.
  adapter_not_found = 1,  ///< No adapter of that name is registered (payload: the name).
  rank_too_large = 2,     ///< An adapter's rank exceeds the registry's maximum (rank and max).
};

/// Returns the lower-case name of `code` ("adapter not found"), "unknown peft error" otherwise.
[[nodiscard]] std::string_view to_string(PeftErrorCode code) noexcept;

/// Writes `to_string(code)` to `os`.
std::ostream& operator<<(std::ostream& os, PeftErrorCode code);

/// Payload of `adapter_not_found`.
struct AdapterNotFound {
  std::string name;  ///< The name that was looked up.
  friend bool operator==(const AdapterNotFound&, const AdapterNotFound&) = default;
};

/// Payload of `rank_too_large`.
struct RankTooLarge {
  std::int64_t rank = 0;  ///< The adapter's rank.
  std::int64_t max = 0;   ///< The largest rank the registry accepts.
  friend bool operator==(const RankTooLarge&, const RankTooLarge&) = default;
};

/// A PEFT error: a domain code, the typed domain payload, and the `ai_core::CoreError` that
/// describes it (message, source location, context lines; for `core`, the original error).
class PeftError {
 public:
  using Location = std::source_location;

  /// Wraps an error from ai_core (code `core`). Implicit: ai_core errors propagate into
  /// `peft::Result` through `return` and the ai_core macros.
  PeftError(ai_core::CoreError error);  // NOLINT(google-explicit-constructor)

  /// Makes an `adapter_not_found` error for `name`.
  [[nodiscard]] static PeftError adapter_not_found(std::string name,
                                                   Location location = Location::current());

  /// Makes a `rank_too_large` error: `rank` exceeds `max`.
  [[nodiscard]] static PeftError rank_too_large(std::int64_t rank, std::int64_t max,
                                                Location location = Location::current());

  /// Returns the domain code.
  [[nodiscard]] PeftErrorCode code() const noexcept { return code_; }
  /// Returns the `adapter_not_found` payload, or nullptr.
  [[nodiscard]] const AdapterNotFound* adapter_not_found_info() const noexcept {
    return std::get_if<AdapterNotFound>(&detail_);
  }
  /// Returns the `rank_too_large` payload, or nullptr.
  [[nodiscard]] const RankTooLarge* rank_too_large_info() const noexcept {
    return std::get_if<RankTooLarge>(&detail_);
  }
  /// Returns the error as ai_core describes it (`invalid_config` for the domain codes).
  [[nodiscard]] const ai_core::CoreError& core() const& noexcept { return core_; }
  /// Returns the message (that of `core()`).
  [[nodiscard]] const std::string& message() const noexcept { return core_.message(); }

  /// Appends a context line and returns `*this` (what the ai_core macros call).
  PeftError& with_context(std::string line) & {
    core_.with_context(std::move(line));
    return *this;
  }
  /// Appends a context line and returns the error.
  [[nodiscard]] PeftError&& with_context(std::string line) && {
    core_.with_context(std::move(line));
    return std::move(*this);
  }

  /// Returns `core().to_string()`, e.g. "invalid config: peft rank too large: rank 64 exceeds
  /// the maximum 32\n  registering adapter 'q_proj'".
  [[nodiscard]] std::string to_string() const { return core_.to_string(); }

  /// Converts to the CoreError, so a PEFT error propagates into code that only speaks ai_core.
  operator ai_core::CoreError() const& { return core_; }  // NOLINT(google-explicit-constructor)
  operator ai_core::CoreError() && { return std::move(core_); }  // NOLINT

  /// Compares code, payload and the CoreError.
  friend bool operator==(const PeftError&, const PeftError&) = default;

  /// Writes `to_string()` to `os`.
  friend std::ostream& operator<<(std::ostream& os, const PeftError& error);

 private:
  PeftError(PeftErrorCode code, std::variant<std::monostate, AdapterNotFound, RankTooLarge> detail,
            ai_core::CoreError core);

  PeftErrorCode code_;
  std::variant<std::monostate, AdapterNotFound, RankTooLarge> detail_;
  ai_core::CoreError core_;
};

/// The result type of the PEFT library.
template <class T>
using Result = ai_core::Expected<T, PeftError>;

}  // namespace peft

/// Lets a PeftError (or a CoreError, which converts to one) be returned directly from a function
/// returning `peft::Result<T>`, as a CoreError can from one returning `ai_core::Result<T>`.
template <>
inline constexpr bool ai_core::enable_implicit_error<peft::PeftError> = true;
