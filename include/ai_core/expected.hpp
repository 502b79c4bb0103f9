// SPDX-License-Identifier: MIT
// ai_core/expected.hpp: `Expected<T, E>` and `Result<T>`; the propagation macros that go with
// them (`AI_CORE_TRY`, `AI_CORE_ASSIGN_OR_RETURN`, `AI_CORE_CHECK`) are in
// <ai_core/result_macros.hpp>, so a header that only names `Result` defines no macros.
//
// `ai_core::Expected<T, E>` has std::expected's interface (C++23) and is ai_core's own type, so it
// is the SAME type in every translation unit whatever the language mode: nvcc compiles C++20,
// where std::expected does not exist, and a C++20 and a C++23 TU may exchange `Result`s (Note
// [one type in every mode]). `Result<T>` is `Expected<T, CoreError>`, `Result<void>` included.
//
// Deviations from std::expected, on purpose:
//   - An `E` that opts in with `enable_implicit_error<E>` (CoreError does) converts implicitly to
//     `Expected<T, E>`, like absl::StatusOr: `return CoreError::invalid_config("...");` works in
//     any function returning `Result<T>` (unless `T` itself is constructible from the error).
//   - `value()` on an error throws `ai_core::Exception` when `E` is CoreError (it carries the
//     error), `BadExpectedAccess<E>` otherwise.
//   - It converts implicitly from and to any std::expected-like type (`std::expected<T, E>` in
//     C++23 code) through templates that are identical in every mode (`ExpectedLike`).
//
// Example (the macros come from <ai_core/result_macros.hpp>):
//   ai_core::Result<int> parse_rank(std::string_view text);
//   ai_core::Result<Adapter> load(std::string_view name) {
//     AI_CORE_ASSIGN_OR_RETURN(int rank, parse_rank(env), "reading AI_CORE_RANK");
//     AI_CORE_CHECK(rank <= 256, ErrorCode::invalid_config, "rank ", rank, " exceeds 256");
//     return Adapter{rank};
//   }
#pragma once

#include <ai_core/error.hpp>

#include <concepts>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <utility>

// Note [one type in every mode]
// A public type that changes with -std (a member present only when std::expected exists, a base
// class chosen by __cplusplus) is an ODR violation the moment a C++20 and a C++23 TU meet; fmt
// learned this (a public type never changes with -std). Everything in this header is identical
// in every mode. The conversions to and from std::expected are generic templates constrained on
// `ExpectedLike` (member types value_type/error_type/unexpected_type, has_value(), error()), which
// match std::expected where it exists and nothing differs where it does not.

namespace ai_core {

template <class E>
class Unexpected;
template <class T, class E>
class Expected;

/// Result of an ai_core operation: a `T` or a CoreError.
template <class T>
using Result = Expected<T, CoreError>;

/// Tag selecting the error constructors of `Expected` (std::unexpect_t's counterpart).
struct unexpect_t {
  explicit unexpect_t() = default;
};
/// The `unexpect_t` value.
inline constexpr unexpect_t unexpect{};

/// Opt-in: when true, an `E` (or anything implicitly convertible to `E` that `T` cannot be made
/// from) converts implicitly to `Expected<T, E>`. True for CoreError; a domain error type may
/// specialize it (docs/errors.md, "Domain errors").
template <class E>
inline constexpr bool enable_implicit_error = false;
template <>
inline constexpr bool enable_implicit_error<CoreError> = true;

namespace detail {
template <class X>
inline constexpr bool is_expected = false;
template <class T, class E>
inline constexpr bool is_expected<Expected<T, E>> = true;
template <class X>
inline constexpr bool is_unexpected = false;
template <class E>
inline constexpr bool is_unexpected<Unexpected<E>> = true;

template <class T, class W>
inline constexpr bool converts_from_any_cvref =
    std::disjunction_v<std::is_constructible<T, W&>, std::is_convertible<W&, T>,
                       std::is_constructible<T, W>, std::is_convertible<W, T>,
                       std::is_constructible<T, const W&>, std::is_convertible<const W&, T>,
                       std::is_constructible<T, const W>, std::is_convertible<const W, T>>;

template <class T, class U>
concept EqualityComparableWith = requires(const T& t, const U& u) {
  { t == u } -> std::convertible_to<bool>;
};
}  // namespace detail

/// Satisfied by std::expected-like types other than `ai_core::Expected`: `std::expected` in
/// C++23 code, `tl::expected`. Used for the conversions (Note [one type in every mode]).
template <class X>
concept ExpectedLike =
    !detail::is_expected<std::remove_cvref_t<X>> && requires(const std::remove_cvref_t<X>& x) {
  typename std::remove_cvref_t<X>::value_type;
  typename std::remove_cvref_t<X>::error_type;
  typename std::remove_cvref_t<X>::unexpected_type;
  { x.has_value() } -> std::convertible_to<bool>;
  x.error();
};

// --- Unexpected ----------------------------------------------------------------------------------

/// An error value to construct an `Expected` from (std::unexpected's counterpart).
///
/// Example:
///   return ai_core::Unexpected(ai_core::CoreError::kernel_error("launch failed"));
template <class E>
class Unexpected {
  static_assert(std::is_object_v<E> && !std::is_array_v<E> && !std::is_const_v<E> &&
                    !std::is_volatile_v<E> && !detail::is_unexpected<E>,
                "ai_core::Unexpected<E>: E must be a non-const, non-volatile object type");

 public:
  constexpr Unexpected(const Unexpected&) = default;
  constexpr Unexpected(Unexpected&&) = default;

  /// Wraps `error`.
  template <class G = E>
  requires(!std::is_same_v<std::remove_cvref_t<G>, Unexpected> &&
           !std::is_same_v<std::remove_cvref_t<G>, std::in_place_t> &&
           std::is_constructible_v<E, G>) constexpr explicit Unexpected(G&& error)
      : error_(std::forward<G>(error)) {}

  /// Constructs the error in place from `args`.
  template <class... Args>
  requires std::is_constructible_v<E, Args...>
  constexpr explicit Unexpected(std::in_place_t, Args&&... args)
      : error_(std::forward<Args>(args)...) {}

  constexpr Unexpected& operator=(const Unexpected&) = default;
  constexpr Unexpected& operator=(Unexpected&&) = default;

  /// Returns the error.
  [[nodiscard]] constexpr const E& error() const& noexcept { return error_; }
  [[nodiscard]] constexpr E& error() & noexcept { return error_; }
  [[nodiscard]] constexpr const E&& error() const&& noexcept { return std::move(error_); }
  [[nodiscard]] constexpr E&& error() && noexcept { return std::move(error_); }

