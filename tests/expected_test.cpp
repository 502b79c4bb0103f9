// SPDX-License-Identifier: MIT
// Tests of <ai_core/expected.hpp>: Expected/Result with std::expected's interface, triviality,
// the deviations (implicit construction from CoreError, Exception from value()), the propagation
// macros in functions of several return types (each argument evaluated once), and the shipped
// matchers. Compiled twice: as C++20 (expected_test) and as C++23 (expected_cxx23_test), where it
// also tests the conversions to and from std::expected.
#include <ai_core/expected.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/testing/matchers.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#if defined(__has_include)
#  if __has_include(<expected>) && __cplusplus > 202002L
#    include <expected>
#  endif
#endif

namespace ai_core {
namespace {

using ::ai_core::testing::HasErrorCode;
using ::ai_core::testing::HasMessage;
using ::ai_core::testing::IsOk;
using ::ai_core::testing::IsOkAndHolds;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::Gt;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pointee;

// --- compile-time properties ---------------------------------------------------------------------

struct Pod {
  int a;
  float b;
};

// Triviality is preserved (the kokkos/mdspan idea: compile-only tests of layout properties).
static_assert(std::is_trivially_copyable_v<Expected<int, int>>);
static_assert(std::is_trivially_destructible_v<Expected<int, int>>);
static_assert(std::is_trivially_copy_constructible_v<Expected<Pod, ErrorCode>>);
static_assert(std::is_trivially_move_constructible_v<Expected<Pod, ErrorCode>>);
static_assert(std::is_trivially_copy_assignable_v<Expected<Pod, ErrorCode>>);
static_assert(std::is_trivially_move_assignable_v<Expected<Pod, ErrorCode>>);
static_assert(std::is_trivially_destructible_v<Expected<Pod, ErrorCode>>);
static_assert(std::is_trivially_copyable_v<Expected<void, int>>);
static_assert(std::is_trivially_destructible_v<Expected<void, ErrorCode>>);
static_assert(!std::is_trivially_destructible_v<Expected<std::string, int>>);
static_assert(!std::is_trivially_copy_constructible_v<Expected<int, std::string>>);
static_assert(!std::is_trivially_destructible_v<Result<int>>);
static_assert(std::is_nothrow_move_constructible_v<Result<int>>);
static_assert(std::is_nothrow_move_assignable_v<Result<int>>);
static_assert(std::is_nothrow_move_constructible_v<Result<void>>);
static_assert(!std::is_copy_constructible_v<Result<std::unique_ptr<int>>>);
static_assert(std::is_move_constructible_v<Result<std::unique_ptr<int>>>);
static_assert(std::is_nothrow_swappable_v<Result<int>>);

// Small: CoreError is one pointer, so Result<int> is two words (in C++20 and C++23 alike).
static_assert(sizeof(Result<int>) == 2 * sizeof(void*));
static_assert(sizeof(Result<void>) == 2 * sizeof(void*));
static_assert(sizeof(Expected<int, int>) == 2 * sizeof(int));

// The deviation: CoreError converts implicitly to any Result; a generic E does not.
static_assert(std::is_convertible_v<CoreError, Result<int>>);
static_assert(std::is_convertible_v<CoreError, Result<void>>);
static_assert(std::is_convertible_v<CoreError, Result<std::string>>);
static_assert(!std::is_convertible_v<std::string, Expected<int, std::string>>);
static_assert(std::is_convertible_v<Unexpected<std::string>, Expected<int, std::string>>);
// Values convert implicitly when T does; explicitly otherwise (std::vector(size_t) is explicit).
static_assert(std::is_convertible_v<int, Result<long>>);
static_assert(std::is_constructible_v<Result<std::vector<int>>, std::size_t>);
static_assert(!std::is_convertible_v<std::size_t, Result<std::vector<int>>>);
static_assert(std::is_convertible_v<Result<int>, Result<long>>);
static_assert(!std::is_convertible_v<Result<long>, Result<int*>>);
// No accidental conversions to bool or int.
static_assert(!std::is_convertible_v<Result<int>, bool>);
static_assert(!std::is_constructible_v<int, Result<int>>);
static_assert(std::is_same_v<Result<int>::value_type, int>);
static_assert(std::is_same_v<Result<int>::error_type, CoreError>);
static_assert(std::is_same_v<Result<int>::unexpected_type, Unexpected<CoreError>>);
static_assert(std::is_same_v<Result<int>::rebind<float>, Result<float>>);
static_assert(!ExpectedLike<Result<int>>);

// --- helpers -------------------------------------------------------------------------------------

// Throws from its copy constructor when asked to; moves never throw.
struct ThrowsOnCopy {
  int value = 0;
  bool throw_on_copy = false;
  ThrowsOnCopy(int v, bool t) : value(v), throw_on_copy(t) {}
  ThrowsOnCopy(const ThrowsOnCopy& other) : value(other.value), throw_on_copy(other.throw_on_copy) {
    if (throw_on_copy) throw std::runtime_error("copy failed");
  }
  ThrowsOnCopy(ThrowsOnCopy&&) noexcept = default;
  ThrowsOnCopy& operator=(const ThrowsOnCopy&) = default;
  ThrowsOnCopy& operator=(ThrowsOnCopy&&) noexcept = default;
};

// --- construction and observers ------------------------------------------------------------------

TEST(ExpectedTest, DefaultConstructsAValue) {
  Result<int> r;
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(*r, 0);
  Result<std::string> s;
  EXPECT_THAT(s, IsOkAndHolds(""));
}

TEST(ExpectedTest, HoldsAValue) {
  Result<std::string> r = std::string("adapter");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(*r, "adapter");
  EXPECT_EQ(r->size(), 7u);
  EXPECT_EQ(r.value(), "adapter");
  EXPECT_EQ(r.value_or("other"), "adapter");
  const auto& cr = r;
  EXPECT_EQ(cr->size(), 7u);
  EXPECT_EQ(*cr, "adapter");
  std::string moved = std::move(r).value();
  EXPECT_EQ(moved, "adapter");
}

TEST(ExpectedTest, HoldsAnError) {
  Result<int> r = CoreError::invalid_config("rank 0: expected a positive rank");
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::invalid_config);
  EXPECT_EQ(r.value_or(7), 7);
  EXPECT_THAT(r, HasErrorCode(ErrorCode::invalid_config));
  EXPECT_THAT(r, HasMessage("expected a positive rank"));
  const CoreError moved = std::move(r).error();
  EXPECT_EQ(moved.message(), "rank 0: expected a positive rank");
}

TEST(ExpectedTest, ValueOnAnErrorThrowsTheCoreError) {
  Result<int> r = CoreError::device_not_available(c10::Device("cuda:3"));
  try {
    (void)r.value();
    FAIL() << "value() did not throw";
  } catch (const Exception& e) {
    EXPECT_EQ(e.error(), r.error());
    EXPECT_STREQ(e.what(), "device not available: cuda:3");
  }
  const Result<int>& cr = r;
  EXPECT_THROW((void)cr.value(), Exception);
  EXPECT_THROW((void)std::move(r).value(), Exception);
  Result<void> v = CoreError::kernel_error("k");
  EXPECT_THROW(v.value(), Exception);
  EXPECT_THROW(std::move(v).value(), Exception);
}

TEST(ExpectedTest, ValueOnAGenericErrorThrowsBadExpectedAccess) {
  Expected<int, std::string> e = Unexpected(std::string("bad rank"));
  try {
    (void)e.value();
    FAIL() << "value() did not throw";
  } catch (const BadExpectedAccess<std::string>& caught) {
    EXPECT_EQ(caught.error(), "bad rank");
    EXPECT_STREQ(caught.what(), "ai_core::Expected::value() called on an error");
  }
  EXPECT_THROW((void)e.value(), BadExpectedAccess<void>);
  Expected<void, int> v = Unexpected(3);
  EXPECT_THROW(v.value(), BadExpectedAccess<int>);
}

TEST(ExpectedTest, UnexpectedWrapsAnError) {
  Unexpected u(std::string("x"));  // deduction guide
  static_assert(std::is_same_v<decltype(u), Unexpected<std::string>>);
  EXPECT_EQ(u.error(), "x");
  u.error() += "y";
  EXPECT_EQ(std::as_const(u).error(), "xy");
  Unexpected<std::string> in_place(std::in_place, 3, 'z');
  EXPECT_EQ(in_place.error(), "zzz");
  EXPECT_TRUE(u == Unexpected<std::string>("xy"));
  EXPECT_FALSE(u == in_place);
  swap(u, in_place);
  EXPECT_EQ(u.error(), "zzz");
  EXPECT_EQ(in_place.error(), "xy");
  std::string taken = std::move(u).error();
  EXPECT_EQ(taken, "zzz");
}

TEST(ExpectedTest, ConstructsInPlace) {
  Expected<std::vector<int>, int> list(std::in_place, {1, 2, 3});
  EXPECT_THAT(*list, ElementsAre(1, 2, 3));
  Expected<std::pair<int, std::string>, int> pair(std::in_place, 1, "one");
  EXPECT_EQ(pair->second, "one");
  Expected<int, std::string> error(unexpect, 3, 'e');
  EXPECT_EQ(error.error(), "eee");
  Expected<int, std::vector<int>> error_list(unexpect, {4, 5});
  EXPECT_THAT(error_list.error(), ElementsAre(4, 5));
  Result<int> core(unexpect, CoreError::kernel_error("k"));
  EXPECT_THAT(core, HasErrorCode(ErrorCode::kernel_error));
  Result<void> void_error(unexpect, CoreError::kernel_error("k"));
  EXPECT_FALSE(void_error);
  Result<void> void_ok(std::in_place);
  EXPECT_TRUE(void_ok);
}

TEST(ExpectedTest, ConvertsBetweenExpectedTypes) {
  Result<int> small = 3;
  Result<long> wide = small;
  EXPECT_EQ(*wide, 3L);
  Result<int> failed = CoreError::kernel_error("k");
  Result<long> wide_failed = failed;
  EXPECT_THAT(wide_failed, HasErrorCode(ErrorCode::kernel_error));
  Expected<const char*, CoreError> text = "lora";
  Result<std::string> owned = std::move(text);
  EXPECT_THAT(owned, IsOkAndHolds("lora"));
  Expected<int, const char*> c_error = Unexpected("boom");
  Expected<long, std::string> s_error = c_error;
  EXPECT_EQ(s_error.error(), "boom");
  Expected<void, const char*> v_error = Unexpected("v");
  Expected<void, std::string> v_string = v_error;
  EXPECT_EQ(v_string.error(), "v");
}

// --- copy, move, assignment ----------------------------------------------------------------------

TEST(ExpectedTest, CopiesAndMovesValuesAndErrors) {
  Result<std::string> value = std::string("v");
  Result<std::string> error = CoreError::kernel_error("e");
  Result<std::string> value_copy = value;
  Result<std::string> error_copy = error;
  EXPECT_EQ(value_copy, value);
  EXPECT_EQ(error_copy, error);
  Result<std::string> value_moved = std::move(value_copy);
  EXPECT_THAT(value_moved, IsOkAndHolds("v"));
  Result<std::unique_ptr<int>> owner = std::make_unique<int>(5);
  Result<std::unique_ptr<int>> new_owner = std::move(owner);
  EXPECT_THAT(new_owner, IsOkAndHolds(Pointee(5)));
}

TEST(ExpectedTest, AssignsAcrossValueAndError) {
  Result<std::string> r = std::string("v");
  const Result<std::string> error = CoreError::kernel_error("e");
  r = error;  // value <- error
  EXPECT_THAT(r, HasErrorCode(ErrorCode::kernel_error));
  r = Result<std::string>(std::string("w"));  // error <- value (move)
  EXPECT_THAT(r, IsOkAndHolds("w"));
  r = std::string("x");  // value <- value
  EXPECT_THAT(r, IsOkAndHolds("x"));
  r = Unexpected(CoreError::io(std::make_error_code(std::errc::io_error)));
  EXPECT_THAT(r, HasErrorCode(ErrorCode::io));
  r = Unexpected(CoreError::kernel_error("again"));  // error <- error
  EXPECT_THAT(r, HasMessage("again"));
  r = "y";  // error <- value (converting)
  EXPECT_THAT(r, IsOkAndHolds("y"));
  r = CoreError::not_implemented("z");  // through the implicit conversion
  EXPECT_THAT(r, HasErrorCode(ErrorCode::not_implemented));

  Result<void> v;
  v = Unexpected(CoreError::kernel_error("k"));
  EXPECT_FALSE(v);
  v = Result<void>();
  EXPECT_TRUE(v);
  const Result<void> v_error = CoreError::kernel_error("k2");
  v = v_error;
  EXPECT_THAT(v, HasMessage("k2"));
}

TEST(ExpectedTest, KeepsTheErrorWhenAssigningAValueThrows) {
  Expected<ThrowsOnCopy, CoreError> r = CoreError::kernel_error("kept");
  const ThrowsOnCopy throwing(1, true);
  EXPECT_THROW(r = throwing, std::runtime_error);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "kept");
  const Expected<ThrowsOnCopy, CoreError> source(std::in_place, 2, true);
  EXPECT_THROW(r = source, std::runtime_error);
  EXPECT_EQ(r.error().message(), "kept");
  r = ThrowsOnCopy(3, false);
  EXPECT_EQ(r->value, 3);
}

