// SPDX-License-Identifier: MIT
// src/interop.cpp: tensor <-> buffer interop (see <ai_core/interop.hpp>). The CUDA-specific parts
// (stream lookup, events, device count) live in src/interop_cuda.cpp.
//
// Note [interop fast path]: `as_cuda_buffer` runs in the time budget of a hand-made view (a few
// nanoseconds), so the factories first try `fast_view`: one dispatch-key test recognises a plain
// dense tensor of the wanted device type (Note [interop fast path, key test]), then every check is
// an inline read of a TensorImpl field or a bit test, ordered so the common case decides early,
// with no out-of-line or virtual torch call, no allocation and no copy of the view (it is filled
// inside the result). Anything the key test does not recognise, and every failure, goes to the
// cold `*_slow` functions: `try_view` asks torch through its full API (accepting unusual but valid
// tensors), and `diagnose` walks the checks again in a fixed order and reports the first violation.
#include "interop_internal.hpp"

#include <ai_core/dtype.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/torch_error.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/core/DispatchKeySet.h>
#include <c10/core/Storage.h>
#include <c10/core/TensorImpl.h>
#include <c10/core/TensorOptions.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <string>
#include <utility>

namespace ai_core {
namespace detail {
namespace {

std::string tensor_label(std::string_view name) {
  if (name.empty()) return {};
  return str_cat(" (tensor '", name, "')");
}

const char* contiguity_name(Contiguity c) {
  switch (c) {
    case Contiguity::any: return "Contiguity::any";
    case Contiguity::required: return "Contiguity::required";
    case Contiguity::copy_if_needed: return "Contiguity::copy_if_needed";
  }
  return "Contiguity(?)";
}

bool mul_overflows(std::int64_t a, std::int64_t b, std::int64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}
bool add_overflows(std::int64_t a, std::int64_t b, std::int64_t* out) {
  return __builtin_add_overflow(a, b, out);
}

/// The span of a strided layout in elements (max offset + 1), 0 for zero elements; false on
/// overflow. Strides must be non-negative.
bool span_elements(std::span<const std::int64_t> sizes, std::span<const std::int64_t> strides,
                   std::int64_t numel, std::int64_t* out) {
  if (numel == 0) {
    *out = 0;
    return true;
  }
  std::int64_t max_offset = 0;
  for (std::size_t d = 0; d < sizes.size(); ++d) {
    std::int64_t term = 0;
    if (mul_overflows(sizes[d] - 1, strides[d], &term) ||
        add_overflows(max_offset, term, &max_offset)) {
      return false;
    }
  }
  return !add_overflows(max_offset, 1, out);
}

bool is_compact(std::span<const std::int64_t> sizes, std::span<const std::int64_t> strides,
                std::int64_t numel) {
  if (numel == 0) return true;
  std::int64_t expected = 1;
  for (std::size_t d = sizes.size(); d-- > 0;) {
    if (sizes[d] != 1 && strides[d] != expected) return false;
    expected *= sizes[d];
  }
  return true;
}

const char* layout_name(c10::Layout layout) {
  switch (layout) {
    case c10::kStrided: return "strided";
    case c10::kSparse: return "sparse COO";
    case c10::kSparseCsr: return "sparse CSR";
    case c10::kSparseCsc: return "sparse CSC";
    case c10::kSparseBsr: return "sparse BSR";
    case c10::kSparseBsc: return "sparse BSC";
    case c10::kMkldnn: return "mkldnn";
    case c10::kJagged: return "jagged";
    default: return "unknown";
  }
}

constexpr auto kUnsupportedLayoutKeys = c10::sparse_ks | c10::sparse_csr_ks | c10::mkldnn_ks;

/// Explains why `tensor` fails `requirements` (Note [interop fast path]): the first violation in
/// a fixed order. `owning` says whether the caller can keep a copy.
CoreError diagnose(const at::TensorBase& tensor, const BufferRequirements& req,
                   c10::DeviceType want, bool owning, const char* fn) {
  const std::string label = tensor_label(req.name);
  if (!tensor.defined()) {
    return CoreError::invalid_config(
        str_cat(fn, ": the tensor is undefined; expected a defined tensor", label));
  }
  const c10::TensorImpl* impl = tensor.unsafeGetTensorImpl();
  if (impl->is_nested()) {
    return CoreError::invalid_config(
        str_cat(fn, ": nested tensors are not supported; expected a strided tensor", label));
  }
  if (impl->key_set().has_any(kUnsupportedLayoutKeys) || impl->layout() != c10::kStrided) {
    return CoreError::invalid_config(str_cat(fn, ": layout ", layout_name(impl->layout()),
                                             " is not supported; expected a strided tensor",
                                             label));
  }
  if (impl->is_quantized()) {
    return CoreError::invalid_config(str_cat(fn, ": quantized tensors (dtype ",
                                             c10::toString(impl->dtype().toScalarType()),
                                             ") are not supported; expected a plain dtype", label));
  }
  if (impl->is_meta()) {
    return CoreError::invalid_config(
        str_cat(fn, ": meta tensors have no data; expected a tensor with memory", label));
  }
  const c10::Device device = impl->device();
  if (device.type() != want) {
    const c10::Device expected(want);
    const char* hint = want == c10::DeviceType::CUDA
                           ? "needs a CUDA tensor; for a CPU tensor use the host variant"
                           : "needs a CPU tensor; for a CUDA tensor use the cuda variant";
    return CoreError::device_mismatch(expected, device, str_cat(fn, " ", hint, label));
  }
  if (!impl->has_storage()) {
    return CoreError::invalid_config(str_cat(
        fn,
        ": the tensor has no storage (a functional, fake or opaque tensor); expected a tensor "
        "with memory",
        label));
  }
  if (!impl->storage_initialized()) {
    return CoreError::invalid_config(
        str_cat(fn, ": the tensor has ", impl->numel(),
                " elements but no allocated data; expected allocated storage", label));
  }
  if (impl->is_conj()) {
    return CoreError::invalid_config(
        str_cat(fn, ": the tensor has a pending conjugate bit; expected none (call resolve_conj())",
                label));
  }
  if (impl->is_neg()) {
    return CoreError::invalid_config(str_cat(
        fn, ": the tensor has a pending negative bit; expected none (call resolve_neg())", label));
  }
  const c10::ScalarType dtype = impl->dtype().toScalarType();
  if (!req.dtypes.contains(dtype) || !is_interop_dtype(dtype)) {
    std::string expected = req.dtypes.to_string();
    if (!is_interop_dtype(dtype) && req.dtypes.contains(dtype)) {
      expected = str_cat(DtypeSet::interop().to_string(), " (the interop dtypes)");
    }
    return CoreError::invalid_config(
        str_cat("dtype mismatch: expected ", expected, ", got ", dtype_name(dtype), label));
  }
  if (impl->dim() > static_cast<std::int64_t>(kMaxBufferRank)) {
    return CoreError::dimension_mismatch(str_cat(fn, ": rank ", impl->dim(),
                                                 " exceeds the maximum ", kMaxBufferRank,
                                                 " of a TensorBufferView", label));
  }
  if (req.contiguity == Contiguity::copy_if_needed && !owning) {
    return CoreError::invalid_config(
        str_cat(fn,
                ": Contiguity::copy_if_needed needs an owning buffer to keep the copy alive; use "
                "make_cuda_buffer or make_host_buffer",
                label));
  }
  for (std::int64_t s : impl->strides()) {
    if (s < 0) {
      return CoreError::invalid_config(
          str_cat(fn, ": negative strides ", impl->strides(), " are not supported", label));
    }
  }
  if (req.contiguity != Contiguity::any && !impl->is_contiguous()) {
    return CoreError::invalid_config(str_cat(
        fn, ": the tensor is not contiguous (sizes ", impl->sizes(), ", strides ", impl->strides(),
        "); the requirement is ", contiguity_name(req.contiguity),
        ": pass a contiguous tensor, Contiguity::any, or Contiguity::copy_if_needed with an "
        "owning buffer",
        label));
  }
  std::int64_t span = 0;
  std::int64_t bytes = 0;
  if (!span_elements(impl->sizes(), impl->strides(), impl->numel(), &span) ||
      mul_overflows(span, dtype_size(dtype), &bytes)) {
    return CoreError::invalid_config(
        str_cat(fn, ": the byte size of sizes ", impl->sizes(), ", strides ", impl->strides(),
                " at ", dtype_size(dtype), " bytes per element overflows int64", label));
  }
  if (req.alignment < 0 || (req.alignment & (req.alignment - 1)) != 0) {
    return CoreError::invalid_config(
        str_cat(fn, ": alignment requirement ", req.alignment, " is not a power of two", label));
  }
  const auto address = reinterpret_cast<std::uintptr_t>(impl->data());
  const auto needed =
      static_cast<std::uintptr_t>(std::max<std::int64_t>(req.alignment, dtype_size(dtype)));
  if (address % needed != 0) {
    return CoreError::invalid_config(
        str_cat(fn, ": the data pointer (address ", address, ", storage offset ",
                impl->storage_offset(), ") is not aligned to ", needed,
                " bytes; the requirement is ", needed, "-byte alignment (element size ",
                dtype_size(dtype), ", requested ", req.alignment, ")", label));
  }
  return CoreError::invalid_config(str_cat(fn, ": internal error: no violation found", label));
}

/// The fast path shared by the four factories (Note [interop fast path]). On success fills
/// `out`; on failure returns false and the caller asks `diagnose`.
bool try_view(const at::TensorBase& tensor, const BufferRequirements& req, c10::DeviceType want,
              bool allow_copy_request, TensorBufferView* out) {
  c10::TensorImpl* impl = tensor.unsafeGetTensorImpl();
  if (!tensor.defined()) return false;
  const c10::DispatchKeySet keys = impl->key_set();
  constexpr auto bad_keys = kUnsupportedLayoutKeys |
                            c10::DispatchKeySet(c10::DispatchKey::Quantized) |
                            c10::DispatchKeySet(c10::DispatchKey::NestedTensor) |
                            c10::DispatchKeySet(c10::DispatchKey::Conjugate) |
                            c10::DispatchKeySet(c10::DispatchKey::Negative);
  const c10::Device device = impl->device();
  const c10::ScalarType dtype = impl->dtype().toScalarType();
  const std::int64_t rank = impl->dim();
  bool ok = !keys.has_any(bad_keys) && device.type() == want && req.dtypes.contains(dtype) &&
            is_interop_dtype(dtype) && rank <= static_cast<std::int64_t>(kMaxBufferRank) &&
            (allow_copy_request || req.contiguity != Contiguity::copy_if_needed) &&
            impl->layout() == c10::kStrided;
  if (!ok) return false;
  if (!impl->has_storage() || !impl->storage_initialized()) return false;
  const bool contiguous = impl->is_contiguous();
  if (req.contiguity != Contiguity::any && !contiguous) return false;
  const c10::IntArrayRef sizes = impl->sizes();
  const c10::IntArrayRef strides = impl->strides();
  const std::int64_t numel = impl->numel();
  const std::int64_t element_size = dtype_size(dtype);
  std::int64_t bytes = 0;
  if (contiguous) {
    if (mul_overflows(numel, element_size, &bytes)) return false;
  } else {
    for (std::int64_t s : strides) {
      if (s < 0) return false;
    }
    std::int64_t span = 0;
    if (!span_elements(sizes, strides, numel, &span) || mul_overflows(span, element_size, &bytes)) {
      return false;
    }
  }
  void* data =
      req.access == Access::read_only ? const_cast<void*>(impl->data()) : impl->mutable_data();
  const std::int64_t alignment = req.alignment;
  if (alignment < 0 || (alignment & (alignment - 1)) != 0) return false;
  const auto address = reinterpret_cast<std::uintptr_t>(data);
  if ((address & static_cast<std::uintptr_t>(element_size - 1)) != 0 ||
      (alignment > 0 && (address & static_cast<std::uintptr_t>(alignment - 1)) != 0)) {
    return false;
  }
  InteropAccess::Fields f;
  f.data = data;
  f.sizes = std::span<const std::int64_t>(sizes.data(), sizes.size());
  f.strides = std::span<const std::int64_t>(strides.data(), strides.size());
  f.numel = numel;
  f.byte_size = bytes;
  f.device = device;
  f.dtype = dtype;
  f.access = req.access;
  f.contiguous = contiguous;
  f.stream_pinned = req.stream.has_value();
  f.stream = req.stream.value_or(nullptr);
  InteropAccess::fill(*out, f);
  return true;
}

// Note [interop fast path, key test]: a plain dense tensor of one device type has exactly the
// dispatch keys torch gives every such tensor: the backend's Dense key, ADInplaceOrView, the
// backend's Autograd key and its Autocast key (inference tensors have fewer). Every exotic kind
// the issue rejects (sparse, mkldnn, quantized, nested, meta, conj/neg bits, functional, Python
// subclasses, another device) adds a key outside that set or lacks the backend's Dense key, so
// one AND and one compare on `key_set()` decide all of them, and the device type too. Under that
// test the TensorImpl is torch's plain one: `unsafe_storage()` is its storage (no virtual
// `has_storage()`), and contiguity is computed while the sizes and strides are copied (no
// out-of-line `is_contiguous()`; the definition is torch's `compute_contiguous`). Anything else
// takes the general path (`try_view`), which asks torch through its full API.
template <c10::DeviceType Want>
struct PlainKeys;
template <>
struct PlainKeys<c10::DeviceType::CPU> {
  static constexpr c10::DispatchKeySet dense{c10::DispatchKey::CPU};
  static constexpr c10::DispatchKeySet allowed = dense | c10::inplace_or_view_ks |
                                                 c10::autograd_cpu_ks |
                                                 c10::DispatchKeySet(c10::DispatchKey::AutocastCPU);
};
template <>
struct PlainKeys<c10::DeviceType::CUDA> {
  static constexpr c10::DispatchKeySet dense{c10::DispatchKey::CUDA};
  static constexpr c10::DispatchKeySet allowed =
      dense | c10::inplace_or_view_ks | c10::autograd_cuda_ks |
      c10::DispatchKeySet(c10::DispatchKey::AutocastCUDA);
};

/// The fast path of the four factories (Note [interop fast path]): returns true after filling
/// every field of `out` when `tensor` is a plain dense tensor of device type `Want` meeting
/// `req`; false sends the caller to the general path. Inline reads of TensorImpl fields and bit
/// tests only; torch's own inline accessors keep their unlikely-branch checks.
template <c10::DeviceType Want>
[[gnu::always_inline]] inline bool fast_view(const at::TensorBase& tensor,
                                             const BufferRequirements& req, bool allow_copy_request,
                                             TensorBufferView& out) {
  const c10::TensorImpl* impl = tensor.unsafeGetTensorImpl();
  const std::uint64_t keys = impl->key_set().raw_repr();
  const std::uint64_t kDense =
      PlainKeys<Want>::dense.raw_repr();  // folded: raw_repr is not constexpr
  const std::uint64_t kAllowed = PlainKeys<Want>::allowed.raw_repr();
  // The undefined tensor's key set is empty: it fails the Dense test.
  if ((keys & ~kAllowed) != 0 || (keys & kDense) != kDense) return false;
  const c10::ScalarType dtype = impl->dtype().toScalarType();
  const std::uint64_t dtype_bit = std::uint64_t{1} << static_cast<unsigned>(dtype);
  const std::int64_t rank = impl->dim();
  const std::int64_t alignment = req.alignment;
  if ((req.dtypes.bits() & DtypeSet::interop().bits() & dtype_bit) == 0 ||
      rank > static_cast<std::int64_t>(kMaxBufferRank) ||
      (!allow_copy_request && req.contiguity == Contiguity::copy_if_needed) ||
      (alignment & (alignment - 1)) != 0 || alignment < 0) {
    return false;
  }
  const c10::Storage& storage = impl->unsafe_storage();
  if (!storage) return false;
  const std::int64_t* sizes = impl->sizes().data();
  const std::int64_t* strides = impl->strides().data();
  const std::int64_t numel = impl->numel();
  const std::int64_t storage_offset = impl->storage_offset();
  // Every TensorImpl field is read before the first store into `out`: a store may alias torch's
  // policy bytes as far as the compiler knows, which would make each accessor reload and retest.
  InteropAccess::Raw raw = InteropAccess::raw(out);
  // Entries past the rank are zero. Fixed-size stores (eight 16-byte moves): a loop from `rank`
  // becomes a variable-length memset call, which cost more than the whole copy.
  std::memset(raw.sizes, 0, sizeof(std::int64_t) * kMaxBufferRank);
  std::memset(raw.strides, 0, sizeof(std::int64_t) * kMaxBufferRank);
  // Copy, compute torch's contiguity, and OR the strides for the sign test, in one pass.
  std::uint64_t expected = 1;  // unsigned: wraps harmlessly past a zero extent (numel 0)
  bool contiguous = true;
  std::int64_t stride_bits = 0;
  for (std::int64_t d = rank - 1; d >= 0; --d) {
    const std::int64_t size = sizes[d];
    const std::int64_t stride = strides[d];
    raw.sizes[d] = size;
    raw.strides[d] = stride;
    stride_bits |= stride;
    if (size != 1) {
      contiguous = contiguous && static_cast<std::uint64_t>(stride) == expected;
      expected *= static_cast<std::uint64_t>(size);
    }
  }
  contiguous = contiguous || numel == 0;
  if (stride_bits < 0 || (!contiguous && req.contiguity != Contiguity::any)) return false;
  const std::int64_t element_size = dtype_size(dtype);
  std::int64_t bytes = 0;
  if (C10_LIKELY(contiguous)) {
    if (mul_overflows(numel, element_size, &bytes)) return false;
  } else {
    std::int64_t span = 0;
    if (!span_elements(std::span<const std::int64_t>(sizes, static_cast<std::size_t>(rank)),
                       std::span<const std::int64_t>(strides, static_cast<std::size_t>(rank)),
                       numel, &span) ||
        mul_overflows(span, element_size, &bytes)) {
      return false;
    }
  }
  void* data = nullptr;
  if (C10_LIKELY(numel != 0)) {
    c10::StorageImpl* storage_impl = storage.unsafeGetStorageImpl();
    // mutable_data() keeps torch's inline checks (copy-on-write materialisation, storages that
    // forbid access), as TensorImpl::mutable_data() would.
    void* base = req.access == Access::read_only ? const_cast<void*>(storage_impl->data())
                                                 : storage_impl->mutable_data();
    if (base == nullptr) return false;  // storage not allocated
    data = static_cast<char*>(base) + element_size * storage_offset;
  }
  const std::uintptr_t mask = static_cast<std::uintptr_t>(element_size - 1) |
                              (alignment > 0 ? static_cast<std::uintptr_t>(alignment - 1) : 0);
  if ((reinterpret_cast<std::uintptr_t>(data) & mask) != 0) return false;
  *raw.data = data;
  *raw.numel = numel;
  *raw.byte_size = bytes;
  if constexpr (Want == c10::DeviceType::CUDA) {
    *raw.device = impl->device();
  } else {
    *raw.device = c10::Device(c10::DeviceType::CPU);
  }
  *raw.dtype = dtype;
  *raw.rank = static_cast<std::int8_t>(rank);
  *raw.access = req.access;
  *raw.contiguous = contiguous;
  *raw.stream_pinned = req.stream.has_value();
  *raw.stream = req.stream.has_value() ? *req.stream : nullptr;
  return true;
}

/// The slow half of `borrow` (Note [interop fast path]): tensors the key test does not recognise
/// as plain dense CPU/CUDA tensors go through the general checks; failures are explained.
[[gnu::noinline, gnu::cold]] void borrow_slow(const at::TensorBase& tensor,
                                              const BufferRequirements& req, c10::DeviceType want,
                                              const char* fn, Result<TensorBufferView>& result) {
  try {
    if (!try_view(tensor, req, want, /*allow_copy_request=*/false, &*result)) {
      result = Unexpected(diagnose(tensor, req, want, /*owning=*/false, fn));
    }
  } catch (const c10::Error& error) {
    result =
        Unexpected(from_c10_error(error).with_context(str_cat("in ", fn, tensor_label(req.name))));
  }
}

template <c10::DeviceType Want>
[[gnu::always_inline]] inline Result<TensorBufferView> borrow(const at::TensorBase& tensor,
                                                              const BufferRequirements& req,
                                                              const char* fn) {
  // Built in place and returned by name (Note [interop fast path]): no zero fill, no copy.
  Result<TensorBufferView> result(std::in_place, InteropAccess::uninitialized());
  bool done = false;
  try {
    done = fast_view<Want>(tensor, req, /*allow_copy_request=*/false, *result);
  } catch (const c10::Error&) {
    done = false;  // borrow_slow runs the same reads again and reports the error
  }
  if (C10_UNLIKELY(!done)) borrow_slow(tensor, req, Want, fn, result);
  return result;
}

/// The slow half of `own`: the general checks, the copy the caller asked for, the messages.
[[gnu::noinline, gnu::cold]] void own_slow(const at::TensorBase& tensor,
                                           const BufferRequirements& req, c10::DeviceType want,
                                           const char* fn, Result<TensorBuffer>& result) {
  TensorBufferView view = InteropAccess::uninitialized();
  try {
    if (try_view(tensor, req, want, /*allow_copy_request=*/true, &view)) {
      result = TensorBuffer(view, tensor.unsafeGetTensorImpl()->storage(), /*is_copy=*/false);
      return;
    }
    if (req.contiguity == Contiguity::copy_if_needed && tensor.defined() &&
        !tensor.is_contiguous()) {
      // The caller asked for a copy: make it only when every other requirement holds.
      BufferRequirements relaxed = req;
      relaxed.contiguity = Contiguity::any;
      if (!try_view(tensor, relaxed, want, /*allow_copy_request=*/true, &view)) {
        result = Unexpected(diagnose(tensor, relaxed, want, /*owning=*/true, fn));
        return;
      }
      at::Tensor copy = at::Tensor(tensor).contiguous();
      BufferRequirements strict = req;
      strict.contiguity = Contiguity::required;
      if (!try_view(copy, strict, want, /*allow_copy_request=*/false, &view)) {
        result = Unexpected(diagnose(copy, strict, want, /*owning=*/true, fn)
                                .with_context("in the contiguous copy the caller asked for"));
        return;
      }
      result = TensorBuffer(view, copy.unsafeGetTensorImpl()->storage(), /*is_copy=*/true);
      return;
    }
    result = Unexpected(diagnose(tensor, req, want, /*owning=*/true, fn));
  } catch (const c10::Error& error) {
    result =
        Unexpected(from_c10_error(error).with_context(str_cat("in ", fn, tensor_label(req.name))));
  }
}

template <c10::DeviceType Want>
[[gnu::always_inline]] inline Result<TensorBuffer> own(const at::TensorBase& tensor,
                                                       const BufferRequirements& req,
                                                       const char* fn) {
  // In place, like `borrow`: the view is filled inside the result and the storage reference is
  // the only other write (one refcount increment); no second validation, no temporary buffer.
  Result<TensorBuffer> result(std::in_place, InteropAccess::uninitialized_buffer());
  bool done = false;
  try {
    TensorBuffer& buffer = *result;
    done =
        fast_view<Want>(tensor, req, /*allow_copy_request=*/true, InteropAccess::view_of(buffer));
    if (C10_LIKELY(done)) {
      InteropAccess::set_storage(buffer, tensor.unsafeGetTensorImpl()->unsafe_storage());
    }
  } catch (const c10::Error&) {
    done = false;
  }
  if (C10_UNLIKELY(!done)) own_slow(tensor, req, Want, fn, result);
  return result;
}

Result<TensorBuffer> own(const at::TensorBase& tensor, const BufferRequirements& req,
                         c10::DeviceType want, const char* fn) {
  return want == c10::DeviceType::CUDA ? own<c10::DeviceType::CUDA>(tensor, req, fn)
                                       : own<c10::DeviceType::CPU>(tensor, req, fn);
}

}  // namespace

bool compact_strides(std::span<const std::int64_t> sizes, std::span<std::int64_t> out) noexcept {
  std::int64_t running = 1;
  for (std::size_t d = sizes.size(); d-- > 0;) {
    out[d] = running;
    if (mul_overflows(running, std::max<std::int64_t>(sizes[d], 1), &running)) return false;
  }
  return true;
}

Result<LayoutFacts> check_layout(std::span<const std::int64_t> sizes,
                                 std::span<const std::int64_t> strides, std::int64_t element_size,
                                 std::string_view what) {
  if (sizes.size() > kMaxBufferRank) {
    return CoreError::dimension_mismatch(str_cat(what, ": rank ", sizes.size(),
                                                 " exceeds the maximum ", kMaxBufferRank,
                                                 " of a TensorBufferView"));
  }
  if (strides.size() != sizes.size()) {
    return CoreError::dimension_mismatch(str_cat(what, ": ", strides.size(), " strides for ",
                                                 sizes.size(),
                                                 " sizes; expected one stride per size"));
  }
  LayoutFacts facts;
  for (std::size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] < 0) {
      return CoreError::invalid_config(str_cat(what, ": size ", sizes[d], " of dimension ", d,
                                               " in ", sizes, " is negative; expected >= 0"));
    }
    if (strides[d] < 0) {
      return CoreError::invalid_config(
          str_cat(what, ": stride ", strides[d], " of dimension ", d, " in ", strides,
                  " is negative; expected >= 0 (torch tensors cannot have negative strides)"));
    }
    if (mul_overflows(facts.numel, sizes[d], &facts.numel)) {
      return CoreError::invalid_config(
          str_cat(what, ": the element count of sizes ", sizes, " overflows int64"));
    }
  }
  std::int64_t span = 0;
  if (!span_elements(sizes, strides, facts.numel, &span) ||
      mul_overflows(span, element_size, &facts.byte_size)) {
    return CoreError::invalid_config(str_cat(what, ": the byte size of sizes ", sizes, ", strides ",
                                             strides, " at ", element_size,
                                             " bytes per element overflows int64"));
  }
  facts.contiguous = is_compact(sizes, strides, facts.numel);
  return facts;
}

