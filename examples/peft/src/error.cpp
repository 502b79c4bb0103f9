// SPDX-License-Identifier: MIT
#include <peft/error.hpp>

#include <ai_core/str_cat.hpp>

#include <utility>

namespace peft {

std::string_view to_string(PeftErrorCode code) noexcept {
  switch (code) {
    case PeftErrorCode::core: return "core";
    case PeftErrorCode::adapter_not_found: return "adapter not found";
    case PeftErrorCode::rank_too_large: return "rank too large";
  }
  return "unknown peft error";
}

std::ostream& operator<<(std::ostream& os, PeftErrorCode code) { return os << to_string(code); }

PeftError::PeftError(ai_core::CoreError error)
    : code_(PeftErrorCode::core), detail_(std::monostate{}), core_(std::move(error)) {}

PeftError::PeftError(PeftErrorCode code,
                     std::variant<std::monostate, AdapterNotFound, RankTooLarge> detail,
                     ai_core::CoreError core)
    : code_(code), detail_(std::move(detail)), core_(std::move(core)) {}

PeftError PeftError::adapter_not_found(std::string name, Location location) {
  auto core = ai_core::CoreError::invalid_config(
      ai_core::str_cat("peft adapter not found: no adapter named '", name, "' is registered"),
      location);
  return PeftError(PeftErrorCode::adapter_not_found, AdapterNotFound{std::move(name)},
                   std::move(core));
}

PeftError PeftError::rank_too_large(std::int64_t rank, std::int64_t max, Location location) {
  auto core = ai_core::CoreError::invalid_config(
      ai_core::str_cat("peft rank too large: rank ", rank, " exceeds the maximum ", max), location);
  return PeftError(PeftErrorCode::rank_too_large, RankTooLarge{rank, max}, std::move(core));
}

std::ostream& operator<<(std::ostream& os, const PeftError& error) {
  return os << error.to_string();
}

}  // namespace peft
