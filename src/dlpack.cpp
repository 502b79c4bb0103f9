// SPDX-License-Identifier: MIT
// src/dlpack.cpp: DLPack export and import for TensorBuffer (see <ai_core/dlpack.hpp> and its
// Note [DLPack ownership, field by field]).
#include "interop_internal.hpp"

#include <ai_core/device.hpp>
#include <ai_core/dlpack.hpp>
#include <ai_core/dtype.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/torch_error.hpp>

#include <ATen/dlpack.h>
#include <c10/core/Allocator.h>
#include <c10/core/Storage.h>

#include <cstdint>
#include <limits>
#include <new>
#include <string>
#include <utility>

namespace ai_core {

// --- dtypes and devices --------------------------------------------------------------------------

Result<DLDataType> to_dlpack_dtype(c10::ScalarType dtype) {
  DLDataType out{};
  out.lanes = 1;
  switch (dtype) {
    case c10::ScalarType::Float:
      out.code = kDLFloat;
      out.bits = 32;
      break;
    case c10::ScalarType::Half:
      out.code = kDLFloat;
      out.bits = 16;
      break;
    case c10::ScalarType::BFloat16:
      out.code = kDLBfloat;
      out.bits = 16;
      break;
    case c10::ScalarType::Double:
      out.code = kDLFloat;
      out.bits = 64;
      break;
    case c10::ScalarType::Char:
      out.code = kDLInt;
      out.bits = 8;
      break;
    case c10::ScalarType::Byte:
      out.code = kDLUInt;
      out.bits = 8;
      break;
    case c10::ScalarType::Short:
      out.code = kDLInt;
      out.bits = 16;
      break;
    case c10::ScalarType::Int:
      out.code = kDLInt;
      out.bits = 32;
      break;
    case c10::ScalarType::Long:
      out.code = kDLInt;
      out.bits = 64;
      break;
    case c10::ScalarType::Bool:
      out.code = kDLBool;
      out.bits = 8;
      break;
    case c10::ScalarType::Float8_e4m3fn:
      out.code = kDLFloat8_e4m3fn;
      out.bits = 8;
      break;
    case c10::ScalarType::Float8_e5m2:
      out.code = kDLFloat8_e5m2;
      out.bits = 8;
      break;
    default:
      return CoreError::invalid_config(str_cat("to_dlpack_dtype: dtype mismatch: expected ",
                                               DtypeSet::interop().to_string(), ", got ",
                                               dtype_name(dtype)));
  }
  return out;
}

Result<c10::ScalarType> from_dlpack_dtype(DLDataType dtype) {
  if (dtype.lanes != 1) {
    return CoreError::not_implemented(
        str_cat("DLPack dtype with ", dtype.lanes, " lanes (vector types); expected lanes 1"));
  }
  const int code = dtype.code;
  const int bits = dtype.bits;
  switch (code) {
    case kDLFloat:
      if (bits == 16) return c10::ScalarType::Half;
      if (bits == 32) return c10::ScalarType::Float;
      if (bits == 64) return c10::ScalarType::Double;
      break;
    case kDLBfloat:
      if (bits == 16) return c10::ScalarType::BFloat16;
      break;
    case kDLInt:
      if (bits == 8) return c10::ScalarType::Char;
      if (bits == 16) return c10::ScalarType::Short;
      if (bits == 32) return c10::ScalarType::Int;
      if (bits == 64) return c10::ScalarType::Long;
      break;
    case kDLUInt:
      if (bits == 8) return c10::ScalarType::Byte;
      break;
    case kDLBool:
      if (bits == 8) return c10::ScalarType::Bool;
      break;
    case kDLFloat8_e4m3fn:
      if (bits == 8) return c10::ScalarType::Float8_e4m3fn;
      break;
    case kDLFloat8_e5m2:
      if (bits == 8) return c10::ScalarType::Float8_e5m2;
      break;
    default:
      return CoreError::invalid_config(str_cat(
          "DLPack dtype code ", code, " (bits ", bits,
          ") is not supported; expected kDLFloat, kDLBfloat, kDLInt, kDLUInt (8 bits), kDLBool, "
          "kDLFloat8_e4m3fn or kDLFloat8_e5m2"));
  }
  return CoreError::invalid_config(str_cat("DLPack dtype code ", code, " with ", bits,
                                           " bits is not supported (no interop dtype has it)"));
}

Result<DLDevice> to_dlpack_device(c10::Device device) {
  AI_CORE_TRY(check_device(device, "to_dlpack_device"));
  if (device.is_cpu()) return DLDevice{kDLCPU, 0};
  return DLDevice{kDLCUDA, device.index()};
}

Result<c10::Device> from_dlpack_device(DLDevice device) {
  switch (static_cast<int>(device.device_type)) {
    case kDLCPU:
    case kDLCUDAHost: return c10::Device(c10::DeviceType::CPU);
    case kDLCUDA: {
      if (device.device_id < 0 || device.device_id > std::numeric_limits<c10::DeviceIndex>::max()) {
        return CoreError::device_not_available(
            str_cat("from_dlpack: DLPack device id ", device.device_id,
                    " is out of range; expected 0 <= id < ", visible_cuda_device_count(),
                    " (the visible CUDA devices)"));
      }
      c10::Device out(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(device.device_id));
      AI_CORE_TRY(check_device(out, "from_dlpack"));
      return out;
    }
    default:
      return CoreError::not_implemented(
          str_cat("DLPack device type ", static_cast<int>(device.device_type),
                  "; expected kDLCPU (1), kDLCUDA (2) or kDLCUDAHost (3)"));
  }
}

// --- export --------------------------------------------------------------------------------------

namespace {

/// One heap block per export: the managed struct, its shape and strides, and the storage kept
/// alive (Note [DLPack ownership, field by field]).
template <class Managed>
struct ExportBlock {
  Managed managed{};
  std::int64_t shape[kMaxBufferRank] = {};
  std::int64_t strides[kMaxBufferRank] = {};
  c10::Storage keep_alive;
};

template <class Managed>
void delete_export(Managed* self) {
  // manager_ctx is the block; `self` is its first member.
  delete static_cast<ExportBlock<Managed>*>(self->manager_ctx);
}

template <class Managed>
Result<ExportBlock<Managed>*> make_export(const TensorBuffer& buffer, std::string_view what) {
  if (!buffer.owns_storage()) {
    return CoreError::invalid_config(str_cat(
        what, ": the buffer owns no storage (default-constructed); expected an owning buffer"));
  }
  const TensorBufferView& view = buffer.view();
  AI_CORE_ASSIGN_OR_RETURN(DLDataType dtype, to_dlpack_dtype(view.dtype()));
  AI_CORE_ASSIGN_OR_RETURN(DLDevice device, to_dlpack_device(view.device()));
  auto* block = new (std::nothrow) ExportBlock<Managed>();
  if (block == nullptr) {
    return CoreError::out_of_memory(str_cat(what, ": allocating the DLPack block"),
                                    sizeof(ExportBlock<Managed>));
  }
  block->keep_alive = buffer.storage();
  DLTensor& t = block->managed.dl_tensor;
  const auto rank = static_cast<std::size_t>(view.rank());
  for (std::size_t d = 0; d < rank; ++d) {
    block->shape[d] = view.sizes()[d];
    block->strides[d] = view.strides()[d];
  }
  t.data = view.data();
  t.device = device;
  t.ndim = static_cast<std::int32_t>(rank);
  t.dtype = dtype;
  t.shape = rank > 0 ? block->shape : nullptr;
  t.strides = rank > 0 ? block->strides : nullptr;
  t.byte_offset = 0;
  block->managed.manager_ctx = block;
  block->managed.deleter = &delete_export<Managed>;
  return block;
}

}  // namespace

Result<DLPackVersionedPtr> to_dlpack_versioned(const TensorBuffer& buffer) {
  AI_CORE_ASSIGN_OR_RETURN(auto* block,
                           make_export<DLManagedTensorVersioned>(buffer, "to_dlpack_versioned"));
  block->managed.version.major = DLPACK_MAJOR_VERSION;
  block->managed.version.minor = DLPACK_MINOR_VERSION;
  block->managed.flags = 0;
  if (buffer.is_read_only()) block->managed.flags |= DLPACK_FLAG_BITMASK_READ_ONLY;
  if (buffer.is_copy()) block->managed.flags |= DLPACK_FLAG_BITMASK_IS_COPIED;
  return DLPackVersionedPtr(&block->managed);
}

Result<DLPackLegacyPtr> to_dlpack(const TensorBuffer& buffer) {
  if (buffer.is_read_only()) {
    return CoreError::invalid_config(
        "to_dlpack: the buffer is read-only and the legacy DLManagedTensor has no read-only flag; "
        "export it with to_dlpack_versioned");
  }
  AI_CORE_ASSIGN_OR_RETURN(auto* block, make_export<DLManagedTensor>(buffer, "to_dlpack"));
  return DLPackLegacyPtr(&block->managed);
}

// --- import --------------------------------------------------------------------------------------

namespace {

template <class Managed>
void call_producer_deleter(void* context) {
  auto* managed = static_cast<Managed*>(context);
  if (managed->deleter != nullptr) managed->deleter(managed);
}

/// Validates `t` (hostile input) and wraps it in a buffer whose storage calls the producer's
/// deleter once; on failure nothing is taken.
template <class Managed>
Result<TensorBuffer> import_tensor(Managed* managed, bool read_only, bool is_copy,
                                   std::string_view what) {
  const DLTensor& t = managed->dl_tensor;
  if (t.ndim < 0 || t.ndim > static_cast<std::int32_t>(kMaxBufferRank)) {
    return CoreError::dimension_mismatch(str_cat(
        what, ": ndim ", t.ndim, " is out of range; expected 0 <= ndim <= ", kMaxBufferRank));
  }
  const auto rank = static_cast<std::size_t>(t.ndim);
  if (rank > 0 && t.shape == nullptr) {
    return CoreError::invalid_config(
        str_cat(what, ": shape is null for ndim ", t.ndim, "; expected ndim extents"));
  }
  AI_CORE_ASSIGN_OR_RETURN(c10::ScalarType dtype, from_dlpack_dtype(t.dtype), str_cat("in ", what));
  AI_CORE_ASSIGN_OR_RETURN(c10::Device device, from_dlpack_device(t.device), str_cat("in ", what));
  std::span<const std::int64_t> sizes(rank > 0 ? t.shape : nullptr, rank);
  std::int64_t compact[kMaxBufferRank] = {};
  std::span<const std::int64_t> strides;
  if (rank > 0 && t.strides == nullptr) {
    // DLPack < 1.2 allowed null strides for compact row-major data.
    for (std::size_t d = 0; d < rank; ++d) {
      if (sizes[d] < 0) {
        return CoreError::invalid_config(str_cat(what, ": size ", sizes[d], " of dimension ", d,
                                                 " in ", sizes, " is negative; expected >= 0"));
      }
    }
    if (!detail::compact_strides(sizes, std::span<std::int64_t>(compact, rank))) {
      return CoreError::invalid_config(
          str_cat(what, ": the element count of shape ", sizes, " overflows int64"));
    }
    strides = std::span<const std::int64_t>(compact, rank);
  } else {
    strides = std::span<const std::int64_t>(rank > 0 ? t.strides : nullptr, rank);
  }
  const std::int64_t element_size = dtype_size(dtype);
  AI_CORE_ASSIGN_OR_RETURN(const detail::LayoutFacts facts,
                           detail::check_layout(sizes, strides, element_size, what));
  if (t.data == nullptr && facts.numel > 0) {
    return CoreError::invalid_config(
        str_cat(what, ": data is null but shape ", sizes, " holds ", facts.numel, " elements"));
  }
  if (t.byte_offset > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return CoreError::invalid_config(
        str_cat(what, ": byte_offset ", t.byte_offset, " exceeds int64"));
  }
  char* data = static_cast<char*>(t.data);
  if (data != nullptr) data += t.byte_offset;
  if (facts.numel == 0) data = nullptr;  // nothing is reachable; the producer's pointer is unused
  const auto address = reinterpret_cast<std::uintptr_t>(data);
  if (address % static_cast<std::uintptr_t>(element_size) != 0) {
    return CoreError::invalid_config(
        str_cat(what, ": data + byte_offset (", t.byte_offset, ") = address ", address,
                " is not aligned to the element size ", element_size, " of ", dtype_name(dtype)));
  }
  // Success from here on: the storage takes ownership of `managed`.
  const TensorBufferView view =
      detail::view_of_checked_layout(data, sizes, strides, facts, device, dtype,
                                     read_only ? Access::read_only : Access::read_write);
  try {
    c10::DataPtr data_ptr(data, managed, &call_producer_deleter<Managed>, device);
    c10::Storage storage(c10::Storage::use_byte_size_t{}, static_cast<std::size_t>(facts.byte_size),
                         std::move(data_ptr), /*allocator=*/nullptr, /*resizable=*/false);
    return detail::InteropAccess::make_buffer(view, std::move(storage), is_copy);
  } catch (const c10::Error& error) {
    // The DataPtr already owned `managed` and released it while unwinding.
    return from_c10_error(error).with_context(
        str_cat("in ", what, " (the producer's deleter ran)"));
  }
}

}  // namespace

Result<TensorBuffer> from_dlpack(DLManagedTensorVersioned* managed) {
  constexpr std::string_view what = "from_dlpack(DLManagedTensorVersioned)";
  if (managed == nullptr) {
    return CoreError::invalid_config(str_cat(what, ": the managed tensor is null"));
  }
  if (managed->version.major != DLPACK_MAJOR_VERSION) {
    return CoreError::invalid_config(str_cat(what, ": DLPack major version ",
                                             managed->version.major, " is not supported; expected ",
                                             DLPACK_MAJOR_VERSION));
  }
  const bool read_only = (managed->flags & DLPACK_FLAG_BITMASK_READ_ONLY) != 0;
  const bool is_copy = (managed->flags & DLPACK_FLAG_BITMASK_IS_COPIED) != 0;
  return import_tensor(managed, read_only, is_copy, what);
}

Result<TensorBuffer> from_dlpack(DLManagedTensor* managed) {
  constexpr std::string_view what = "from_dlpack(DLManagedTensor)";
  if (managed == nullptr) {
    return CoreError::invalid_config(str_cat(what, ": the managed tensor is null"));
  }
  return import_tensor(managed, /*read_only=*/false, /*is_copy=*/false, what);
}

}  // namespace ai_core
