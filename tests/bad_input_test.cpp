// SPDX-License-Identifier: MIT
// The bad-input suite: ONE table listing every bad input each public entry point can
// receive, with the error code and the message fragment it must produce. Each row runs, its
// result is checked, and the counts (inputs tried, errors returned, wrong or missing errors,
// crashes) are printed per entry point as the Markdown table docs/reliability.md shows.
// A crash would kill the process before the table prints: a completed run has 0 crashes.
//
// Resource hygiene: every `BufferOwner` and DLPack deleter the suite creates goes through the
// counters below; the last test checks that each was released exactly once (the global
// environment checks again after every test has run).
//
// The GPU halves (out-of-memory on the card, kernel faults) are tests/cuda/reliability_cuda_test.
#include <ai_core/concepts.hpp>
#include <ai_core/device.hpp>
#include <ai_core/dispatch.hpp>
#include <ai_core/dlpack.hpp>
#include <ai_core/dtype.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/log.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/testing/cuda_probe.hpp>
#include <ai_core/torch_error.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#if AI_CORE_TEST_WITH_NF4
#  include <nf4/config.hpp>
#  include <nf4/quantizer.hpp>
#endif

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace test_bad_input {

using ai_core::CoreError;
using ai_core::ErrorCode;
using ai_core::Result;

// --- resource counters ---------------------------------------------------------------------------

std::int64_t g_owners_made = 0;      // BufferOwners handed to to_tensor
std::int64_t g_owners_released = 0;  // ... and released
std::int64_t g_dlpack_made = 0;      // DLPack structs built by the suite
std::int64_t g_dlpack_deleted = 0;   // ... and deleted (by ai_core or by the suite after a failure)

void count_release(void*) { ++g_owners_released; }

ai_core::BufferOwner counted_owner() {
  ++g_owners_made;
  return ai_core::BufferOwner::from_function(nullptr, &count_release);
}

/// A producer's DLPack tensor: its own shape/stride arrays and a deleter that counts.
template <class Managed>
struct Producer {
  Managed managed{};
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;
  float memory[64] = {};
  bool deleted = false;

  Producer(std::vector<std::int64_t> shape_in,
           std::optional<std::vector<std::int64_t>> strides_in) {
    ++g_dlpack_made;
    shape = std::move(shape_in);
    DLTensor& t = managed.dl_tensor;
    t.data = memory;
    t.device = {kDLCPU, 0};
    t.ndim = static_cast<std::int32_t>(shape.size());
    t.dtype = {kDLFloat, 32, 1};
    t.shape = shape.empty() ? nullptr : shape.data();
    if (strides_in) {
      strides = std::move(*strides_in);
      t.strides = strides.empty() ? nullptr : strides.data();
    }
    t.byte_offset = 0;
    if constexpr (std::is_same_v<Managed, DLManagedTensorVersioned>) {
      managed.version = {DLPACK_MAJOR_VERSION, DLPACK_MINOR_VERSION};
    }
    managed.manager_ctx = this;
    managed.deleter = [](Managed* self) {
      auto* producer = static_cast<Producer*>(self->manager_ctx);
      EXPECT_FALSE(producer->deleted) << "DLPack deleter called twice";
      producer->deleted = true;
      ++g_dlpack_deleted;
    };
  }
  // On failure the caller keeps ownership (dlpack.hpp): release it here, as a caller would.
  ~Producer() {
    if (!deleted) managed.deleter(&managed);
  }
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;
};

using VersionedProducer = Producer<DLManagedTensorVersioned>;
using LegacyProducer = Producer<DLManagedTensor>;

// --- the table -----------------------------------------------------------------------------------

/// What a row's call produced: the error, or nothing when the call succeeded (a failure of the
/// row).
using Outcome = std::optional<CoreError>;

template <class T>
Outcome outcome(const Result<T>& result) {
  if (result.has_value()) return std::nullopt;
  return result.error();
}

struct BadInput {
  std::string entry_point;  ///< The public function (column 1 of the table).
  std::string input;        ///< What is wrong with the input.
  ErrorCode code;           ///< The code it must produce.
  std::string fragment;     ///< A fragment of `to_string()` it must contain.
  std::function<Outcome()> run;
};

const c10::Device kCpu(c10::kCPU);
const c10::Device kMeta(c10::kMeta);
// An index no machine has (c10::DeviceIndex is 8 bits): device_not_available on the GPU machine
// too.
const c10::Device kMissingCuda(c10::kCUDA, 100);

ai_core::EnvLookup env(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

Outcome from_env(std::map<std::string, std::string> values) {
  return outcome(ai_core::DeviceConfig::from_env(env(std::move(values))));
}

Outcome get_device_with(ai_core::CudaProbeResult probe, const ai_core::DeviceConfig& config) {
  ai_core::testing::ScopedCudaProbe scoped(
      std::make_shared<ai_core::testing::FakeCudaProbe>(std::move(probe)));
  return outcome(ai_core::get_device(config));
}

Outcome host_buffer(const at::Tensor& tensor, ai_core::BufferRequirements req = {}) {
  return outcome(ai_core::as_host_buffer(tensor, req));
}

Outcome from_raw(void* data, std::int64_t bytes, c10::ScalarType dtype,
                 std::vector<std::int64_t> sizes, std::vector<std::int64_t> strides = {},
                 c10::Device device = kCpu) {
  return outcome(ai_core::TensorBufferView::from_raw(data, bytes, dtype, sizes, strides, device));
}

Outcome allocate(std::vector<std::int64_t> sizes, c10::ScalarType dtype,
                 c10::Device device = kCpu) {
  return outcome(ai_core::allocate_output_buffer(sizes, dtype, device));
}

template <class Managed>
Outcome import(Producer<Managed>& producer) {
  auto buffer = ai_core::from_dlpack(&producer.managed);
  if (buffer.has_value()) return std::nullopt;  // the buffer's destruction calls the deleter
  return buffer.error();
}

float g_floats[64] = {};

/// A valid 2x3 f32 view over g_floats, with `access`.
ai_core::TensorBufferView floats_view(ai_core::Access access = ai_core::Access::read_write) {
  const std::int64_t sizes[] = {2, 3};
  return *ai_core::TensorBufferView::from_raw(g_floats, sizeof(g_floats), c10::kFloat, sizes, {},
                                              kCpu, access);
}

/// y = x + 1 on either device; with `fail` set its CPU path throws what `fail` throws.
struct AddOneOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  std::function<void()> fail;
  std::string_view name() const { return "bad_input::AddOne"; }
  Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device) const { return x.add(1); }
  Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device) const {
    if (fail) fail();
    return x.add(1);
  }
};

