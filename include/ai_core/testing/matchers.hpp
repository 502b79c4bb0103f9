// SPDX-License-Identifier: MIT
// ai_core/testing/matchers.hpp: GoogleTest helpers for code that returns `ai_core::Result`
// (target `ai_core::testing`), in the style of Abseil's status matchers.
//
//   AI_CORE_EXPECT_OK(expr) / AI_CORE_ASSERT_OK(expr)     the Expected holds a value
//   AI_CORE_ASSERT_OK_AND_ASSIGN(lhs, expr)               ...and assign it to `lhs`
//   IsOk()                 matches an Expected holding a value
//   IsOkAndHolds(m)        ...whose value matches `m`
//   HasErrorCode(code)     matches an Expected holding an error (or an error) with `code()==code`
//   HasMessage(substr)     matches an Expected holding an error (or an error) whose `to_string()`
//                          (code name, message, context lines) contains `substr`
// There is on purpose no "is not OK" matcher: a test should say which error it expects.
// The matchers work with any `Expected<T, E>` whose `E` has `code()` and `to_string()` (CoreError
// and the domain errors of docs/errors.md).
//
// Example:
//   EXPECT_THAT(parse_rank("abc"), HasErrorCode(ai_core::ErrorCode::invalid_config));
//   EXPECT_THAT(parse_rank("8"), IsOkAndHolds(8));
#pragma once

#include <ai_core/detail/config.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

namespace ai_core {

namespace testing {
namespace internal {

/// Returns the text of an error: its `to_string()` when it has one, else GoogleTest's printout.
template <class E>
std::string error_text(const E& error) {
  if constexpr (requires {
                  { error.to_string() } -> std::convertible_to<std::string>;
                }) {
    return error.to_string();
  } else {
    return ::testing::PrintToString(error);
  }
}

/// The error of an Expected, or the argument itself when it is an error.
template <class X>
const auto* error_of(const X& x) {
  if constexpr (detail::is_expected<X>) {
    return x.has_value() ? nullptr : &x.error();
  } else {
    return &x;
  }
}

class IsOkMatcher {
 public:
  template <class X>
  bool MatchAndExplain(const X& result, ::testing::MatchResultListener* listener) const {
    if (result.has_value()) return true;
    *listener << "which holds the error: " << error_text(result.error());
    return false;
  }
  void DescribeTo(std::ostream* os) const { *os << "holds a value"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "holds an error"; }
};

template <class X, class InnerMatcher>
class IsOkAndHoldsImpl : public ::testing::MatcherInterface<const X&> {
 public:
  using Value = typename X::value_type;
  explicit IsOkAndHoldsImpl(const InnerMatcher& inner)
      : inner_(::testing::SafeMatcherCast<const Value&>(inner)) {}

  bool MatchAndExplain(const X& result, ::testing::MatchResultListener* listener) const override {
    if (!result.has_value()) {
      *listener << "which holds the error: " << error_text(result.error());
      return false;
    }
    ::testing::StringMatchResultListener inner_listener;
    const bool matches = inner_.MatchAndExplain(*result, &inner_listener);
    const std::string explanation = inner_listener.str();
    *listener << "which holds the value " << ::testing::PrintToString(*result);
    if (!explanation.empty()) *listener << ", " << explanation;
    return matches;
  }
  void DescribeTo(std::ostream* os) const override {
    *os << "holds a value that ";
    inner_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "holds an error or a value that ";
    inner_.DescribeNegationTo(os);
  }

 private:
  ::testing::Matcher<const Value&> inner_;
};

template <class InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}
  template <class X>
  operator ::testing::Matcher<X>() const {  // NOLINT(google-explicit-constructor): gmock idiom.
    using Plain = std::remove_cvref_t<X>;
    return ::testing::Matcher<X>(new IsOkAndHoldsImpl<Plain, InnerMatcher>(inner_));
  }

 private:
  InnerMatcher inner_;
};

template <class Code>
class HasErrorCodeMatcher {
 public:
  explicit HasErrorCodeMatcher(Code code) : code_(code) {}
  template <class X>
  bool MatchAndExplain(const X& x, ::testing::MatchResultListener* listener) const {
    const auto* error = error_of(x);
    if (error == nullptr) {
      *listener << "which holds a value";
      return false;
    }
    *listener << "which holds the error: " << error_text(*error);
    return error->code() == code_;
  }
  void DescribeTo(std::ostream* os) const {
    *os << "holds an error with code " << ::testing::PrintToString(code_);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "holds a value or an error whose code is not " << ::testing::PrintToString(code_);
  }