Result<void> check_device_exists(c10::Device device, std::string_view what) {
  if (device.is_cpu()) return {};
  if (device.is_cuda()) {
    if (!device.has_index()) {
      return CoreError::invalid_config(
          str_cat(what, ": device ", device, " has no index; expected an explicit cuda:N"));
    }
    const std::int64_t count = cuda_device_count();
    if (device.index() >= count) {
      return CoreError::device_not_available(
          device, str_cat(what, ": ", count, " CUDA device(s) available",
                          AI_CORE_WITH_CUDA ? "" : " (ai_core was built without CUDA)"));
    }
    return {};
  }
  return CoreError::device_mismatch(c10::Device(c10::DeviceType::CUDA), device,
                                    str_cat(what, ": only CPU and CUDA devices are supported"));
}

CoreError tensor_view_error(const TensorBufferView& buffer, c10::ScalarType expected,
                            std::int64_t expected_rank, bool wants_write, bool index32) {
  if (buffer.dtype() != expected) {
    return CoreError::invalid_config(
        str_cat("make_tensor_view: dtype mismatch: expected ", dtype_name(expected),
                " (the view's element type), got ", dtype_name(buffer.dtype())));
  }
  if (buffer.rank() != expected_rank) {
    return CoreError::dimension_mismatch(str_cat("make_tensor_view: rank mismatch: expected ",
                                                 expected_rank, " (the view's Rank), got ",
                                                 buffer.rank(), " (sizes ", buffer.sizes(), ")"));
  }
  if (wants_write && buffer.is_read_only()) {
    return CoreError::invalid_config(
        "make_tensor_view: the buffer is read-only; expected a const element type "
        "(TensorView<const T, Rank>)");
  }
  if (index32) {
    return CoreError::invalid_config(str_cat(
        "make_tensor_view: sizes ", buffer.sizes(), ", strides ", buffer.strides(), " (",
        buffer.numel(),
        " elements) reach past 2^31-1; expected every size, stride, the element count and the "
        "largest offset to fit in 32 bits (use the 64-bit TensorView)"));
  }
  return CoreError::invalid_config("make_tensor_view: internal error: no violation found");
}

}  // namespace detail

