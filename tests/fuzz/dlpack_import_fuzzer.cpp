// SPDX-License-Identifier: MIT
// libFuzzer target: `from_dlpack` of hostile `DLManagedTensorVersioned` and `DLManagedTensor`
// structs built from fuzz bytes: version, flags, ndim (any int32), shape and strides (null or
// heap arrays of exactly the length the fuzzer chose, which may be shorter than ndim claims, so
// ASan catches a read past them), dtype code/bits/lanes, device type and id, byte_offset, data.
//
// Oracles (a violation aborts; libFuzzer reports it as a crash):
//   - the producer's deleter is called exactly once: never on failure (the caller still owns the
//     struct and calls it here), once on success when the last buffer copy and the last tensor
//     made from it die, never earlier;
//   - an accepted import agrees with an independent model: rank and extents, strides (compact
//     row-major when null), numel and byte span in 128-bit arithmetic, data = data + byte_offset,
//     read-only and is-copy from the flags; rejection whenever the model finds a fault;
//   - errors carry a non-empty message and one of the documented codes.
#include <ai_core/dlpack.hpp>
#include <ai_core/dtype.hpp>
#include <ai_core/error.hpp>
#include <ai_core/interop.hpp>

#include <ATen/core/Tensor.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace {

void require(bool ok, const char* what, const std::string& detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "dlpack_import_fuzzer: oracle violated: %s %s\n", what, detail.c_str());
  std::abort();
}

int g_deleter_calls = 0;
std::int64_t g_total_imports = 0;
std::int64_t g_total_deletes = 0;

template <class Managed>
void counting_deleter(Managed* self) {
  ++g_deleter_calls;
  ++g_total_deletes;
  self->manager_ctx = nullptr;
}

constexpr std::int64_t kInteresting[] = {0,
                                         1,
                                         2,
                                         3,
                                         4,
                                         7,
                                         8,
                                         16,
                                         255,
                                         4096,
                                         INT32_MAX,
                                         std::int64_t{1} << 32,
                                         std::int64_t{1} << 62,
                                         INT64_MAX,
                                         -1,
                                         INT64_MIN};

std::int64_t value(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return in.ConsumeIntegralInRange<std::int64_t>(0, 8);
    case 1: return in.PickValueInArray(kInteresting);
    case 2: return in.ConsumeIntegralInRange<std::int64_t>(-2, 100);
    default: return in.ConsumeIntegral<std::int64_t>();
  }
}

// The interop dtype of a DLPack dtype, per the documented table; nullopt when unsupported.
std::optional<c10::ScalarType> model_dtype(DLDataType t) {
  if (t.lanes != 1) return std::nullopt;
  switch (t.code) {
    case kDLFloat:
      if (t.bits == 16) return c10::ScalarType::Half;
      if (t.bits == 32) return c10::ScalarType::Float;
      if (t.bits == 64) return c10::ScalarType::Double;
      return std::nullopt;
    case kDLBfloat: return t.bits == 16 ? std::optional(c10::ScalarType::BFloat16) : std::nullopt;
    case kDLInt:
      if (t.bits == 8) return c10::ScalarType::Char;
      if (t.bits == 16) return c10::ScalarType::Short;
      if (t.bits == 32) return c10::ScalarType::Int;
      if (t.bits == 64) return c10::ScalarType::Long;
      return std::nullopt;
    case kDLUInt: return t.bits == 8 ? std::optional(c10::ScalarType::Byte) : std::nullopt;
    case kDLBool: return t.bits == 8 ? std::optional(c10::ScalarType::Bool) : std::nullopt;
    case kDLFloat8_e4m3fn:
      return t.bits == 8 ? std::optional(c10::ScalarType::Float8_e4m3fn) : std::nullopt;
    case kDLFloat8_e5m2:
      return t.bits == 8 ? std::optional(c10::ScalarType::Float8_e5m2) : std::nullopt;
    default: return std::nullopt;
  }
}

