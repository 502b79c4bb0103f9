// SPDX-License-Identifier: MIT
// ai_core/tensor_buffer.hpp: buffers over tensor memory for hand-written kernels, zero copy.
//
//   tensor -> buffer   `as_cuda_buffer` / `as_host_buffer` (borrowing `TensorBufferView`),
//                      `make_cuda_buffer` / `make_host_buffer` (owning `TensorBuffer`)
//   buffer -> tensor   `to_tensor(view, owner)` over caller memory, `to_tensor(buffer)`
//   outputs            `allocate_output_buffer`, `allocate_like` (torch's caching allocator)
//
// Part of the interop module (<ai_core/interop.hpp>): typed kernel views are in
// <ai_core/make_tensor_view.hpp>, stream ordering in <ai_core/streams.hpp>. Every function says
// who owns the memory, how long it lives, on which stream it is safe and what fails;
// docs/interop.md collects those rules (writes and autograd, overlap, bounds, device indices).
//
// Includes only the narrow libtorch headers (<ATen/core/TensorBase.h>); `cudaStream_t` is held as
// `void*` (`StreamHandle`), so the header compiles without the CUDA toolkit.
#pragma once

#include <ai_core/dtype.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>

#include <ATen/core/TensorBase.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <c10/core/Storage.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// Note [forward-declared at::Tensor]: `to_tensor` returns `Result<at::Tensor>`, which names
// `at::Tensor` without needing its definition; <ATen/core/Tensor.h> costs about a second of parse
// time per translation unit, so this header stays on <ATen/core/TensorBase.h> and a caller of
// `to_tensor`, `allocate_like` or `allocate_output_buffer` includes <ATen/core/Tensor.h> (any TU
// that uses `at::Tensor` values already does).
namespace at {
class Tensor;
}  // namespace at

