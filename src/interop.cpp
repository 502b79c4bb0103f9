// SPDX-License-Identifier: MIT
// src/interop.cpp: tensor <-> buffer interop (see <ai_core/interop.hpp>). The CUDA-specific parts
// (stream lookup, events, device count) live in src/interop_cuda.cpp.
//
// Note [interop fast path]: `as_cuda_buffer` runs in the time budget of a hand-made view (a few
// nanoseconds), so the factories first try `fast_view`: one dispatch-key test recognises a plain
// dense tensor of the wanted device type (Note [interop fast path, key test]), then every check is
// an inline read of a TensorImpl field or a bit test, ordered so the common case decides early,
// with no virtual torch call, no allocation and no copy of the view (it is filled inside the
// result). Anything `fast_view` does not accept goes to the cold `*_slow` functions, which run the
// one list of checks (Note [interop validation]): it fills the view or explains the first failure.
#include "interop_internal.hpp"

#include <ai_core/device.hpp>
#include <ai_core/dtype.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/memory.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/torch_error.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/core/DispatchKeySet.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
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

/// Returns the error `capture` makes of the exception being handled; call it in a catch block
/// (one classification of exceptions for the whole library).
CoreError handled_exception_error() {
  return capture([]() -> Result<void> { throw; }).error();
}

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

// Note [interop validation]: every requirement is checked in one place, `validate`, a list of
// named steps in a fixed order; each step either passes or returns the error for its violation,
// so the first violation is the one reported and each message is written once. `fast_view`
// (Note [interop fast path]) only accepts: a tensor it does not recognise, or one that fails any
// of its tests, is handed to `validate`, which fills the view or explains the failure.
//
// Note [writable access]: a kernel writing through a buffer modifies the tensor in place, which
// autograd cannot see. So a `read_write` buffer is made the way torch makes an in-place op: the
// tensor's version counter is bumped when the buffer is made (a tensor saved for backward then
// makes `backward()` raise, as after `mul_`), an inference tensor is refused outside
// InferenceMode (torch's own check in `VariableVersion::bump`), and a tensor that requires grad is
// refused while grad mode is enabled: torch refuses in-place ops on leaves that require grad, and
// on other tensors it records the op in the graph, which a kernel cannot do. A layout in which
// two elements share an address is refused too: a kernel writing through it races. `read_only`
// buffers skip all of this; bounds against the storage are checked for both.

/// A step of `validate`: nothing when the step passes, else the error for its violation.
using Step = std::optional<CoreError>;

struct Checked {
  const at::TensorBase& tensor;
  const c10::TensorImpl* impl;
  const BufferRequirements& req;
  const char* fn;
  std::string label;
};

Step check_defined(const at::TensorBase& tensor, const char* fn, const std::string& label) {
  if (tensor.defined()) return std::nullopt;
  return CoreError::invalid_config(
      str_cat(fn, ": the tensor is undefined; expected a defined tensor", label));
}

Step check_kind(const Checked& c) {
  const c10::TensorImpl* impl = c.impl;
  if (impl->is_nested()) {
    return CoreError::invalid_config(
        str_cat(c.fn, ": nested tensors are not supported; expected a strided tensor", c.label));
  }
  if (impl->key_set().has_any(kUnsupportedLayoutKeys) || impl->layout() != c10::kStrided) {
    return CoreError::invalid_config(str_cat(c.fn, ": layout ", layout_name(impl->layout()),
                                             " is not supported; expected a strided tensor",
                                             c.label));
  }
  if (impl->is_quantized()) {
    return CoreError::invalid_config(
        str_cat(c.fn, ": quantized tensors (dtype ", c10::toString(impl->dtype().toScalarType()),
                ") are not supported; expected a plain dtype", c.label));
  }
  if (impl->is_meta()) {
    return CoreError::invalid_config(
        str_cat(c.fn, ": meta tensors have no data; expected a tensor with memory", c.label));
  }
  return std::nullopt;
}