// --- TensorBufferView
// -----------------------------------------------------------------------------

StreamHandle TensorBufferView::stream() const noexcept {
  if (stream_pinned_) return stream_;
  if (device_.is_cuda()) return detail::current_cuda_stream(device_.index());
  return nullptr;
}

Result<TensorBufferView> TensorBufferView::from_raw(void* data, std::int64_t byte_size,
                                                    c10::ScalarType dtype,
                                                    std::span<const std::int64_t> sizes,
                                                    std::span<const std::int64_t> strides,
                                                    c10::Device device, Access access) {
  constexpr std::string_view what = "TensorBufferView::from_raw";
  if (!is_interop_dtype(dtype)) {
    return CoreError::invalid_config(str_cat(what, ": dtype mismatch: expected ",
                                             DtypeSet::interop().to_string(), ", got ",
                                             dtype_name(dtype)));
  }
  if (byte_size < 0) {
    return CoreError::invalid_config(
        str_cat(what, ": byte size ", byte_size, " is negative; expected >= 0"));
  }
  if (sizes.size() > kMaxBufferRank) {
    return CoreError::dimension_mismatch(str_cat(what, ": rank ", sizes.size(),
                                                 " exceeds the maximum ", kMaxBufferRank,
                                                 " of a TensorBufferView"));
  }
  std::int64_t compact[kMaxBufferRank] = {};
  if (strides.empty() && !sizes.empty()) {
    if (!detail::compact_strides(sizes, std::span<std::int64_t>(compact, sizes.size()))) {
      return CoreError::invalid_config(
          str_cat(what, ": the element count of sizes ", sizes, " overflows int64"));
    }
    strides = std::span<const std::int64_t>(compact, sizes.size());
  }
  const std::int64_t element_size = dtype_size(dtype);
  AI_CORE_ASSIGN_OR_RETURN(const detail::LayoutFacts facts,
                           detail::check_layout(sizes, strides, element_size, what));
  if (facts.byte_size > byte_size) {
    return CoreError::invalid_config(
        str_cat(what, ": sizes ", sizes, ", strides ", strides, " reach ", facts.byte_size,
                " bytes (largest offset ", facts.byte_size / element_size - 1, " elements of ",
                element_size, " bytes); expected at most the buffer's ", byte_size, " bytes"));
  }
  if (data == nullptr && facts.numel > 0) {
    return CoreError::invalid_config(
        str_cat(what, ": data is null but sizes ", sizes, " hold ", facts.numel,
                " elements; expected a pointer (null only for zero elements)"));
  }
  const auto address = reinterpret_cast<std::uintptr_t>(data);
  if (address % static_cast<std::uintptr_t>(element_size) != 0) {
    return CoreError::invalid_config(str_cat(what, ": data address ", address,
                                             " is not aligned to the element size ", element_size,
                                             " of ", dtype_name(dtype)));
  }
  AI_CORE_TRY(detail::check_device_exists(device, what));
  detail::InteropAccess::Fields f;
  f.data = data;
  f.sizes = sizes;
  f.strides = strides;
  f.numel = facts.numel;
  f.byte_size = facts.byte_size;
  f.device = device;
  f.dtype = dtype;
  f.access = access;
  f.contiguous = facts.contiguous;
  return detail::InteropAccess::make(f);
}