namespace ai_core {

namespace detail {
struct InteropAccess;  // src/: fills the private fields of TensorBufferView
}  // namespace detail

/// The largest rank a `TensorBufferView` holds (sizes and strides live in fixed arrays, so the
/// view is trivially copyable). A tensor of higher rank is rejected with a `CoreError`.
inline constexpr std::size_t kMaxBufferRank = 8;

/// A CUDA stream as an opaque handle: a `cudaStream_t` converted to `void*` (nullptr is the
/// legacy default stream, which is also torch's default stream). In .cu code:
/// `static_cast<cudaStream_t>(handle)`.
using StreamHandle = void*;

/// What a kernel requires of the memory layout.
enum class Contiguity : std::uint8_t {
  /// Any strides are accepted; the kernel indexes through `strides()`.
  any = 0,
  /// Row-major contiguous (torch's `is_contiguous()`); otherwise an error.
  required = 1,
  /// Row-major contiguous; a non-contiguous tensor is copied into a contiguous one, on the
  /// device's current stream, and the result says so (`TensorBuffer::is_copy()`). Only the owning
  /// factories accept it: a borrowing view cannot keep a copy alive.
  copy_if_needed = 2,
};

/// Whether the kernel writes through the buffer.
enum class Access : std::uint8_t {
  /// The kernel may write. The data pointer is torch's mutable one (a lazily cloned tensor is
  /// materialised, as any in-place torch op would do).
  read_write = 0,
  /// The kernel only reads. The buffer is marked read-only: `make_tensor_view` then requires a
  /// `const` element type and DLPack export sets the read-only flag.
  read_only = 1,
};

/// The requirements a kernel states for its input; every violation is a `CoreError` naming the
/// tensor property and the requirement. Aggregate, for designated initialisers:
///
/// Example:
///   auto x = ai_core::as_cuda_buffer(input, {.dtypes = {c10::kHalf, c10::kBFloat16},
///                                            .alignment = 16, .name = "input"});
struct BufferRequirements {
  /// The dtypes the kernel accepts; default: the twelve interop dtypes.
  DtypeSet dtypes = DtypeSet::interop();
  /// The layout the kernel accepts; default: row-major contiguous.
  Contiguity contiguity = Contiguity::required;
  /// The byte alignment the data pointer needs beyond the element's own (which is always
  /// checked), e.g. 16 for `float4` loads; 0 or a power of two. A size-0 tensor (null data) passes.
  std::int64_t alignment = 0;
  /// Whether the kernel writes.
  Access access = Access::read_write;
  /// A stream to pin in the buffer; empty: `stream()` returns the device's current stream at the
  /// time it is called (Note [when the stream is looked up]).
  std::optional<StreamHandle> stream = std::nullopt;
  /// The tensor's name for messages ("weight"); must outlive the call only.
  std::string_view name = {};
};

// Note [when the stream is looked up]: a buffer made from a CUDA tensor belongs to the current
// stream of its device, `at::cuda::getCurrentCUDAStream(index)`. Looking it up costs about 28 ns
// with the index (105-137 ns without it), nearly twice what building the whole view costs, and a
// view made in one place is often launched in another, after a `CUDAStreamGuard` changed the
// current stream. So the factories store the device index and `TensorBufferView::stream()` looks
// the stream up when it is called, with the explicit index: the stream a kernel gets is the
// current stream at launch time, the one torch's own ops would use at that point. A caller who
// wants a fixed stream pins it (`BufferRequirements::stream` or `with_stream`). The lookup is not
// cached inside the view: a `const` view shared between threads must not write to itself; call
// `stream()` once per launch.

class TensorBuffer;

/// A borrowing description of tensor memory: data pointer, dtype, sizes and strides (in
/// elements), byte span, device, and the stream work on it should use. Never owns: it is valid
/// while the tensor (or storage) it was made from lives and is not resized or set_ to other
/// memory; use `TensorBuffer` to hand memory to another thread or library.
///
/// Trivially copyable and standard layout (no refcount traffic), for hot loops; sizes and strides
/// are fixed arrays of `kMaxBufferRank`.
class TensorBufferView {
 public:
  /// Constructs an empty view: no data, rank 0, dtype f32, device CPU.
  TensorBufferView() noexcept
      : data_(nullptr),
        sizes_{},
        strides_{},
        numel_(1),
        byte_size_(0),
        stream_(nullptr),
        device_(c10::DeviceType::CPU),
        dtype_(c10::ScalarType::Float),
        rank_(0),
        access_(Access::read_write),
        contiguous_(true),
        stream_pinned_(false) {}

  /// Returns the pointer to element (0, ..., 0); null for a tensor of zero elements. Writing
  /// through it is allowed only when `access()` is `Access::read_write`.
  void* data() const noexcept { return data_; }
  /// Returns the dtype.
  c10::ScalarType dtype() const noexcept { return dtype_; }
  /// Returns the size in bytes of one element.
  std::int64_t element_size() const noexcept { return dtype_size(dtype_); }
  /// Returns the number of dimensions (0 for a scalar).
  std::int64_t rank() const noexcept { return rank_; }
  /// Returns the extents, `rank()` of them.
  std::span<const std::int64_t> sizes() const noexcept {
    return {sizes_, static_cast<std::size_t>(rank_)};
  }
  /// Returns the strides in elements, `rank()` of them; never negative.
  std::span<const std::int64_t> strides() const noexcept {
    return {strides_, static_cast<std::size_t>(rank_)};
  }
  /// Returns the extent of dimension `dim` (0 <= `dim` < `rank()`, unchecked).
  std::int64_t size(std::int64_t dim) const noexcept { return sizes_[dim]; }
  /// Returns the stride of dimension `dim` (0 <= `dim` < `rank()`, unchecked).
  std::int64_t stride(std::int64_t dim) const noexcept { return strides_[dim]; }
  /// Returns the number of elements (1 for rank 0).
  std::int64_t numel() const noexcept { return numel_; }
  /// Returns the number of bytes the view can reach from `data()`: (largest offset + 1) times
  /// the element size; `numel() * element_size()` when contiguous, 0 when `numel()` is 0.
  std::int64_t byte_size() const noexcept { return byte_size_; }
  /// Returns whether the strides are row-major contiguous (torch's definition).
  bool is_contiguous() const noexcept { return contiguous_; }
  /// Returns the access the buffer was made for.
  Access access() const noexcept { return access_; }
  /// Returns whether the buffer is read-only (`access() == Access::read_only`).
  bool is_read_only() const noexcept { return access_ == Access::read_only; }
  /// Returns the device the memory lives on (CUDA with an index, or CPU).
  c10::Device device() const noexcept { return device_; }
  /// Returns whether a stream is pinned in the view.
  bool has_pinned_stream() const noexcept { return stream_pinned_; }
  /// Returns the stream work on this buffer should use: the pinned one, else the current stream
  /// of `device()` at the time of the call (Note [when the stream is looked up]); nullptr for a
  /// CPU buffer or a build without CUDA.
  AI_CORE_API StreamHandle stream() const noexcept;
  /// Returns a copy with `stream` pinned.
  TensorBufferView with_stream(StreamHandle stream) const noexcept {
    TensorBufferView out = *this;
    out.stream_ = stream;
    out.stream_pinned_ = true;
    return out;
  }