struct RankConfig {
  int rank = 8;
  Result<void> validate() const {
    AI_CORE_CHECK(rank > 0 && rank <= 256, ErrorCode::invalid_config, "lora rank ", rank,
                  " is out of range; expected 1..256");
    return {};
  }
};
static_assert(ai_core::ValidatableConfig<RankConfig>);

std::vector<BadInput> table() {
  using ai_core::Access;
  using ai_core::BufferRequirements;
  using ai_core::Contiguity;
  using ai_core::DeviceConfig;
  using ai_core::FallbackPolicy;
  using ai_core::testing::FakeCudaProbe;
  const auto no_driver = [] {
    return FakeCudaProbe::unusable(ai_core::CudaStatus::no_driver, "fake: no driver");
  };
  static float storage[64] = {};
  void* misaligned = reinterpret_cast<char*>(storage) + 1;
  constexpr std::int64_t kBig = std::numeric_limits<std::int64_t>::max() / 2 + 1;

  std::vector<BadInput> rows = {
      // --- error layer conversions ---------------------------------------------------------------
      {"from_c10_error", "c10::OutOfMemoryError", ErrorCode::out_of_memory, "out of memory",
       [] {
         try {
           TORCH_CHECK_WITH(OutOfMemoryError, false,
                            "CUDA out of memory. Tried to allocate 2.00 GiB");
         } catch (const c10::Error& e) {
           return Outcome(ai_core::from_c10_error(e));
         }
         return Outcome();
       }},
      {"from_c10_error", "c10::IndexError", ErrorCode::torch, "c10::IndexError",
       [] {
         try {
           TORCH_CHECK_INDEX(false, "index 7 is out of bounds for dimension 0 with size 3");
         } catch (const c10::Error& e) {
           return Outcome(ai_core::from_c10_error(e));
         }
         return Outcome();
       }},
      {"capture", "torch op on a negative size", ErrorCode::torch, "negative",
       [] { return outcome(ai_core::capture([] { return at::empty({-1}); })); }},
      {"capture", "std::bad_alloc", ErrorCode::out_of_memory, "allocation failed",
       [] { return outcome(ai_core::capture([]() -> int { throw std::bad_alloc(); })); }},
      {"capture", "std::system_error", ErrorCode::io, "No such file",
       [] {
         return outcome(ai_core::capture([]() -> int {
           throw std::system_error(std::make_error_code(std::errc::no_such_file_or_directory),
                                   "open weights.bin");
         }));
       }},
      {"capture", "std::runtime_error", ErrorCode::unknown, "boom",
       [] { return outcome(ai_core::capture([]() -> int { throw std::runtime_error("boom"); })); }},
      {"AI_CORE_CHECK", "false condition", ErrorCode::invalid_config, "lora rank 0 is out of range",
       [] { return outcome(RankConfig{0}.validate()); }},
      {"validated", "config failing validate()", ErrorCode::invalid_config, "lora rank 999",
       [] { return outcome(ai_core::validated(RankConfig{999})); }},

      // --- environment / device selection --------------------------------------------------------
      {"DeviceConfig::from_env", "RUST_AI_FORCE_CPU=maybe", ErrorCode::invalid_config,
       "RUST_AI_FORCE_CPU='maybe' is not a boolean",
       [] {
         return from_env({{"RUST_AI_FORCE_CPU", "maybe"}});
       }},
      {"DeviceConfig::from_env", "AXOLOTL_FORCE_CPU= (empty)", ErrorCode::invalid_config,
       "AXOLOTL_FORCE_CPU='' is not a boolean",
       [] {
         return from_env({{"AXOLOTL_FORCE_CPU", ""}});
       }},
      {"DeviceConfig::from_env", "RUST_AI_CUDA_DEVICE=-1", ErrorCode::invalid_config,
       "RUST_AI_CUDA_DEVICE='-1' is not a CUDA device ordinal",
       [] {
         return from_env({{"RUST_AI_CUDA_DEVICE", "-1"}});
       }},
      {"DeviceConfig::from_env", "RUST_AI_CUDA_DEVICE=abc", ErrorCode::invalid_config,
       "RUST_AI_CUDA_DEVICE='abc'",
       [] {
         return from_env({{"RUST_AI_CUDA_DEVICE", "abc"}});
       }},
      {"DeviceConfig::from_env", "VSA_OPTIM_CUDA_DEVICE=99999 (above 32767)",
       ErrorCode::invalid_config, "from 0 to 32767",
       [] {
         return from_env({{"VSA_OPTIM_CUDA_DEVICE", "99999"}});
       }},
      {"DeviceConfig::from_env", "LOCAL_RANK=' 1' (space)", ErrorCode::invalid_config,
       "LOCAL_RANK=' 1'",
       [] {
         return from_env({{"LOCAL_RANK", " 1"}});
       }},
      {"DeviceConfig::from_env", "RUST_AI_CPU_FALLBACK=sometimes", ErrorCode::invalid_config,
       "expected warn, error or allow",
       [] {
         return from_env({{"RUST_AI_CPU_FALLBACK", "sometimes"}});
       }},
      {"DeviceConfig::from_env", "null lookup function", ErrorCode::invalid_config,
       "lookup function is empty",
       [] { return outcome(DeviceConfig::from_env(ai_core::EnvLookup())); }},
      {"DeviceConfig::validate", "cuda_device -1", ErrorCode::invalid_config, "cuda_device is -1",
       [] { return outcome(DeviceConfig{}.with_cuda_device(-1).validate()); }},
      {"DeviceConfig::validate", "cuda_device 40000", ErrorCode::invalid_config,
       "expected an ordinal from 0 to 32767",
       [] { return outcome(DeviceConfig{}.with_cuda_device(40000).validate()); }},
      {"DeviceConfig::validate", "fallback policy 7", ErrorCode::invalid_config,
       "fallback policy has the value 7",
       [] {
         return outcome(DeviceConfig{}.with_fallback(static_cast<FallbackPolicy>(7)).validate());
       }},
      {"DeviceConfig::validate", "empty component", ErrorCode::invalid_config, "component is empty",
       [] { return outcome(DeviceConfig{}.with_component("").validate()); }},
      {"get_device", "invalid config (ordinal -3)", ErrorCode::invalid_config, "cuda_device is -3",
       [] {
         return get_device_with(FakeCudaProbe::with_devices(1),
                                DeviceConfig{}.with_cuda_device(-3));
       }},
      {"get_device", "ordinal 5 with 2 GPUs", ErrorCode::device_not_available, "cuda:5",
       [] {
         return get_device_with(FakeCudaProbe::with_devices(2), DeviceConfig{}.with_cuda_device(5));
       }},
      {"get_device", "no driver, fallback error", ErrorCode::device_not_available,
       "no usable NVIDIA driver",
       [no_driver] {
         return get_device_with(no_driver(), DeviceConfig{}.with_fallback(FallbackPolicy::error));
       }},

      // --- tensor -> buffer ----------------------------------------------------------------------
      {"as_host_buffer", "undefined tensor", ErrorCode::invalid_config, "the tensor is undefined",
       [] { return host_buffer(at::Tensor()); }},
      {"as_host_buffer", "meta tensor", ErrorCode::invalid_config, "meta tensors have no data",
       [] { return host_buffer(at::empty({2}, at::TensorOptions().device(kMeta))); }},
      {"as_host_buffer", "non-contiguous (transposed)", ErrorCode::invalid_config,
       "the tensor is not contiguous",
       [] {
         return host_buffer(at::zeros({2, 3}).t());
       }},
      {"as_host_buffer", "dtype outside the kernel's set", ErrorCode::invalid_config,
       "dtype mismatch: expected",
       [] {
         return host_buffer(at::zeros({2}, at::kDouble),
                            BufferRequirements{.dtypes = {c10::kHalf, c10::kBFloat16}});
       }},
      {"as_host_buffer", "complex dtype (outside the vocabulary)", ErrorCode::invalid_config,
       "dtype mismatch", [] { return host_buffer(at::zeros({2}, at::kComplexFloat)); }},
      {"as_host_buffer", "pending conjugate bit", ErrorCode::invalid_config, "conjugate bit",
       [] {
         return host_buffer(at::zeros({2}, at::kComplexFloat).conj(),
                            BufferRequirements{.dtypes = ai_core::DtypeSet::interop()});
       }},
      {"as_host_buffer", "rank 9", ErrorCode::dimension_mismatch, "rank 9 exceeds the maximum 8",
       [] {
         return host_buffer(at::zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}));
       }},
      {"as_host_buffer", "alignment 3 (not a power of two)", ErrorCode::invalid_config,
       "is not a power of two",
       [] { return host_buffer(at::zeros({4}), BufferRequirements{.alignment = 3}); }},
      {"as_host_buffer", "data misaligned for alignment 64", ErrorCode::invalid_config,
       "is not aligned to 64 bytes",
       [] {
         at::Tensor base = at::zeros({64});
         at::Tensor shifted = base.narrow(0, 1, 8);  // 4 bytes past a 64-byte boundary
         return host_buffer(shifted, BufferRequirements{.alignment = 64});
       }},
      {"as_host_buffer", "Contiguity::copy_if_needed on a borrowing view",
       ErrorCode::invalid_config, "needs an owning buffer",
       [] {
         return host_buffer(at::zeros({2, 3}).t(),
                            BufferRequirements{.contiguity = Contiguity::copy_if_needed});
       }},
      {"as_host_buffer", "writable broadcast (stride 0)", ErrorCode::invalid_config,
       "share an address",
       [] {
         at::Tensor row = at::zeros({3});
         return host_buffer(row.expand({2, 3}), BufferRequirements{.contiguity = Contiguity::any});
       }},
      {"as_host_buffer", "writable leaf that requires grad", ErrorCode::invalid_config,
       "requires grad",
       [] {
         at::Tensor leaf = at::zeros({2});
         leaf.set_requires_grad(true);
         return host_buffer(leaf);
       }},
      {"as_host_buffer", "storage shrunk under the tensor", ErrorCode::invalid_config,
       "reaches past its storage",
       [] {
         at::Tensor t = at::zeros({4});
         t.storage().set_nbytes(8);
         return host_buffer(t, BufferRequirements{.access = Access::read_only});
       }},
      {"as_cuda_buffer", "CPU tensor", ErrorCode::device_mismatch, "needs a CUDA tensor",
       [] {
         at::Tensor cpu = at::zeros({2});
         return outcome(ai_core::as_cuda_buffer(cpu));
       }},
      {"make_host_buffer", "undefined tensor", ErrorCode::invalid_config, "the tensor is undefined",
       [] { return outcome(ai_core::make_host_buffer(at::Tensor())); }},
      {"make_cuda_buffer", "CPU tensor", ErrorCode::device_mismatch, "needs a CUDA tensor",
       [] { return outcome(ai_core::make_cuda_buffer(at::zeros({2}))); }},

      // --- raw memory -> view --------------------------------------------------------------------
      {"TensorBufferView::from_raw", "null data with elements", ErrorCode::invalid_config,
       "data is null", [] { return from_raw(nullptr, 64, c10::kFloat, {4}); }},
      {"TensorBufferView::from_raw", "negative size", ErrorCode::invalid_config,
       "size -2 of dimension 0", [] { return from_raw(storage, 64, c10::kFloat, {-2}); }},
      {"TensorBufferView::from_raw", "negative stride", ErrorCode::invalid_config,
       "stride -1 of dimension 0", [] { return from_raw(storage, 64, c10::kFloat, {4}, {-1}); }},
      {"TensorBufferView::from_raw", "element count overflows int64", ErrorCode::invalid_config,
       "overflows int64",
       [] {
         return from_raw(storage, 64, c10::kFloat, {kBig, 4});
       }},
      {"TensorBufferView::from_raw", "strides reach past byte_size", ErrorCode::invalid_config,
       "expected at most the buffer's 64 bytes",
       [] {
         return from_raw(storage, 64, c10::kFloat, {4, 4}, {16, 1});
       }},
      {"TensorBufferView::from_raw", "negative byte size", ErrorCode::invalid_config,
       "byte size -1 is negative", [] { return from_raw(storage, -1, c10::kFloat, {1}); }},
      {"TensorBufferView::from_raw", "misaligned data", ErrorCode::invalid_config,
       "is not aligned to the element size 4",
       [misaligned] { return from_raw(misaligned, 32, c10::kFloat, {2}); }},
      {"TensorBufferView::from_raw", "rank 9", ErrorCode::dimension_mismatch,
       "exceeds the maximum 8",
       [] {
         return from_raw(storage, 64, c10::kFloat, {1, 1, 1, 1, 1, 1, 1, 1, 1});
       }},
      {"TensorBufferView::from_raw", "2 strides for 1 size", ErrorCode::dimension_mismatch,
       "expected one stride per size",
       [] {
         return from_raw(storage, 64, c10::kFloat, {4}, {1, 1});
       }},
      {"TensorBufferView::from_raw", "complex dtype", ErrorCode::invalid_config, "dtype mismatch",
       [] { return from_raw(storage, 64, c10::kComplexFloat, {2}); }},
      {"TensorBufferView::from_raw", "CUDA device that does not exist",
       ErrorCode::device_not_available, "cuda:100",
       [] { return from_raw(storage, 64, c10::kFloat, {2}, {}, kMissingCuda); }},
      {"TensorBufferView::from_raw", "CUDA device index -2", ErrorCode::device_not_available,
       "is not a device index",
       [] { return from_raw(storage, 64, c10::kFloat, {2}, {}, c10::Device(c10::kCUDA, -2)); }},
      {"TensorBufferView::from_raw", "CPU device index 5", ErrorCode::device_not_available,
       "the CPU has the index 0 only",
       [] { return from_raw(storage, 64, c10::kFloat, {2}, {}, c10::Device(c10::kCPU, 5)); }},
      {"TensorBufferView::from_raw", "writable layout with stride 0", ErrorCode::invalid_config,
       "share an address",
       [] {
         return from_raw(storage, 64, c10::kFloat, {4, 2}, {0, 1});
       }},
      {"TensorBufferView::from_raw", "CUDA device without index", ErrorCode::invalid_config,
       "has no index",
       [] { return from_raw(storage, 64, c10::kFloat, {2}, {}, c10::Device(c10::kCUDA)); }},
      {"TensorBufferView::from_raw", "meta device", ErrorCode::device_mismatch,
       "only CPU and CUDA devices",
       [] { return from_raw(storage, 64, c10::kFloat, {2}, {}, kMeta); }},

      // --- buffer -> tensor ----------------------------------------------------------------------
      {"to_tensor(view, owner)", "read-only buffer", ErrorCode::invalid_config, "read-only",
       [] { return outcome(ai_core::to_tensor(floats_view(Access::read_only), counted_owner())); }},
      {"to_tensor(view, owner)", "hand-made view: null data with elements",
       ErrorCode::invalid_config, "data is null but it holds",
       [] {
         // A default view has rank 0 and numel 1 (a scalar) with no data.
         return outcome(ai_core::to_tensor(ai_core::TensorBufferView(), counted_owner()));
       }},
      {"to_tensor(buffer)", "default-constructed buffer", ErrorCode::invalid_config,
       "owns no storage", [] { return outcome(ai_core::to_tensor(ai_core::TensorBuffer())); }},
      {"to_tensor(buffer)", "read-only buffer", ErrorCode::invalid_config, "read-only",
       [] {
         auto buffer = ai_core::make_host_buffer(at::zeros({2}),
                                                 BufferRequirements{.access = Access::read_only});
         return outcome(ai_core::to_tensor(*buffer));
       }},

      // --- output allocation ---------------------------------------------------------------------
      {"allocate_output_buffer", "negative size", ErrorCode::invalid_config, "is negative",
       [] {
         return allocate({2, -1}, c10::kFloat);
       }},
      {"allocate_output_buffer", "size overflows int64", ErrorCode::invalid_config,
       "overflows int64",
       [] {
         return allocate({kBig, kBig}, c10::kFloat);
       }},
      {"allocate_output_buffer", "complex dtype", ErrorCode::invalid_config, "dtype mismatch",
       [] { return allocate({2}, c10::kComplexDouble); }},
      {"allocate_output_buffer", "rank 9", ErrorCode::dimension_mismatch, "exceeds the maximum 8",
       [] {
         return allocate({1, 1, 1, 1, 1, 1, 1, 1, 1}, c10::kFloat);
       }},
      {"allocate_output_buffer", "CUDA device that does not exist", ErrorCode::device_not_available,
       "cuda:100", [] { return allocate({2}, c10::kFloat, kMissingCuda); }},
      {"allocate_output_buffer", "CPU device index 5", ErrorCode::device_not_available,
       "the CPU has the index 0 only",
       [] { return allocate({2}, c10::kFloat, c10::Device(c10::kCPU, 5)); }},
      {"allocate_output_buffer", "1 PiB on the CPU", ErrorCode::out_of_memory, "out of memory",
       [] { return allocate({std::int64_t{1} << 48}, c10::kFloat); }},
      {"allocate_like", "undefined tensor", ErrorCode::invalid_config, "the tensor is undefined",
       [] { return outcome(ai_core::allocate_like(at::Tensor())); }},

      // --- typed kernel views --------------------------------------------------------------------
      {"make_tensor_view", "element type f16 for an f32 buffer", ErrorCode::invalid_config,
       "dtype mismatch: expected f16",
       [] { return outcome(ai_core::make_tensor_view<c10::Half, 2>(floats_view())); }},
      {"make_tensor_view", "Rank 3 for a rank-2 buffer", ErrorCode::dimension_mismatch,
       "rank mismatch: expected 3",
       [] { return outcome(ai_core::make_tensor_view<float, 3>(floats_view())); }},
      {"make_tensor_view", "default-constructed view (null data, one element)",
       ErrorCode::invalid_config, "data is null",
       [] { return outcome(ai_core::make_tensor_view<float, 0>(ai_core::TensorBufferView())); }},
      {"make_tensor_view", "mutable T for a read-only buffer", ErrorCode::invalid_config,
       "expected a const element type",
       [] { return outcome(ai_core::make_tensor_view<float, 2>(floats_view(Access::read_only))); }},
      {"make_tensor_view32", "offsets past 2^31-1", ErrorCode::invalid_config, "reach past 2^31-1",
       [] {
         const std::int64_t sizes[] = {2, 3};
         const std::int64_t strides[] = {std::int64_t{1} << 31, 1};
         // Never dereferenced: the view only describes memory.
         auto view = ai_core::TensorBufferView::from_raw(
             storage, std::numeric_limits<std::int64_t>::max(), c10::kFloat, sizes, strides, kCpu);
         return outcome(ai_core::make_tensor_view32<float, 2>(*view));
       }},

      // --- DLPack --------------------------------------------------------------------------------
      {"from_dlpack", "null managed tensor", ErrorCode::invalid_config,
       "the managed tensor is null",
       [] {
         return outcome(ai_core::from_dlpack(static_cast<DLManagedTensorVersioned*>(nullptr)));
       }},
      {"from_dlpack", "major version 2", ErrorCode::invalid_config, "major version 2",
       [] {
         VersionedProducer p({2}, std::nullopt);
         p.managed.version.major = 2;
         return import(p);
       }},
      {"from_dlpack", "ndim -1", ErrorCode::dimension_mismatch, "ndim -1 is out of range",
       [] {
         VersionedProducer p({2}, std::nullopt);
         p.managed.dl_tensor.ndim = -1;
         return import(p);
       }},
      {"from_dlpack", "ndim 9", ErrorCode::dimension_mismatch, "ndim 9 is out of range",
       [] {
         VersionedProducer p({1, 1, 1, 1, 1, 1, 1, 1, 1}, std::nullopt);
         return import(p);
       }},
      {"from_dlpack", "null shape with ndim 2", ErrorCode::invalid_config, "shape is null",
       [] {
         VersionedProducer p({2, 2}, std::nullopt);
         p.managed.dl_tensor.shape = nullptr;
         return import(p);
       }},
      {"from_dlpack", "negative extent", ErrorCode::invalid_config, "is negative",
       [] {
         VersionedProducer p({2, -3}, std::nullopt);
         return import(p);
       }},
      {"from_dlpack", "negative stride", ErrorCode::invalid_config, "stride -1",
       [] {
         VersionedProducer p({4}, std::vector<std::int64_t>{-1});
         return import(p);
       }},
      {"from_dlpack", "extents overflow int64", ErrorCode::invalid_config, "overflows int64",
       [] {
         VersionedProducer p({kBig, kBig}, std::vector<std::int64_t>{1, 1});
         return import(p);
       }},
      {"from_dlpack", "null data with elements", ErrorCode::invalid_config, "data is null",
       [] {
         VersionedProducer p({4}, std::nullopt);
         p.managed.dl_tensor.data = nullptr;
         return import(p);
       }},
      {"from_dlpack", "byte_offset misaligns f32", ErrorCode::invalid_config,
       "is not aligned to the element size 4",
       [] {
         VersionedProducer p({4}, std::nullopt);
         p.managed.dl_tensor.byte_offset = 2;
         return import(p);
       }},
      {"from_dlpack", "byte_offset above int64", ErrorCode::invalid_config, "exceeds int64",
       [] {
         VersionedProducer p({4}, std::nullopt);
         p.managed.dl_tensor.byte_offset = std::uint64_t{1} << 63;
         return import(p);
       }},
      {"from_dlpack", "dtype with 4 lanes", ErrorCode::not_implemented, "4 lanes",
       [] {
         VersionedProducer p({4}, std::nullopt);
         p.managed.dl_tensor.dtype.lanes = 4;
         return import(p);
       }},
      {"from_dlpack", "complex dtype code", ErrorCode::invalid_config, "is not supported",
       [] {
         VersionedProducer p({4}, std::nullopt);
         p.managed.dl_tensor.dtype = {kDLComplex, 64, 1};
         return import(p);
       }},
      {"from_dlpack", "24-bit float", ErrorCode::invalid_config, "with 24 bits",
       [] {
         VersionedProducer p({4}, std::nullopt);
         p.managed.dl_tensor.dtype = {kDLFloat, 24, 1};
         return import(p);
       }},
      {"from_dlpack", "OpenCL device", ErrorCode::not_implemented, "DLPack device type 4",
       [] {
         VersionedProducer p({4}, std::nullopt);
         p.managed.dl_tensor.device = {kDLOpenCL, 0};
         return import(p);
       }},
      {"from_dlpack", "CUDA device id 100", ErrorCode::device_not_available, "cuda:100",
       [] {
         VersionedProducer p({4}, std::nullopt);
         p.managed.dl_tensor.device = {kDLCUDA, 100};
         return import(p);
       }},
      {"from_dlpack", "CUDA device id -1", ErrorCode::device_not_available, "is out of range",
       [] {
         VersionedProducer p({4}, std::nullopt);
         p.managed.dl_tensor.device = {kDLCUDA, -1};
         return import(p);
       }},
      {"from_dlpack(legacy)", "null managed tensor", ErrorCode::invalid_config,
       "the managed tensor is null",
       [] { return outcome(ai_core::from_dlpack(static_cast<DLManagedTensor*>(nullptr))); }},
      {"from_dlpack(legacy)", "ndim 9", ErrorCode::dimension_mismatch, "ndim 9",
       [] {
         LegacyProducer p({1, 1, 1, 1, 1, 1, 1, 1, 1}, std::nullopt);
         return import(p);
       }},
      {"to_dlpack_versioned", "default-constructed buffer", ErrorCode::invalid_config,
       "owns no storage",
       [] { return outcome(ai_core::to_dlpack_versioned(ai_core::TensorBuffer())); }},
      {"to_dlpack", "read-only buffer", ErrorCode::invalid_config, "no read-only flag",
       [] {
         auto buffer = ai_core::make_host_buffer(at::zeros({2}),
                                                 BufferRequirements{.access = Access::read_only});
         return outcome(ai_core::to_dlpack(*buffer));
       }},
      {"to_dlpack_dtype", "complex dtype", ErrorCode::invalid_config, "dtype",
       [] { return outcome(ai_core::to_dlpack_dtype(c10::kComplexFloat)); }},
      {"from_dlpack_device", "Metal device", ErrorCode::not_implemented, "DLPack device type 8",
       [] {
         return outcome(ai_core::from_dlpack_device(DLDevice{kDLMetal, 0}));
       }},

      // --- dispatch ------------------------------------------------------------------------------
      {"dispatch", "meta device", ErrorCode::device_not_available, "meta",
       [] { return outcome(ai_core::dispatch(AddOneOp{}, at::zeros({2}), kMeta)); }},
      {"dispatch", "CUDA device that does not exist", ErrorCode::device_not_available, "cuda",
       [] { return outcome(ai_core::dispatch(AddOneOp{}, at::zeros({2}), kMissingCuda)); }},
      {"dispatch", "input on meta, dispatched on the CPU", ErrorCode::device_mismatch, "meta",
       [] {
         return outcome(ai_core::dispatch(AddOneOp{},
                                          at::empty({2}, at::TensorOptions().device(kMeta)), kCpu));
       }},
      {"dispatch", "undefined input tensor", ErrorCode::invalid_config, "undefined",
       [] { return outcome(ai_core::dispatch(AddOneOp{}, at::Tensor(), kCpu)); }},
      {"dispatch", "op throws c10::Error", ErrorCode::torch, "op failed",
       [] {
         AddOneOp op{[] { TORCH_CHECK(false, "op failed"); }};
         return outcome(ai_core::dispatch(op, at::zeros({2}), kCpu));
       }},
      {"dispatch", "op throws std::bad_alloc", ErrorCode::out_of_memory, "allocation failed",
       [] {
         AddOneOp op{[] { throw std::bad_alloc(); }};
         return outcome(ai_core::dispatch(op, at::zeros({2}), kCpu));
       }},
  };