 private:
  Code code_;
};

class HasMessageMatcher {
 public:
  explicit HasMessageMatcher(std::string substring) : substring_(std::move(substring)) {}
  template <class X>
  bool MatchAndExplain(const X& x, ::testing::MatchResultListener* listener) const {
    const auto* error = error_of(x);
    if (error == nullptr) {
      *listener << "which holds a value";
      return false;
    }
    const std::string text = error_text(*error);
    *listener << "which holds the error: " << text;
    return text.find(substring_) != std::string::npos;
  }
  void DescribeTo(std::ostream* os) const {
    *os << "holds an error whose text contains \"" << substring_ << '"';
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "holds a value or an error whose text does not contain \"" << substring_ << '"';
  }

 private:
  std::string substring_;
};

}  // namespace internal

/// Returns a matcher of an `Expected` that holds a value.
inline ::testing::PolymorphicMatcher<internal::IsOkMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(internal::IsOkMatcher());
}

/// Returns a matcher of an `Expected` that holds a value matching `inner` (a matcher or a value).
template <class InnerMatcher>
internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>> IsOkAndHolds(InnerMatcher&& inner) {
  return internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>>(
      std::forward<InnerMatcher>(inner));
}

/// Returns a matcher of an `Expected` holding an error, or of an error, whose `code()` equals
/// `code` (an `ai_core::ErrorCode`, or a domain error's code).
template <class Code>
::testing::PolymorphicMatcher<internal::HasErrorCodeMatcher<Code>> HasErrorCode(Code code) {
  return ::testing::MakePolymorphicMatcher(internal::HasErrorCodeMatcher<Code>(code));
}

/// Returns a matcher of an `Expected` holding an error, or of an error, whose `to_string()` (code
/// name, message and context lines) contains `substring`.
inline ::testing::PolymorphicMatcher<internal::HasMessageMatcher> HasMessage(
    std::string substring) {
  return ::testing::MakePolymorphicMatcher(internal::HasMessageMatcher(std::move(substring)));
}

}  // namespace testing

/// Prints an Expected for GoogleTest: "value <v>" or "error <to_string()>".
template <class T, class E>
void PrintTo(const Expected<T, E>& result, std::ostream* os) {
  if (result.has_value()) {
    if constexpr (std::is_void_v<T>) {
      *os << "value (void)";
    } else {
      *os << "value " << ::testing::PrintToString(*result);
    }
  } else {
    *os << "error " << testing::internal::error_text(result.error());
  }
}

}  // namespace ai_core

/// Expects (non-fatal) that `expr`, an `Expected`, holds a value; prints the error otherwise.
///
/// WARNING: evaluates `expr` once, inside an EXPECT_THAT.
#define AI_CORE_EXPECT_OK(expr) EXPECT_THAT((expr), ::ai_core::testing::IsOk())

/// Asserts (fatal: returns from the test function) that `expr` holds a value.
///
/// WARNING: evaluates `expr` once, inside an ASSERT_THAT, which returns from the enclosing
/// (void) function on failure.
#define AI_CORE_ASSERT_OK(expr) ASSERT_THAT((expr), ::ai_core::testing::IsOk())

/// Asserts that `expr` (an `Expected`) holds a value, and assigns it (moved out of an rvalue) to
/// `lhs`, which may be a declaration (`auto value`).
///
/// WARNING: expands to several statements (a hidden variable holding `expr`'s result, which lives
/// until the end of the enclosing scope, an ASSERT, the assignment); it cannot be the body of an
/// unbraced `if`. Evaluates `expr` once.
#define AI_CORE_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  AI_CORE_INTERNAL_ASSERT_OK_AND_ASSIGN(        \
      AI_CORE_INTERNAL_CONCAT(ai_core_internal_assert_result_, __LINE__), lhs, expr)
#define AI_CORE_INTERNAL_ASSERT_OK_AND_ASSIGN(result, lhs, expr)                               \
  auto&& result = (expr);                                                                      \
  ASSERT_TRUE(result.has_value()) << #expr << " holds the error: "                             \
                                  << ::ai_core::testing::internal::error_text(result.error()); \
  lhs = *static_cast<decltype(result)&&>(result)