Step check_device_type(const Checked& c, c10::DeviceType want) {
  const c10::Device device = c.impl->device();
  if (device.type() == want) return std::nullopt;
  const char* hint = want == c10::DeviceType::CUDA
                         ? "needs a CUDA tensor; for a CPU tensor use the host variant"
                         : "needs a CPU tensor; for a CUDA tensor use the cuda variant";
  return CoreError::device_mismatch(c10::Device(want), device, str_cat(c.fn, " ", hint, c.label));
}

Step check_storage(const Checked& c) {
  if (!c.impl->has_storage()) {
    return CoreError::invalid_config(str_cat(
        c.fn,
        ": the tensor has no storage (a functional, fake or opaque tensor); expected a tensor "
        "with memory",
        c.label));
  }
  if (!c.impl->storage_initialized()) {
    return CoreError::invalid_config(
        str_cat(c.fn, ": the tensor has ", c.impl->numel(),
                " elements but no allocated data; expected allocated storage", c.label));
  }
  return std::nullopt;
}

Step check_lazy_bits(const Checked& c) {
  if (c.impl->is_conj()) {
    return CoreError::invalid_config(str_cat(
        c.fn, ": the tensor has a pending conjugate bit; expected none (call resolve_conj())",
        c.label));
  }
  if (c.impl->is_neg()) {
    return CoreError::invalid_config(
        str_cat(c.fn, ": the tensor has a pending negative bit; expected none (call resolve_neg())",
                c.label));
  }
  return std::nullopt;
}

Step check_dtype(const Checked& c) {
  const c10::ScalarType dtype = c.impl->dtype().toScalarType();
  if (c.req.dtypes.contains(dtype) && is_interop_dtype(dtype)) return std::nullopt;
  std::string expected = c.req.dtypes.to_string();
  if (!is_interop_dtype(dtype) && c.req.dtypes.contains(dtype)) {
    expected = str_cat(DtypeSet::interop().to_string(), " (the interop dtypes)");
  }
  return CoreError::invalid_config(
      str_cat("dtype mismatch: expected ", expected, ", got ", dtype_name(dtype), c.label));
}

Step check_rank(const Checked& c) {
  if (c.impl->dim() <= static_cast<std::int64_t>(kMaxBufferRank)) return std::nullopt;
  return CoreError::dimension_mismatch(str_cat(c.fn, ": rank ", c.impl->dim(),
                                               " exceeds the maximum ", kMaxBufferRank,
                                               " of a TensorBufferView", c.label));
}

Step check_layout_request(const Checked& c, bool owning) {
  if (c.req.contiguity == Contiguity::copy_if_needed && !owning) {
    return CoreError::invalid_config(
        str_cat(c.fn,
                ": Contiguity::copy_if_needed needs an owning buffer to keep the copy alive; use "
                "make_cuda_buffer or make_host_buffer",
                c.label));
  }
  const std::int64_t alignment = c.req.alignment;
  if (alignment < 0 || (alignment & (alignment - 1)) != 0) {
    return CoreError::invalid_config(
        str_cat(c.fn, ": alignment requirement ", alignment, " is not a power of two", c.label));
  }
  return std::nullopt;
}

Step check_strides(const Checked& c) {
  for (std::int64_t s : c.impl->strides()) {
    if (s < 0) {
      return CoreError::invalid_config(
          str_cat(c.fn, ": negative strides ", c.impl->strides(), " are not supported", c.label));
    }
  }
  if (c.req.contiguity != Contiguity::any && !c.impl->is_contiguous()) {
    return CoreError::invalid_config(str_cat(
        c.fn, ": the tensor is not contiguous (sizes ", c.impl->sizes(), ", strides ",
        c.impl->strides(), "); the requirement is ", contiguity_name(c.req.contiguity),
        ": pass a contiguous tensor, Contiguity::any, or Contiguity::copy_if_needed with an "
        "owning buffer",
        c.label));
  }
  return std::nullopt;
}