  /// Swaps the errors.
  constexpr void swap(Unexpected& other) noexcept(std::is_nothrow_swappable_v<E>) {
    using std::swap;
    swap(error_, other.error_);
  }
  friend constexpr void swap(Unexpected& a, Unexpected& b) noexcept(noexcept(a.swap(b))) {
    a.swap(b);
  }

  /// Compares the errors.
  template <class E2>
  friend constexpr bool operator==(const Unexpected& a, const Unexpected<E2>& b) {
    return a.error() == b.error();
  }

 private:
  E error_;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

// --- BadExpectedAccess ---------------------------------------------------------------------------

template <class E>
class BadExpectedAccess;

/// Thrown by `Expected<T, E>::value()` on an error when `E` is not CoreError (for CoreError it is
/// `ai_core::Exception`). Catch `BadExpectedAccess<void>` for any `E`.
template <>
class BadExpectedAccess<void> : public std::exception {
 public:
  /// Returns a fixed description.
  [[nodiscard]] const char* what() const noexcept override {
    return "ai_core::Expected::value() called on an error";
  }
};

/// `BadExpectedAccess` carrying the error.
template <class E>
class BadExpectedAccess : public BadExpectedAccess<void> {
 public:
  /// Wraps `error`.
  explicit BadExpectedAccess(E error) : error_(std::move(error)) {}
  /// Returns the error.
  [[nodiscard]] const E& error() const& noexcept { return error_; }
  [[nodiscard]] E& error() & noexcept { return error_; }
  [[nodiscard]] E&& error() && noexcept { return std::move(error_); }

 private:
  E error_;
};

namespace detail {
template <class G>
[[noreturn]] void throw_bad_expected_access(G&& error) {
  if constexpr (std::is_same_v<std::remove_cvref_t<G>, CoreError>) {
    throw Exception(std::forward<G>(error));
  } else {
    throw BadExpectedAccess<std::remove_cvref_t<G>>(std::forward<G>(error));
  }
}

// Destroys *old_value and constructs *new_value from args, leaving *old_value intact if the
// construction throws (std::expected's reinit-expected).
template <class New, class Old, class... Args>
constexpr void reinit_expected(New* new_value, Old* old_value, Args&&... args) {
  if constexpr (std::is_nothrow_constructible_v<New, Args...>) {
    std::destroy_at(old_value);
    std::construct_at(new_value, std::forward<Args>(args)...);
  } else if constexpr (std::is_nothrow_move_constructible_v<New>) {
    New temporary(std::forward<Args>(args)...);
    std::destroy_at(old_value);
    std::construct_at(new_value, std::move(temporary));
  } else {
    Old saved(std::move(*old_value));
    std::destroy_at(old_value);
    try {
      std::construct_at(new_value, std::forward<Args>(args)...);
    } catch (...) {
      std::construct_at(old_value, std::move(saved));
      throw;
    }
  }
}
}  // namespace detail

// --- Expected<T, E> ------------------------------------------------------------------------------

/// A `T` or an error `E`, with std::expected's interface (see the header comment for the
/// deviations). Trivially copyable/destructible when `T` and `E` are. `[[nodiscard]]`: a
/// discarded Expected is a discarded error.
template <class T, class E>
class [[nodiscard]] Expected {
  static_assert(!std::is_reference_v<T> && !std::is_function_v<T> && !std::is_array_v<T>,
                "ai_core::Expected<T, E>: T must be an object type or void");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, std::in_place_t> &&
                    !std::is_same_v<std::remove_cv_t<T>, unexpect_t> &&
                    !detail::is_unexpected<std::remove_cv_t<T>>,
                "ai_core::Expected<T, E>: T must not be in_place_t, unexpect_t or Unexpected");

  template <class U, class G>
  friend class Expected;

  static constexpr bool kTriviallyCopyConstructible =
      std::is_trivially_copy_constructible_v<T> && std::is_trivially_copy_constructible_v<E>;
  static constexpr bool kTriviallyMoveConstructible =
      std::is_trivially_move_constructible_v<T> && std::is_trivially_move_constructible_v<E>;
  static constexpr bool kTriviallyDestructible =
      std::is_trivially_destructible_v<T> && std::is_trivially_destructible_v<E>;
  static constexpr bool kTriviallyCopyAssignable =
      kTriviallyCopyConstructible && kTriviallyDestructible &&
      std::is_trivially_copy_assignable_v<T> && std::is_trivially_copy_assignable_v<E>;
  static constexpr bool kTriviallyMoveAssignable =
      kTriviallyMoveConstructible && kTriviallyDestructible &&
      std::is_trivially_move_assignable_v<T> && std::is_trivially_move_assignable_v<E>;
  static constexpr bool kOneNothrowMovable =
      std::is_nothrow_move_constructible_v<T> || std::is_nothrow_move_constructible_v<E>;

  template <class U, class G, class UF, class GF>
  static constexpr bool kConvertibleFrom =
      std::is_constructible_v<T, UF>&& std::is_constructible_v<E, GF> &&
      (std::is_same_v<std::remove_cv_t<T>, bool> ||
       !detail::converts_from_any_cvref<
           T, Expected<U, G>>)&&!std::is_constructible_v<Unexpected<E>, Expected<U, G>&> &&
      !std::is_constructible_v<Unexpected<E>, Expected<U, G>> &&
      !std::is_constructible_v<Unexpected<E>, const Expected<U, G>&> &&
      !std::is_constructible_v<Unexpected<E>, const Expected<U, G>>;

  template <class X>
  using value_ref_t = decltype(*std::declval<X>());
  template <class X>
  using error_ref_t = decltype(std::declval<X>().error());

 public:
  using value_type = T;                   ///< The value type.
  using error_type = E;                   ///< The error type.
  using unexpected_type = Unexpected<E>;  ///< `Unexpected<E>`.
  template <class U>
  using rebind = Expected<U, E>;  ///< The same error type with another value type.

  /// Constructs a value-initialized `T`.
  constexpr Expected() noexcept(
      std::is_nothrow_default_constructible_v<T>) requires std::is_default_constructible_v<T>
      : value_(), has_value_(true) {}

  constexpr Expected(const Expected&) requires kTriviallyCopyConstructible = default;
  /// Copies the value or the error.
  constexpr Expected(const Expected& other) noexcept(
      std::is_nothrow_copy_constructible_v<T>&& std::is_nothrow_copy_constructible_v<
          E>) requires(std::is_copy_constructible_v<T>&& std::is_copy_constructible_v<E> &&
                       !kTriviallyCopyConstructible)
      : has_value_(other.has_value_) {
    if (has_value_) {
      std::construct_at(std::addressof(value_), other.value_);
    } else {
      std::construct_at(std::addressof(error_), other.error_);
    }
  }