TEST(ExpectedTest, Emplaces) {
  Result<std::string> r = CoreError::kernel_error("k");
  // Like std::expected, emplace needs a nothrow construction (here: std::string's move).
  std::string& s = r.emplace(std::string(3, 'a'));
  EXPECT_EQ(s, "aaa");
  EXPECT_THAT(r, IsOkAndHolds("aaa"));
  struct Sum {
    int total = 0;
    Sum(std::initializer_list<int> list, int extra) noexcept : total(extra) {
      for (int v : list) total += v;
    }
  };
  Expected<Sum, int> sum = Unexpected(1);
  EXPECT_EQ(sum.emplace({7, 8}, 100).total, 115);
  EXPECT_TRUE(sum.has_value());
  Result<void> v = CoreError::kernel_error("k");
  v.emplace();
  EXPECT_TRUE(v);
}

TEST(ExpectedTest, Swaps) {
  Result<std::string> a = std::string("a");
  Result<std::string> b = std::string("b");
  a.swap(b);
  EXPECT_EQ(*a, "b");
  EXPECT_EQ(*b, "a");
  Result<std::string> e = CoreError::kernel_error("e");
  swap(a, e);  // value <-> error
  EXPECT_THAT(a, HasMessage("e"));
  EXPECT_THAT(e, IsOkAndHolds("b"));
  swap(a, e);  // error <-> value
  EXPECT_THAT(a, IsOkAndHolds("b"));
  EXPECT_THAT(e, HasMessage("e"));
  Result<std::string> f = CoreError::kernel_error("f");
  e.swap(f);  // error <-> error
  EXPECT_THAT(e, HasMessage("f"));
  EXPECT_THAT(f, HasMessage("e"));
  // An E whose move may throw: the other branch of the mixed swap.
  struct MayThrowMove {
    int v;
    explicit MayThrowMove(int x) : v(x) {}
    MayThrowMove(MayThrowMove&& o) noexcept(false) : v(o.v) {}
    MayThrowMove& operator=(MayThrowMove&& o) noexcept(false) {
      v = o.v;
      return *this;
    }
  };
  Expected<int, MayThrowMove> m = 4;
  Expected<int, MayThrowMove> n(unexpect, 5);
  m.swap(n);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().v, 5);
  EXPECT_EQ(*n, 4);

  Result<void> ok;
  Result<void> bad = CoreError::kernel_error("bad");
  ok.swap(bad);
  EXPECT_FALSE(ok);
  EXPECT_TRUE(bad);
  swap(ok, bad);
  EXPECT_TRUE(ok);
  EXPECT_THAT(bad, HasMessage("bad"));
}

