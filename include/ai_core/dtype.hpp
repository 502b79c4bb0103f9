// SPDX-License-Identifier: MIT
// ai_core/dtype.hpp: ai_core's dtype vocabulary. Maps `c10::ScalarType` to the C++ element types
// kernels use (float <-> f32, c10::Half <-> f16, c10::BFloat16 <-> bf16, ...), gives every dtype
// the short name ai_core's messages use ("bf16", "fp8_e4m3fn"), and provides `DtypeSet`, the set of
// dtypes a kernel accepts. The CUDA element types (`__half`, `__nv_bfloat16`, `__nv_fp8_e4m3`,
// `__nv_fp8_e5m2`) are mapped by <ai_core/cuda/dtype.hpp>, for .cu code.
//
// Compiles in plain C++ and under nvcc; needs only <c10/core/ScalarType.h>.
#pragma once

#include <c10/core/ScalarType.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace ai_core {

/// Returns the short name ai_core uses for `dtype` in messages and docs: "f32", "f16", "bf16",
/// "f64", "i8", "u8", "i16", "i32", "i64", "bool", "fp8_e4m3fn", "fp8_e5m2". Dtypes outside that
/// vocabulary get torch's own name ("ComplexFloat", "QInt8", ...), so every message stays readable.
inline std::string_view dtype_name(c10::ScalarType dtype) noexcept {
  switch (dtype) {
    case c10::ScalarType::Float: return "f32";
    case c10::ScalarType::Half: return "f16";
    case c10::ScalarType::BFloat16: return "bf16";
    case c10::ScalarType::Double: return "f64";
    case c10::ScalarType::Char: return "i8";
    case c10::ScalarType::Byte: return "u8";
    case c10::ScalarType::Short: return "i16";
    case c10::ScalarType::Int: return "i32";
    case c10::ScalarType::Long: return "i64";
    case c10::ScalarType::Bool: return "bool";
    case c10::ScalarType::Float8_e4m3fn: return "fp8_e4m3fn";
    case c10::ScalarType::Float8_e5m2: return "fp8_e5m2";
    default: break;
  }
  if (static_cast<int>(dtype) < 0 ||
      static_cast<int>(dtype) >= static_cast<int>(c10::ScalarType::NumOptions)) {
    return "<invalid dtype>";
  }
  return c10::toString(dtype);
}

/// Returns whether `dtype` belongs to ai_core's interop vocabulary: the twelve dtypes that
/// buffers, views and DLPack exchange support (f32, f16, bf16, f64, i8, u8, i16, i32, i64, bool,
/// fp8_e4m3fn, fp8_e5m2).
constexpr bool is_interop_dtype(c10::ScalarType dtype) noexcept {
  switch (dtype) {
    case c10::ScalarType::Float:
    case c10::ScalarType::Half:
    case c10::ScalarType::BFloat16:
    case c10::ScalarType::Double:
    case c10::ScalarType::Char:
    case c10::ScalarType::Byte:
    case c10::ScalarType::Short:
    case c10::ScalarType::Int:
    case c10::ScalarType::Long:
    case c10::ScalarType::Bool:
    case c10::ScalarType::Float8_e4m3fn:
    case c10::ScalarType::Float8_e5m2: return true;
    default: return false;
  }
}

/// Returns the size in bytes of one element of an interop dtype, or 0 for a dtype outside the
/// vocabulary (see `is_interop_dtype`).
constexpr std::int64_t dtype_size(c10::ScalarType dtype) noexcept {
  switch (dtype) {
    case c10::ScalarType::Double:
    case c10::ScalarType::Long: return 8;
    case c10::ScalarType::Float:
    case c10::ScalarType::Int: return 4;
    case c10::ScalarType::Half:
    case c10::ScalarType::BFloat16:
    case c10::ScalarType::Short: return 2;
    case c10::ScalarType::Char:
    case c10::ScalarType::Byte:
    case c10::ScalarType::Bool:
    case c10::ScalarType::Float8_e4m3fn:
    case c10::ScalarType::Float8_e5m2: return 1;
    default: return 0;
  }
}

/// Maps a C++ element type to its dtype. Specialised for the interop vocabulary's host types;
/// <ai_core/cuda/dtype.hpp> adds the CUDA types. A specialisation has
/// `static constexpr c10::ScalarType value` and must describe a type whose size and bit layout
/// are those of the dtype (a kernel reinterprets the tensor's bytes as `T`).
template <class T>
struct DtypeTraits {};

/// Defines one `DtypeTraits` specialisation (also used by <ai_core/cuda/dtype.hpp>).
#define AI_CORE_INTERNAL_DTYPE_TRAIT(type, scalar_type)                    \
  template <>                                                              \
  struct DtypeTraits<type> {                                               \
    static constexpr c10::ScalarType value = c10::ScalarType::scalar_type; \
  }

AI_CORE_INTERNAL_DTYPE_TRAIT(float, Float);
AI_CORE_INTERNAL_DTYPE_TRAIT(double, Double);
AI_CORE_INTERNAL_DTYPE_TRAIT(c10::Half, Half);
AI_CORE_INTERNAL_DTYPE_TRAIT(c10::BFloat16, BFloat16);
AI_CORE_INTERNAL_DTYPE_TRAIT(std::int8_t, Char);
AI_CORE_INTERNAL_DTYPE_TRAIT(std::uint8_t, Byte);
AI_CORE_INTERNAL_DTYPE_TRAIT(std::int16_t, Short);
AI_CORE_INTERNAL_DTYPE_TRAIT(std::int32_t, Int);
AI_CORE_INTERNAL_DTYPE_TRAIT(std::int64_t, Long);
AI_CORE_INTERNAL_DTYPE_TRAIT(bool, Bool);
AI_CORE_INTERNAL_DTYPE_TRAIT(c10::Float8_e4m3fn, Float8_e4m3fn);
AI_CORE_INTERNAL_DTYPE_TRAIT(c10::Float8_e5m2, Float8_e5m2);