  constexpr Expected(Expected&&) requires kTriviallyMoveConstructible = default;
  /// Moves the value or the error (the source keeps a moved-from value or error).
  constexpr Expected(Expected&& other) noexcept(
      std::is_nothrow_move_constructible_v<T>&& std::is_nothrow_move_constructible_v<
          E>) requires(std::is_move_constructible_v<T>&& std::is_move_constructible_v<E> &&
                       !kTriviallyMoveConstructible)
      : has_value_(other.has_value_) {
    if (has_value_) {
      std::construct_at(std::addressof(value_), std::move(other.value_));
    } else {
      std::construct_at(std::addressof(error_), std::move(other.error_));
    }
  }

  /// Converts from an `Expected<U, G>`.
  template <class U, class G>
  requires kConvertibleFrom<U, G, const U&, const G&>
  constexpr explicit(!std::is_convertible_v<const U&, T> || !std::is_convertible_v<const G&, E>)
      Expected(const Expected<U, G>& other)
      : has_value_(other.has_value_) {
    if (has_value_) {
      std::construct_at(std::addressof(value_), other.value_);
    } else {
      std::construct_at(std::addressof(error_), other.error_);
    }
  }
  /// Converts from an `Expected<U, G>` rvalue.
  template <class U, class G>
  requires kConvertibleFrom<U, G, U, G>
  constexpr explicit(!std::is_convertible_v<U, T> || !std::is_convertible_v<G, E>)
      Expected(Expected<U, G>&& other)
      : has_value_(other.has_value_) {
    if (has_value_) {
      std::construct_at(std::addressof(value_), std::move(other.value_));
    } else {
      std::construct_at(std::addressof(error_), std::move(other.error_));
    }
  }

  /// Converts from a std::expected-like object (`std::expected<T, E>` in C++23 code).
  template <class X>
  requires(ExpectedLike<X> && !std::is_void_v<typename std::remove_cvref_t<X>::value_type> &&
           std::is_constructible_v<T, value_ref_t<X>> &&
           std::is_constructible_v<
               E, error_ref_t<X>>) constexpr explicit(!std::is_convertible_v<value_ref_t<X>, T> ||
                                                      !std::is_convertible_v<error_ref_t<X>, E>)
      Expected(X&& other)
      : has_value_(other.has_value()) {
    if (has_value_) {
      std::construct_at(std::addressof(value_), *std::forward<X>(other));
    } else {
      std::construct_at(std::addressof(error_), std::forward<X>(other).error());
    }
  }

  /// Constructs the value from `value`.
  template <class U = T>
  requires(!std::is_same_v<std::remove_cvref_t<U>, std::in_place_t> &&
           !std::is_same_v<std::remove_cvref_t<U>, unexpect_t> &&
           !std::is_same_v<std::remove_cvref_t<U>, Expected> &&
           !detail::is_expected<std::remove_cvref_t<U>> &&
           !detail::is_unexpected<std::remove_cvref_t<U>> && !ExpectedLike<U> &&
           std::is_constructible_v<T, U> &&
           (!std::is_same_v<std::remove_cv_t<T>, bool> ||
            !detail::is_expected<
                std::remove_cvref_t<U>>)) constexpr explicit(!std::is_convertible_v<U, T>)
      Expected(U&& value)
      : value_(std::forward<U>(value)), has_value_(true) {}

  /// Constructs the error from `error`, implicitly: only for an `E` that opts in with
  /// `enable_implicit_error<E>` (CoreError does) and a `G` that `T` cannot be made from.
  template <class G>
  requires(enable_implicit_error<E> && !std::is_same_v<std::remove_cvref_t<G>, std::in_place_t> &&
           !std::is_same_v<std::remove_cvref_t<G>, unexpect_t> &&
           !detail::is_expected<std::remove_cvref_t<G>> &&
           !detail::is_unexpected<std::remove_cvref_t<G>> && !ExpectedLike<G> &&
           std::is_convertible_v<G, E> &&
           !std::is_constructible_v<
               T, G>) constexpr Expected(G&& error)  // NOLINT(google-explicit-constructor):
                                                     // the documented deviation.
      : error_(std::forward<G>(error)), has_value_(false) {}

  /// Constructs the error from an `Unexpected<G>`.
  template <class G>
  requires std::is_constructible_v<E, const G&>
  constexpr explicit(!std::is_convertible_v<const G&, E>) Expected(const Unexpected<G>& error)
      : error_(error.error()), has_value_(false) {}
  /// Constructs the error from an `Unexpected<G>` rvalue.
  template <class G>
  requires std::is_constructible_v<E, G>
  constexpr explicit(!std::is_convertible_v<G, E>) Expected(Unexpected<G>&& error)
      : error_(std::move(error).error()), has_value_(false) {}

  /// Constructs the value in place from `args`.
  template <class... Args>
  requires std::is_constructible_v<T, Args...>
  constexpr explicit Expected(std::in_place_t, Args&&... args)
      : value_(std::forward<Args>(args)...), has_value_(true) {}
  /// Constructs the value in place from an initializer list and `args`.
  template <class I, class... Args>
  requires std::is_constructible_v < T, std::initializer_list<I>
  &,
      Args... > constexpr explicit Expected(std::in_place_t, std::initializer_list<I> list,
                                            Args&&... args)
      : value_(list, std::forward<Args>(args)...),
  has_value_(true) {}

  /// Constructs the error in place from `args`.
  template <class... Args>
  requires std::is_constructible_v<E, Args...>
  constexpr explicit Expected(unexpect_t, Args&&... args)
      : error_(std::forward<Args>(args)...), has_value_(false) {}
  /// Constructs the error in place from an initializer list and `args`.
  template <class I, class... Args>
  requires std::is_constructible_v < E, std::initializer_list<I>
  &,
      Args... >
          constexpr explicit Expected(unexpect_t, std::initializer_list<I> list, Args&&... args)
      : error_(list, std::forward<Args>(args)...),
  has_value_(false) {}

  constexpr ~Expected() requires kTriviallyDestructible = default;
  /// Destroys the value or the error.
  constexpr ~Expected() {
    if (has_value_) {
      std::destroy_at(std::addressof(value_));
    } else {
      std::destroy_at(std::addressof(error_));
    }
  }