// --- tensor -> buffer
// -----------------------------------------------------------------------------

// flatten: torch's small inline accessors (strides()) are inlined too (Note [interop fast path]).
[[gnu::flatten]] Result<TensorBufferView> as_cuda_buffer(const at::TensorBase& tensor,
                                                         const BufferRequirements& requirements) {
  return detail::borrow<c10::DeviceType::CUDA>(tensor, requirements, "as_cuda_buffer");
}

// flatten: torch's small inline accessors (strides()) are inlined too (Note [interop fast path]).
[[gnu::flatten]] Result<TensorBufferView> as_host_buffer(const at::TensorBase& tensor,
                                                         const BufferRequirements& requirements) {
  return detail::borrow<c10::DeviceType::CPU>(tensor, requirements, "as_host_buffer");
}

// flatten: torch's small inline accessors (strides()) are inlined too (Note [interop fast path]).
[[gnu::flatten]] Result<TensorBuffer> make_cuda_buffer(const at::TensorBase& tensor,
                                                       const BufferRequirements& requirements) {
  return detail::own<c10::DeviceType::CUDA>(tensor, requirements, "make_cuda_buffer");
}

// flatten: torch's small inline accessors (strides()) are inlined too (Note [interop fast path]).
[[gnu::flatten]] Result<TensorBuffer> make_host_buffer(const at::TensorBase& tensor,
                                                       const BufferRequirements& requirements) {
  return detail::own<c10::DeviceType::CPU>(tensor, requirements, "make_host_buffer");
}