/// Computes the byte span of the layout into `bytes` (Note [interop validation]).
Step check_byte_span(const Checked& c, std::int64_t* bytes) {
  const std::int64_t element_size = dtype_size(c.impl->dtype().toScalarType());
  std::int64_t span = 0;
  if (span_elements(c.impl->sizes(), c.impl->strides(), c.impl->numel(), &span) &&
      !mul_overflows(span, element_size, bytes)) {
    return std::nullopt;
  }
  return CoreError::invalid_config(str_cat(c.fn, ": the byte size of sizes ", c.impl->sizes(),
                                           ", strides ", c.impl->strides(), " at ", element_size,
                                           " bytes per element overflows int64", c.label));
}

/// The write rules of Note [writable access], checked before the data pointer is asked for.
Step check_write_rules(const Checked& c) {
  if (c.req.access != Access::read_write) return std::nullopt;
  if (!c.impl->version_counter().enabled() && !c10::InferenceMode::is_enabled()) {
    return CoreError::invalid_config(str_cat(
        c.fn,
        ": writable access to an inference tensor outside InferenceMode; torch refuses in-place "
        "updates to it there (expected Access::read_only, a clone, or a c10::InferenceMode scope)",
        c.label));
  }
  if (c10::GradMode::is_enabled() && c.tensor.requires_grad()) {
    const char* which = c.tensor.is_leaf() ? "a leaf tensor that requires grad"
                                           : "a tensor that requires grad (not a leaf)";
    return CoreError::invalid_config(
        str_cat(c.fn, ": writable access to ", which,
                " while grad mode is enabled; autograd cannot see a kernel's write (expected "
                "Access::read_only, a torch::NoGradGuard scope, or detach())",
                c.label));
  }
  if (c.impl->is_contiguous() || !layout_overlaps(c.impl->sizes(), c.impl->strides())) {
    return std::nullopt;
  }
  return overlap_error(c.impl->sizes(), c.impl->strides(), c.fn, c.label);
}

/// Asks for the data pointer (torch's mutable one for writes: a lazily cloned tensor is
/// materialised) and checks its alignment.
Step check_data(const Checked& c, void** data) {
  *data = c.req.access == Access::read_only ? const_cast<void*>(c.impl->data())
                                            : const_cast<c10::TensorImpl*>(c.impl)->mutable_data();
  const std::int64_t element_size = dtype_size(c.impl->dtype().toScalarType());
  const auto address = reinterpret_cast<std::uintptr_t>(*data);
  const auto needed =
      static_cast<std::uintptr_t>(std::max<std::int64_t>(c.req.alignment, element_size));
  if (address % needed == 0) return std::nullopt;
  return CoreError::invalid_config(
      str_cat(c.fn, ": the data pointer (address ", address, ", storage offset ",
              c.impl->storage_offset(), ") is not aligned to ", needed,
              " bytes; the requirement is ", needed, "-byte alignment (element size ", element_size,
              ", requested ", c.req.alignment, ")", c.label));
}

/// Checks that the last reachable byte lies inside the storage (it may have been shrunk or
/// swapped under the tensor).
Step check_storage_bounds(const Checked& c, std::int64_t bytes) {
  if (c.impl->numel() == 0) return std::nullopt;
  const std::int64_t element_size = dtype_size(c.impl->dtype().toScalarType());
  const auto storage_bytes = static_cast<std::int64_t>(c.impl->storage().nbytes());
  std::int64_t end = 0;
  if (!mul_overflows(c.impl->storage_offset(), element_size, &end) &&
      !add_overflows(end, bytes, &end) && end <= storage_bytes) {
    return std::nullopt;
  }
  return storage_bounds_error(c.impl->storage_offset(), element_size, bytes, storage_bytes, c.fn,
                              c.label);
}

