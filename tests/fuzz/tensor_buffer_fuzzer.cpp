// SPDX-License-Identifier: MIT
// libFuzzer target: `TensorBufferView::from_raw` and `to_tensor` over CPU memory with arbitrary
// shape / stride / dtype / byte-size / alignment / device combinations.
//
// Oracles (a violation aborts; libFuzzer reports it as a crash):
//   - an accepted view's largest reachable byte, computed here independently in 128-bit
//     arithmetic, lies inside the byte size the caller declared, and the view reports the same
//     numel, byte span, rank, sizes and strides; the data pointer is element-aligned;
//   - the fuzzer then touches the first and the last reachable byte in instrumented code: the
//     memory is allocated with exactly the declared size, so ASan fails the run if validation let
//     a layout reach past it (torch itself is not instrumented, so the check is done here);
//   - a rejected input gets invalid_config, dimension_mismatch or device_not_available/mismatch,
//     and the model agrees that something was wrong;
//   - `to_tensor` yields a tensor with the view's pointer, sizes and strides, and its owner is
//     released exactly once, when the last tensor dies (or at once when `to_tensor` fails);
//   - small accepted tensors are summed by torch (a read of every reachable element).
#include <ai_core/dtype.hpp>
#include <ai_core/error.hpp>
#include <ai_core/interop.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/ops/sum.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

void require(bool ok, const char* what, const std::string& detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "tensor_buffer_fuzzer: oracle violated: %s %s\n", what, detail.c_str());
  std::abort();
}

constexpr std::int64_t kInterestingExtents[] = {0,
                                                1,
                                                2,
                                                3,
                                                7,
                                                8,
                                                64,
                                                1000,
                                                (std::int64_t{1} << 31) - 1,
                                                std::int64_t{1} << 31,
                                                std::int64_t{1} << 32,
                                                std::int64_t{1} << 62,
                                                INT64_MAX,
                                                INT64_MAX / 2 + 1,
                                                -1,
                                                INT64_MIN};

std::int64_t extent(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return in.ConsumeIntegralInRange<std::int64_t>(0, 9);
    case 1: return in.PickValueInArray(kInterestingExtents);
    case 2: return in.ConsumeIntegralInRange<std::int64_t>(-3, 300);
    default: return in.ConsumeIntegral<std::int64_t>();
  }
}

std::int64_t g_owners_made = 0;
std::int64_t g_owners_released = 0;