// --- buffer -> tensor
// -----------------------------------------------------------------------------

namespace {

void release_nothing(void* /*context*/) {}

// Note [null owner context]: torch's TensorMaker keeps the context in a unique_ptr and builds the
// DataPtr from it only `if (ctx_)`: a null context with a release function would never be
// released (found by tests/bad_input_test.cpp's resource-hygiene count). Such an owner's release
// runs through this small heap thunk instead, which calls `release(nullptr)` once.
struct NullContextRelease {
  BufferOwner::ReleaseFn release;
};
void release_null_context(void* thunk) {
  auto* self = static_cast<NullContextRelease*>(thunk);
  self->release(nullptr);
  delete self;
}

/// Checks what `to_tensor` needs of any view (made by from_raw, a factory, or by hand).
Result<void> check_tensor_target(const TensorBufferView& buffer, std::string_view what) {
  if (buffer.is_read_only()) {
    return CoreError::invalid_config(
        str_cat(what,
                ": the buffer is read-only; a torch tensor cannot enforce read-only access "
                "(expected a read_write buffer)"));
  }
  if (!is_interop_dtype(buffer.dtype())) {
    return CoreError::invalid_config(str_cat(what, ": dtype mismatch: expected ",
                                             DtypeSet::interop().to_string(), ", got ",
                                             dtype_name(buffer.dtype())));
  }
  if (buffer.data() == nullptr && buffer.numel() > 0) {
    return CoreError::invalid_config(
        str_cat(what, ": the buffer's data is null but it holds ", buffer.numel(), " elements"));
  }
  return detail::check_device_exists(buffer.device(), what);
}

}  // namespace