#if AI_CORE_TEST_WITH_NF4
  rows.push_back({"nf4::Nf4Config::validate", "block size 48", ErrorCode::invalid_config, "48",
                  [] { return outcome(nf4::Nf4Config{.block_size = 48}.validate()); }});
  rows.push_back(
      {"nf4::Nf4Config::validate", "compute dtype f64", ErrorCode::invalid_config, "f64",
       [] { return outcome(nf4::Nf4Config{.compute_dtype = c10::kDouble}.validate()); }});
  rows.push_back({"nf4::Nf4Quantizer::create", "block size 8192", ErrorCode::invalid_config, "8192",
                  [] { return outcome(nf4::Nf4Quantizer::create({.block_size = 8192})); }});
  rows.push_back({"nf4::Nf4Quantizer::quantize", "undefined tensor", ErrorCode::invalid_config,
                  "undefined",
                  [] { return outcome(nf4::Nf4Quantizer().quantize(at::Tensor(), kCpu)); }});
  rows.push_back(
      {"nf4::Nf4Quantizer::quantize", "i32 tensor", ErrorCode::invalid_config, "has dtype i32",
       [] { return outcome(nf4::Nf4Quantizer().quantize(at::zeros({64}, at::kInt), kCpu)); }});
  rows.push_back({"nf4::Nf4Quantizer::quantize", "NaN in the input", ErrorCode::invalid_config,
                  "nan at element 3", [] {
                    at::Tensor x = at::ones({64});
                    x.data_ptr<float>()[3] = std::numeric_limits<float>::quiet_NaN();
                    return outcome(nf4::Nf4Quantizer().quantize(x, kCpu));
                  }});
  rows.push_back({"nf4::Nf4Quantizer::quantize", "empty tensor (allow_empty off)",
                  ErrorCode::invalid_config, "empty input",
                  [] { return outcome(nf4::Nf4Quantizer().quantize(at::zeros({0}), kCpu)); }});
  rows.push_back({"nf4::Nf4Quantizer::quantize", "input on meta, device CPU",
                  ErrorCode::device_mismatch, "meta", [] {
                    return outcome(nf4::Nf4Quantizer().quantize(
                        at::empty({64}, at::TensorOptions().device(kMeta)), kCpu));
                  }});