/// The one list of checks (Note [interop validation]): fills `out` and returns nothing when
/// `tensor` meets `req` on device type `want`, else the error for the first violation. `owning`
/// says whether the caller can keep a copy. A writable view bumps the version counter (Note
/// [writable access]).
Step validate(const at::TensorBase& tensor, const BufferRequirements& req, c10::DeviceType want,
              bool owning, const char* fn, TensorBufferView& out) {
  std::string label = tensor_label(req.name);
  if (Step e = check_defined(tensor, fn, label)) return e;
  const Checked c{tensor, tensor.unsafeGetTensorImpl(), req, fn, std::move(label)};
  std::int64_t bytes = 0;
  void* data = nullptr;
  if (Step e = check_kind(c)) return e;
  if (Step e = check_device_type(c, want)) return e;
  if (Step e = check_storage(c)) return e;
  if (Step e = check_lazy_bits(c)) return e;
  if (Step e = check_dtype(c)) return e;
  if (Step e = check_rank(c)) return e;
  if (Step e = check_layout_request(c, owning)) return e;
  if (Step e = check_strides(c)) return e;
  if (Step e = check_byte_span(c, &bytes)) return e;
  if (Step e = check_write_rules(c)) return e;
  if (Step e = check_data(c, &data)) return e;
  if (Step e = check_storage_bounds(c, bytes)) return e;

  const c10::TensorImpl* impl = c.impl;
  if (req.access == Access::read_write) const_cast<c10::TensorImpl*>(impl)->bump_version();
  InteropAccess::Fields f;
  f.data = impl->numel() == 0 ? nullptr : data;
  f.sizes = std::span<const std::int64_t>(impl->sizes().data(), impl->sizes().size());
  f.strides = std::span<const std::int64_t>(impl->strides().data(), impl->strides().size());
  f.numel = impl->numel();
  f.byte_size = bytes;
  f.device = impl->device();
  f.dtype = impl->dtype().toScalarType();
  f.access = req.access;
  f.contiguous = impl->is_contiguous();
  f.stream_pinned = req.stream.has_value();
  f.stream = req.stream.value_or(nullptr);
  InteropAccess::fill(out, f);
  return std::nullopt;
}

// Note [interop fast path, key test]: a plain dense tensor of one device type has exactly the
// dispatch keys torch gives every such tensor: the backend's Dense key, ADInplaceOrView, the
// backend's Autograd key and its Autocast key (inference tensors have fewer). Every exotic kind
// the factories reject (sparse, mkldnn, quantized, nested, meta, conj/neg bits, functional, Python
// subclasses, another device) adds a key outside that set or lacks the backend's Dense key, so
// one AND and one compare on `key_set()` decide all of them, and the device type too. Under that
// test the TensorImpl is torch's plain one: `unsafe_storage()` is its storage (no virtual
// `has_storage()`), and contiguity is computed while the sizes and strides are copied (no
// out-of-line `is_contiguous()`; the definition is torch's `compute_contiguous`). Anything else
// takes the general path (`validate`), which asks torch through its full API.
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

/// What `fast_view` reads of a TensorImpl, all of it before its first store into the view: a
/// store may alias torch's policy bytes as far as the compiler knows, which would make each
/// accessor reload and retest.
struct PlainTensor {
  const std::int64_t* sizes;
  const std::int64_t* strides;
  std::int64_t numel;
  std::int64_t storage_offset;
  std::size_t storage_bytes;
  c10::StorageImpl* storage;
  c10::Device device{c10::DeviceType::CPU};
  c10::ScalarType dtype;
  std::int64_t rank;
};