Result<at::Tensor> to_tensor(const TensorBufferView& buffer, BufferOwner owner) {
  AI_CORE_TRY(check_tensor_target(buffer, "to_tensor"));
  auto [context, release] = owner.release_ownership();
  if (context == nullptr && release != nullptr) {  // Note [null owner context]
    auto* thunk = new (std::nothrow) NullContextRelease{release};
    if (thunk == nullptr) {
      release(nullptr);
      return CoreError::out_of_memory("to_tensor: allocating the owner's release thunk",
                                      sizeof(NullContextRelease));
    }
    context = thunk;
    release = &release_null_context;
  }
  try {
    // Note: from here the context is owned by torch's TensorMaker (released by its destructor if
    // make_tensor throws before the storage exists) and then by the storage's DataPtr.
    const c10::IntArrayRef sizes(buffer.sizes().data(), buffer.sizes().size());
    const c10::IntArrayRef strides(buffer.strides().data(), buffer.strides().size());
    return at::for_blob(buffer.data(), sizes)
        .strides(strides)
        .context(context, release != nullptr ? release : &release_nothing)
        .target_device(buffer.device())
        .options(at::TensorOptions().dtype(buffer.dtype()).device(buffer.device()))
        .make_tensor();
  } catch (const c10::Error& error) {
    return from_c10_error(error).with_context("in to_tensor");
  }
}