/// Satisfied by element types with a dtype: the host types above, and the CUDA types once
/// <ai_core/cuda/dtype.hpp> is included. `const T` models it when `T` does.
/// Models: float, double, c10::Half, c10::BFloat16, std::int8_t ... std::int64_t, std::uint8_t,
/// bool, c10::Float8_e4m3fn, c10::Float8_e5m2, __half, __nv_bfloat16, __nv_fp8_e4m3, __nv_fp8_e5m2.
template <class T>
concept TensorElement = requires {
  { DtypeTraits<std::remove_cv_t<T>>::value } -> std::convertible_to<c10::ScalarType>;
};

/// The dtype of element type `T` (cv-qualifiers ignored).
template <TensorElement T>
inline constexpr c10::ScalarType dtype_of_v = DtypeTraits<std::remove_cv_t<T>>::value;

/// A set of dtypes, for "which dtypes does this kernel accept". A literal type: build one at
/// compile time with `DtypeSet{c10::kFloat, c10::kBFloat16}`; membership is one bit test.
///
/// Example:
///   constexpr ai_core::DtypeSet kHalfTypes{c10::kHalf, c10::kBFloat16};
///   static_assert(kHalfTypes.contains(c10::kHalf));
class DtypeSet {
 public:
  /// Constructs the empty set.
  constexpr DtypeSet() noexcept = default;
  /// Constructs the set of the listed dtypes.
  constexpr DtypeSet(std::initializer_list<c10::ScalarType> dtypes) noexcept {
    for (c10::ScalarType d : dtypes) bits_ |= bit(d);
  }
  /// Returns the twelve interop dtypes (see `is_interop_dtype`).
  static constexpr DtypeSet interop() noexcept {
    return DtypeSet{
        c10::ScalarType::Float,  c10::ScalarType::Half,          c10::ScalarType::BFloat16,
        c10::ScalarType::Double, c10::ScalarType::Char,          c10::ScalarType::Byte,
        c10::ScalarType::Short,  c10::ScalarType::Int,           c10::ScalarType::Long,
        c10::ScalarType::Bool,   c10::ScalarType::Float8_e4m3fn, c10::ScalarType::Float8_e5m2};
  }
  /// Returns the floating-point interop dtypes: f32, f16, bf16, f64.
  static constexpr DtypeSet floating() noexcept {
    return DtypeSet{c10::ScalarType::Float, c10::ScalarType::Half, c10::ScalarType::BFloat16,
                    c10::ScalarType::Double};
  }
  /// Returns whether `dtype` is in the set.
  constexpr bool contains(c10::ScalarType dtype) const noexcept {
    return (bits_ & bit(dtype)) != 0;
  }
  /// Returns whether the set is empty.
  constexpr bool empty() const noexcept { return bits_ == 0; }
  /// Returns a copy of the set with `dtype` added.
  constexpr DtypeSet with(c10::ScalarType dtype) const noexcept {
    DtypeSet out = *this;
    out.bits_ |= bit(dtype);
    return out;
  }
  /// Returns the set as a bit mask, bit `i` standing for `static_cast<c10::ScalarType>(i)`.
  constexpr std::uint64_t bits() const noexcept { return bits_; }
  /// Returns the members' short names for messages: "f32", "f16 or bf16", "f32, f16 or bf16";
  /// "no dtype" for the empty set.
  std::string to_string() const {
    // The vocabulary first, in the order of the docs, then any other member in enum order.
    constexpr c10::ScalarType kOrder[] = {
        c10::ScalarType::Float,  c10::ScalarType::Half,          c10::ScalarType::BFloat16,
        c10::ScalarType::Double, c10::ScalarType::Char,          c10::ScalarType::Byte,
        c10::ScalarType::Short,  c10::ScalarType::Int,           c10::ScalarType::Long,
        c10::ScalarType::Bool,   c10::ScalarType::Float8_e4m3fn, c10::ScalarType::Float8_e5m2};
    std::uint64_t rest = bits_;
    std::string_view names[64];
    int count = 0;
    for (c10::ScalarType d : kOrder) {
      if ((rest & bit(d)) != 0) names[count++] = dtype_name(d);
      rest &= ~bit(d);
    }
    for (int i = 0; i < 64; ++i) {
      if ((rest & (std::uint64_t{1} << i)) != 0) {
        names[count++] = dtype_name(static_cast<c10::ScalarType>(i));
      }
    }
    if (count == 0) return "no dtype";
    std::string out;
    for (int i = 0; i < count; ++i) {
      if (i > 0) out += i + 1 == count ? " or " : ", ";
      out += names[i];
    }
    return out;
  }
  /// Compares two sets.
  friend constexpr bool operator==(DtypeSet, DtypeSet) noexcept = default;

 private:
  static_assert(static_cast<int>(c10::ScalarType::NumOptions) <= 64,
                "DtypeSet stores one bit per c10::ScalarType");
  static constexpr std::uint64_t bit(c10::ScalarType dtype) noexcept {
    auto i = static_cast<unsigned>(static_cast<std::int8_t>(dtype));
    return i < 64 ? std::uint64_t{1} << i : 0;
  }
  std::uint64_t bits_ = 0;
};

}  // namespace ai_core
