// SPDX-License-Identifier: MIT
// ai_core/tensor_view.hpp: `TensorView<T, Rank, Index>`, a typed, strided, non-owning view of
// tensor memory for hand-written kernels, passed to `__global__` functions by value (like torch's
// `PackedTensorAccessor`). `TensorView32<T, Rank>` indexes with 32-bit arithmetic.
//
// A view is made from a `TensorBufferView` by `ai_core::make_tensor_view` (<ai_core/interop.hpp>),
// which checks the element type against the buffer's dtype, the rank, read-only access and, for
// the 32-bit variant, that the largest offset the view can reach (strides included) fits in 32
// bits. This header needs no torch and no CUDA headers: it compiles in plain C++ and under nvcc.
//
// Note [view layout and NDEBUG]: `operator()` checks every index against its extent when NDEBUG is
// not defined (an `assert`, which works in device code too, and traps the kernel). The check is
// code, never data: the layout of `TensorView` is the same in every build (pinned by the
// `static_assert`s below), so debug and release translation units can pass views to each other.
#pragma once

#include <ai_core/detail/config.hpp>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ai_core {

/// A typed, strided view of `Rank`-dimensional tensor memory with sizes and strides (in elements)
/// held in fixed arrays of `Index`. Never owns: it is valid while the memory it points into lives
/// (for a view made from a torch tensor: while the tensor's storage lives, and only on the stream
/// the buffer names or one synchronised with it).
///
/// Trivially copyable and standard layout; pass it to kernels by value. `Index` is
/// `std::int64_t` (default) or `std::int32_t`; the 32-bit variant is only made by the checked
/// factory when every reachable offset fits, so its arithmetic never overflows.
///
/// Example:
///   __global__ void scale(ai_core::TensorView<float, 2> x, float a) {
///     int64_t i = blockIdx.y, j = blockIdx.x * blockDim.x + threadIdx.x;
///     if (i < x.size(0) && j < x.size(1)) x(i, j) *= a;
///   }
template <class T, std::size_t Rank, class Index = std::int64_t>
class TensorView {
  static_assert(std::is_same_v<Index, std::int64_t> || std::is_same_v<Index, std::int32_t>,
                "TensorView: Index must be std::int64_t or std::int32_t");
  static_assert(!std::is_reference_v<T> && !std::is_volatile_v<T>,
                "TensorView: T must be an object type without volatile");
  static constexpr std::size_t kStorageRank = Rank == 0 ? 1 : Rank;

 public:
  /// The element type, possibly const.
  using element_type = T;
  /// The element type without cv-qualifiers.
  using value_type = std::remove_cv_t<T>;
  /// The integer type of sizes, strides and offsets.
  using index_type = Index;
  /// The number of dimensions.
  static constexpr std::size_t rank = Rank;

  /// Constructs an empty view: null data, every size and stride 0.
  TensorView() = default;

  /// Constructs a view from its parts, unchecked: `sizes` and `strides` point to `Rank` values
  /// (ignored when `Rank` is 0). Prefer `ai_core::make_tensor_view`, which validates them.
  AI_CORE_HOST_DEVICE constexpr TensorView(T* data, const Index* sizes,
                                           const Index* strides) noexcept
      : data_(data) {
    if constexpr (Rank > 0) {
      for (std::size_t d = 0; d < Rank; ++d) {
        sizes_[d] = sizes[d];
        strides_[d] = strides[d];
      }
    }
  }

