// SPDX-License-Identifier: MIT
// ai_core/make_tensor_view.hpp: typed kernel views of buffers. `make_tensor_view<T, Rank>` checks a
// `TensorBufferView` against the element type, rank, access and index width a kernel asks for and
// returns a `TensorView` (<ai_core/tensor_view.hpp>), passed to kernels by value.
//
// Part of the interop module (<ai_core/interop.hpp>); docs/interop.md, "TensorView".
#pragma once

#include <ai_core/dtype.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>
#include <ai_core/tensor_buffer.hpp>
#include <ai_core/tensor_view.hpp>

#include <c10/core/ScalarType.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>

namespace ai_core {

namespace detail {
/// Returns whether two elements of the layout (`sizes` and non-negative `strides` in elements,
/// same length, at most `kMaxBufferRank`) may share an address: a dimension of size > 1 with
/// stride 0, or, with the dimensions sorted by stride, a stride not larger than the largest offset
/// the smaller strides reach. False for zero elements. Layouts torch makes by slicing, transposing
/// and permuting never overlap; `expand`, `unfold` with a step below the size and some `as_strided`
/// results do. A writable buffer or `TensorView` is refused for such a layout.
AI_CORE_API bool layout_overlaps(std::span<const std::int64_t> sizes,
                                 std::span<const std::int64_t> strides) noexcept;
/// Builds the message of `make_tensor_view`'s failures (out of line: keeps the template light).
AI_CORE_API CoreError tensor_view_error(const TensorBufferView& buffer, c10::ScalarType expected,
                                        std::int64_t expected_rank, bool wants_write, bool index32);
}  // namespace detail

/// Makes a typed view of `buffer` for a kernel, checking that the element type `T` has the
/// buffer's dtype (float <-> f32, c10::Half/__half <-> f16, c10::BFloat16/__nv_bfloat16 <-> bf16,
/// ...), that `Rank` is the buffer's rank, that the data is not null unless there are no
/// elements (a default-constructed view has one element and no data), that a read-only buffer or
/// one whose elements may share an address (`detail::layout_overlaps`) gets a `const T`, and for
/// `Index = std::int32_t` that every size, stride, the element count and the largest reachable
/// offset (strides included, not only numel) fit in 32 bits.
///
/// Ownership and stream: those of `buffer` (the view borrows). The CUDA element types need
/// <ai_core/cuda/dtype.hpp>.
template <class T, std::size_t Rank, class Index = std::int64_t>
Result<TensorView<T, Rank, Index>> make_tensor_view(const TensorBufferView& buffer) {
  static_assert(TensorElement<T>,
                "make_tensor_view: T has no dtype; for __half, __nv_bfloat16 and the fp8 CUDA "
                "types include <ai_core/cuda/dtype.hpp>");
  static_assert(sizeof(std::remove_cv_t<T>) == dtype_size(dtype_of_v<T>),
                "make_tensor_view: T's size differs from its dtype's element size");
  static_assert(Rank <= kMaxBufferRank, "make_tensor_view: Rank exceeds kMaxBufferRank");
  constexpr bool index32 = std::is_same_v<Index, std::int32_t>;
  bool ok = buffer.dtype() == dtype_of_v<T> && buffer.rank() == static_cast<std::int64_t>(Rank) &&
            (buffer.data() != nullptr || buffer.numel() == 0);
  if constexpr (!std::is_const_v<T>) {
    // Writes need a writable buffer whose elements have their own addresses.
    ok = ok && !buffer.is_read_only() &&
         (buffer.is_contiguous() || !detail::layout_overlaps(buffer.sizes(), buffer.strides()));
  }
  if (ok && index32) {
    constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
    std::int64_t max_offset = 0;
    for (std::size_t d = 0; d < Rank; ++d) {
      if (buffer.size(d) > kMax || buffer.stride(d) > kMax) ok = false;
      if (buffer.size(d) > 0) max_offset += (buffer.size(d) - 1) * buffer.stride(d);
    }
    // byte_size bounds numel's reach; numel itself may exceed the offset span (stride 0).
    ok = ok && buffer.numel() <= kMax && max_offset <= kMax;
  }
  if (!ok) {
    return detail::tensor_view_error(buffer, dtype_of_v<T>, static_cast<std::int64_t>(Rank),
                                     !std::is_const_v<T>, index32);
  }
  Index sizes[Rank == 0 ? 1 : Rank] = {};
  Index strides[Rank == 0 ? 1 : Rank] = {};
  for (std::size_t d = 0; d < Rank; ++d) {
    sizes[d] = static_cast<Index>(buffer.size(d));
    strides[d] = static_cast<Index>(buffer.stride(d));
  }
  return TensorView<T, Rank, Index>(static_cast<T*>(buffer.data()), sizes, strides);
}

/// `make_tensor_view` with 32-bit indexing (`TensorView32`).
template <class T, std::size_t Rank>
Result<TensorView32<T, Rank>> make_tensor_view32(const TensorBufferView& buffer) {
  return make_tensor_view<T, Rank, std::int32_t>(buffer);
}

}  // namespace ai_core
