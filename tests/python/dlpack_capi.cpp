// SPDX-License-Identifier: MIT
// tests/python/dlpack_capi.cpp: a tiny C ABI over ai_core's DLPack exchange for
// dlpack_roundtrip.py (ctypes), built only with CUDA and tests on. It makes CUDA tensor buffers,
// exports them as versioned and legacy DLPack structs whose deleters are counted, and imports
// DLPack structs produced by torch back through `ai_core::from_dlpack`. Handles are
// `ai_core::TensorBuffer*` as `void*`; errors are written to a caller buffer.
#include <ai_core/dlpack.hpp>
#include <ai_core/interop.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

#define AIC_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

std::atomic<std::int64_t> g_deleter_calls{0};
void (*g_versioned_deleter)(DLManagedTensorVersioned*) = nullptr;
void (*g_legacy_deleter)(DLManagedTensor*) = nullptr;

void counted_versioned(DLManagedTensorVersioned* self) {
  g_deleter_calls.fetch_add(1);
  g_versioned_deleter(self);
}
void counted_legacy(DLManagedTensor* self) {
  g_deleter_calls.fetch_add(1);
  g_legacy_deleter(self);
}

void write_error(const ai_core::CoreError& error, char* out, int size) {
  if (out != nullptr && size > 0)
    std::snprintf(out, static_cast<std::size_t>(size), "%s", error.to_string().c_str());
}

}  // namespace

/// Returns an owning buffer of a new float32 CUDA tensor holding 0, 1, ..., n-1 on cuda:0, or
/// null (error text in `error`).
AIC_EXPORT void* aic_make_cuda_buffer(std::int64_t n, char* error, int error_size) {
  try {
    at::Tensor t = at::arange(n, at::TensorOptions().dtype(at::kFloat).device(c10::kCUDA, 0));
    auto buffer = ai_core::make_cuda_buffer(t);
    if (!buffer) {
      write_error(buffer.error(), error, error_size);
      return nullptr;
    }
    return new ai_core::TensorBuffer(*std::move(buffer));
  } catch (const std::exception& e) {
    std::snprintf(error, static_cast<std::size_t>(error_size), "%s", e.what());
    return nullptr;
  }
}

/// Destroys a buffer handle.
AIC_EXPORT void aic_free_buffer(void* buffer) {
  delete static_cast<ai_core::TensorBuffer*>(buffer);
}

/// Returns the buffer's data pointer.
AIC_EXPORT void* aic_buffer_data(void* buffer) {
  return static_cast<ai_core::TensorBuffer*>(buffer)->data();
}

/// Returns the sum of a float32 buffer's elements, read through torch (-1e30 on error).
AIC_EXPORT double aic_buffer_sum(void* buffer) {
  auto tensor = ai_core::to_tensor(*static_cast<ai_core::TensorBuffer*>(buffer));
  if (!tensor) return -1e30;
  return tensor->sum().item<double>();
}

/// Exports the buffer as a DLManagedTensorVersioned whose deleter is counted; null on error.
AIC_EXPORT void* aic_export_versioned(void* buffer, char* error, int error_size) {
  auto managed = ai_core::to_dlpack_versioned(*static_cast<ai_core::TensorBuffer*>(buffer));
  if (!managed) {
    write_error(managed.error(), error, error_size);
    return nullptr;
  }
  DLManagedTensorVersioned* raw = managed->release();
  g_versioned_deleter = raw->deleter;
  raw->deleter = &counted_versioned;
  return raw;
}

/// Exports the buffer as a legacy DLManagedTensor whose deleter is counted; null on error.
AIC_EXPORT void* aic_export_legacy(void* buffer, char* error, int error_size) {
  auto managed = ai_core::to_dlpack(*static_cast<ai_core::TensorBuffer*>(buffer));
  if (!managed) {
    write_error(managed.error(), error, error_size);
    return nullptr;
  }
  DLManagedTensor* raw = managed->release();
  g_legacy_deleter = raw->deleter;
  raw->deleter = &counted_legacy;
  return raw;
}

/// Returns how many counted deleters have run.
AIC_EXPORT std::int64_t aic_deleter_calls() { return g_deleter_calls.load(); }

/// Imports a versioned DLPack struct; on success returns a buffer handle that owns it, on failure
/// null (the caller still owns the struct).
AIC_EXPORT void* aic_import_versioned(void* managed, char* error, int error_size) {
  auto buffer = ai_core::from_dlpack(static_cast<DLManagedTensorVersioned*>(managed));
  if (!buffer) {
    write_error(buffer.error(), error, error_size);
    return nullptr;
  }
  return new ai_core::TensorBuffer(*std::move(buffer));
}

/// Imports a legacy DLPack struct, as `aic_import_versioned`.
AIC_EXPORT void* aic_import_legacy(void* managed, char* error, int error_size) {
  auto buffer = ai_core::from_dlpack(static_cast<DLManagedTensor*>(managed));
  if (!buffer) {
    write_error(buffer.error(), error, error_size);
    return nullptr;
  }
  return new ai_core::TensorBuffer(*std::move(buffer));
}
