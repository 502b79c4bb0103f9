// SPDX-License-Identifier: MIT
// ai_core/str_cat.hpp: `str_cat`, the text builder of error messages and context lines.
//
// `str_cat(parts...)` joins the text forms of its arguments without a stream for the common
// cases (strings, numbers in their shortest exact form, devices, shapes). The error factories'
// callers and the propagation macros' context arguments use it. Part of the error room: it
// includes nothing of ai_core's but the export and config headers.
//
// Example:
//   ai_core::str_cat("rank ", 64, " exceeds the maximum ", 32, " (adapter '", name, "')");
//   // "rank 64 exceeds the maximum 32 (adapter 'q_proj')"
#pragma once

#include <ai_core/detail/config.hpp>
#include <ai_core/export.hpp>

#include <c10/core/Device.h>

#include <concepts>
#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

namespace ai_core {
namespace detail {

/// Streams `value` through `write` into a string (ostringstream lives in the compiled library, so
/// this header need not include <sstream>).
[[nodiscard]] AI_CORE_API std::string stream_to_string(void (*write)(std::ostream&, const void*),
                                                       const void* value);

// Append numbers in their shortest exact form (std::to_chars). Out of line: message building is
// cold code, and inlined std::string appends after std::to_chars trip g++ 12's -Wrestrict false
// positive at -O3 (GCC bug 105329).
AI_CORE_API void append_signed(std::string& out, long long value);
AI_CORE_API void append_unsigned(std::string& out, unsigned long long value);
AI_CORE_API void append_float(std::string& out, float value);
AI_CORE_API void append_double(std::string& out, double value);

// A type with a `to_string` found by argument-dependent lookup that returns text (`ErrorCode`,
// `CoreError`): cheaper than a stream, and the error types need not be known here.
template <class T>
concept HasToString = requires(const T& value) {
  { to_string(value) } -> std::convertible_to<std::string_view>;
};

template <class R>
concept IntegerRange = requires(const R& r) {
  r.begin() != r.end();
  requires std::is_integral_v<std::remove_cvref_t<decltype(*r.begin())>>;
};

template <class T>
void str_append(std::string& out, const T& value) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    out += value ? "true" : "false";
  } else if constexpr (std::is_same_v<U, char>) {
    out += value;
  } else if constexpr (std::is_same_v<U, std::nullptr_t>) {
    out += "nullptr";
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out += std::string_view(value);
  } else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) {
    append_signed(out, static_cast<long long>(value));
  } else if constexpr (std::is_integral_v<U>) {
    append_unsigned(out, static_cast<unsigned long long>(value));
  } else if constexpr (std::is_same_v<U, float>) {
    append_float(out, value);
  } else if constexpr (std::is_floating_point_v<U>) {
    append_double(out, static_cast<double>(value));
  } else if constexpr (HasToString<U>) {
    out += std::string_view(to_string(value));
  } else if constexpr (std::is_same_v<U, c10::Device>) {
    out += value.str();
  } else if constexpr (IntegerRange<U>) {
    out += '[';
    bool first = true;
    for (const auto& element : value) {
      if (!first) out += ", ";
      first = false;
      str_append(out, element);
    }
    out += ']';
  } else if constexpr (requires(std::ostream & os) { os << value; }) {
    out += stream_to_string(
        [](std::ostream& os, const void* p) { os << *static_cast<const U*>(p); }, &value);
  } else {
    static_assert(dependent_false<T>,
                  "ai_core::str_cat: no text form for this type (give it an operator<<)");
  }
}

}  // namespace detail

/// Returns the concatenation of the text forms of `parts`: strings as they are, integers and
/// floating-point numbers in their shortest exact form (long double as double), `bool` as
/// true/false, `c10::Device` as "cuda:0", a type with a `to_string` found by argument-dependent
/// lookup (`ErrorCode`, `CoreError`) as that text, ranges of integers (shapes, `c10::IntArrayRef`)
/// as "[2, 3]", and anything else through its `operator<<`. Used by the factories' callers and the
/// macros' context arguments.
///
/// Example:
///   ai_core::str_cat("rank ", 64, " exceeds the maximum ", 32, " (adapter '", name, "')");
template <class... Parts>
[[nodiscard]] std::string str_cat(const Parts&... parts) {
  std::string out;
  (detail::str_append(out, parts), ...);
  return out;
}

}  // namespace ai_core