  /// Converts a view of `U` to a view of `const U` (adding const only).
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>) AI_CORE_HOST_DEVICE
      constexpr TensorView(const TensorView<U, Rank, Index>& other) noexcept
      : data_(other.data_) {
    for (std::size_t d = 0; d < kStorageRank; ++d) {
      sizes_[d] = other.sizes_[d];
      strides_[d] = other.strides_[d];
    }
  }

  /// Returns the pointer to element (0, ..., 0); null for an empty default view, and possibly
  /// null for a view of zero elements.
  AI_CORE_HOST_DEVICE constexpr T* data() const noexcept { return data_; }

  /// Returns the extent of dimension `dim` (`dim` < `Rank`).
  AI_CORE_HOST_DEVICE constexpr Index size(std::size_t dim) const noexcept {
#ifndef NDEBUG
    assert(dim < Rank && "TensorView::size: dimension out of range");
#endif
    return sizes_[dim];
  }

  /// Returns the stride, in elements, of dimension `dim` (`dim` < `Rank`).
  AI_CORE_HOST_DEVICE constexpr Index stride(std::size_t dim) const noexcept {
#ifndef NDEBUG
    assert(dim < Rank && "TensorView::stride: dimension out of range");
#endif
    return strides_[dim];
  }

  /// Returns the number of elements (1 for `Rank` 0, 0 when any extent is 0).
  AI_CORE_HOST_DEVICE constexpr Index numel() const noexcept {
    Index n = 1;
    if constexpr (Rank > 0) {
      for (std::size_t d = 0; d < Rank; ++d) n *= sizes_[d];
    }
    return n;
  }

  /// Returns whether the view has no elements.
  AI_CORE_HOST_DEVICE constexpr bool empty() const noexcept { return numel() == 0; }

  /// Returns whether the strides are the row-major compact strides of the sizes (extents of 1
  /// may have any stride, as in torch).
  AI_CORE_HOST_DEVICE constexpr bool is_contiguous() const noexcept {
    if (numel() == 0) return true;
    Index expected = 1;
    if constexpr (Rank > 0) {
      for (std::size_t d = Rank; d-- > 0;) {
        if (sizes_[d] != 1 && strides_[d] != expected) return false;
        expected *= sizes_[d];
      }
    }
    return true;
  }

  /// Returns the element offset of index (`i0`, ..., `iRank-1`): the sum of index times stride.
  /// In debug builds (NDEBUG undefined) asserts 0 <= index < size in every dimension.
  template <class... I>
  requires(sizeof...(I) == Rank && (std::is_integral_v<I> && ...)) AI_CORE_HOST_DEVICE
      constexpr Index offset(I... indices) const noexcept {
    const Index idx[kStorageRank] = {static_cast<Index>(indices)...};
    Index off = 0;
    if constexpr (Rank > 0) {
      for (std::size_t d = 0; d < Rank; ++d) {
#ifndef NDEBUG
        assert(idx[d] >= 0 && idx[d] < sizes_[d] && "TensorView: index out of bounds");
#endif
        off += idx[d] * strides_[d];
      }
    } else {
      (void)idx;
    }
    return off;
  }

  /// Returns the element at index (`i0`, ..., `iRank-1`). Bounds are asserted in debug builds
  /// (see `offset`); release builds do no checking.
  template <class... I>
  requires(sizeof...(I) == Rank && (std::is_integral_v<I> && ...)) AI_CORE_HOST_DEVICE constexpr T&
  operator()(I... indices) const noexcept {
    return data_[offset(indices...)];
  }

 private:
  template <class, std::size_t, class>
  friend class TensorView;

  T* data_ = nullptr;
  Index sizes_[kStorageRank] = {};
  Index strides_[kStorageRank] = {};
};

/// A `TensorView` with 32-bit sizes, strides and offsets: made only when the largest reachable
/// offset fits (see `make_tensor_view`), for kernels where 64-bit index arithmetic costs.
template <class T, std::size_t Rank>
using TensorView32 = TensorView<T, Rank, std::int32_t>;

// The layout promised above: the same in every build, whatever NDEBUG says.
static_assert(std::is_trivially_copyable_v<TensorView<float, 2>>);
static_assert(std::is_standard_layout_v<TensorView<float, 2>>);
static_assert(sizeof(TensorView<float, 2>) == sizeof(float*) + 4 * sizeof(std::int64_t));
static_assert(sizeof(TensorView32<float, 3>) == sizeof(float*) + 6 * sizeof(std::int32_t));

}  // namespace ai_core
