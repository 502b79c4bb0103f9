// SPDX-License-Identifier: MIT
// src/error.cpp: `Nf4Error` (nf4/error.hpp).
#include <nf4/error.hpp>

#include <ai_core/str_cat.hpp>

#include <cmath>
#include <utility>

namespace nf4 {
namespace {

// Returns "nf4 <code name>: <message>", the CoreError message of a domain error, so the domain is
// visible wherever only the CoreError travels.
std::string domain_message(Nf4ErrorCode code, std::string_view message) {
  return ai_core::str_cat("nf4 ", to_string(code), ": ", message);
}

}  // namespace

std::string_view to_string(Nf4ErrorCode code) noexcept {
  switch (code) {
    case Nf4ErrorCode::core: return "ai_core error";
    case Nf4ErrorCode::non_finite_input: return "non-finite input";
    case Nf4ErrorCode::empty_input: return "empty input";
    case Nf4ErrorCode::invalid_block_size: return "invalid block size";
    case Nf4ErrorCode::size_mismatch: return "size mismatch";
    case Nf4ErrorCode::unsupported_dtype: return "unsupported dtype";
  }
  return "unknown nf4 error";
}

std::ostream& operator<<(std::ostream& os, Nf4ErrorCode code) { return os << to_string(code); }

Nf4Error::Nf4Error(ai_core::CoreError error) : code_(Nf4ErrorCode::core), core_(std::move(error)) {}

Nf4Error::Nf4Error(Nf4ErrorCode code, ai_core::CoreError core, std::optional<std::int64_t> element,
                   std::optional<std::int64_t> block)
    : code_(code), core_(std::move(core)), element_(element), block_(block) {}

Nf4Error Nf4Error::non_finite_input(std::int64_t element, std::int64_t block,
                                    std::int64_t block_size, double value, Location location) {
  const char* text = std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
  return {Nf4ErrorCode::non_finite_input,
          ai_core::CoreError::invalid_config(
              domain_message(
                  Nf4ErrorCode::non_finite_input,
                  ai_core::str_cat(text, " at element ", element, " (block ", block, ", offset ",
                                   element - block * block_size, " of ", block_size,
                                   "); expected finite values: NF4 scales each "
                                   "block by its largest magnitude")),
              location),
          element, block};
}

Nf4Error Nf4Error::empty_input(std::string what, Location location) {
  return {Nf4ErrorCode::empty_input,
          ai_core::CoreError::invalid_config(
              domain_message(Nf4ErrorCode::empty_input,
                             ai_core::str_cat(what,
                                              " has no elements; expected at least one (set "
                                              "Nf4Config::allow_empty to quantize empty tensors)")),
              location)};
}

Nf4Error Nf4Error::invalid_block_size(std::int64_t block_size, Location location) {
  return {Nf4ErrorCode::invalid_block_size,
          ai_core::CoreError::invalid_config(
              domain_message(Nf4ErrorCode::invalid_block_size,
                             ai_core::str_cat("block size ", block_size,
                                              " is not allowed; expected a power of two in "
                                              "[32, 4096]")),
              location)};
}

Nf4Error Nf4Error::size_mismatch(std::string what, std::int64_t expected, std::int64_t actual,
                                 std::string why, Location location) {
  return {Nf4ErrorCode::size_mismatch,
          ai_core::CoreError::shape_mismatch(
              {expected}, {actual},
              domain_message(Nf4ErrorCode::size_mismatch,
                             ai_core::str_cat(what, " has ", actual, " elements, expected ",
                                              expected, " (", why, ")")),
              location)};
}

Nf4Error Nf4Error::unsupported_dtype(std::string what, std::string_view dtype_name,
                                     Location location) {
  return {Nf4ErrorCode::unsupported_dtype,
          ai_core::CoreError::invalid_config(
              domain_message(
                  Nf4ErrorCode::unsupported_dtype,
                  ai_core::str_cat(what, " has dtype ", dtype_name, "; expected f32, f16 or bf16")),
              location)};
}

std::string Nf4Error::to_string() const { return core_.to_string(); }

std::ostream& operator<<(std::ostream& os, const Nf4Error& error) {
  return os << error.to_string();
}

}  // namespace nf4