// --- comparison ----------------------------------------------------------------------------------

TEST(ExpectedTest, Compares) {
  const Result<int> three = 3;
  const Result<long> three_long = 3L;
  const Result<int> failed = CoreError::kernel_error("k");
  EXPECT_TRUE(three == Result<int>(3));
  EXPECT_TRUE(three == three_long);
  EXPECT_TRUE(three != Result<int>(4));
  EXPECT_TRUE(three != failed);
  EXPECT_TRUE(failed == Result<int>(CoreError::kernel_error("k")));
  EXPECT_TRUE(failed != Result<int>(CoreError::kernel_error("other")));
  EXPECT_TRUE(three == 3);
  EXPECT_TRUE(3 == three);  // rewritten candidate
  EXPECT_TRUE(three != 4);
  EXPECT_FALSE(failed == 3);
  EXPECT_TRUE(failed == Unexpected(CoreError::kernel_error("k")));
  EXPECT_FALSE(three == Unexpected(CoreError::kernel_error("k")));
  EXPECT_TRUE(Result<void>() == Result<void>());
  EXPECT_TRUE(Result<void>() != Result<void>(CoreError::kernel_error("k")));
  EXPECT_TRUE(Result<void>(CoreError::kernel_error("k")) ==
              Unexpected(CoreError::kernel_error("k")));
}