template <class Managed>
void run(FuzzedDataProvider& in, Managed& managed, bool versioned, std::uint64_t flags) {
  DLTensor& t = managed.dl_tensor;
  // ndim: mostly small, sometimes anything.
  t.ndim = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::int32_t>(-1, 10)
                            : in.ConsumeIntegral<std::int32_t>();
  // The arrays hold ndim entries; for an ndim above kMaxBufferRank only 0 to 8 (a validator must
  // reject ndim before reading them: ASan reports a read past the array).
  const std::size_t len = t.ndim <= 0 ? 0
                          : t.ndim <= static_cast<std::int32_t>(ai_core::kMaxBufferRank)
                              ? static_cast<std::size_t>(t.ndim)
                              : in.ConsumeIntegralInRange<std::size_t>(0, ai_core::kMaxBufferRank);
  std::vector<std::int64_t>* shape = nullptr;
  std::vector<std::int64_t>* strides = nullptr;
  if (in.ConsumeIntegralInRange<int>(0, 15) != 0) {
    shape = new std::vector<std::int64_t>(len);
    for (auto& v : *shape) v = value(in);
  }
  if (in.ConsumeBool()) {
    strides = new std::vector<std::int64_t>(len);
    for (auto& v : *strides) v = value(in);
  }
  // A heap vector of length 0 has no storage: use a distinct non-null pointer then.
  static std::int64_t empty_marker[1];
  t.shape = shape == nullptr ? nullptr : (shape->empty() ? empty_marker : shape->data());
  t.strides = strides == nullptr ? nullptr : (strides->empty() ? empty_marker : strides->data());
  const std::uint8_t codes[] = {kDLInt,           kDLUInt,        kDLFloat,         kDLBfloat,
                                kDLBool,          kDLComplex,     kDLFloat8_e4m3fn, kDLFloat8_e5m2,
                                kDLFloat4_e2m1fn, kDLOpaqueHandle};
  t.dtype.code = in.ConsumeBool() ? in.PickValueInArray(codes) : in.ConsumeIntegral<std::uint8_t>();
  const std::uint8_t bits[] = {8, 16, 32, 64, 1, 4, 24, 128};
  t.dtype.bits = in.ConsumeBool() ? in.PickValueInArray(bits) : in.ConsumeIntegral<std::uint8_t>();
  t.dtype.lanes =
      in.ConsumeIntegralInRange<int>(0, 7) != 0 ? 1 : in.ConsumeIntegral<std::uint16_t>();
  const int device_types[] = {kDLCPU, kDLCUDA, kDLCUDAHost, kDLOpenCL, kDLROCM, kDLMetal};
  t.device.device_type = static_cast<DLDeviceType>(
      in.ConsumeBool() ? in.PickValueInArray(device_types) : in.ConsumeIntegral<std::int32_t>());
  t.device.device_id = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::int32_t>(-1, 2)
                                        : in.ConsumeIntegral<std::int32_t>();
  t.byte_offset = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::uint64_t>(0, 17)
                                   : in.ConsumeIntegral<std::uint64_t>();
  alignas(16) static char memory[64];
  const int data_kind = in.ConsumeIntegralInRange<int>(0, 3);
  t.data = data_kind == 0 ? nullptr
                          : memory + (data_kind == 3 ? in.ConsumeIntegralInRange<int>(1, 7) : 0);
  managed.manager_ctx = &managed;
  managed.deleter = &counting_deleter<Managed>;

  // --- the model ---------------------------------------------------------------------------------
  bool ok = t.ndim >= 0 && t.ndim <= static_cast<std::int32_t>(ai_core::kMaxBufferRank) &&
            (t.ndim == 0 || t.shape != nullptr);
  const auto dtype = model_dtype(t.dtype);
  ok = ok && dtype.has_value();
  const int device_type = static_cast<int>(t.device.device_type);
  ok = ok && (device_type == kDLCPU || device_type == kDLCUDAHost);  // no CUDA in the fuzz build
  const auto rank = ok ? static_cast<std::size_t>(t.ndim) : 0;
  const std::int64_t element = ok ? ai_core::dtype_size(*dtype) : 1;
  __int128 numel = 1;
  std::vector<__int128> eff(rank);
  for (std::size_t d = 0; ok && d < rank; ++d) {
    if (t.shape[d] < 0) ok = false;
    numel *= t.shape[d];
    if (numel > INT64_MAX) ok = false;
  }
  if (ok && t.strides == nullptr) {
    __int128 running = 1;
    for (std::size_t d = rank; ok && d-- > 0;) {
      eff[d] = running;
      running *= t.shape[d] > 1 ? t.shape[d] : 1;
      if (running > INT64_MAX) ok = false;
    }
  } else {
    for (std::size_t d = 0; ok && d < rank; ++d) {
      if (t.strides[d] < 0) ok = false;
      eff[d] = t.strides[d];
    }
  }
  __int128 span = 0;
  if (ok && numel > 0) {
    __int128 max_offset = 0;
    for (std::size_t d = 0; d < rank; ++d) max_offset += (t.shape[d] - 1) * eff[d];
    if (max_offset + 1 > INT64_MAX || (max_offset + 1) * element > INT64_MAX) {
      ok = false;
    } else {
      span = (max_offset + 1) * element;
    }
  }
  ok = ok && (t.data != nullptr || numel == 0);
  ok = ok && t.byte_offset <= static_cast<std::uint64_t>(INT64_MAX);
  std::uintptr_t address = 0;
  if (ok && numel > 0) {
    address = reinterpret_cast<std::uintptr_t>(t.data) + static_cast<std::uintptr_t>(t.byte_offset);
    ok = address % static_cast<std::uintptr_t>(element) == 0;
  }
  if constexpr (std::is_same_v<Managed, DLManagedTensorVersioned>) {
    ok = ok && managed.version.major == DLPACK_MAJOR_VERSION;
  }

  // --- import ------------------------------------------------------------------------------------
  g_deleter_calls = 0;
  ++g_total_imports;
  const bool make_tensor = in.ConsumeBool();
  {
    ai_core::Result<ai_core::TensorBuffer> buffer = ai_core::from_dlpack(&managed);
    if (!buffer.has_value()) {
      require(!ok, "from_dlpack rejected a valid tensor:", buffer.error().to_string());
      require(g_deleter_calls == 0, "deleter called on a failed import");
      const auto code = buffer.error().code();
      require(code == ai_core::ErrorCode::invalid_config ||
                  code == ai_core::ErrorCode::dimension_mismatch ||
                  code == ai_core::ErrorCode::not_implemented ||
                  code == ai_core::ErrorCode::device_not_available ||
                  code == ai_core::ErrorCode::device_mismatch,
              "unexpected error code:", buffer.error().to_string());
      require(!buffer.error().message().empty(), "empty error message");
      managed.deleter(&managed);  // the caller still owns it
    } else {
      require(ok, "from_dlpack accepted a tensor the model rejects");
      const ai_core::TensorBufferView& view = buffer->view();
      require(view.rank() == t.ndim, "rank differs");
      require(view.numel() == static_cast<std::int64_t>(numel), "numel differs");
      require(view.byte_size() == static_cast<std::int64_t>(span), "byte span differs");
      for (std::size_t d = 0; d < rank; ++d) {
        require(view.size(d) == t.shape[d], "extent differs");
        require(view.stride(d) == static_cast<std::int64_t>(eff[d]), "stride differs");
      }
      if (numel > 0) {
        require(reinterpret_cast<std::uintptr_t>(view.data()) == address, "data pointer differs");
      }
      require(view.device().is_cpu(), "device is not the CPU");
      const bool read_only = versioned && (flags & DLPACK_FLAG_BITMASK_READ_ONLY) != 0;
      const bool is_copy = versioned && (flags & DLPACK_FLAG_BITMASK_IS_COPIED) != 0;
      require(view.is_read_only() == read_only, "read-only flag lost");
      require(buffer->is_copy() == is_copy, "is-copy flag lost");
      std::optional<at::Tensor> tensor;
      if (make_tensor) {
        auto made = ai_core::to_tensor(*buffer);
        if (read_only) {
          require(!made.has_value(), "to_tensor accepted a read-only buffer");
        } else if (made.has_value()) {
          tensor = *std::move(made);
          require(tensor->dim() == t.ndim, "tensor rank differs");
        }
      }
      ai_core::TensorBuffer copy = *buffer;  // a second owner of the same storage
      buffer = ai_core::TensorBuffer();      // drop the first
      require(g_deleter_calls == 0, "deleter called while a buffer copy lives");
      copy = ai_core::TensorBuffer();
      require(g_deleter_calls == (tensor.has_value() ? 0 : 1),
              "deleter timing wrong after the last buffer died");
      tensor.reset();
    }
  }
  require(g_deleter_calls == 1, "deleter not called exactly once");
  require(g_total_imports == g_total_deletes, "global deleter count drifted");
  delete shape;
  delete strides;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    DLManagedTensorVersioned managed{};
    managed.version.major = in.ConsumeIntegralInRange<int>(0, 3) != 0
                                ? DLPACK_MAJOR_VERSION
                                : in.ConsumeIntegral<std::uint32_t>();
    managed.version.minor = in.ConsumeIntegral<std::uint32_t>();
    managed.flags = in.ConsumeIntegral<std::uint64_t>();
    run(in, managed, /*versioned=*/true, managed.flags);
  } else {
    DLManagedTensor managed{};
    run(in, managed, /*versioned=*/false, 0);
  }
  return 0;
}
