// SPDX-License-Identifier: MIT
// src/json_internal.hpp: the one JSON string writer: the doctor's report, the run metadata, the
// Chrome trace and the metrics records.
//
// `append_json_string` writes any byte string as a valid JSON string literal: it decodes UTF-8 by
// code point, escapes `"`, `\` and the control characters (U+0000..U+001F, plus U+007F and the
// U+2028/U+2029 separators that JavaScript readers trip on), and writes each byte that is not
// part of a well-formed UTF-8 sequence (stray continuation bytes, overlong forms, surrogates,
// code points above U+10FFFF, truncated sequences) as U+FFFD, so a host name or an environment
// value in another encoding never makes the document unreadable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ai_core::detail {

/// Returns the length of the well-formed UTF-8 sequence starting at `text[i]` (1 to 4) and its
/// code point, or 0 when the bytes there are not one (RFC 3629, Table 3-7 of Unicode).
inline std::size_t utf8_sequence(std::string_view text, std::size_t i, char32_t& code_point) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  }
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // Overlong below U+0800.
    if (lead == 0xED) high = 0x9F;  // UTF-16 surrogates.
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // Overlong below U+10000.
    if (lead == 0xF4) high = 0x8F;  // Above U+10FFFF.
  } else {
    return 0;
  }
  if (text.size() - i < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
  }
  char32_t value = lead & (0xFF >> (length + 1));
  for (std::size_t k = 1; k < length; ++k) value = (value << 6) | (byte(k) & 0x3F);
  code_point = value;
  return length;
}

/// How `append_json_string` writes what is not plain ASCII.
struct JsonStringOptions {
  /// Writes every code point outside printable ASCII as a \uXXXX escape (a surrogate pair above
  /// U+FFFF), so the document is ASCII; otherwise well-formed UTF-8 is copied as it is.
  bool ascii = false;
  /// Set to true when a byte was not part of well-formed UTF-8 (and became U+FFFD).
  bool* replaced = nullptr;
};

/// Appends the \uXXXX escape of the UTF-16 unit `unit`.
inline void append_json_u_escape(std::string& out, unsigned unit) {
  constexpr char kHex[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(unit >> shift) & 0xF];
}

/// Appends `text` to `out` as a quoted JSON string (see the banner).
inline void append_json_string(std::string& out, std::string_view text,
                               JsonStringOptions options = {}) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    // Runs of printable ASCII other than '"' and '\\' (most names and values) are copied whole.
    std::size_t plain = i;
    while (plain < text.size()) {
      const auto byte = static_cast<unsigned char>(text[plain]);
      if (byte < 0x20 || byte >= 0x7F || byte == '"' || byte == '\\') break;
      ++plain;
    }
    if (plain != i) {
      out.append(text.data() + i, plain - i);
      i = plain;
      continue;
    }
    char32_t code_point = 0;
    const std::size_t length = utf8_sequence(text, i, code_point);
    if (length == 0) {
      append_json_u_escape(out, 0xFFFD);
      if (options.replaced != nullptr) *options.replaced = true;
      ++i;
      continue;
    }
    switch (code_point) {
      case U'"': out += "\\\""; break;
      case U'\\': out += "\\\\"; break;
      case U'\n': out += "\\n"; break;
      case U'\r': out += "\\r"; break;
      case U'\t': out += "\\t"; break;
      case U'\b': out += "\\b"; break;
      case U'\f': out += "\\f"; break;
      default:
        if (code_point < 0x20 || code_point == 0x7F || code_point == 0x2028 ||
            code_point == 0x2029 || (options.ascii && code_point > 0x7F && code_point <= 0xFFFF)) {
          append_json_u_escape(out, static_cast<unsigned>(code_point));
        } else if (options.ascii && code_point > 0xFFFF) {
          const char32_t v = code_point - 0x10000;
          append_json_u_escape(out, static_cast<unsigned>(0xD800 + (v >> 10)));
          append_json_u_escape(out, static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
        } else {
          out.append(text.substr(i, length));
        }
    }
    i += length;
  }
  out += '"';
}

/// Returns `text` as a quoted JSON string.
inline std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

}  // namespace ai_core::detail