// --- monadic operations --------------------------------------------------------------------------

Result<int> parse_positive(int x) {
  if (x <= 0) return CoreError::invalid_config(str_cat("got ", x, ", expected a positive value"));
  return x;
}

TEST(ExpectedTest, AndThenChainsOnValues) {
  int calls = 0;
  auto twice = [&](int v) -> Result<int> {
    ++calls;
    return v * 2;
  };
  EXPECT_THAT(parse_positive(4).and_then(twice), IsOkAndHolds(8));
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(parse_positive(-1).and_then(twice), HasMessage("got -1"));
  EXPECT_EQ(calls, 1);  // not called on an error
  const Result<int> c = 5;
  EXPECT_THAT(c.and_then(twice), IsOkAndHolds(10));
  EXPECT_THAT(Result<int>(6).and_then(parse_positive).and_then(twice), IsOkAndHolds(12));
  Result<std::unique_ptr<int>> owner = std::make_unique<int>(9);
  auto unwrap = [](std::unique_ptr<int>&& p) -> Result<int> { return *p; };
  EXPECT_THAT(std::move(owner).and_then(unwrap), IsOkAndHolds(9));
  Result<void> ok;
  EXPECT_THAT(ok.and_then([] { return Result<int>(1); }), IsOkAndHolds(1));
  Result<void> bad = CoreError::kernel_error("k");
  EXPECT_THAT(bad.and_then([] { return Result<int>(1); }), HasErrorCode(ErrorCode::kernel_error));
}