  /// Describes caller memory for `to_tensor`, checked: `data` points to `byte_size` bytes on
  /// `device`; `sizes` and `strides` (in elements, same length, at most `kMaxBufferRank`) must be
  /// non-negative, and every reachable element must lie inside `byte_size`. Empty `strides` means
  /// row-major contiguous. Fails on null data with elements, negative sizes or strides, overflow,
  /// an offset past `byte_size`, a dtype outside the vocabulary or misaligned data.
  /// The view owns nothing; `to_tensor` pairs it with a `BufferOwner`.
  AI_CORE_API static Result<TensorBufferView> from_raw(void* data, std::int64_t byte_size,
                                                       c10::ScalarType dtype,
                                                       std::span<const std::int64_t> sizes,
                                                       std::span<const std::int64_t> strides,
                                                       c10::Device device,
                                                       Access access = Access::read_write);

 private:
  friend struct detail::InteropAccess;
  friend class TensorBuffer;
  struct NoInit {};
  // Note [interop fast path]: the factories fill every field; nothing is written first (the
  // fields have no default member initialisers for that reason; `c10::Device` has no default).
  explicit TensorBufferView(NoInit) noexcept : device_(c10::DeviceType::CPU) {}

  void* data_;
  std::int64_t sizes_[kMaxBufferRank];
  std::int64_t strides_[kMaxBufferRank];
  std::int64_t numel_;
  std::int64_t byte_size_;
  StreamHandle stream_;
  c10::Device device_;
  c10::ScalarType dtype_;
  std::int8_t rank_;
  Access access_;
  bool contiguous_;
  bool stream_pinned_;
};

static_assert(std::is_trivially_copyable_v<TensorBufferView>);
static_assert(std::is_standard_layout_v<TensorBufferView>);

/// An owning buffer: a `TensorBufferView` plus a reference to the storage it points into, so the
/// memory stays alive while any copy of the buffer lives, whatever happens to the tensor it came
/// from (destroyed, reassigned). Copying shares ownership (one refcount increment), moving is
/// free. Hand it to another thread or library; DLPack export starts from it.
///
/// The storage is kept, not the tensor: `set_` on the original tensor or its destruction leave the
/// buffer's memory alive. Growing the same storage in place (`resize_` to a larger size) makes
/// torch reallocate and free the old memory under every view of it, this buffer included; do not
/// resize a tensor whose buffers are in use (docs/interop.md).
class TensorBuffer {
 public:
  /// Constructs an empty buffer (owns nothing, empty view).
  TensorBuffer() = default;

