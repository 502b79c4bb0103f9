// SPDX-License-Identifier: MIT
// nf4/error.hpp: the NF4 library's own error type, built on ai_core's the way the Rust crate's
// extension pattern prescribes
// (`PeftError { AdapterNotFound, RankTooLarge{..}, Core(CoreError) }`).
//
// `Nf4Error` has domain codes (`Nf4ErrorCode`) for what only an NF4 quantizer can get wrong (a NaN
// in a block, a forbidden block size, codes and absmax that disagree), and a `core` code for every
// error that came from ai_core (device, dtype, CUDA...). Any `ai_core::CoreError` converts to it
// implicitly, so `AI_CORE_TRY` on an ai_core call works inside a function returning
// `Nf4Result<T>`. Every Nf4Error also is a CoreError (`core()`, with the closest ai_core code and
// the structured payload), so an NF4 error crosses into code that only knows ai_core without losing
// its message, location or context (the message names the domain code: "nf4 non-finite input:
// ...").
//
// Example:
//   nf4::Nf4Result<nf4::Nf4Tensor> q = ...;
//   if (!q && q.error().code() == nf4::Nf4ErrorCode::non_finite_input)
//     std::cerr << "bad value at element " << *q.error().element() << "\n";
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <source_location>
#include <string>
#include <string_view>

namespace nf4 {

/// What went wrong in the NF4 library. Values are stable and only appended to.
enum class Nf4ErrorCode : std::int32_t {
  core = 0,                ///< An ai_core error (device, dtype, layout, CUDA): see `core()`.
  non_finite_input = 1,    ///< A NaN or an infinity in the input (`element()`, `block()`).
  empty_input = 2,         ///< A tensor with no elements where the config forbids one.
  invalid_block_size = 3,  ///< A block size that is not a power of two in [32, 4096].
  size_mismatch = 4,       ///< Codes, absmax and shape whose sizes disagree.
  unsupported_dtype = 5,   ///< A dtype outside f32, f16, bf16 (input, output or compute dtype).
};

/// Returns the lower-case name of `code` ("non-finite input", ...), "unknown nf4 error" otherwise.
[[nodiscard]] std::string_view to_string(Nf4ErrorCode code) noexcept;

/// Writes `to_string(code)` to `os`.
std::ostream& operator<<(std::ostream& os, Nf4ErrorCode code);

/// An NF4 error: a domain code, the `ai_core::CoreError` that describes it (message, payload,
/// source location, context), and the element and block the error is about, when there is one.
class Nf4Error {
 public:
  using Location = std::source_location;

  /// Wraps an error from ai_core (code `core`). Implicit, so ai_core errors propagate into
  /// `Nf4Result` through `AI_CORE_TRY` and plain `return`.
  Nf4Error(ai_core::CoreError error);  // NOLINT(google-explicit-constructor)

  /// Makes a `non_finite_input` error: `value` (NaN or ±inf) at `element`, in block `block` of
  /// `block_size` elements.
  [[nodiscard]] static Nf4Error non_finite_input(std::int64_t element, std::int64_t block,
                                                 std::int64_t block_size, double value,
                                                 Location location = Location::current());

  /// Makes an `empty_input` error; `what` names the tensor ("input tensor").
  [[nodiscard]] static Nf4Error empty_input(std::string what,
                                            Location location = Location::current());

  /// Makes an `invalid_block_size` error for `block_size`.
  [[nodiscard]] static Nf4Error invalid_block_size(std::int64_t block_size,
                                                   Location location = Location::current());

  /// Makes a `size_mismatch` error: `what` ("codes", "absmax") has `actual` elements where
  /// `expected` are needed; `why` says where the expectation comes from.
  [[nodiscard]] static Nf4Error size_mismatch(std::string what, std::int64_t expected,
                                              std::int64_t actual, std::string why,
                                              Location location = Location::current());

  /// Makes an `unsupported_dtype` error: `what` ("input tensor") has dtype `dtype_name`.
  [[nodiscard]] static Nf4Error unsupported_dtype(std::string what, std::string_view dtype_name,
                                                  Location location = Location::current());

  /// Returns the domain code (`core` for errors that came from ai_core).
  [[nodiscard]] Nf4ErrorCode code() const noexcept { return code_; }

  /// Returns the error as ai_core describes it: its ai_core code (`invalid_config` for the
  /// domain codes except `size_mismatch`, which is `shape_mismatch` with the sizes as payload),
  /// message, payload, location and context.
  [[nodiscard]] const ai_core::CoreError& core() const& noexcept { return core_; }
  /// Moves the CoreError out.
  [[nodiscard]] ai_core::CoreError core() && noexcept { return std::move(core_); }

  /// Returns the message (that of `core()`).
  [[nodiscard]] const std::string& message() const noexcept { return core_.message(); }

  /// Returns the index of the offending element, for `non_finite_input`.
  [[nodiscard]] std::optional<std::int64_t> element() const noexcept { return element_; }

  /// Returns the index of the offending block, for `non_finite_input`.
  [[nodiscard]] std::optional<std::int64_t> block() const noexcept { return block_; }

  /// Appends a context line and returns `*this`.
  Nf4Error& with_context(std::string line) & {
    core_.with_context(std::move(line));
    return *this;
  }
  /// Appends a context line and returns the error.
  [[nodiscard]] Nf4Error&& with_context(std::string line) && {
    core_.with_context(std::move(line));
    return std::move(*this);
  }

  /// Returns `core().to_string()`; a domain error's message starts with "nf4 <code name>: ", e.g.
  /// "invalid config: nf4 non-finite input: nan at element 70 (block 1, offset 6 of 64); ...".
  [[nodiscard]] std::string to_string() const;

  /// Converts to the CoreError (see `core()`), so `Nf4Result` errors propagate into
  /// `ai_core::Result` functions (the concepts' `quantize`/`dequantize`).
  operator ai_core::CoreError() const& { return core_; }  // NOLINT(google-explicit-constructor)
  /// Moves the CoreError out (see `core()`).
  operator ai_core::CoreError() && { return std::move(core_); }  // NOLINT

  /// Writes `error.to_string()` to `os`.
  friend std::ostream& operator<<(std::ostream& os, const Nf4Error& error);

 private:
  Nf4Error(Nf4ErrorCode code, ai_core::CoreError core, std::optional<std::int64_t> element = {},
           std::optional<std::int64_t> block = {});

  Nf4ErrorCode code_;
  ai_core::CoreError core_;
  std::optional<std::int64_t> element_;
  std::optional<std::int64_t> block_;
};

/// The result type of the NF4 library's domain functions.
template <class T>
using Nf4Result = ai_core::Expected<T, Nf4Error>;

}  // namespace nf4

/// Lets an `Nf4Error` (or a CoreError, which converts to one) be returned directly from a function
/// returning `Nf4Result<T>`, as a CoreError can from one returning `ai_core::Result<T>`.
namespace ai_core {
template <>
inline constexpr bool enable_implicit_error<nf4::Nf4Error> = true;
}  // namespace ai_core
