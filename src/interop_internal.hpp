// SPDX-License-Identifier: MIT
// src/interop_internal.hpp: shared between src/interop.cpp, src/interop_cuda.cpp and
// src/dlpack.cpp (not installed): the private access to TensorBufferView, the layout checks
// shared by `from_raw` and DLPack import, and the CUDA queries the CPU-only TUs need.
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/interop.hpp>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace ai_core::detail {

/// Fills the private fields of TensorBufferView (a friend of it).
struct InteropAccess {
  struct Fields {
    void* data = nullptr;
    std::span<const std::int64_t> sizes;
    std::span<const std::int64_t> strides;  // same length as sizes
    std::int64_t numel = 1;
    std::int64_t byte_size = 0;
    c10::Device device = c10::Device(c10::DeviceType::CPU);
    c10::ScalarType dtype = c10::ScalarType::Float;
    Access access = Access::read_write;
    bool contiguous = true;
    bool stream_pinned = false;
    StreamHandle stream = nullptr;
  };
  /// Returns a view whose arrays are left for `fill` to write (no zero fill).
  static TensorBufferView uninitialized() noexcept {
    return TensorBufferView(TensorBufferView::NoInit{});
  }
  /// Writes every field of `v` (sizes and strides past the rank are zeroed).
  static void fill(TensorBufferView& v, const Fields& f) noexcept {
    v.data_ = f.data;
    const std::size_t rank = f.sizes.size();
    for (std::size_t d = 0; d < kMaxBufferRank; ++d) {
      v.sizes_[d] = d < rank ? f.sizes[d] : 0;
      v.strides_[d] = d < rank ? f.strides[d] : 0;
    }
    v.rank_ = static_cast<std::int8_t>(rank);
    v.numel_ = f.numel;
    v.byte_size_ = f.byte_size;
    v.device_ = f.device;
    v.dtype_ = f.dtype;
    v.access_ = f.access;
    v.contiguous_ = f.contiguous;
    v.stream_pinned_ = f.stream_pinned;
    v.stream_ = f.stream;
  }
  /// Pointers to every field of a view, for the fast path that writes them one by one.
  struct Raw {
    void** data;
    std::int64_t* sizes;
    std::int64_t* strides;
    std::int64_t* numel;
    std::int64_t* byte_size;
    StreamHandle* stream;
    c10::Device* device;
    c10::ScalarType* dtype;
    std::int8_t* rank;
    Access* access;
    bool* contiguous;
    bool* stream_pinned;
  };
  /// Returns the field pointers of `v`.
  static Raw raw(TensorBufferView& v) noexcept {
    return Raw{&v.data_,   v.sizes_,  v.strides_, &v.numel_,  &v.byte_size_,  &v.stream_,
               &v.device_, &v.dtype_, &v.rank_,   &v.access_, &v.contiguous_, &v.stream_pinned_};
  }
  /// Returns an empty owning buffer whose view's arrays are left for `fill`/`raw` to write.
  static TensorBuffer uninitialized_buffer() noexcept {
    return TensorBuffer(TensorBuffer::NoInit{});
  }
  /// Returns an owning buffer of the checked `view`, which points into `storage`.
  static TensorBuffer make_buffer(const TensorBufferView& view, c10::Storage storage,
                                  bool is_copy) noexcept {
    return TensorBuffer(view, std::move(storage), is_copy);
  }
  /// Returns the view inside `b`, writable.
  static TensorBufferView& view_of(TensorBuffer& b) noexcept { return b.view_; }
  /// Makes `b` hold a reference to `storage` (one refcount increment).
  static void set_storage(TensorBuffer& b, const c10::Storage& storage) noexcept {
    b.storage_ = storage;
  }
  /// Returns a view with the fields `f`.
  static TensorBufferView make(const Fields& f) noexcept {
    TensorBufferView v = uninitialized();
    fill(v, f);
    return v;
  }
};

/// The layout facts of sizes/strides computed with overflow checks.
struct LayoutFacts {
  std::int64_t numel = 1;
  std::int64_t byte_size = 0;  // (max offset + 1) * element size; 0 when numel is 0
  bool contiguous = true;
};

/// Checks `sizes` and `strides` (same length; non-negative) for element size `element_size` and
/// computes numel, the byte span and contiguity; `what` names the object in messages
/// ("DLPack tensor", "buffer"). Fails on negative sizes or strides and int64 overflow.
Result<LayoutFacts> check_layout(std::span<const std::int64_t> sizes,
                                 std::span<const std::int64_t> strides, std::int64_t element_size,
                                 std::string_view what);

/// Returns the view of `data` laid out as `sizes`/`strides`, whose `facts` `check_layout`
/// computed: the one place a raw pointer with a checked layout becomes a view (from_raw, DLPack).
inline TensorBufferView view_of_checked_layout(void* data, std::span<const std::int64_t> sizes,
                                               std::span<const std::int64_t> strides,
                                               const LayoutFacts& facts, c10::Device device,
                                               c10::ScalarType dtype, Access access) noexcept {
  InteropAccess::Fields f;
  f.data = data;
  f.sizes = sizes;
  f.strides = strides;
  f.numel = facts.numel;
  f.byte_size = facts.byte_size;
  f.device = device;
  f.dtype = dtype;
  f.access = access;
  f.contiguous = facts.contiguous;
  return InteropAccess::make(f);
}

/// Fills `out` with the row-major compact strides of `sizes` (extents of 0 or 1 get stride 1
/// times the inner extents, as torch computes them); false on overflow.
bool compact_strides(std::span<const std::int64_t> sizes, std::span<std::int64_t> out) noexcept;

/// Returns the error for a writable layout that `layout_overlaps` flags: stride 0 with size > 1
/// named as such, else the general overlap; `what` names the caller, `label` the tensor.
CoreError overlap_error(std::span<const std::int64_t> sizes, std::span<const std::int64_t> strides,
                        std::string_view what, std::string_view label);

/// Returns the error for a view whose last reachable byte (storage offset in elements times the
/// element size, plus the span in bytes) lies past the `storage_bytes` of its storage.
CoreError storage_bounds_error(std::int64_t storage_offset, std::int64_t element_size,
                               std::int64_t span_bytes, std::int64_t storage_bytes,
                               std::string_view what, std::string_view label);

/// Returns the free memory of CUDA device `index` (`cudaMemGetInfo` on that device), or nothing
/// without CUDA or when the query fails (the failure is cleared, not left sticky).
std::optional<std::uint64_t> cuda_free_bytes(c10::DeviceIndex index) noexcept;

/// Returns the current stream of CUDA device `index` as a handle (nullptr without CUDA).
StreamHandle current_cuda_stream(c10::DeviceIndex index) noexcept;

}  // namespace ai_core::detail