  /// Returns the borrowing view of the buffer; valid while this buffer (or a copy) lives.
  const TensorBufferView& view() const& noexcept { return view_; }
  /// Deleted: a view of a temporary buffer would dangle at the end of the statement.
  const TensorBufferView& view() const&& = delete;

  /// Returns `view().data()`.
  void* data() const noexcept { return view_.data(); }
  /// Returns `view().dtype()`.
  c10::ScalarType dtype() const noexcept { return view_.dtype(); }
  /// Returns `view().rank()`.
  std::int64_t rank() const noexcept { return view_.rank(); }
  /// Returns `view().sizes()`; valid while the buffer lives.
  std::span<const std::int64_t> sizes() const& noexcept { return view_.sizes(); }
  /// Returns `view().strides()`; valid while the buffer lives.
  std::span<const std::int64_t> strides() const& noexcept { return view_.strides(); }
  /// Returns `view().numel()`.
  std::int64_t numel() const noexcept { return view_.numel(); }
  /// Returns `view().byte_size()`.
  std::int64_t byte_size() const noexcept { return view_.byte_size(); }
  /// Returns `view().device()`.
  c10::Device device() const noexcept { return view_.device(); }
  /// Returns `view().stream()` (Note [when the stream is looked up]).
  StreamHandle stream() const noexcept { return view_.stream(); }
  /// Returns whether the buffer is read-only.
  bool is_read_only() const noexcept { return view_.is_read_only(); }
  /// Returns whether the buffer holds a contiguous copy made because the caller asked for one
  /// (`Contiguity::copy_if_needed`) or a DLPack producer said so.
  bool is_copy() const noexcept { return is_copy_; }
  /// Returns whether the buffer owns storage (false only for a default-constructed buffer).
  bool owns_storage() const noexcept { return static_cast<bool>(storage_); }
  /// Returns the storage kept alive.
  const c10::Storage& storage() const noexcept { return storage_; }

 private:
  friend struct detail::InteropAccess;
  // Unchecked: `view` must point into `storage`. Only the library's factories and DLPack import
  // make buffers, through `detail::InteropAccess`, after checking the view.
  TensorBuffer(const TensorBufferView& view, c10::Storage storage, bool is_copy) noexcept
      : view_(view), storage_(std::move(storage)), is_copy_(is_copy) {}
  struct NoInit {};
  // Note [interop fast path]: the factories fill the view in place; no zero fill first.
  explicit TensorBuffer(NoInit) noexcept : view_(TensorBufferView::NoInit{}) {}

