// SPDX-License-Identifier: MIT
// python/nf4_capi.cpp: a small C ABI over ai_core_nf4 for compare_bitsandbytes.py (ctypes), built
// only with CUDA and tests on. Tensors cross as raw data pointers of contiguous memory on the CPU
// (device 0) or cuda:0 (device 1), viewed with at::from_blob (no copy); dtype codes are 0 f32,
// 1 f16, 2 bf16. Quantized states cross as opaque handles (`Handle*` as `void*`). Every function
// returns 0 on success or -1 with the error text in `error`; nothing throws across the ABI.
#include <nf4/double_quant.hpp>
#include <nf4/quantizer.hpp>

#include <ATen/ops/from_blob.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>

#define NF4_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

struct Handle {
  std::optional<nf4::Nf4Tensor> plain;
  std::optional<nf4::Nf4DoubleQuantTensor> nested;
};

int fail(const std::string& text, char* error, int size) {
  if (error != nullptr && size > 0)
    std::snprintf(error, static_cast<std::size_t>(size), "%s", text.c_str());
  return -1;
}

c10::ScalarType dtype_of(int code) {
  return code == 0 ? c10::kFloat : code == 1 ? c10::kHalf : c10::kBFloat16;
}

c10::Device device_of(int device) {
  return device == 0 ? c10::Device(c10::kCPU) : c10::Device(c10::kCUDA, 0);
}

at::Tensor view(const void* data, std::int64_t numel, c10::ScalarType dtype, int device) {
  return at::from_blob(const_cast<void*>(data), {numel},
                       at::TensorOptions().dtype(dtype).device(device_of(device)));
}

void copy_to(const at::Tensor& source, void* target, int device) {
  view(target, source.numel(), source.scalar_type(), device).copy_(source);
}

}  // namespace

/// Writes nf4::kDynamicCode (256 floats) to `out` (host memory).
NF4_EXPORT void nf4c_dynamic_code(float* out) {
  std::memcpy(out, nf4::kDynamicCode.data(), sizeof(float) * 256);
}

/// Quantizes `numel` values at `x` (dtype code, device) with block `block` and `encoding` (0
/// nearest, 1 bitsandbytes), double-quantized when `nested`; returns a handle or null.
NF4_EXPORT void* nf4c_quantize(const void* x, std::int64_t numel, int dtype, int device,
                               std::int64_t block, int encoding, int nested, char* error,
                               int error_size) {
  try {
    const nf4::Nf4Config config{
        .block_size = block,
        .encoding = encoding == 1 ? nf4::Nf4Encoding::bitsandbytes : nf4::Nf4Encoding::nearest};
    auto quantizer = nf4::Nf4Quantizer::create(config);
    if (!quantizer) return fail(quantizer.error().to_string(), error, error_size), nullptr;
    const at::Tensor input = view(x, numel, dtype_of(dtype), device);
    auto* handle = new Handle;
    if (nested != 0) {
      auto q = quantizer->quantize_double(input, device_of(device));
      if (!q) return delete handle, fail(q.error().to_string(), error, error_size), nullptr;
      handle->nested = std::move(*q);
    } else {
      auto q = quantizer->quantize(input, device_of(device));
      if (!q) return delete handle, fail(q.error().to_string(), error, error_size), nullptr;
      handle->plain = std::move(*q);
    }
    return handle;
  } catch (const std::exception& e) {
    return fail(e.what(), error, error_size), nullptr;
  }
}

/// Imports a bitsandbytes state viewed in place: `absmax` float32 (plain, `nested_absmax` null)
/// or uint8 with `nested_absmax`, `code` (256 floats) and `offset`. Returns a handle or null.
NF4_EXPORT void* nf4c_import(const void* codes, const void* absmax, const void* nested_absmax,
                             const void* code, float offset, std::int64_t numel, int dtype,
                             int device, std::int64_t block, std::int64_t nested_block, char* error,
                             int error_size) {
  try {
    const std::int64_t blocks = (numel + block - 1) / block;
    nf4::BnbQuantState state{
        .codes = view(codes, (numel + 1) / 2, c10::kByte, device),
        .absmax = view(absmax, blocks, nested_absmax != nullptr ? c10::kByte : c10::kFloat, device),
        .shape = {numel},
        .dtype = dtype_of(dtype),
        .blocksize = block,
        .quant_type = "nf4",
        .nested = std::nullopt};
    if (nested_absmax != nullptr) {
      state.nested = nf4::BnbNestedState{
          .absmax =
              view(nested_absmax, (blocks + nested_block - 1) / nested_block, c10::kFloat, device),
          .code = view(code, 256, c10::kFloat, device),
          .blocksize = nested_block,
          .offset = offset};
    }
    auto imported = nf4::from_bitsandbytes(state);
    if (!imported) return fail(imported.error().to_string(), error, error_size), nullptr;
    return new Handle{std::move(imported->plain), std::move(imported->nested)};
  } catch (const std::exception& e) {
    return fail(e.what(), error, error_size), nullptr;
  }
}

/// Copies a handle's parts out (any pointer may be null): codes, absmax (float32 plain, uint8
/// nested), nested absmax, offset.
NF4_EXPORT int nf4c_parts(void* handle, void* codes, void* absmax, void* nested_absmax,
                          float* offset, int device, char* error, int error_size) {
  try {
    const auto* h = static_cast<Handle*>(handle);
    if (h->plain) {
      if (codes != nullptr) copy_to(h->plain->codes(), codes, device);
      if (absmax != nullptr) copy_to(h->plain->absmax(), absmax, device);
    } else {
      if (codes != nullptr) copy_to(h->nested->codes(), codes, device);
      if (absmax != nullptr) copy_to(h->nested->absmax_codes(), absmax, device);
      if (nested_absmax != nullptr) copy_to(h->nested->nested_absmax(), nested_absmax, device);
      if (offset != nullptr) *offset = h->nested->offset();
    }
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what(), error, error_size);
  }
}

/// Dequantizes a handle into `out` (`numel` elements of dtype code `dtype` on `device`).
NF4_EXPORT int nf4c_dequantize(void* handle, void* out, std::int64_t numel, int dtype, int device,
                               char* error, int error_size) {
  try {
    const auto* h = static_cast<Handle*>(handle);
    const at::Tensor output = view(out, numel, dtype_of(dtype), device);
    if (h->plain) {
      auto status = nf4::Nf4Quantizer{}.dequantize_into(*h->plain, output);
      if (!status) return fail(status.error().to_string(), error, error_size);
    } else {
      auto status = nf4::dequantize_double_into(*h->nested, output);
      if (!status) return fail(status.error().to_string(), error, error_size);
    }
    return 0;
  } catch (const std::exception& e) {
    return fail(e.what(), error, error_size);
  }
}

/// Frees a handle (null is a no-op).
NF4_EXPORT void nf4c_free(void* handle) { delete static_cast<Handle*>(handle); }
