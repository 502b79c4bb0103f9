// SPDX-License-Identifier: MIT
// ai_core/dlpack.hpp: DLPack exchange for `TensorBuffer`, so buffers pass to CuPy, JAX, CUDA
// Python or `torch.from_dlpack` without copies: export as `DLManagedTensorVersioned` (DLPack 1.x)
// or the legacy `DLManagedTensor`, and import either, validating hostile input.
//
// Uses the `dlpack.h` torch ships (<ATen/dlpack.h>, DLPack 1.3 in torch 2.11), so the structs are
// the ones `at::toDLPack` and `torch.from_dlpack` use. That header is plain C (stdint, stddef).
//
// Note [DLPack ownership, field by field]: an exported `DLManagedTensorVersioned`
//   version        {1, minor of the header}: DLPack ABI 1.x.
//   manager_ctx    ai_core's private context: one heap block that also holds the struct itself,
//                  the shape and strides arrays and a reference to the buffer's storage. Never
//                  touched by the consumer.
//   deleter        frees that block and drops the storage reference; the consumer calls it
//                  exactly once, when it no longer needs the memory (the `DLPackVersionedPtr`
//                  returned here does it in its destructor unless `release()`d). Never null.
//   flags          DLPACK_FLAG_BITMASK_READ_ONLY when the buffer is read-only,
//                  DLPACK_FLAG_BITMASK_IS_COPIED when it holds a copy (`is_copy()`); nothing else.
//   dl_tensor.data         the buffer's data pointer (the element (0, ..., 0)); null for zero
//                          elements; byte_offset is always 0.
//   dl_tensor.device       {kDLCUDA, index} or {kDLCPU, 0}.
//   dl_tensor.ndim/shape   the rank and extents; shape lives in the block, valid until deleter.
//   dl_tensor.strides      always set (DLPack >= 1.2 requires it; rank 0: null), in elements,
//                          non-negative; extents of 1 keep torch's stride, whatever it is.
//   dl_tensor.dtype        {code, bits, lanes = 1}: f32 {kDLFloat,32}, f16 {kDLFloat,16},
//                          bf16 {kDLBfloat,16}, f64, i8..i64 {kDLInt}, u8 {kDLUInt,8},
//                          bool {kDLBool,8}, fp8 {kDLFloat8_e4m3fn,8}/{kDLFloat8_e5m2,8}.
// The legacy `DLManagedTensor` is the same without version and flags (so a read-only buffer
// cannot be exported that way). Import takes ownership only on success (as a PyCapsule is
// consumed only when the import succeeds): on failure the producer's deleter has not been called
// and the caller still owns the struct.
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>
#include <ai_core/interop.hpp>

#include <ATen/dlpack.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <memory>

namespace ai_core {

/// Calls a DLPack struct's own deleter (if it has one) exactly once; for `std::unique_ptr`.
struct DLPackDeleter {
  /// Calls `managed->deleter(managed)` when both are non-null.
  void operator()(DLManagedTensorVersioned* managed) const noexcept {
    if (managed != nullptr && managed->deleter != nullptr) managed->deleter(managed);
  }
  /// Calls `managed->deleter(managed)` when both are non-null.
  void operator()(DLManagedTensor* managed) const noexcept {
    if (managed != nullptr && managed->deleter != nullptr) managed->deleter(managed);
  }
};

/// An exported versioned DLPack tensor; `release()` it to hand ownership to a consumer (a
/// PyCapsule named "dltensor_versioned", a C API), which then calls the deleter exactly once.
using DLPackVersionedPtr = std::unique_ptr<DLManagedTensorVersioned, DLPackDeleter>;
/// An exported legacy DLPack tensor (PyCapsule name "dltensor"); see `DLPackVersionedPtr`.
using DLPackLegacyPtr = std::unique_ptr<DLManagedTensor, DLPackDeleter>;

/// Returns the DLPack dtype of an interop dtype (lanes 1). Fails (invalid_config) for a dtype
/// outside the vocabulary.
AI_CORE_API Result<DLDataType> to_dlpack_dtype(c10::ScalarType dtype);
/// Returns the interop dtype of a DLPack dtype. Fails for lanes other than 1 (vector types),
/// unknown codes and code/bits pairs outside the vocabulary (e.g. complex, 24-bit floats).
AI_CORE_API Result<c10::ScalarType> from_dlpack_dtype(DLDataType dtype);
/// Returns the DLPack device of a CPU or CUDA device (CUDA without an index is rejected).
AI_CORE_API Result<DLDevice> to_dlpack_device(c10::Device device);
/// Returns the torch device of a DLPack device: kDLCPU and kDLCUDAHost (pinned host memory) map to
/// the CPU, kDLCUDA to CUDA with its index. Fails for other device types and negative or
/// out-of-range indices.
AI_CORE_API Result<c10::Device> from_dlpack_device(DLDevice device);

/// Exports `buffer` as a DLPack 1.x managed tensor sharing its memory (zero copy): the result
/// holds a storage reference until its deleter runs (Note [DLPack ownership, field by field]).
/// Stream: the consumer must order its work after the buffer's stream (the Python protocol's
/// `stream` argument; `wait_stream` in C++). Fails on an empty buffer.
AI_CORE_API Result<DLPackVersionedPtr> to_dlpack_versioned(const TensorBuffer& buffer);

/// Exports `buffer` as a legacy `DLManagedTensor`, as `to_dlpack_versioned`. Fails also on a
/// read-only buffer (the legacy struct has no flag to say so; export versioned instead).
AI_CORE_API Result<DLPackLegacyPtr> to_dlpack(const TensorBuffer& buffer);

/// Imports a versioned DLPack tensor as an owning buffer (zero copy). On success the buffer owns
/// `managed`: its deleter is called exactly once, when the last copy of the buffer (or the last
/// tensor made from it) dies. On failure nothing is taken: the caller still owns `managed`.
/// Validates, naming the field: null struct; major version other than 1; null data with
/// elements; ndim negative or above `kMaxBufferRank`; null shape (ndim > 0); negative extents;
/// negative strides (torch tensors cannot have them); null strides (accepted: compact row-major,
/// as DLPack < 1.2 allowed); element count or byte span overflowing int64; byte_offset making the
/// data misaligned for its element size; unsupported dtype codes, bits or lanes; unknown device
/// types or missing CUDA devices. The read-only flag gives a read-only buffer; IS_COPIED gives
/// `is_copy()`.
AI_CORE_API Result<TensorBuffer> from_dlpack(DLManagedTensorVersioned* managed);

/// Imports a legacy DLPack tensor as `from_dlpack(DLManagedTensorVersioned*)` does (no version
/// or flags to check).
AI_CORE_API Result<TensorBuffer> from_dlpack(DLManagedTensor* managed);

}  // namespace ai_core