TEST(ExpectedTest, TransformMapsValues) {
  EXPECT_THAT(parse_positive(3).transform([](int v) { return v * 1.5; }), IsOkAndHolds(4.5));
  EXPECT_THAT(parse_positive(0).transform([](int v) { return v * 1.5; }),
              HasErrorCode(ErrorCode::invalid_config));
  int seen = 0;
  Result<void> done = parse_positive(2).transform([&](int v) { seen = v; });
  EXPECT_TRUE(done);
  EXPECT_EQ(seen, 2);
  Result<void> ok;
  EXPECT_THAT(ok.transform([] { return std::string("made"); }), IsOkAndHolds("made"));
  EXPECT_TRUE(ok.transform([] {}));
  const Result<void> bad = CoreError::kernel_error("k");
  EXPECT_FALSE(bad.transform([] { return 1; }));
}

TEST(ExpectedTest, OrElseRecoversFromErrors) {
  int calls = 0;
  auto fallback = [&](const CoreError& e) -> Result<int> {
    ++calls;
    if (e.code() == ErrorCode::invalid_config) return 1;
    return e;
  };
  EXPECT_THAT(parse_positive(-5).or_else(fallback), IsOkAndHolds(1));
  EXPECT_THAT(parse_positive(5).or_else(fallback), IsOkAndHolds(5));
  EXPECT_EQ(calls, 1);
  Result<int> kernel = CoreError::kernel_error("k");
  EXPECT_THAT(kernel.or_else(fallback), HasErrorCode(ErrorCode::kernel_error));
  Result<void> bad = CoreError::kernel_error("k");
  EXPECT_TRUE(bad.or_else([](const CoreError&) { return Result<void>(); }));
  EXPECT_TRUE(Result<void>().or_else([](CoreError e) -> Result<void> { return e; }));
}

TEST(ExpectedTest, TransformErrorMapsErrors) {
  auto code_of = [](const CoreError& e) { return e.code(); };
  Expected<int, ErrorCode> code = parse_positive(-1).transform_error(code_of);
  EXPECT_EQ(code.error(), ErrorCode::invalid_config);
  Expected<int, ErrorCode> value = parse_positive(1).transform_error(code_of);
  EXPECT_EQ(*value, 1);
  Expected<void, std::string> text =
      Result<void>(CoreError::kernel_error("k")).transform_error([](CoreError&& e) {
        return e.to_string();
      });
  EXPECT_EQ(text.error(), "kernel error: k");
  EXPECT_TRUE(Result<void>().transform_error(code_of));
}

TEST(ExpectedTest, ErrorOr) {
  const CoreError fallback = CoreError::kernel_error("fallback");
  EXPECT_EQ(parse_positive(1).error_or(fallback), fallback);
  EXPECT_EQ(parse_positive(0).error_or(fallback).code(), ErrorCode::invalid_config);
  EXPECT_EQ(Result<void>().error_or(fallback), fallback);
  using IntOrInt = Expected<int, int>;
  EXPECT_EQ(IntOrInt(Unexpected(4)).error_or(0), 4);
  EXPECT_EQ(IntOrInt(1).error_or(0), 0);
}

TEST(ExpectedTest, ReturnsCoreErrorsImplicitly) {
  auto make_text = [](bool fail) -> Result<std::string> {
    if (fail) return CoreError::not_implemented("text");
    return "text";
  };
  auto check = [](bool fail) -> Result<void> {
    if (fail) return CoreError::invalid_config("flag set");
    return {};
  };
  EXPECT_THAT(make_text(false), IsOkAndHolds("text"));
  EXPECT_THAT(make_text(true), HasErrorCode(ErrorCode::not_implemented));
  AI_CORE_EXPECT_OK(check(false));
  EXPECT_THAT(check(true), HasMessage("flag set"));
}