  constexpr Expected& operator=(const Expected&) requires kTriviallyCopyAssignable = default;
  /// Copies the value or the error (strong guarantee when the kind changes).
  constexpr Expected& operator=(const Expected& other) requires(
      std::is_copy_assignable_v<T>&& std::is_copy_constructible_v<T>&&
          std::is_copy_assignable_v<E>&& std::is_copy_constructible_v<E>&& kOneNothrowMovable &&
      !kTriviallyCopyAssignable) {
    assign_from(other);
    return *this;
  }

  constexpr Expected& operator=(Expected&&) requires kTriviallyMoveAssignable = default;
  /// Moves the value or the error.
  constexpr Expected& operator=(Expected&& other) noexcept(
      std::is_nothrow_move_assignable_v<T>&& std::is_nothrow_move_constructible_v<T>&&
          std::is_nothrow_move_assignable_v<E>&& std::is_nothrow_move_constructible_v<
              E>) requires(std::is_move_assignable_v<T>&& std::is_move_constructible_v<T>&&
                               std::is_move_assignable_v<E>&& std::is_move_constructible_v<E>&&
                                   kOneNothrowMovable &&
                           !kTriviallyMoveAssignable) {
    assign_from(std::move(other));
    return *this;
  }

  /// Assigns a value.
  template <class U = T>
  requires(!std::is_same_v<std::remove_cvref_t<U>, Expected> &&
           !detail::is_expected<std::remove_cvref_t<U>> &&
           !detail::is_unexpected<std::remove_cvref_t<U>> && !ExpectedLike<U> &&
           std::is_constructible_v<T, U> && std::is_assignable_v<T&, U> &&
           (std::is_nothrow_constructible_v<T, U> || kOneNothrowMovable)) constexpr Expected&
  operator=(U&& value) {
    if (has_value_) {
      value_ = std::forward<U>(value);
    } else {
      detail::reinit_expected(std::addressof(value_), std::addressof(error_),
                              std::forward<U>(value));
      has_value_ = true;
    }
    return *this;
  }

  /// Assigns an error.
  template <class G>
  requires(
      std::is_constructible_v<E, const G&>&& std::is_assignable_v<E&, const G&>) constexpr Expected&
  operator=(const Unexpected<G>& error) {
    assign_error(error.error());
    return *this;
  }
  /// Assigns an error (moved).
  template <class G>
  requires(std::is_constructible_v<E, G>&& std::is_assignable_v<E&, G>) constexpr Expected&
  operator=(Unexpected<G>&& error) {
    assign_error(std::move(error).error());
    return *this;
  }

  /// Destroys what is held and constructs the value from `args`.
  template <class... Args>
  requires std::is_nothrow_constructible_v<T, Args...>
  constexpr T& emplace(Args&&... args) noexcept {
    destroy();
    std::construct_at(std::addressof(value_), std::forward<Args>(args)...);
    has_value_ = true;
    return value_;
  }
  /// Destroys what is held and constructs the value from an initializer list and `args`.
  template <class I, class... Args>
  requires std::is_nothrow_constructible_v < T, std::initializer_list<I>
  &, Args... > constexpr T& emplace(std::initializer_list<I> list, Args&&... args) noexcept {
    destroy();
    std::construct_at(std::addressof(value_), list, std::forward<Args>(args)...);
    has_value_ = true;
    return value_;
  }

  /// Swaps with `other` (values, errors, or one of each).
  constexpr void swap(Expected& other) noexcept(
      std::is_nothrow_move_constructible_v<T>&& std::is_nothrow_swappable_v<T>&&
          std::is_nothrow_move_constructible_v<E>&& std::is_nothrow_swappable_v<
              E>) requires(std::is_swappable_v<T>&& std::is_swappable_v<E>&&
                               std::is_move_constructible_v<T>&& std::is_move_constructible_v<E>&&
                                   kOneNothrowMovable) {
    using std::swap;
    if (has_value_ && other.has_value_) {
      swap(value_, other.value_);
    } else if (!has_value_ && !other.has_value_) {
      swap(error_, other.error_);
    } else if (has_value_) {
      swap_mixed(*this, other);
    } else {
      swap_mixed(other, *this);
    }
  }
  friend constexpr void swap(Expected& a,
                             Expected& b) noexcept(noexcept(a.swap(b))) requires requires {
    a.swap(b);
  }
  { a.swap(b); }

  /// Returns whether a value is held.
  [[nodiscard]] constexpr bool has_value() const noexcept { return has_value_; }
  /// Returns whether a value is held.
  constexpr explicit operator bool() const noexcept { return has_value_; }

  /// Returns a pointer to the value. Precondition: `has_value()` (use `value()` for a checked
  /// access).
  [[nodiscard]] constexpr const T* operator->() const noexcept { return std::addressof(value_); }
  [[nodiscard]] constexpr T* operator->() noexcept { return std::addressof(value_); }
  /// Returns the value. Precondition: `has_value()`.
  [[nodiscard]] constexpr const T& operator*() const& noexcept { return value_; }
  [[nodiscard]] constexpr T& operator*() & noexcept { return value_; }
  [[nodiscard]] constexpr const T&& operator*() const&& noexcept { return std::move(value_); }
  [[nodiscard]] constexpr T&& operator*() && noexcept { return std::move(value_); }

  /// Returns the value, or throws `ai_core::Exception` (E = CoreError) or `BadExpectedAccess<E>`
  /// carrying the error.
  [[nodiscard]] constexpr const T& value() const& {
    if (!has_value_) [[unlikely]]
      detail::throw_bad_expected_access(error_);
    return value_;
  }
  [[nodiscard]] constexpr T& value() & {
    if (!has_value_) [[unlikely]]
      detail::throw_bad_expected_access(std::as_const(error_));
    return value_;
  }
  [[nodiscard]] constexpr const T&& value() const&& {
    if (!has_value_) [[unlikely]]
      detail::throw_bad_expected_access(std::move(error_));
    return std::move(value_);
  }
  [[nodiscard]] constexpr T&& value() && {
    if (!has_value_) [[unlikely]]
      detail::throw_bad_expected_access(std::move(error_));
    return std::move(value_);
  }

  /// Returns the error. Precondition: `!has_value()`.
  [[nodiscard]] constexpr const E& error() const& noexcept { return error_; }
  [[nodiscard]] constexpr E& error() & noexcept { return error_; }
  [[nodiscard]] constexpr const E&& error() const&& noexcept { return std::move(error_); }
  [[nodiscard]] constexpr E&& error() && noexcept { return std::move(error_); }