  TensorBufferView view_;
  c10::Storage storage_;
  bool is_copy_ = false;
};

/// Makes a borrowing view of a CUDA tensor for a hand-written kernel, checking `requirements`.
/// Zero copy, no refcount traffic, no stream lookup (Note [when the stream is looked up]).
///
/// Ownership: none; the view is valid while `tensor`'s storage lives. Stream: `stream()` of the
/// result. Fails (`CoreError`, naming the property and the requirement) on: an undefined tensor;
/// a tensor not on CUDA (device mismatch; use `as_host_buffer`); a sparse, quantized, meta or
/// nested tensor, or one without storage; pending conj or neg bits; a dtype outside
/// `requirements.dtypes`; rank above `kMaxBufferRank`; non-contiguous strides when contiguity is
/// required; `Contiguity::copy_if_needed` (needs an owner: `make_cuda_buffer`); data not aligned
/// to the element size or to `requirements.alignment`; a byte span overflowing int64.
/// Size-0 tensors (null data) and 0-dim tensors are valid.
///
/// Example:
///   AI_CORE_ASSIGN_OR_RETURN(auto x, ai_core::as_cuda_buffer(input, {.dtypes = {c10::kFloat}}));
///   AI_CORE_ASSIGN_OR_RETURN(auto v, ai_core::make_tensor_view<const float, 2>(x));
///   my_kernel<<<grid, block, 0, static_cast<cudaStream_t>(x.stream())>>>(v);
AI_CORE_API Result<TensorBufferView> as_cuda_buffer(const at::TensorBase& tensor,
                                                    const BufferRequirements& requirements = {});
/// Deleted: a view of a temporary tensor would dangle at the end of the statement.
Result<TensorBufferView> as_cuda_buffer(at::TensorBase&& tensor,
                                        const BufferRequirements& requirements = {}) = delete;

/// Makes a borrowing view of a CPU tensor: the counterpart of `as_cuda_buffer` for CPU kernels
/// and CPU CI, with the same checks and lifetime; a tensor not on the CPU is a device mismatch.
/// `stream()` of the result is nullptr unless one is pinned.
AI_CORE_API Result<TensorBufferView> as_host_buffer(const at::TensorBase& tensor,
                                                    const BufferRequirements& requirements = {});
/// Deleted: a view of a temporary tensor would dangle at the end of the statement.
Result<TensorBufferView> as_host_buffer(at::TensorBase&& tensor,
                                        const BufferRequirements& requirements = {}) = delete;

/// Makes an owning buffer of a CUDA tensor: the checks of `as_cuda_buffer`, plus a reference to
/// the tensor's storage (one refcount increment), so the buffer keeps the memory alive after the
/// tensor is gone. With `Contiguity::copy_if_needed` a non-contiguous tensor is copied (on the
/// current stream of its device) and the result says `is_copy()`. Accepts temporaries.
AI_CORE_API Result<TensorBuffer> make_cuda_buffer(const at::TensorBase& tensor,
                                                  const BufferRequirements& requirements = {});

/// Makes an owning buffer of a CPU tensor: `make_cuda_buffer` for the CPU.
AI_CORE_API Result<TensorBuffer> make_host_buffer(const at::TensorBase& tensor,
                                                  const BufferRequirements& requirements = {});

namespace detail {
/// A callable `BufferOwner::from_callable` accepts: callable with no argument as an lvalue of its
/// decayed type (it is stored, then called once).
template <class F>
concept ReleaseCallable = std::is_invocable_v<std::add_lvalue_reference_t<std::decay_t<F>>>;
}  // namespace detail

/// Releases caller memory exactly once: a C function and its context (`cudaFree`, a custom
/// allocator's free), a `shared_ptr`, or any callable. Move-only; released when the last tensor
/// made by `to_tensor` dies, or at destruction if it was never handed to one.
///
/// Example:
///   void* p = nullptr; cudaMalloc(&p, bytes);
///   auto owner = ai_core::BufferOwner::from_function(p, [](void* q) { cudaFree(q); });
class BufferOwner {
 public:
  /// The release function: called once with the context.
  using ReleaseFn = void (*)(void*);

  /// Constructs an owner that releases nothing: the caller keeps the memory alive for as long
  /// as any tensor over it lives.
  BufferOwner() = default;
  /// Returns an owner that releases nothing (same as the default; explicit at call sites).
  static BufferOwner unowned() noexcept { return BufferOwner(); }
  /// Returns an owner that calls `release(context)` once. `release` must not throw. A null
  /// `release` owns nothing.
  static BufferOwner from_function(void* context, ReleaseFn release) noexcept {
    BufferOwner out;
    out.context_ = context;
    out.release_ = release;
    return out;
  }
  /// Returns an owner that keeps `owner` alive (one heap allocation for the control block copy).
  template <class T>
  static BufferOwner from_shared(std::shared_ptr<T> owner) {
    auto* held = new std::shared_ptr<T>(std::move(owner));
    return from_function(held, [](void* p) { delete static_cast<std::shared_ptr<T>*>(p); });
  }
  /// Returns an owner that calls `release()` once (one heap allocation); `release` must not
  /// throw.
  template <detail::ReleaseCallable F>
  static BufferOwner from_callable(F&& release) {
    using Fn = std::decay_t<F>;
    auto* held = new Fn(std::forward<F>(release));
    return from_function(held, [](void* p) {
      auto* fn = static_cast<Fn*>(p);
      (*fn)();
      delete fn;
    });
  }

