// SPDX-License-Identifier: MIT
// Private to src/: the strict parsers of environment values that device selection (device.cpp)
// and the distributed environment (distributed/distributed_env.cpp) share, so that every variable
// ai_core reads accepts the same spellings and is reported the same way. Not installed. Exported
// from the core library (as `detail::`, no stability promise) because ai_core::distributed is a
// separate library.
#pragma once

#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>

#include <string>
#include <string_view>

namespace ai_core::detail {

// Parses a boolean: 1/0, true/false, yes/no, on/off in any case, nothing else (no spaces). An
// `invalid_config` error otherwise: "NAME='value' is not a boolean: expected ...".
AI_CORE_API Result<bool> parse_env_bool(std::string_view name, std::string_view value);

// Parses a decimal integer from 0 to `max` (digits only: no sign, no spaces, no hex). An
// `invalid_config` error otherwise: "NAME='value' is not `what`: expected a decimal integer from
// 0 to `max`".
AI_CORE_API Result<int> parse_env_decimal(std::string_view name, std::string_view value, int max,
                                          std::string_view what);

// Returns `value` in single quotes, control and non-ASCII bytes escaped (device_probe.cpp).
AI_CORE_API std::string quote(std::string_view value);

}  // namespace ai_core::detail
