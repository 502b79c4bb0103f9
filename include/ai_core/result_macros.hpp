// SPDX-License-Identifier: MIT
// ai_core/result_macros.hpp: the propagation macros of `Result` (Abseil's status_macros.h idea).
//
//   AI_CORE_TRY(expr, context...)                   return the error of `expr`, if any
//   AI_CORE_ASSIGN_OR_RETURN(lhs, expr, context...) assign the value of `expr`, or return its error
//   AI_CORE_CHECK(cond, code, message...)           return a CoreError when `cond` is false
//
// They work in any function returning an `Expected` (<ai_core/expected.hpp>), and join their
// context and message arguments with `str_cat` (<ai_core/str_cat.hpp>). Kept apart from the type
// so that headers naming `Result` in their signatures do not define macros in their users' code.
//
// Example:
//   ai_core::Result<Adapter> load(std::string_view name) {
//     AI_CORE_ASSIGN_OR_RETURN(int rank, parse_rank(env), "reading AI_CORE_RANK");
//     AI_CORE_CHECK(rank <= 256, ErrorCode::invalid_config, "rank ", rank, " exceeds 256");
//     return Adapter{rank};
//   }
#pragma once

#include <ai_core/detail/config.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/str_cat.hpp>

#include <source_location>
#include <string>
#include <type_traits>
#include <utility>

namespace ai_core {

// --- helpers of the macros -----------------------------------------------------------------------

namespace detail {

// Note [cold error paths]
// Building an error (formatting its message, allocating it) is cold code. Inlined into the
// function that checks, it makes that function save registers and reserve stack in its prologue
// on the success path too. The macros therefore hand the error path to out-of-line functions
// marked cold: the checking function keeps only a compare, a branch and a call
// (docs/benchmarks.md, "Error layer", measures the difference). AI_CORE_INTERNAL_COLD is in
// <ai_core/detail/config.hpp>.

// Returns the error of `result` (moved from an rvalue, copied from an lvalue) as an Unexpected.
template <class R>
constexpr auto propagate_error(R&& result) {
  using Error = typename std::remove_cvref_t<R>::error_type;
  return Unexpected<Error>(std::forward<R>(result).error());
}

// The same, with the context line `str_cat(parts...)` appended (Note [cold error paths]).
template <class R, class First, class... Rest>
AI_CORE_INTERNAL_COLD auto propagate_error(R&& result, const First& first, const Rest&... rest) {
  using Error = typename std::remove_cvref_t<R>::error_type;
  static_assert(
      requires(Error & e) { e.with_context(std::declval<std::string>()); },
      "AI_CORE_TRY/AI_CORE_ASSIGN_OR_RETURN context arguments need an error type "
      "with a with_context(std::string) member (docs/errors.md, domain errors)");
  Error error(std::forward<R>(result).error());
  error.with_context(str_cat(first, rest...));
  return Unexpected<Error>(std::move(error));
}

// Makes AI_CORE_CHECK's error (Note [cold error paths]). At least one message part is required:
// a check without a message would produce an error that names nothing.
template <class First, class... Rest>
AI_CORE_INTERNAL_COLD Unexpected<CoreError> check_failed(ErrorCode code,
                                                         std::source_location location,
                                                         const First& first, const Rest&... rest) {
  return Unexpected<CoreError>(CoreError::from_code(code, str_cat(first, rest...), location));
}
template <class... None>
requires(sizeof...(None) == 0) Unexpected<CoreError> check_failed(ErrorCode code,
                                                                  std::source_location location) {
  static_assert(sizeof...(None) != 0,
                "AI_CORE_CHECK(cond, code, message...) needs a message: name the value seen and "
                "the value expected");
  return Unexpected<CoreError>(CoreError::from_code(code, {}, location));
}

}  // namespace detail
}  // namespace ai_core

/// Evaluates `expr` (any `Expected<U, E>`, e.g. a `Result<U>`) once; if it holds an error, returns
/// that error from the enclosing function, which must return an `Expected` whose error type can
/// be made from `E` (any `Result<V>`, or a domain error type that wraps CoreError). Optional
/// further arguments are joined with `ai_core::str_cat` and appended as a context line.
///
/// WARNING: expands to a statement (a `do { } while (false)` block) containing a `return`; the
/// value of `expr`, if any, is discarded. The temporary holding `expr`'s result dies at the end
/// of the statement. The context arguments are evaluated only on the error path.
///
/// Example:
///   AI_CORE_TRY(validate(weight), "loading adapter '", name, "'");
#define AI_CORE_TRY(expr, ...)                                                              \
  do {                                                                                      \
    auto&& ai_core_internal_try_result = (expr);                                            \
    if (!ai_core_internal_try_result.has_value()) [[unlikely]] {                            \
      return ::ai_core::detail::propagate_error(                                            \
          static_cast<decltype(ai_core_internal_try_result)&&>(ai_core_internal_try_result) \
              __VA_OPT__(, ) __VA_ARGS__);                                                  \
    }                                                                                       \
  } while (false)

/// Evaluates `expr` (any `Expected<U, E>`) once; on success assigns its value (moved out of an
/// rvalue) to `lhs`, which may be a declaration (`auto rank`, `const Tensor& t`) or an existing
/// variable; on error returns the error from the enclosing function like `AI_CORE_TRY`, with the
/// optional context arguments appended as a context line.
///
/// WARNING: expands to several statements (a declaration of a hidden variable, an `if` with a
/// `return`, the assignment), so it cannot be the body of an unbraced `if`/`for`. The result of
/// `expr` lives until the end of the enclosing scope (so `lhs` may be a reference into it).
/// `lhs` cannot contain a top-level comma (no structured bindings): name a variable instead.
///
/// Example:
///   AI_CORE_ASSIGN_OR_RETURN(auto rank, parse_rank(text), "reading AI_CORE_RANK");
#define AI_CORE_ASSIGN_OR_RETURN(lhs, expr, ...)                                                 \
  AI_CORE_INTERNAL_ASSIGN_OR_RETURN(AI_CORE_INTERNAL_CONCAT(ai_core_internal_result_, __LINE__), \
                                    lhs, expr __VA_OPT__(, ) __VA_ARGS__)
#define AI_CORE_INTERNAL_ASSIGN_OR_RETURN(result, lhs, expr, ...)                     \
  auto&& result = (expr);                                                             \
  if (!result.has_value()) [[unlikely]] {                                             \
    return ::ai_core::detail::propagate_error(static_cast<decltype(result)&&>(result) \
                                                  __VA_OPT__(, ) __VA_ARGS__);        \
  }                                                                                   \
  lhs = *static_cast<decltype(result)&&>(result)

/// Evaluates `cond` once; if false, returns from the enclosing function (which returns any
/// `Result<U>` or an `Expected` whose error can be made from CoreError) a CoreError with `code`
/// whose message is the remaining arguments joined with `ai_core::str_cat`, recorded at the
/// caller's source location. Name the value seen and the value expected in the message.
///
/// WARNING: expands to a statement (a `do { } while (false)` block) containing a `return`. The
/// message arguments are evaluated only when `cond` is false.
///
/// Example:
///   AI_CORE_CHECK(rank <= max_rank, ErrorCode::invalid_config,
///                 "rank ", rank, " exceeds the maximum ", max_rank);
#define AI_CORE_CHECK(cond, code, ...)                                           \
  do {                                                                           \
    if (!(cond)) [[unlikely]] {                                                  \
      return ::ai_core::detail::check_failed(                                    \
          (code), ::std::source_location::current() __VA_OPT__(, ) __VA_ARGS__); \
    }                                                                            \
  } while (false)