TEST(ExpectedTest, IsTheSameTypeInEveryLanguageMode) {
  // Both test binaries (C++20 and C++23) check the same mangled name and layout.
  EXPECT_STREQ(typeid(Result<int>).name(), "N7ai_core8ExpectedIiNS_9CoreErrorEEE");
  EXPECT_EQ(sizeof(Result<int>), 16u);
  EXPECT_EQ(alignof(Result<int>), 8u);
}

// --- propagation macros --------------------------------------------------------------------------

// A tiny domain error, to show the macros work across error types (examples/peft has the full
// pattern).
struct MiniError {
  int domain_code = 0;
  CoreError core;
  MiniError(CoreError e) : core(std::move(e)) {}  // NOLINT(google-explicit-constructor)
  MiniError(int code, CoreError e) : domain_code(code), core(std::move(e)) {}
  MiniError& with_context(std::string line) {
    core.with_context(std::move(line));
    return *this;
  }
  friend bool operator==(const MiniError&, const MiniError&) = default;
};

struct Counter {
  int calls = 0;
  Result<int> next(int value) {
    ++calls;
    return parse_positive(value);
  }
  Result<void> check(bool ok) {
    ++calls;
    if (!ok) return CoreError::kernel_error("check failed");
    return {};
  }
  std::string context() {
    ++calls;
    return "ctx";
  }
};

Result<int> try_int(Counter& c, int v) {
  AI_CORE_TRY(c.next(v));
  return v + 100;
}
Result<void> try_void(Counter& c, int v) {
  AI_CORE_TRY(c.next(v), "step ", 2, " of ", 3);
  return {};
}
Result<std::string> try_string_from_void(Counter& c, bool ok) {
  AI_CORE_TRY(c.check(ok), "checking");
  return "ok";
}
Result<std::unique_ptr<int>> try_move_only(Counter& c, int v) {
  AI_CORE_ASSIGN_OR_RETURN(int x, c.next(v));
  return std::make_unique<int>(x);
}
Expected<int, MiniError> try_domain(Counter& c, int v) {
  AI_CORE_TRY(c.next(v), "in the domain");
  return v;
}
Expected<int, MiniError> try_domain_from_domain(int v) {
  Expected<int, MiniError> inner = Unexpected(MiniError(7, CoreError::kernel_error("domain")));
  if (v > 0) inner = v;
  AI_CORE_ASSIGN_OR_RETURN(int x, inner, "outer");  // an lvalue: the error is copied
  return x;
}

TEST(MacroTest, TryReturnsTheErrorFromFunctionsOfSeveralReturnTypes) {
  Counter c;
  EXPECT_THAT(try_int(c, 1), IsOkAndHolds(101));
  EXPECT_THAT(try_int(c, -1), HasMessage("got -1"));
  AI_CORE_EXPECT_OK(try_void(c, 1));
  const Result<void> failed = try_void(c, -2);
  EXPECT_THAT(failed, HasErrorCode(ErrorCode::invalid_config));
  EXPECT_THAT(failed.error().context(), ElementsAre("step 2 of 3"));
  EXPECT_EQ(failed.error().to_string(),
            "invalid config: got -2, expected a positive value\n  step 2 of 3");
  EXPECT_THAT(try_string_from_void(c, true), IsOkAndHolds("ok"));
  EXPECT_THAT(try_string_from_void(c, false), HasMessage("check failed\n  checking"));
  EXPECT_THAT(try_move_only(c, 3), IsOkAndHolds(Pointee(3)));
  EXPECT_THAT(try_move_only(c, 0), HasErrorCode(ErrorCode::invalid_config));

  const Expected<int, MiniError> domain = try_domain(c, -3);
  ASSERT_FALSE(domain);
  EXPECT_EQ(domain.error().domain_code, 0);
  EXPECT_EQ(domain.error().core.to_string(),
            "invalid config: got -3, expected a positive value\n  in the domain");
  const Expected<int, MiniError> from_domain = try_domain_from_domain(0);
  EXPECT_EQ(from_domain.error().domain_code, 7);
  EXPECT_THAT(from_domain.error().core.context(), ElementsAre("outer"));
  EXPECT_EQ(*try_domain_from_domain(5), 5);
}