  /// Returns the value, or `fallback` converted to `T`.
  template <class U>
  [[nodiscard]] constexpr T value_or(U&& fallback) const& {
    static_assert(std::is_copy_constructible_v<T> && std::is_convertible_v<U, T>);
    return has_value_ ? value_ : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  [[nodiscard]] constexpr T value_or(U&& fallback) && {
    static_assert(std::is_move_constructible_v<T> && std::is_convertible_v<U, T>);
    return has_value_ ? std::move(value_) : static_cast<T>(std::forward<U>(fallback));
  }

  /// Returns the error, or `fallback` converted to `E` when a value is held.
  template <class G = E>
  [[nodiscard]] constexpr E error_or(G&& fallback) const& {
    return has_value_ ? static_cast<E>(std::forward<G>(fallback)) : error_;
  }
  template <class G = E>
  [[nodiscard]] constexpr E error_or(G&& fallback) && {
    return has_value_ ? static_cast<E>(std::forward<G>(fallback)) : std::move(error_);
  }

  /// Returns `f(value)` (an `Expected<U, E>`), or the error.
  template <class F>
  constexpr auto and_then(F&& f) & {
    return and_then_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto and_then(F&& f) const& {
    return and_then_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto and_then(F&& f) && {
    return and_then_impl(std::move(*this), std::forward<F>(f));
  }
  template <class F>
  constexpr auto and_then(F&& f) const&& {
    return and_then_impl(std::move(*this), std::forward<F>(f));
  }

  /// Returns the value, or `f(error)` (an `Expected<T, G>`).
  template <class F>
  constexpr auto or_else(F&& f) & {
    return or_else_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto or_else(F&& f) const& {
    return or_else_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto or_else(F&& f) && {
    return or_else_impl(std::move(*this), std::forward<F>(f));
  }
  template <class F>
  constexpr auto or_else(F&& f) const&& {
    return or_else_impl(std::move(*this), std::forward<F>(f));
  }

  /// Returns `Expected<U, E>` holding `f(value)`, or the error.
  template <class F>
  constexpr auto transform(F&& f) & {
    return transform_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform(F&& f) const& {
    return transform_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform(F&& f) && {
    return transform_impl(std::move(*this), std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform(F&& f) const&& {
    return transform_impl(std::move(*this), std::forward<F>(f));
  }

  /// Returns the value, or `Expected<T, G>` holding the error `f(error)`.
  template <class F>
  constexpr auto transform_error(F&& f) & {
    return transform_error_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform_error(F&& f) const& {
    return transform_error_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform_error(F&& f) && {
    return transform_error_impl(std::move(*this), std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform_error(F&& f) const&& {
    return transform_error_impl(std::move(*this), std::forward<F>(f));
  }

  /// Converts to a std::expected-like type (`std::expected<T, E>` in C++23 code); implicit when
  /// the value and the error convert implicitly.
  template <class X>
  requires(
      ExpectedLike<X> && !std::is_reference_v<X> && !std::is_void_v<typename X::value_type> &&
      std::is_constructible_v<typename X::value_type, const T&> &&
      std::is_constructible_v<
          typename X::error_type,
          const E&>) constexpr explicit(!std::is_convertible_v<const T&, typename X::value_type> ||
                                        !std::is_convertible_v<const E&, typename X::error_type>)
  operator X() const& {
    if (has_value_) return X(std::in_place, value_);
    return X(typename X::unexpected_type(error_));
  }
  template <class X>
  requires(ExpectedLike<X> && !std::is_reference_v<X> && !std::is_void_v<typename X::value_type> &&
           std::is_constructible_v<typename X::value_type, T&&> &&
           std::is_constructible_v<
               typename X::error_type,
               E&&>) constexpr explicit(!std::is_convertible_v<T&&, typename X::value_type> ||
                                        !std::is_convertible_v<E&&, typename X::error_type>)
  operator X() && {
    if (has_value_) return X(std::in_place, std::move(value_));
    return X(typename X::unexpected_type(std::move(error_)));
  }

  /// Compares with another Expected: equal when both hold equal values or equal errors.
  template <class T2, class E2>
  requires(!std::is_void_v<T2> && detail::EqualityComparableWith<T, T2> &&
           detail::EqualityComparableWith<E, E2>) friend constexpr bool
  operator==(const Expected& a, const Expected<T2, E2>& b) {
    if (a.has_value() != b.has_value()) return false;
    return a.has_value() ? static_cast<bool>(*a == *b) : static_cast<bool>(a.error() == b.error());
  }
  /// Compares with a value: equal when a value equal to `value` is held.
  template <class T2>
  requires(!detail::is_expected<T2> && !detail::is_unexpected<T2> &&
           detail::EqualityComparableWith<T, T2>) friend constexpr bool
  operator==(const Expected& a, const T2& value) {
    return a.has_value() && static_cast<bool>(*a == value);
  }
  /// Compares with an Unexpected: equal when an error equal to `error.error()` is held.
  template <class E2>
  requires detail::EqualityComparableWith<E, E2>
  friend constexpr bool operator==(const Expected& a, const Unexpected<E2>& error) {
    return !a.has_value() && static_cast<bool>(a.error() == error.error());
  }

 private:
  constexpr void destroy() noexcept {
    if constexpr (!kTriviallyDestructible) {
      if (has_value_) {
        std::destroy_at(std::addressof(value_));
      } else {
        std::destroy_at(std::addressof(error_));
      }
    }
  }

  template <class Other>
  constexpr void assign_from(Other&& other) {
    if (has_value_ && other.has_value_) {
      value_ = std::forward<Other>(other).value_;
    } else if (has_value_) {
      detail::reinit_expected(std::addressof(error_), std::addressof(value_),
                              std::forward<Other>(other).error_);
      has_value_ = false;
    } else if (other.has_value_) {
      detail::reinit_expected(std::addressof(value_), std::addressof(error_),
                              std::forward<Other>(other).value_);
      has_value_ = true;
    } else {
      error_ = std::forward<Other>(other).error_;
    }
  }

  template <class G>
  constexpr void assign_error(G&& error) {
    if (has_value_) {
      detail::reinit_expected(std::addressof(error_), std::addressof(value_),
                              std::forward<G>(error));
      has_value_ = false;
    } else {
      error_ = std::forward<G>(error);
    }
  }

  // Swaps `with_value` (holding a value) and `with_error` (holding an error).
  static constexpr void swap_mixed(Expected& with_value, Expected& with_error) {
    if constexpr (std::is_nothrow_move_constructible_v<E>) {
      E saved(std::move(with_error.error_));
      std::destroy_at(std::addressof(with_error.error_));
      try {
        std::construct_at(std::addressof(with_error.value_), std::move(with_value.value_));
      } catch (...) {
        std::construct_at(std::addressof(with_error.error_), std::move(saved));
        throw;
      }
      std::destroy_at(std::addressof(with_value.value_));
      std::construct_at(std::addressof(with_value.error_), std::move(saved));
    } else {
      T saved(std::move(with_value.value_));
      std::destroy_at(std::addressof(with_value.value_));
      try {
        std::construct_at(std::addressof(with_value.error_), std::move(with_error.error_));
      } catch (...) {
        std::construct_at(std::addressof(with_value.value_), std::move(saved));
        throw;
      }
      std::destroy_at(std::addressof(with_error.error_));
      std::construct_at(std::addressof(with_error.value_), std::move(saved));
    }
    with_value.has_value_ = false;
    with_error.has_value_ = true;
  }

  template <class Self, class F>
  static constexpr auto and_then_impl(Self&& self, F&& f) {
    using U =
        std::remove_cvref_t<std::invoke_result_t<F, decltype((std::forward<Self>(self).value_))>>;
    static_assert(detail::is_expected<U>,
                  "and_then: the function must return an ai_core::Expected");
    static_assert(std::is_same_v<typename U::error_type, E>,
                  "and_then: the function must return an Expected with the same error type");
    if (self.has_value_) return std::invoke(std::forward<F>(f), std::forward<Self>(self).value_);
    return U(unexpect, std::forward<Self>(self).error_);
  }

  template <class Self, class F>
  static constexpr auto or_else_impl(Self&& self, F&& f) {
    using G =
        std::remove_cvref_t<std::invoke_result_t<F, decltype((std::forward<Self>(self).error_))>>;
    static_assert(detail::is_expected<G>, "or_else: the function must return an ai_core::Expected");
    static_assert(std::is_same_v<typename G::value_type, T>,
                  "or_else: the function must return an Expected with the same value type");
    if (self.has_value_) return G(std::in_place, std::forward<Self>(self).value_);
    return std::invoke(std::forward<F>(f), std::forward<Self>(self).error_);
  }

  template <class Self, class F>
  static constexpr auto transform_impl(Self&& self, F&& f) {
    using U =
        std::remove_cv_t<std::invoke_result_t<F, decltype((std::forward<Self>(self).value_))>>;
    if constexpr (std::is_void_v<U>) {
      if (self.has_value_) {
        std::invoke(std::forward<F>(f), std::forward<Self>(self).value_);
        return Expected<void, E>();
      }
      return Expected<void, E>(unexpect, std::forward<Self>(self).error_);
    } else {
      if (self.has_value_) {
        return Expected<U, E>(std::in_place,
                              std::invoke(std::forward<F>(f), std::forward<Self>(self).value_));
      }
      return Expected<U, E>(unexpect, std::forward<Self>(self).error_);
    }
  }

  template <class Self, class F>
  static constexpr auto transform_error_impl(Self&& self, F&& f) {
    using G =
        std::remove_cv_t<std::invoke_result_t<F, decltype((std::forward<Self>(self).error_))>>;
    if (self.has_value_) return Expected<T, G>(std::in_place, std::forward<Self>(self).value_);
    return Expected<T, G>(unexpect,
                          std::invoke(std::forward<F>(f), std::forward<Self>(self).error_));
  }

  union {
    T value_;
    E error_;
  };
  bool has_value_;
};

// --- Expected<void, E> ---------------------------------------------------------------------------

/// Success without a value, or an error `E` (`Result<void>`). `return {};` makes a success.
template <class T, class E>
requires std::is_void_v<T>
class [[nodiscard]] Expected<T, E> {
  template <class U, class G>
  friend class Expected;

  static constexpr bool kTriviallyCopyConstructible = std::is_trivially_copy_constructible_v<E>;
  static constexpr bool kTriviallyMoveConstructible = std::is_trivially_move_constructible_v<E>;
  static constexpr bool kTriviallyDestructible = std::is_trivially_destructible_v<E>;
  static constexpr bool kTriviallyCopyAssignable = kTriviallyCopyConstructible &&
                                                   kTriviallyDestructible &&
                                                   std::is_trivially_copy_assignable_v<E>;
  static constexpr bool kTriviallyMoveAssignable = kTriviallyMoveConstructible &&
                                                   kTriviallyDestructible &&
                                                   std::is_trivially_move_assignable_v<E>;

  template <class U, class G, class GF>
  static constexpr bool kConvertibleFrom =
      std::is_void_v<U>&& std::is_constructible_v<E, GF> &&
      !std::is_constructible_v<Unexpected<E>, Expected<U, G>&> &&
      !std::is_constructible_v<Unexpected<E>, Expected<U, G>> &&
      !std::is_constructible_v<Unexpected<E>, const Expected<U, G>&> &&
      !std::is_constructible_v<Unexpected<E>, const Expected<U, G>>;

  template <class X>
  using error_ref_t = decltype(std::declval<X>().error());

 public:
  using value_type = T;
  using error_type = E;
  using unexpected_type = Unexpected<E>;
  template <class U>
  using rebind = Expected<U, E>;

  /// Constructs a success.
  constexpr Expected() noexcept : has_value_(true) {}

  constexpr Expected(const Expected&) requires kTriviallyCopyConstructible = default;
  /// Copies the success or the error.
  constexpr Expected(const Expected& other) noexcept(
      std::is_nothrow_copy_constructible_v<E>) requires(std::is_copy_constructible_v<E> &&
                                                        !kTriviallyCopyConstructible)
      : has_value_(other.has_value_) {
    if (!has_value_) std::construct_at(std::addressof(error_), other.error_);
  }
  constexpr Expected(Expected&&) requires kTriviallyMoveConstructible = default;
  /// Moves the success or the error.
  constexpr Expected(Expected&& other) noexcept(std::is_nothrow_move_constructible_v<E>) requires(
      std::is_move_constructible_v<E> && !kTriviallyMoveConstructible)
      : has_value_(other.has_value_) {
    if (!has_value_) std::construct_at(std::addressof(error_), std::move(other.error_));
  }

  /// Converts from an `Expected<void, G>`.
  template <class U, class G>
  requires kConvertibleFrom<U, G, const G&>
  constexpr explicit(!std::is_convertible_v<const G&, E>) Expected(const Expected<U, G>& other)
      : has_value_(other.has_value_) {
    if (!has_value_) std::construct_at(std::addressof(error_), other.error_);
  }
  /// Converts from an `Expected<void, G>` rvalue.
  template <class U, class G>
  requires kConvertibleFrom<U, G, G>
  constexpr explicit(!std::is_convertible_v<G, E>) Expected(Expected<U, G>&& other)
      : has_value_(other.has_value_) {
    if (!has_value_) std::construct_at(std::addressof(error_), std::move(other.error_));
  }

  /// Converts from a std::expected-like object with a void value (`std::expected<void, E>`).
  template <class X>
  requires(ExpectedLike<X>&& std::is_void_v<typename std::remove_cvref_t<X>::value_type>&&
               std::is_constructible_v<
                   E, error_ref_t<X>>) constexpr explicit(!std::is_convertible_v<error_ref_t<X>, E>)
      Expected(X&& other)
      : has_value_(other.has_value()) {
    if (!has_value_) std::construct_at(std::addressof(error_), std::forward<X>(other).error());
  }

  /// Constructs the error from `error`, implicitly, for an `E` that opts in with
  /// `enable_implicit_error<E>` (CoreError does).
  template <class G>
  requires(enable_implicit_error<E> && !std::is_same_v<std::remove_cvref_t<G>, std::in_place_t> &&
           !std::is_same_v<std::remove_cvref_t<G>, unexpect_t> &&
           !detail::is_expected<std::remove_cvref_t<G>> &&
           !detail::is_unexpected<std::remove_cvref_t<G>> && !ExpectedLike<G> &&
           std::is_convertible_v<
               G, E>) constexpr Expected(G&& error)  // NOLINT(google-explicit-constructor):
                                                     // the documented deviation.
      : error_(std::forward<G>(error)), has_value_(false) {}

  /// Constructs the error from an `Unexpected<G>`.
  template <class G>
  requires std::is_constructible_v<E, const G&>
  constexpr explicit(!std::is_convertible_v<const G&, E>) Expected(const Unexpected<G>& error)
      : error_(error.error()), has_value_(false) {}
  /// Constructs the error from an `Unexpected<G>` rvalue.
  template <class G>
  requires std::is_constructible_v<E, G>
  constexpr explicit(!std::is_convertible_v<G, E>) Expected(Unexpected<G>&& error)
      : error_(std::move(error).error()), has_value_(false) {}

  /// Constructs a success.
  constexpr explicit Expected(std::in_place_t) noexcept : has_value_(true) {}

  /// Constructs the error in place from `args`.
  template <class... Args>
  requires std::is_constructible_v<E, Args...>
  constexpr explicit Expected(unexpect_t, Args&&... args)
      : error_(std::forward<Args>(args)...), has_value_(false) {}
  /// Constructs the error in place from an initializer list and `args`.
  template <class I, class... Args>
  requires std::is_constructible_v < E, std::initializer_list<I>
  &,
      Args... >
          constexpr explicit Expected(unexpect_t, std::initializer_list<I> list, Args&&... args)
      : error_(list, std::forward<Args>(args)...),
  has_value_(false) {}

  constexpr ~Expected() requires kTriviallyDestructible = default;
  /// Destroys the error, if any.
  constexpr ~Expected() {
    if (!has_value_) std::destroy_at(std::addressof(error_));
  }

  constexpr Expected& operator=(const Expected&) requires kTriviallyCopyAssignable = default;
  /// Copies the success or the error.
  constexpr Expected& operator=(const Expected& other) requires(
      std::is_copy_assignable_v<E>&& std::is_copy_constructible_v<E> && !kTriviallyCopyAssignable) {
    if (other.has_value_) {
      emplace();
    } else {
      assign_error(other.error_);
    }
    return *this;
  }
  constexpr Expected& operator=(Expected&&) requires kTriviallyMoveAssignable = default;
  /// Moves the success or the error.
  constexpr Expected& operator=(Expected&& other) noexcept(
      std::is_nothrow_move_constructible_v<E>&& std::is_nothrow_move_assignable_v<
          E>) requires(std::is_move_assignable_v<E>&& std::is_move_constructible_v<E> &&
                       !kTriviallyMoveAssignable) {
    if (other.has_value_) {
      emplace();
    } else {
      assign_error(std::move(other.error_));
    }
    return *this;
  }

  /// Assigns an error.
  template <class G>
  requires(
      std::is_constructible_v<E, const G&>&& std::is_assignable_v<E&, const G&>) constexpr Expected&
  operator=(const Unexpected<G>& error) {
    assign_error(error.error());
    return *this;
  }
  /// Assigns an error (moved).
  template <class G>
  requires(std::is_constructible_v<E, G>&& std::is_assignable_v<E&, G>) constexpr Expected&
  operator=(Unexpected<G>&& error) {
    assign_error(std::move(error).error());
    return *this;
  }

  /// Makes this a success, destroying the error if any.
  constexpr void emplace() noexcept {
    if (!has_value_) {
      std::destroy_at(std::addressof(error_));
      has_value_ = true;
    }
  }

  /// Swaps with `other`.
  constexpr void swap(Expected& other) noexcept(
      std::is_nothrow_move_constructible_v<E>&& std::is_nothrow_swappable_v<
          E>) requires(std::is_swappable_v<E>&& std::is_move_constructible_v<E>) {
    using std::swap;
    if (has_value_ && other.has_value_) return;
    if (!has_value_ && !other.has_value_) {
      swap(error_, other.error_);
      return;
    }
    Expected& with_error = has_value_ ? other : *this;
    Expected& with_value = has_value_ ? *this : other;
    std::construct_at(std::addressof(with_value.error_), std::move(with_error.error_));
    std::destroy_at(std::addressof(with_error.error_));
    with_value.has_value_ = false;
    with_error.has_value_ = true;
  }
  friend constexpr void swap(Expected& a,
                             Expected& b) noexcept(noexcept(a.swap(b))) requires requires {
    a.swap(b);
  }
  { a.swap(b); }

  /// Returns whether this is a success.
  [[nodiscard]] constexpr bool has_value() const noexcept { return has_value_; }
  /// Returns whether this is a success.
  constexpr explicit operator bool() const noexcept { return has_value_; }
  /// Does nothing (std::expected<void, E>'s `operator*`). Precondition: `has_value()`.
  constexpr void operator*() const noexcept {}

  /// Returns nothing on success; throws `ai_core::Exception` (E = CoreError) or
  /// `BadExpectedAccess<E>` carrying the error.
  constexpr void value() const& {
    if (!has_value_) [[unlikely]]
      detail::throw_bad_expected_access(error_);
  }
  constexpr void value() && {
    if (!has_value_) [[unlikely]]
      detail::throw_bad_expected_access(std::move(error_));
  }

  /// Returns the error. Precondition: `!has_value()`.
  [[nodiscard]] constexpr const E& error() const& noexcept { return error_; }
  [[nodiscard]] constexpr E& error() & noexcept { return error_; }
  [[nodiscard]] constexpr const E&& error() const&& noexcept { return std::move(error_); }
  [[nodiscard]] constexpr E&& error() && noexcept { return std::move(error_); }

  /// Returns the error, or `fallback` converted to `E` on success.
  template <class G = E>
  [[nodiscard]] constexpr E error_or(G&& fallback) const& {
    return has_value_ ? static_cast<E>(std::forward<G>(fallback)) : error_;
  }
  template <class G = E>
  [[nodiscard]] constexpr E error_or(G&& fallback) && {
    return has_value_ ? static_cast<E>(std::forward<G>(fallback)) : std::move(error_);
  }

  /// Returns `f()` (an `Expected<U, E>`), or the error.
  template <class F>
  constexpr auto and_then(F&& f) & {
    return and_then_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto and_then(F&& f) const& {
    return and_then_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto and_then(F&& f) && {
    return and_then_impl(std::move(*this), std::forward<F>(f));
  }
  template <class F>
  constexpr auto and_then(F&& f) const&& {
    return and_then_impl(std::move(*this), std::forward<F>(f));
  }

  /// Returns success, or `f(error)` (an `Expected<void, G>`).
  template <class F>
  constexpr auto or_else(F&& f) & {
    return or_else_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto or_else(F&& f) const& {
    return or_else_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto or_else(F&& f) && {
    return or_else_impl(std::move(*this), std::forward<F>(f));
  }
  template <class F>
  constexpr auto or_else(F&& f) const&& {
    return or_else_impl(std::move(*this), std::forward<F>(f));
  }

  /// Returns `Expected<U, E>` holding `f()`, or the error.
  template <class F>
  constexpr auto transform(F&& f) & {
    return transform_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform(F&& f) const& {
    return transform_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform(F&& f) && {
    return transform_impl(std::move(*this), std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform(F&& f) const&& {
    return transform_impl(std::move(*this), std::forward<F>(f));
  }

  /// Returns success, or `Expected<void, G>` holding the error `f(error)`.
  template <class F>
  constexpr auto transform_error(F&& f) & {
    return transform_error_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform_error(F&& f) const& {
    return transform_error_impl(*this, std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform_error(F&& f) && {
    return transform_error_impl(std::move(*this), std::forward<F>(f));
  }
  template <class F>
  constexpr auto transform_error(F&& f) const&& {
    return transform_error_impl(std::move(*this), std::forward<F>(f));
  }

  /// Converts to a std::expected-like type with a void value (`std::expected<void, E>`).
  template <class X>
  requires(
      ExpectedLike<X> && !std::is_reference_v<X> && std::is_void_v<typename X::value_type> &&
      std::is_constructible_v<
          typename X::error_type,
          const E&>) constexpr explicit(!std::is_convertible_v<const E&, typename X::error_type>)
  operator X() const& {
    if (has_value_) return X();
    return X(typename X::unexpected_type(error_));
  }
  template <class X>
  requires(ExpectedLike<X> && !std::is_reference_v<X> && std::is_void_v<typename X::value_type> &&
           std::is_constructible_v<
               typename X::error_type,
               E&&>) constexpr explicit(!std::is_convertible_v<E&&, typename X::error_type>)
  operator X() && {
    if (has_value_) return X();
    return X(typename X::unexpected_type(std::move(error_)));
  }

  /// Compares with another `Expected<void, E2>`.
  template <class T2, class E2>
  requires(std::is_void_v<T2>&& detail::EqualityComparableWith<E, E2>) friend constexpr bool
  operator==(const Expected& a, const Expected<T2, E2>& b) {
    if (a.has_value() != b.has_value()) return false;
    return a.has_value() || static_cast<bool>(a.error() == b.error());
  }
  /// Compares with an Unexpected: equal when an error equal to `error.error()` is held.
  template <class E2>
  requires detail::EqualityComparableWith<E, E2>
  friend constexpr bool operator==(const Expected& a, const Unexpected<E2>& error) {
    return !a.has_value() && static_cast<bool>(a.error() == error.error());
  }

 private:
  template <class G>
  constexpr void assign_error(G&& error) {
    if (has_value_) {
      std::construct_at(std::addressof(error_), std::forward<G>(error));
      has_value_ = false;
    } else {
      error_ = std::forward<G>(error);
    }
  }

  template <class Self, class F>
  static constexpr auto and_then_impl(Self&& self, F&& f) {
    using U = std::remove_cvref_t<std::invoke_result_t<F>>;
    static_assert(detail::is_expected<U>,
                  "and_then: the function must return an ai_core::Expected");
    static_assert(std::is_same_v<typename U::error_type, E>,
                  "and_then: the function must return an Expected with the same error type");
    if (self.has_value_) return std::invoke(std::forward<F>(f));
    return U(unexpect, std::forward<Self>(self).error_);
  }

  template <class Self, class F>
  static constexpr auto or_else_impl(Self&& self, F&& f) {
    using G =
        std::remove_cvref_t<std::invoke_result_t<F, decltype((std::forward<Self>(self).error_))>>;
    static_assert(detail::is_expected<G>, "or_else: the function must return an ai_core::Expected");
    static_assert(std::is_void_v<typename G::value_type>,
                  "or_else: the function must return an Expected with a void value");
    if (self.has_value_) return G();
    return std::invoke(std::forward<F>(f), std::forward<Self>(self).error_);
  }

  template <class Self, class F>
  static constexpr auto transform_impl(Self&& self, F&& f) {
    using U = std::remove_cv_t<std::invoke_result_t<F>>;
    if constexpr (std::is_void_v<U>) {
      if (self.has_value_) {
        std::invoke(std::forward<F>(f));
        return Expected<void, E>();
      }
      return Expected<void, E>(unexpect, std::forward<Self>(self).error_);
    } else {
      if (self.has_value_) return Expected<U, E>(std::in_place, std::invoke(std::forward<F>(f)));
      return Expected<U, E>(unexpect, std::forward<Self>(self).error_);
    }
  }

  template <class Self, class F>
  static constexpr auto transform_error_impl(Self&& self, F&& f) {
    using G =
        std::remove_cv_t<std::invoke_result_t<F, decltype((std::forward<Self>(self).error_))>>;
    if (self.has_value_) return Expected<void, G>();
    return Expected<void, G>(unexpect,
                             std::invoke(std::forward<F>(f), std::forward<Self>(self).error_));
  }

  union {
    E error_;
  };
  bool has_value_;
};

}  // namespace ai_core
