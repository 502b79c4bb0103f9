// SPDX-License-Identifier: MIT
// ai_core/fmt.hpp: OPT-IN formatting of `ai_core::CoreError` and `ai_core::ErrorCode` with fmt
// and std::format. No other ai_core header includes it, so ai_core never forces an fmt version on
// its consumer (torch ships fmt 12 headers, a distribution's spdlog may use fmt 9: a translation
// unit that sees both breaks). Include it in a translation unit that already uses the fmt it wants:
// the formatters are written against the part of fmt's API that is the same from fmt 8 to fmt 12.
//
// - `fmt::formatter` specializations when <fmt/format.h> is reachable;
// - `std::formatter` specializations when the standard library has <format> (`__cpp_lib_format`).
//   These only specialize std's template: no ai_core type changes with -std.
// Both accept the string format specifications ("{:>40}"), applied to the whole text.
//
// Example:
//   #include <fmt/format.h>
//   #include <ai_core/fmt.hpp>
//   fmt::print("load failed: {}\n", result.error());
#pragma once

#include <ai_core/error.hpp>

#include <string>
#include <string_view>
#include <version>

#if __has_include(<fmt/format.h>)
#  include <fmt/format.h>

/// Formats an `ErrorCode` as `to_string(code)` ("shape mismatch").
template <>
struct fmt::formatter<ai_core::ErrorCode> {
  // Note [fmt formatter constness]: fmt 8's string formatter has a non-const `format`, fmt 11+
  // requires a const `format`, and fmt 12 parses in constant expressions (so no `mutable`
  // member). `format` casts the constness away, which is well defined: fmt's formatter objects
  // are never const objects (fmt makes a local formatter, parses, then formats).
  fmt::formatter<std::string_view> text;
  template <class ParseContext>
  constexpr auto parse(ParseContext& ctx) -> decltype(ctx.begin()) {
    return text.parse(ctx);
  }
  template <class FormatContext>
  auto format(ai_core::ErrorCode code, FormatContext& ctx) const -> decltype(ctx.out()) {
    return const_cast<fmt::formatter<std::string_view>&>(text).format(ai_core::to_string(code),
                                                                      ctx);
  }
};

/// Formats a `CoreError` as its `to_string()` (first line, then the indented context lines).
template <>
struct fmt::formatter<ai_core::CoreError> {
  fmt::formatter<std::string_view> text;  // Note [fmt formatter constness]
  template <class ParseContext>
  constexpr auto parse(ParseContext& ctx) -> decltype(ctx.begin()) {
    return text.parse(ctx);
  }
  template <class FormatContext>
  auto format(const ai_core::CoreError& error, FormatContext& ctx) const -> decltype(ctx.out()) {
    const std::string s = error.to_string();
    return const_cast<fmt::formatter<std::string_view>&>(text).format(std::string_view(s), ctx);
  }
};
#endif

#if defined(__cpp_lib_format)
#  include <format>

/// Formats an `ErrorCode` with std::format as `to_string(code)`.
template <>
struct std::formatter<ai_core::ErrorCode> : std::formatter<std::string_view> {
  auto format(ai_core::ErrorCode code, std::format_context& ctx) const {
    return std::formatter<std::string_view>::format(ai_core::to_string(code), ctx);
  }
};

/// Formats a `CoreError` with std::format as its `to_string()`.
template <>
struct std::formatter<ai_core::CoreError> : std::formatter<std::string_view> {
  auto format(const ai_core::CoreError& error, std::format_context& ctx) const {
    const std::string s = error.to_string();
    return std::formatter<std::string_view>::format(std::string_view(s), ctx);
  }
};
#endif