  BufferOwner(const BufferOwner&) = delete;
  BufferOwner& operator=(const BufferOwner&) = delete;
  /// Moves ownership; `other` then owns nothing.
  BufferOwner(BufferOwner&& other) noexcept
      : context_(std::exchange(other.context_, nullptr)),
        release_(std::exchange(other.release_, nullptr)) {}
  /// Releases what this owner holds, then takes `other`'s.
  BufferOwner& operator=(BufferOwner&& other) noexcept {
    if (this != &other) {
      reset();
      context_ = std::exchange(other.context_, nullptr);
      release_ = std::exchange(other.release_, nullptr);
    }
    return *this;
  }
  /// Releases what the owner holds, if anything.
  ~BufferOwner() { reset(); }

  /// Releases now (once) and owns nothing afterwards.
  void reset() noexcept {
    if (release_ != nullptr) std::exchange(release_, nullptr)(std::exchange(context_, nullptr));
  }
  /// Returns whether the owner will release something.
  bool owns() const noexcept { return release_ != nullptr; }
  /// Gives up ownership without releasing: returns the context and function; the caller now
  /// calls `release(context)` exactly once (used by `to_tensor` to hand them to torch).
  std::pair<void*, ReleaseFn> release_ownership() noexcept {
    return {std::exchange(context_, nullptr), std::exchange(release_, nullptr)};
  }

 private:
  void* context_ = nullptr;
  ReleaseFn release_ = nullptr;
};

/// Wraps caller memory as a torch tensor, zero copy: the tensor has `buffer`'s device (given to
/// torch explicitly, so it never asks the driver which device a pointer belongs to), dtype, sizes
/// and strides, and its storage releases `owner` exactly once when the last tensor or view
/// sharing it dies.
///
/// Ownership: `owner` is consumed in every outcome: on success it moves into the tensor's
/// storage; on failure it is released before the function returns (so memory is never leaked and
/// never freed twice; validate first with `TensorBufferView::from_raw` to keep memory on failure).
/// Stream: torch uses the tensor on the current stream of its device; memory written on another
/// stream needs `wait_stream` first. Fails on: a read-only buffer (torch tensors cannot enforce
/// it); a CUDA device that does not exist or a build without CUDA; a dtype outside the
/// vocabulary; and what torch itself rejects, converted to a `CoreError`.
AI_CORE_API Result<at::Tensor> to_tensor(const TensorBufferView& buffer, BufferOwner owner);

/// Returns a tensor sharing `buffer`'s storage (zero copy, one refcount): the tensor keeps the
/// memory alive as the buffer does. Fails on an empty buffer and on a read-only buffer.
AI_CORE_API Result<at::Tensor> to_tensor(const TensorBuffer& buffer);

/// Allocates an uninitialised tensor of `sizes` and `dtype` on `device` from torch's allocator
/// (the CUDA caching allocator on a GPU: no cudaMalloc in a hot loop once warm) and returns it
/// with its owning buffer. Reuse both across iterations (the pre-allocation pattern). Stream: the
/// memory is ordered on the current stream of `device`. Fails on a negative size, a size overflow,
/// a dtype outside the vocabulary, rank above `kMaxBufferRank`, a missing CUDA device, and an
/// allocation failure (out_of_memory, with the requested bytes).
AI_CORE_API Result<std::pair<at::Tensor, TensorBuffer>> allocate_output_buffer(
    std::span<const std::int64_t> sizes, c10::ScalarType dtype, c10::Device device);

/// Allocates an uninitialised contiguous tensor with `like`'s sizes, dtype and device (like
/// `at::empty_like` with contiguous format) and returns it with its owning buffer; see
/// `allocate_output_buffer`. Fails also on an undefined `like`.
AI_CORE_API Result<std::pair<at::Tensor, TensorBuffer>> allocate_like(const at::TensorBase& like);

}  // namespace ai_core