/// Step 1 of `fast_view`: the key test (Note [interop fast path, key test]), the request's dtype,
/// rank, contiguity and alignment, the storage, and for a writable buffer the tensor's version
/// counter and autograd metadata (Note [writable access]: an inference tensor, or one that may
/// require grad, is decided by `validate`). Fills `t` on success.
template <c10::DeviceType Want>
[[gnu::always_inline]] inline bool read_plain_tensor(const c10::TensorImpl* impl,
                                                     const BufferRequirements& req,
                                                     bool allow_copy_request, PlainTensor& t) {
  const std::uint64_t keys = impl->key_set().raw_repr();
  const std::uint64_t kDense =
      PlainKeys<Want>::dense.raw_repr();  // folded: raw_repr is not constexpr
  const std::uint64_t kAllowed = PlainKeys<Want>::allowed.raw_repr();
  // The undefined tensor's key set is empty: it fails the Dense test.
  if ((keys & ~kAllowed) != 0 || (keys & kDense) != kDense) return false;
  t.dtype = impl->dtype().toScalarType();
  const std::uint64_t dtype_bit = std::uint64_t{1} << static_cast<unsigned>(t.dtype);
  t.rank = impl->dim();
  const std::int64_t alignment = req.alignment;
  if ((req.dtypes.bits() & DtypeSet::interop().bits() & dtype_bit) == 0 ||
      t.rank > static_cast<std::int64_t>(kMaxBufferRank) ||
      (!allow_copy_request && req.contiguity == Contiguity::copy_if_needed) ||
      (alignment & (alignment - 1)) != 0 || alignment < 0) {
    return false;
  }
  const c10::Storage& storage = impl->unsafe_storage();
  if (!storage) return false;
  if (req.access == Access::read_write &&
      (!impl->version_counter().enabled() || impl->autograd_meta() != nullptr)) {
    return false;
  }
  t.sizes = impl->sizes().data();
  t.strides = impl->strides().data();
  t.numel = impl->numel();
  t.storage_offset = impl->storage_offset();
  t.storage = storage.unsafeGetStorageImpl();
  t.storage_bytes = t.storage->nbytes();
  if constexpr (Want == c10::DeviceType::CUDA) {
    t.device = impl->device();
  } else {
    t.device = c10::Device(c10::DeviceType::CPU);
  }
  return true;
}

/// Step 2: copies sizes and strides into the view (zero past the rank), computing torch's
/// contiguity on the way. False for a negative stride, a layout the request's contiguity refuses,
/// or a writable layout whose elements may share an address (Note [writable access]).
[[gnu::always_inline]] inline bool copy_layout(const PlainTensor& t, const BufferRequirements& req,
                                               const InteropAccess::Raw& raw, bool* contiguous) {
  // Fixed-size stores (eight 16-byte moves): a loop from `rank` becomes a variable-length memset
  // call, which cost more than the whole copy.
  std::memset(raw.sizes, 0, sizeof(std::int64_t) * kMaxBufferRank);
  std::memset(raw.strides, 0, sizeof(std::int64_t) * kMaxBufferRank);
  // Copy, compute torch's contiguity, and OR the strides for the sign test, in one pass.
  std::uint64_t expected = 1;  // unsigned: wraps harmlessly past a zero extent (numel 0)
  bool compact = true;
  std::int64_t stride_bits = 0;
  for (std::int64_t d = t.rank - 1; d >= 0; --d) {
    const std::int64_t size = t.sizes[d];
    const std::int64_t stride = t.strides[d];
    raw.sizes[d] = size;
    raw.strides[d] = stride;
    stride_bits |= stride;
    if (size != 1) {
      compact = compact && static_cast<std::uint64_t>(stride) == expected;
      expected *= static_cast<std::uint64_t>(size);
    }
  }
  *contiguous = compact || t.numel == 0;
  if (stride_bits < 0 || (!*contiguous && req.contiguity != Contiguity::any)) return false;
  const auto rank = static_cast<std::size_t>(t.rank);
  return *contiguous || req.access != Access::read_write ||
         !layout_overlaps(std::span<const std::int64_t>(t.sizes, rank),
                          std::span<const std::int64_t>(t.strides, rank));
}