#endif
  return rows;
}

// --- the test ------------------------------------------------------------------------------------

struct Counts {
  int tried = 0;
  int errors = 0;  // an error with the expected code and fragment
  int wrong = 0;   // success, or another code or message
};

TEST(BadInputTest, EveryRowReturnsItsErrorAndNothingCrashes) {
  // Quiet CPU fallback (dispatch rows run on the CPU) with a fake probe that finds no driver.
  ai_core::testing::ScopedCudaProbe probe(
      std::make_shared<ai_core::testing::FakeCudaProbe>(ai_core::testing::FakeCudaProbe::unusable(
          ai_core::CudaStatus::no_driver, "fake: no driver")));
  ai_core::LogCapture capture;

  std::map<std::string, Counts> per_entry;
  std::vector<std::string> order;
  Counts total;
  for (const BadInput& row : table()) {
    SCOPED_TRACE(row.entry_point + ": " + row.input);
    if (per_entry.find(row.entry_point) == per_entry.end()) order.push_back(row.entry_point);
    Counts& counts = per_entry[row.entry_point];
    ++counts.tried;
    ++total.tried;
    const Outcome error = row.run();
    const bool ok = error.has_value() && error->code() == row.code &&
                    error->to_string().find(row.fragment) != std::string::npos;
    if (ok) {
      ++counts.errors;
      ++total.errors;
    } else {
      ++counts.wrong;
      ++total.wrong;
    }
    EXPECT_TRUE(error.has_value())
        << "the call succeeded; expected " << ai_core::to_string(row.code);
    if (error.has_value()) {
      EXPECT_EQ(error->code(), row.code) << error->to_string();
      EXPECT_THAT(error->to_string(), ::testing::HasSubstr(row.fragment));
      EXPECT_FALSE(error->message().empty());
    }
  }

  std::ostringstream table;
  table << "| entry point | inputs tried | errors returned | wrong/missing errors | crashes |\n"
        << "|---|---:|---:|---:|---:|\n";
  for (const std::string& name : order) {
    const Counts& c = per_entry[name];
    table << "| `" << name << "` | " << c.tried << " | " << c.errors << " | " << c.wrong
          << " | 0 |\n";
  }
  table << "| **total** | " << total.tried << " | " << total.errors << " | " << total.wrong
        << " | 0 |\n";
  std::cout << "\nbad-input suite (crashes: 0, the run completed):\n" << table.str() << std::flush;
  EXPECT_EQ(total.wrong, 0);
  EXPECT_EQ(total.errors, total.tried);
}