Result<at::Tensor> to_tensor(const TensorBuffer& buffer) {
  if (!buffer.owns_storage()) {
    return CoreError::invalid_config(
        "to_tensor: the buffer owns no storage (default-constructed); expected a buffer from a "
        "factory or from_dlpack");
  }
  const TensorBufferView& view = buffer.view();
  AI_CORE_TRY(check_tensor_target(view, "to_tensor"));
  try {
    const c10::Storage& storage = buffer.storage();
    std::int64_t offset = 0;
    if (view.data() != nullptr) {
      const auto delta =
          static_cast<const char*>(view.data()) - static_cast<const char*>(storage.data());
      offset = delta / view.element_size();
    }
    const auto options = at::TensorOptions().dtype(view.dtype()).device(view.device());
    at::Tensor tensor = at::detail::make_tensor<c10::TensorImpl>(
        c10::Storage(storage), c10::DispatchKeySet(options.computeDispatchKey()),
        caffe2::TypeMeta::fromScalarType(view.dtype()));
    tensor.unsafeGetTensorImpl()->set_sizes_and_strides(
        c10::IntArrayRef(view.sizes().data(), view.sizes().size()),
        c10::IntArrayRef(view.strides().data(), view.strides().size()), offset);
    return tensor;
  } catch (const c10::Error& error) {
    return from_c10_error(error).with_context("in to_tensor");
  }
}