/// Step 3: the bytes the view reaches from its data pointer; false on int64 overflow.
[[gnu::always_inline]] inline bool byte_span(const PlainTensor& t, bool contiguous,
                                             std::int64_t* bytes) {
  const std::int64_t element_size = dtype_size(t.dtype);
  if (C10_LIKELY(contiguous)) return !mul_overflows(t.numel, element_size, bytes);
  const auto rank = static_cast<std::size_t>(t.rank);
  std::int64_t span = 0;
  return span_elements(std::span<const std::int64_t>(t.sizes, rank),
                       std::span<const std::int64_t>(t.strides, rank), t.numel, &span) &&
         !mul_overflows(span, element_size, bytes);
}

/// Step 4: the data pointer (null for zero elements), checked against the storage's bounds and
/// the alignment. `mutable_data()` for writes keeps torch's inline checks (copy-on-write
/// materialisation, storages that forbid access), as TensorImpl::mutable_data() would.
[[gnu::always_inline]] inline bool locate_data(const PlainTensor& t, const BufferRequirements& req,
                                               std::int64_t bytes, void** data) {
  const std::int64_t element_size = dtype_size(t.dtype);
  *data = nullptr;
  if (C10_LIKELY(t.numel != 0)) {
    // The last reachable byte lies inside the storage (it may have been shrunk or swapped under
    // the tensor).
    std::int64_t offset_bytes = 0;
    std::int64_t end = 0;
    if (mul_overflows(element_size, t.storage_offset, &offset_bytes) ||
        add_overflows(offset_bytes, bytes, &end) ||
        static_cast<std::size_t>(end) > t.storage_bytes) {
      return false;
    }
    void* base = req.access == Access::read_write ? t.storage->mutable_data()
                                                  : const_cast<void*>(t.storage->data());
    if (base == nullptr) return false;  // storage not allocated
    *data = static_cast<char*>(base) + offset_bytes;
  }
  const std::int64_t alignment = req.alignment;
  const std::uintptr_t mask = static_cast<std::uintptr_t>(element_size - 1) |
                              (alignment > 0 ? static_cast<std::uintptr_t>(alignment - 1) : 0);
  return (reinterpret_cast<std::uintptr_t>(*data) & mask) == 0;
}

/// The fast path of the four factories (Note [interop fast path]): returns true after filling
/// every field of `out` when `tensor` is a plain dense tensor of device type `Want` meeting
/// `req`; false sends the caller to `validate`. Inline reads of TensorImpl fields and bit tests
/// only; torch's own inline accessors keep their unlikely-branch checks.
template <c10::DeviceType Want>
[[gnu::always_inline]] inline bool fast_view(const at::TensorBase& tensor,
                                             const BufferRequirements& req, bool allow_copy_request,
                                             TensorBufferView& out) {
  const c10::TensorImpl* impl = tensor.unsafeGetTensorImpl();
  PlainTensor t;
  if (!read_plain_tensor<Want>(impl, req, allow_copy_request, t)) return false;
  const InteropAccess::Raw raw = InteropAccess::raw(out);
  bool contiguous = true;
  std::int64_t bytes = 0;
  void* data = nullptr;
  if (!copy_layout(t, req, raw, &contiguous) || !byte_span(t, contiguous, &bytes) ||
      !locate_data(t, req, bytes, &data)) {
    return false;
  }
  *raw.data = data;
  *raw.numel = t.numel;
  *raw.byte_size = bytes;
  *raw.device = t.device;
  *raw.dtype = t.dtype;
  *raw.rank = static_cast<std::int8_t>(t.rank);
  *raw.access = req.access;
  *raw.contiguous = contiguous;
  *raw.stream_pinned = req.stream.has_value();
  *raw.stream = req.stream.has_value() ? *req.stream : nullptr;
  // Note [writable access]: counted as an in-place modification, like torch's in-place ops.
  if (req.access == Access::read_write) const_cast<c10::TensorImpl*>(impl)->bump_version();
  return true;
}