// Prints the rows themselves (entry point, input, code, fragment): docs/reliability.md lists them.
TEST(BadInputTest, RowsAreDistinctAndDescribed) {
  std::map<std::pair<std::string, std::string>, int> seen;
  for (const BadInput& row : table()) {
    EXPECT_FALSE(row.entry_point.empty());
    EXPECT_FALSE(row.input.empty());
    EXPECT_FALSE(row.fragment.empty()) << row.entry_point << ": " << row.input;
    const int times = ++seen[std::make_pair(row.entry_point, row.input)];
    EXPECT_EQ(times, 1) << "duplicate row " << row.entry_point << ": " << row.input;
  }
  if (std::getenv("AI_CORE_PRINT_BAD_INPUTS") != nullptr) {
    for (const BadInput& row : table()) {
      std::cout << "| `" << row.entry_point << "` | " << row.input << " | `"
                << ai_core::to_string(row.code) << "` | " << row.fragment << " |\n";
    }
  }
}

// --- resource hygiene ----------------------------------------------------------------------------

TEST(ResourceHygieneTest, EveryOwnerAndDeleterReleasedExactlyOnce) {
  // Successful paths too: owners that a tensor took, DLPack tensors a buffer took.
  {
    auto view = floats_view();
    auto tensor = ai_core::to_tensor(view, counted_owner());
    ASSERT_TRUE(tensor.has_value());
    at::Tensor alias = tensor->view({3, 2});
    const std::int64_t released_before = g_owners_released;
    tensor = ai_core::to_tensor(ai_core::TensorBuffer());  // drops the first tensor
    EXPECT_EQ(g_owners_released, released_before) << "released while an alias lives";
  }
  {
    VersionedProducer p({2, 3}, std::nullopt);
    auto buffer = ai_core::from_dlpack(&p.managed);
    ASSERT_TRUE(buffer.has_value());
    auto tensor = ai_core::to_tensor(*buffer);
    ASSERT_TRUE(tensor.has_value());
    buffer = ai_core::TensorBuffer();
    EXPECT_FALSE(p.deleted) << "deleted while a tensor lives";
    tensor = ai_core::to_tensor(ai_core::TensorBuffer());
    EXPECT_TRUE(p.deleted) << "not deleted after the last tensor died";
  }
  {
    // A round trip through our own exporter: its deleter frees the block once.
    auto source = ai_core::make_host_buffer(at::ones({4}));
    ASSERT_TRUE(source.has_value());
    auto exported = ai_core::to_dlpack_versioned(*source);
    ASSERT_TRUE(exported.has_value());
    auto imported = ai_core::from_dlpack(exported->release());
    ASSERT_TRUE(imported.has_value());
    EXPECT_EQ(imported->data(), source->data());
  }
  EXPECT_GT(g_owners_made, 0);
  EXPECT_EQ(g_owners_made, g_owners_released);
  EXPECT_GT(g_dlpack_made, 0);
  EXPECT_EQ(g_dlpack_made, g_dlpack_deleted);
}

/// Checks the counters once more after every test of the binary has run (the table test runs
/// before or after the hygiene test, depending on filters and shuffling).
class HygieneEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    EXPECT_EQ(g_owners_made, g_owners_released) << "a to_tensor owner was leaked or released twice";
    EXPECT_EQ(g_dlpack_made, g_dlpack_deleted) << "a DLPack deleter was missed or called twice";
    std::cout << "resource hygiene: " << g_owners_made << " to_tensor owners made, "
              << g_owners_released << " released; " << g_dlpack_made << " DLPack tensors made, "
              << g_dlpack_deleted << " deleted\n";
  }
};

[[maybe_unused]] const auto* const kHygiene =
    ::testing::AddGlobalTestEnvironment(new HygieneEnvironment);

}  // namespace test_bad_input