TEST(MacroTest, TryEvaluatesItsArgumentOnceAndContextOnlyOnError) {
  Counter c;
  auto run = [&](int v) -> Result<void> {
    AI_CORE_TRY(c.next(v), c.context());
    return {};
  };
  AI_CORE_EXPECT_OK(run(1));
  EXPECT_EQ(c.calls, 1);  // next() once, context() not at all
  EXPECT_THAT(run(-1), HasMessage("ctx"));
  EXPECT_EQ(c.calls, 3);  // next() once more, context() once
}

TEST(MacroTest, TryCopiesTheErrorOfAnLvalue) {
  const Result<int> stored = CoreError::kernel_error("stored");
  auto run = [&]() -> Result<void> {
    AI_CORE_TRY(stored, "propagated");
    return {};
  };
  EXPECT_THAT(run(), HasMessage("stored\n  propagated"));
  EXPECT_EQ(stored.error().to_string(), "kernel error: stored");  // untouched
}

TEST(MacroTest, AssignOrReturnAssignsOrReturns) {
  Counter c;
  auto sum = [&](int a, int b) -> Result<int> {
    AI_CORE_ASSIGN_OR_RETURN(const int x, c.next(a), "reading a=", a);
    int y = 0;
    AI_CORE_ASSIGN_OR_RETURN(y, c.next(b), "reading b=", b);  // an existing variable
    return x + y;
  };
  EXPECT_THAT(sum(2, 3), IsOkAndHolds(5));
  EXPECT_EQ(c.calls, 2);
  const Result<int> failed = sum(2, -3);
  EXPECT_EQ(c.calls, 4);
  EXPECT_THAT(failed.error().context(), ElementsAre("reading b=-3"));
  EXPECT_THAT(sum(-2, 3), HasMessage("got -2, expected a positive value\n  reading a=-2"));
  EXPECT_EQ(c.calls, 5);  // the second call never happened

  // A reference into the hidden result, which lives until the end of the scope.
  auto first_char = []() -> Result<char> {
    AI_CORE_ASSIGN_OR_RETURN(const std::string& text, Result<std::string>(std::string("lora")));
    return text[0];
  };
  EXPECT_THAT(first_char(), IsOkAndHolds('l'));
  // Move-only values are moved out of an rvalue result.
  auto unique = []() -> Result<int> {
    AI_CORE_ASSIGN_OR_RETURN(auto p, Result<std::unique_ptr<int>>(std::make_unique<int>(4)));
    return *p;
  };
  EXPECT_THAT(unique(), IsOkAndHolds(4));
}

Result<int> checked_rank(int rank, int max, int& evaluations) {
  AI_CORE_CHECK((++evaluations, rank <= max), ErrorCode::invalid_config, "rank ", rank,
                " exceeds the maximum ", max);
  return rank;
}

TEST(MacroTest, CheckRecordsTheCallersLocationAndMessage) {
  int evaluations = 0;
  EXPECT_THAT(checked_rank(8, 16, evaluations), IsOkAndHolds(8));
  EXPECT_EQ(evaluations, 1);
  const Result<int> failed = checked_rank(64, 16, evaluations);
  EXPECT_EQ(evaluations, 2);
  ASSERT_THAT(failed, HasErrorCode(ErrorCode::invalid_config));
  EXPECT_EQ(failed.error().message(), "rank 64 exceeds the maximum 16");
  EXPECT_THAT(failed.error().location().function_name(), HasSubstr("checked_rank"));
  EXPECT_THAT(failed.error().location().file_name(), HasSubstr("expected_test.cpp"));
  // The message arguments are evaluated only on failure.
  int message_evaluations = 0;
  auto count = [&] { return ++message_evaluations; };
  auto run = [&](bool ok) -> Result<void> {
    AI_CORE_CHECK(ok, ErrorCode::kernel_error, "call ", count());
    return {};
  };
  AI_CORE_EXPECT_OK(run(true));
  EXPECT_EQ(message_evaluations, 0);
  EXPECT_THAT(run(false), HasMessage("kernel error: call 1"));
  // In a function returning a domain error type.
  auto domain = [](int v) -> Expected<int, MiniError> {
    AI_CORE_CHECK(v > 0, ErrorCode::dimension_mismatch, "v=", v);
    return v;
  };
  EXPECT_EQ(domain(-1).error().core.code(), ErrorCode::dimension_mismatch);
}