/// The slow half of `borrow` (Note [interop fast path]): the tensors `fast_view` does not
/// accept go through `validate` (Note [interop validation]), which fills the view or explains.
[[gnu::noinline, gnu::cold]] void borrow_slow(const at::TensorBase& tensor,
                                              const BufferRequirements& req, c10::DeviceType want,
                                              const char* fn, Result<TensorBufferView>& result) {
  std::optional<Step> outcome;
  Result<void> ran =
      capture([&] { outcome = validate(tensor, req, want, /*owning=*/false, fn, *result); });
  if (!ran) {
    result =
        Unexpected(std::move(ran).error().with_context(str_cat("in ", fn, tensor_label(req.name))));
  } else if (*outcome) {
    result = Unexpected(std::move(**outcome));
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

/// Makes the contiguous copy the caller asked for (`Contiguity::copy_if_needed`), only when every
/// other requirement holds. The copy is new memory only the buffer sees: it is made without grad
/// mode, and the original is checked as a source (read-only), since it is not written.
Result<TensorBuffer> own_copy(const at::TensorBase& tensor, const BufferRequirements& req,
                              c10::DeviceType want, const char* fn) {
  TensorBufferView view = InteropAccess::uninitialized();
  BufferRequirements source = req;
  source.contiguity = Contiguity::any;
  source.access = Access::read_only;
  if (Step error = validate(tensor, source, want, /*owning=*/true, fn, view)) {
    return Unexpected(std::move(*error));
  }
  at::Tensor copy;
  {
    c10::AutoGradMode no_grad(false);
    copy = at::Tensor(tensor).contiguous();
  }
  BufferRequirements strict = req;
  strict.contiguity = Contiguity::required;
  if (Step error = validate(copy, strict, want, /*owning=*/true, fn, view)) {
    return Unexpected(
        std::move(*error).with_context("in the contiguous copy the caller asked for"));
  }
  return InteropAccess::make_buffer(view, copy.unsafeGetTensorImpl()->storage(), /*is_copy=*/true);
}

/// The slow half of `own`: `validate` (Note [interop validation]), or the copy the caller asked
/// for.
[[gnu::noinline, gnu::cold]] void own_slow(const at::TensorBase& tensor,
                                           const BufferRequirements& req, c10::DeviceType want,
                                           const char* fn, Result<TensorBuffer>& result) {
  Result<void> ran = capture([&] {
    if (req.contiguity == Contiguity::copy_if_needed && tensor.defined() &&
        !tensor.is_contiguous()) {
      result = own_copy(tensor, req, want, fn);
      return;
    }
    TensorBufferView view = InteropAccess::uninitialized();
    if (Step error = validate(tensor, req, want, /*owning=*/true, fn, view)) {
      result = Unexpected(std::move(*error));
      return;
    }
    result = InteropAccess::make_buffer(view, tensor.unsafeGetTensorImpl()->storage(),
                                        /*is_copy=*/false);
  });
  if (!ran) {
    result =
        Unexpected(std::move(ran).error().with_context(str_cat("in ", fn, tensor_label(req.name))));
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

bool layout_overlaps(std::span<const std::int64_t> sizes,
                     std::span<const std::int64_t> strides) noexcept {
  // Dimensions of extent 0 leave no element; dimensions of extent 1 add no offset.
  struct Dim {
    std::int64_t size;
    std::int64_t stride;
  };
  Dim dims[kMaxBufferRank];
  std::size_t n = 0;
  for (std::size_t d = 0; d < sizes.size() && d < kMaxBufferRank; ++d) {
    if (sizes[d] == 0) return false;
    if (sizes[d] > 1) dims[n++] = {sizes[d], strides[d]};
  }
  for (std::size_t i = 1; i < n; ++i) {  // insertion sort by stride: at most eight entries
    for (std::size_t j = i; j > 0 && dims[j].stride < dims[j - 1].stride; --j) {
      std::swap(dims[j], dims[j - 1]);
    }
  }
  // Each element has its own address when every stride exceeds the largest offset the
  // dimensions of smaller strides reach (the test behind torch's non-overlapping layouts).
  std::uint64_t reach = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (dims[i].stride <= 0 || static_cast<std::uint64_t>(dims[i].stride) <= reach) return true;
    reach +=
        static_cast<std::uint64_t>(dims[i].stride) * static_cast<std::uint64_t>(dims[i].size - 1);
  }
  return false;
}

CoreError overlap_error(std::span<const std::int64_t> sizes, std::span<const std::int64_t> strides,
                        std::string_view what, std::string_view label) {
  for (std::size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] > 1 && strides[d] == 0) {
      return CoreError::invalid_config(str_cat(
          what, ": writable access to a layout whose elements share an address: dimension ", d,
          " has size ", sizes[d], " and stride 0 (sizes ", sizes, ", strides ", strides,
          "); a kernel writing through it races (expected Access::read_only, or a contiguous "
          "copy)",
          label));
    }
  }
  return CoreError::invalid_config(
      str_cat(what,
              ": writable access to a layout whose elements may overlap and share an address "
              "(sizes ",
              sizes, ", strides ", strides,
              "): a stride is not larger than the largest offset the smaller strides reach; a "
              "kernel writing through it races (expected Access::read_only, or a contiguous copy)",
              label));
}

CoreError storage_bounds_error(std::int64_t storage_offset, std::int64_t element_size,
                               std::int64_t span_bytes, std::int64_t storage_bytes,
                               std::string_view what, std::string_view label) {
  std::int64_t end = 0;
  const bool overflows =
      mul_overflows(storage_offset, element_size, &end) || add_overflows(end, span_bytes, &end);
  return CoreError::invalid_config(str_cat(
      what, ": the view reaches past its storage: storage offset ", storage_offset, " elements of ",
      element_size, " bytes plus a span of ", span_bytes, " bytes reach byte ",
      overflows ? std::string("past int64") : std::to_string(end), ", but the storage holds ",
      storage_bytes,
      " bytes (shrunk or swapped under the tensor); expected the last reachable byte inside the "
      "storage",
      label));
}

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
  if (buffer.data() == nullptr && buffer.numel() > 0) {
    return CoreError::invalid_config(
        str_cat("make_tensor_view: the buffer's data is null but it holds ", buffer.numel(),
                " elements; expected a buffer from a factory or from_raw (null data only for zero "
                "elements)"));
  }
  if (wants_write && buffer.is_read_only()) {
    return CoreError::invalid_config(
        "make_tensor_view: the buffer is read-only; expected a const element type "
        "(TensorView<const T, Rank>)");
  }
  if (wants_write && !buffer.is_contiguous() && layout_overlaps(buffer.sizes(), buffer.strides())) {
    return overlap_error(buffer.sizes(), buffer.strides(), "make_tensor_view", "");
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
  if (access == Access::read_write && !facts.contiguous &&
      detail::layout_overlaps(sizes, strides)) {
    return detail::overlap_error(sizes, strides, what, "");
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
  AI_CORE_TRY(check_device(device, what));
  return detail::view_of_checked_layout(data, sizes, strides, facts, device, dtype, access);
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
  return check_device(buffer.device(), what);
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
  } catch (const std::exception&) {
    return detail::handled_exception_error().with_context("in to_tensor");
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
  } catch (const std::exception&) {
    return detail::handled_exception_error().with_context("in to_tensor");
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
  AI_CORE_TRY(check_device(device, what));
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
    return with_allocator_view(CoreError::out_of_memory(std::move(message), requested, free)
                                   .with_context(str_cat("torch: ", converted.message())),
                               device);
  } catch (const std::exception&) {
    return detail::handled_exception_error().with_context(
        str_cat("in ", what, " of sizes ", sizes, " ", dtype_name(dtype), " on ", device));
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