// --- output buffers
// -------------------------------------------------------------------------------

Result<std::pair<at::Tensor, TensorBuffer>> allocate_output_buffer(
    std::span<const std::int64_t> sizes, c10::ScalarType dtype, c10::Device device) {
  constexpr std::string_view what = "allocate_output_buffer";
  if (!is_interop_dtype(dtype)) {
    return CoreError::invalid_config(str_cat(what, ": dtype mismatch: expected ",
                                             DtypeSet::interop().to_string(), ", got ",
                                             dtype_name(dtype)));
  }
  std::int64_t strides[kMaxBufferRank] = {};
  if (sizes.size() <= kMaxBufferRank &&
      !detail::compact_strides(sizes, std::span<std::int64_t>(strides, sizes.size()))) {
    return CoreError::invalid_config(
        str_cat(what, ": the element count of sizes ", sizes, " overflows int64"));
  }
  // The requested bytes, checked (numel x element size overflowing int64 is invalid_config):
  // an out-of-memory error names them, whatever torch's message says.
  AI_CORE_ASSIGN_OR_RETURN(
      const detail::LayoutFacts facts,
      detail::check_layout(
          sizes, std::span<const std::int64_t>(strides, std::min(sizes.size(), kMaxBufferRank)),
          dtype_size(dtype), what));
  AI_CORE_TRY(detail::check_device_exists(device, what));
  try {
    at::Tensor out = at::empty(c10::IntArrayRef(sizes.data(), sizes.size()),
                               at::TensorOptions().dtype(dtype).device(device));
    BufferRequirements req;
    auto buffer = detail::own(out, req, device.type(), "allocate_output_buffer");
    if (!buffer) return std::move(buffer).error();
    return std::pair<at::Tensor, TensorBuffer>(std::move(out), *std::move(buffer));
  } catch (const c10::Error& error) {
    CoreError converted = from_c10_error(error);
    if (converted.code() != ErrorCode::out_of_memory) {
      return std::move(converted).with_context(
          str_cat("in ", what, " of sizes ", sizes, " ", dtype_name(dtype), " on ", device));
    }
    // Note [output buffer out of memory]: torch's text may or may not carry the size (the CUDA
    // caching allocator's does, in GiB), never the free bytes; the payload is built here from the
    // size computed above and, on CUDA, cudaMemGetInfo of that device. The caching allocator has
    // already freed its cached blocks and retried before throwing, and a failed cudaMalloc is not
    // sticky, so the process allocates and computes normally afterwards.
    const auto requested = static_cast<std::uint64_t>(facts.byte_size);
    const std::optional<std::uint64_t> free =
        device.is_cuda() ? detail::cuda_free_bytes(device.index()) : std::nullopt;
    std::string message = str_cat(what, ": out of memory allocating ", requested, " bytes (sizes ",
                                  sizes, ", ", dtype_name(dtype), ") on ", device);
    if (free) message += str_cat("; ", *free, " bytes free on the device");
    return CoreError::out_of_memory(std::move(message), requested, free)
        .with_context(str_cat("torch: ", converted.message()));
  }
}

Result<std::pair<at::Tensor, TensorBuffer>> allocate_like(const at::TensorBase& like) {
  if (!like.defined()) {
    return CoreError::invalid_config(
        "allocate_like: the tensor is undefined; expected a defined tensor");
  }
  const c10::Device device = like.device();
  if (!device.is_cpu() && !device.is_cuda()) {
    return CoreError::device_mismatch(c10::Device(c10::DeviceType::CUDA), device,
                                      "allocate_like: only CPU and CUDA tensors are supported");
  }
  return allocate_output_buffer(
      std::span<const std::int64_t>(like.sizes().data(), like.sizes().size()), like.scalar_type(),
      device);
}

}  // namespace ai_core