TEST(MacroTest, CheckRecordsTheLineOfTheMacro) {
  int line = 0;
  auto inner = [&line]() -> Result<void> {
    line = __LINE__ + 1;
    AI_CORE_CHECK(false, ErrorCode::io, "never");
    return {};
  };
  const Result<void> result = inner();
  ASSERT_THAT(result, HasErrorCode(ErrorCode::io));
  EXPECT_EQ(result.error().location().line(), static_cast<std::uint_least32_t>(line));
}

// --- matchers ------------------------------------------------------------------------------------

TEST(MatchersTest, DescribeWhatTheyFound) {
  const Result<int> failed = CoreError::kernel_error("boom");
  EXPECT_FALSE(::testing::Value(failed, IsOk()));
  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(::testing::ExplainMatchResult(IsOkAndHolds(3), failed, &listener));
  EXPECT_THAT(listener.str(), HasSubstr("kernel error: boom"));
  ::testing::StringMatchResultListener value_listener;
  EXPECT_FALSE(::testing::ExplainMatchResult(IsOkAndHolds(Gt(5)), Result<int>(3), &value_listener));
  EXPECT_THAT(value_listener.str(), HasSubstr("3"));
  EXPECT_THAT(Result<int>(3), IsOkAndHolds(Eq(3)));
  EXPECT_THAT(Result<int>(3), Not(HasErrorCode(ErrorCode::kernel_error)));
  EXPECT_THAT(Result<int>(3), Not(HasMessage("")));
  EXPECT_THAT(::testing::DescribeMatcher<Result<int>>(IsOkAndHolds(3)),
              HasSubstr("holds a value that is equal to 3"));
  EXPECT_THAT(::testing::PrintToString(failed), HasSubstr("error kernel error: boom"));
  EXPECT_THAT(::testing::PrintToString(Result<int>(3)), HasSubstr("value 3"));
  AI_CORE_ASSERT_OK(Result<void>());
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto value, parse_positive(11));
  EXPECT_EQ(value, 11);
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto owned, Result<std::unique_ptr<int>>(std::make_unique<int>(2)));
  EXPECT_EQ(*owned, 2);
}

// --- C++23: std::expected ------------------------------------------------------------------------

#if defined(__cpp_lib_expected)
static_assert(ExpectedLike<std::expected<int, CoreError>>);
static_assert(std::is_convertible_v<Result<int>, std::expected<int, CoreError>>);
static_assert(std::is_convertible_v<std::expected<int, CoreError>, Result<int>>);
static_assert(std::is_convertible_v<Result<void>, std::expected<void, CoreError>>);
static_assert(std::is_convertible_v<std::expected<void, CoreError>, Result<void>>);
static_assert(std::is_convertible_v<const Result<int>&, std::expected<long, CoreError>>);
static_assert(!std::is_convertible_v<Result<int>, std::expected<int*, CoreError>>);

std::expected<int, CoreError> std_parse(int x) { return parse_positive(x); }  // Result -> std
Result<int> ai_core_parse(int x) { return std_parse(x); }                     // std -> Result

TEST(StdExpectedTest, ConvertsBothWays) {
  EXPECT_EQ(*std_parse(3), 3);
  EXPECT_EQ(std_parse(-3).error().code(), ErrorCode::invalid_config);
  EXPECT_THAT(ai_core_parse(4), IsOkAndHolds(4));
  EXPECT_THAT(ai_core_parse(-4), HasMessage("got -4"));
  Result<std::unique_ptr<int>> owner = std::make_unique<int>(1);
  std::expected<std::unique_ptr<int>, CoreError> std_owner = std::move(owner);
  EXPECT_EQ(**std_owner, 1);
  Result<std::unique_ptr<int>> back = std::move(std_owner);
  EXPECT_THAT(back, IsOkAndHolds(Pointee(1)));
  const Result<void> v = CoreError::kernel_error("v");
  std::expected<void, CoreError> std_v = v;
  EXPECT_EQ(std_v.error().message(), "v");
  Result<void> v_back = std_v;
  EXPECT_THAT(v_back, HasErrorCode(ErrorCode::kernel_error));
  std::expected<void, CoreError> std_ok = Result<void>();
  EXPECT_TRUE(std_ok.has_value());
}

TEST(StdExpectedTest, MacrosAcceptStdExpected) {
  auto run = [](int x) -> Result<int> {
    AI_CORE_ASSIGN_OR_RETURN(int v, std_parse(x), "via std::expected");
    return v * 3;
  };
  EXPECT_THAT(run(2), IsOkAndHolds(6));
  EXPECT_THAT(run(0), HasMessage("via std::expected"));
}
#endif

}  // namespace
}  // namespace ai_core