void release_counted(void* context) {
  ++g_owners_released;
  *static_cast<int*>(context) += 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  // Any ScalarType value, including those outside the interop vocabulary and out-of-range ones.
  const auto dtype = static_cast<c10::ScalarType>(
      in.ConsumeIntegralInRange<int>(0, static_cast<int>(c10::ScalarType::NumOptions) + 2));
  const std::size_t rank = in.ConsumeIntegralInRange<std::size_t>(0, ai_core::kMaxBufferRank + 2);
  const bool with_strides = in.ConsumeBool();
  const bool stride_count_mismatch = in.ConsumeIntegralInRange<int>(0, 15) == 0;
  std::vector<std::int64_t> sizes(rank), strides;
  for (auto& s : sizes) s = extent(in);
  if (with_strides) {
    strides.resize(stride_count_mismatch ? rank + 1 : rank);
    for (auto& s : strides) s = extent(in);
  }
  // The declared byte size: small (allocated for real) or arbitrary (never touched).
  const bool small = in.ConsumeIntegralInRange<int>(0, 7) != 0;
  const std::int64_t byte_size = small ? in.ConsumeIntegralInRange<std::int64_t>(-2, 4096)
                                       : in.ConsumeIntegral<std::int64_t>();
  const std::size_t misalign = in.ConsumeIntegralInRange<std::size_t>(0, 7) == 0
                                   ? in.ConsumeIntegralInRange<std::size_t>(1, 7)
                                   : 0;
  const bool null_data = in.ConsumeIntegralInRange<int>(0, 15) == 0;
  const auto access = in.ConsumeBool() ? ai_core::Access::read_write : ai_core::Access::read_only;
  c10::Device device(c10::DeviceType::CPU);
  switch (in.ConsumeIntegralInRange<int>(0, 15)) {
    case 0:
      device = c10::Device(c10::DeviceType::CUDA, in.ConsumeIntegralInRange<int>(0, 3));
      break;
    case 1: device = c10::Device(c10::DeviceType::Meta); break;
    case 2: device = c10::Device(c10::DeviceType::CUDA); break;
    default: break;
  }

  // Memory: exactly `byte_size` bytes starting at `ptr` (ASan red zones right after).
  const bool real = small && byte_size >= 0;
  std::vector<unsigned char>* storage = nullptr;
  char* base = nullptr;
  if (real) {
    base = static_cast<char*>(std::malloc(static_cast<std::size_t>(byte_size) + misalign + 1));
  } else {
    storage = new std::vector<unsigned char>(16);
    base = reinterpret_cast<char*>(storage->data());
  }
  void* ptr = null_data ? nullptr : base + misalign;

  auto view =
      ai_core::TensorBufferView::from_raw(ptr, byte_size, dtype, sizes, strides, device, access);

  // --- the model: is this layout valid? ----------------------------------------------------------
  const bool dtype_ok = ai_core::is_interop_dtype(dtype);
  const std::int64_t element = dtype_ok ? ai_core::dtype_size(dtype) : 1;
  bool layout_ok = rank <= ai_core::kMaxBufferRank && (strides.empty() || strides.size() == rank);
  __int128 numel = 1;
  for (std::int64_t s : sizes) {
    if (s < 0) layout_ok = false;
    numel *= s < 0 ? 0 : s;
    if (numel > INT64_MAX) {  // clamp: keeps the 128-bit products from overflowing
      layout_ok = false;
      numel = static_cast<__int128>(INT64_MAX) + 1;
    }
  }
  std::vector<__int128> eff(rank, 0);
  if (layout_ok) {
    if (strides.empty()) {
      __int128 running = 1;
      for (std::size_t d = rank; d-- > 0;) {
        eff[d] = running;
        running *= sizes[d] > 1 ? sizes[d] : 1;
        if (running > INT64_MAX) {
          layout_ok = false;
          running = static_cast<__int128>(INT64_MAX) + 1;
        }
      }
    } else {
      for (std::size_t d = 0; d < rank; ++d) {
        if (strides[d] < 0) layout_ok = false;
        eff[d] = strides[d];
      }
    }
  }
  __int128 span_bytes = 0;
  if (layout_ok && numel > 0) {
    __int128 max_offset = 0;
    for (std::size_t d = 0; d < rank; ++d) max_offset += (sizes[d] - 1) * eff[d];
    if (max_offset + 1 > INT64_MAX) {
      layout_ok = false;
    } else {
      span_bytes = (max_offset + 1) * element;
      if (span_bytes > INT64_MAX) layout_ok = false;
    }
  }
  const bool fits = layout_ok && byte_size >= 0 && span_bytes <= byte_size;
  const bool aligned =
      ptr == nullptr ||
      reinterpret_cast<std::uintptr_t>(ptr) % static_cast<std::uintptr_t>(element) == 0;
  const bool data_ok = ptr != nullptr || numel == 0;
  // Writable layouts must give each element its own address, by the documented test: the
  // dimensions of extent > 1 sorted by stride, each stride larger than the largest offset the
  // smaller strides reach (docs/interop.md, "Writes").
  bool distinct = true;
  if (layout_ok && numel > 0) {
    std::vector<std::pair<__int128, __int128>> dims;  // (stride, size)
    for (std::size_t d = 0; d < rank; ++d) {
      if (sizes[d] > 1) dims.emplace_back(eff[d], sizes[d]);
    }
    std::sort(dims.begin(), dims.end());
    __int128 reach = 0;
    for (const auto& [stride, extent] : dims) {
      if (stride <= reach) distinct = false;
      reach += stride * (extent - 1);
    }
    if (distinct && numel <= 4096) {
      // The test is sound: every offset really is distinct.
      std::set<__int128> offsets;
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(numel); ++i) {
        __int128 offset = 0;
        std::int64_t rest = i;
        for (std::size_t d = rank; d-- > 0;) {
          offset += (rest % sizes[d]) * eff[d];
          rest /= sizes[d];
        }
        require(offsets.insert(offset).second, "the overlap test passed a layout that overlaps");
      }
    }
  }
  const bool writable_ok = access == ai_core::Access::read_only || distinct;
  const bool model_accepts =
      dtype_ok && fits && aligned && data_ok && writable_ok && device.is_cpu();

  if (view.has_value()) {
    require(model_accepts, "from_raw accepted a layout the model rejects");
    require(view->numel() == static_cast<std::int64_t>(numel), "numel differs from the model");
    require(view->byte_size() == static_cast<std::int64_t>(span_bytes),
            "byte_size differs from the model");
    require(view->byte_size() <= byte_size, "byte_size exceeds the declared size");
    require(view->rank() == static_cast<std::int64_t>(rank), "rank differs");
    for (std::size_t d = 0; d < rank; ++d) {
      require(view->size(d) == sizes[d], "size differs");
      require(view->stride(d) == static_cast<std::int64_t>(eff[d]), "stride differs");
    }
    if (view->byte_size() > 0 && real) {
      // Instrumented touches of the first and last reachable byte (see the banner).
      volatile char* p = static_cast<char*>(view->data());
      p[0] = p[0];
      p[view->byte_size() - 1] = p[view->byte_size() - 1];
    }
  } else {
    const auto code = view.error().code();
    require(!model_accepts, "from_raw rejected a valid layout:", view.error().to_string());
    require(code == ai_core::ErrorCode::invalid_config ||
                code == ai_core::ErrorCode::dimension_mismatch ||
                code == ai_core::ErrorCode::device_not_available ||
                code == ai_core::ErrorCode::device_mismatch,
            "unexpected error code:", view.error().to_string());
    require(!view.error().message().empty(), "empty error message");
  }

  // --- to_tensor: the owner is released exactly once, in every outcome ---------------------------
  if (view.has_value()) {
    int released = 0;
    const std::int64_t before = g_owners_released;
    ++g_owners_made;
    {
      auto tensor = ai_core::to_tensor(
          *view, ai_core::BufferOwner::from_function(&released, &release_counted));
      if (view->is_read_only()) {
        require(!tensor.has_value() && released == 1,
                "to_tensor of a read-only buffer must fail and release the owner");
      } else if (tensor.has_value()) {
        require(released == 0, "owner released while the tensor lives");
        require(tensor->data_ptr() == view->data() || view->numel() == 0, "data pointer differs");
        require(tensor->dim() == view->rank(), "tensor rank differs");
        for (std::int64_t d = 0; d < view->rank(); ++d) {
          require(tensor->size(d) == view->size(d), "tensor size differs");
          require(tensor->stride(d) == view->stride(d) || view->size(d) <= 1,
                  "tensor stride differs");
        }
        require(static_cast<std::int64_t>(tensor->storage().nbytes()) <= byte_size,
                "tensor storage claims more bytes than the buffer");
        if (real && view->numel() > 0 && view->numel() <= 4096) {
          try {
            at::Tensor total = tensor->sum();  // torch reads every reachable element
            (void)total;
          } catch (const c10::Error&) {
            // Not every dtype has a CPU sum kernel; reading was the point, not the result.
          }
          require(released == 0, "owner released while the tensor lives");
        }
      } else {
        require(released == 1, "failed to_tensor did not release the owner",
                tensor.error().to_string());
      }
    }
    require(released == 1, "owner not released exactly once after the tensors died");
    require(g_owners_released - before == 1, "global release count off");
  }

  if (real) {
    std::free(base);
  } else {
    delete storage;
  }
  return 0;
}
