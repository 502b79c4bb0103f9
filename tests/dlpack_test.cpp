// SPDX-License-Identifier: MIT
// Tests of <ai_core/dlpack.hpp> on the CPU: export (versioned and legacy) field by field, the
// deleter called exactly once, import of hostile input (every validation), ownership on success
// and failure, round trips through torch's own DLPack converter (at::fromDLPack / at::toDLPack).
#include <ai_core/device.hpp>
#include <ai_core/dlpack.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/testing/cuda_probe.hpp>
#include <ai_core/testing/matchers.hpp>

#include <ATen/DLConvertor.h>  // the reference implementation, for round trips
#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace {

using ::ai_core::Contiguity;
using ::ai_core::ErrorCode;
using ::ai_core::TensorBuffer;
using ::ai_core::testing::HasErrorCode;
using ::ai_core::testing::HasMessage;
using ::ai_core::testing::IsOk;
using ::testing::AllOf;
using ::testing::ElementsAre;

TensorBuffer host_buffer(const at::Tensor& t, ai_core::BufferRequirements req = {}) {
  auto r = ai_core::make_host_buffer(t, req);
  EXPECT_THAT(r, IsOk());
  return *std::move(r);
}

TEST(DLPackTest, DtypesMapBothWaysForTheWholeVocabulary) {
  for (int i = 0; i < static_cast<int>(c10::ScalarType::NumOptions); ++i) {
    const auto dtype = static_cast<c10::ScalarType>(i);
    auto dl = ai_core::to_dlpack_dtype(dtype);
    if (!ai_core::is_interop_dtype(dtype)) {
      EXPECT_THAT(dl, HasErrorCode(ErrorCode::invalid_config)) << c10::toString(dtype);
      continue;
    }
    ASSERT_THAT(dl, IsOk()) << c10::toString(dtype);
    EXPECT_EQ(dl->lanes, 1);
    EXPECT_EQ(dl->bits, 8 * ai_core::dtype_size(dtype));
    // Same encoding as torch's own converter.
    at::Tensor t = at::empty({1}, at::TensorOptions().dtype(dtype));
    const DLDataType torch_dl = at::getDLDataType(t);
    EXPECT_EQ(dl->code, torch_dl.code) << c10::toString(dtype);
    EXPECT_EQ(dl->bits, torch_dl.bits) << c10::toString(dtype);
    EXPECT_THAT(ai_core::from_dlpack_dtype(*dl), ::ai_core::testing::IsOkAndHolds(dtype));
  }
  EXPECT_THAT(ai_core::from_dlpack_dtype({kDLFloat, 32, 4}), HasMessage("4 lanes"));
  EXPECT_THAT(ai_core::from_dlpack_dtype({kDLComplex, 64, 1}), HasMessage("code 5"));
  EXPECT_THAT(ai_core::from_dlpack_dtype({kDLFloat, 24, 1}), HasMessage("24 bits"));
  EXPECT_THAT(ai_core::from_dlpack_dtype({kDLUInt, 16, 1}), HasMessage("16 bits"));
  EXPECT_THAT(ai_core::from_dlpack_dtype({200, 8, 1}), HasMessage("code 200"));
}

TEST(DLPackTest, DevicesMap) {
  EXPECT_THAT(ai_core::from_dlpack_device({kDLCPU, 0}),
              ::ai_core::testing::IsOkAndHolds(c10::Device(c10::kCPU)));
  EXPECT_THAT(ai_core::from_dlpack_device({kDLCUDAHost, 0}),
              ::ai_core::testing::IsOkAndHolds(c10::Device(c10::kCPU)));
  EXPECT_THAT(ai_core::from_dlpack_device({kDLVulkan, 0}),
              AllOf(HasErrorCode(ErrorCode::not_implemented), HasMessage("device type 7")));
  EXPECT_THAT(ai_core::from_dlpack_device({kDLCUDA, -1}), HasMessage("device id -1"));
  EXPECT_THAT(ai_core::from_dlpack_device({kDLCUDA, 1000}), HasMessage("device id 1000"));
  EXPECT_THAT(ai_core::to_dlpack_device(c10::Device(c10::kCUDA)), HasMessage("no index"));
  EXPECT_THAT(ai_core::to_dlpack_device(c10::Device(c10::kMeta)),
              HasErrorCode(ErrorCode::device_mismatch));
  // CUDA ordinals follow the one device-index rule (the cached probe's visible devices).
  ai_core::testing::ScopedCudaProbe probe(std::make_shared<ai_core::testing::FakeCudaProbe>(
      ai_core::testing::FakeCudaProbe::with_devices(4)));
  AI_CORE_ASSERT_OK_AND_ASSIGN(DLDevice d, ai_core::to_dlpack_device(c10::Device(c10::kCUDA, 3)));
  EXPECT_EQ(d.device_type, kDLCUDA);
  EXPECT_EQ(d.device_id, 3);
  EXPECT_THAT(ai_core::to_dlpack_device(c10::Device(c10::kCUDA, 4)),
              AllOf(HasErrorCode(ErrorCode::device_not_available), HasMessage("4 CUDA device(s)")));
  EXPECT_THAT(ai_core::to_dlpack_device(c10::Device(c10::kCUDA, -2)),
              HasErrorCode(ErrorCode::device_not_available));
  EXPECT_THAT(ai_core::from_dlpack_device({kDLCUDA, 4}),
              HasErrorCode(ErrorCode::device_not_available));
  EXPECT_THAT(ai_core::from_dlpack_device({kDLCUDA, 3}),
              ::ai_core::testing::IsOkAndHolds(c10::Device(c10::kCUDA, 3)));
}

TEST(DLPackTest, ExportsVersionedFieldByFieldAndKeepsTheStorageAlive) {
  at::Tensor base = at::arange(24, at::kFloat).reshape({4, 6});
  at::Tensor t = base.slice(1, 1, 5, 2);  // [4, 2], strides [6, 2]
  TensorBuffer buffer = host_buffer(t, {.contiguity = Contiguity::any});
  AI_CORE_ASSERT_OK_AND_ASSIGN(ai_core::DLPackVersionedPtr m, ai_core::to_dlpack_versioned(buffer));
  EXPECT_EQ(m->version.major, 1u);
  EXPECT_EQ(m->version.minor, static_cast<std::uint32_t>(DLPACK_MINOR_VERSION));
  EXPECT_EQ(m->flags, 0u);
  EXPECT_NE(m->manager_ctx, nullptr);
  EXPECT_NE(m->deleter, nullptr);
  const DLTensor& dl = m->dl_tensor;
  EXPECT_EQ(dl.data, t.data_ptr());
  EXPECT_EQ(dl.byte_offset, 0u);
  EXPECT_EQ(dl.ndim, 2);
  EXPECT_THAT(std::vector<std::int64_t>(dl.shape, dl.shape + 2), ElementsAre(4, 2));
  EXPECT_THAT(std::vector<std::int64_t>(dl.strides, dl.strides + 2), ElementsAre(6, 2));
  EXPECT_EQ(dl.device.device_type, kDLCPU);
  EXPECT_EQ(dl.dtype.code, kDLFloat);
  base = at::Tensor();
  t = at::Tensor();
  buffer = TensorBuffer();
  // The export alone keeps the memory alive: read it through torch's importer.
  at::Tensor back = at::fromDLPackVersioned(m.release());
  EXPECT_EQ(back.sizes(), at::IntArrayRef({4, 2}));
  EXPECT_EQ(back[3][1].item<float>(), 3 * 6 + 3);
}

TEST(DLPackTest, ReadOnlyAndCopiedFlags) {
  at::Tensor t = at::arange(6, at::kFloat).reshape({2, 3}).t();
  TensorBuffer copy = host_buffer(
      t, {.contiguity = Contiguity::copy_if_needed, .access = ai_core::Access::read_only});
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto m, ai_core::to_dlpack_versioned(copy));
  EXPECT_EQ(m->flags, DLPACK_FLAG_BITMASK_READ_ONLY | DLPACK_FLAG_BITMASK_IS_COPIED);
  EXPECT_THAT(ai_core::to_dlpack(copy), HasMessage("read-only"));
  // Import keeps both.
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBuffer back, ai_core::from_dlpack(m.get()));
  (void)m.release();  // owned by `back` now
  EXPECT_TRUE(back.is_read_only());
  EXPECT_TRUE(back.is_copy());
  EXPECT_THAT(ai_core::to_tensor(back), HasMessage("read-only"));
}

/// A producer whose deleter counts its calls.
struct CountingProducer {
  static inline int deletes = 0;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;
  std::vector<float> memory;
  DLManagedTensorVersioned managed{};
  DLManagedTensor legacy{};

  CountingProducer(std::vector<std::int64_t> sizes, std::vector<std::int64_t> strides_in,
                   std::size_t elements)
      : shape(std::move(sizes)), strides(std::move(strides_in)), memory(elements) {
    for (std::size_t i = 0; i < elements; ++i) memory[i] = static_cast<float>(i);
    DLTensor t{};
    t.data = memory.data();
    t.device = {kDLCPU, 0};
    t.ndim = static_cast<std::int32_t>(shape.size());
    t.dtype = {kDLFloat, 32, 1};
    t.shape = shape.data();
    t.strides = strides.empty() ? nullptr : strides.data();
    managed.version = {1, 0};
    managed.dl_tensor = t;
    managed.deleter = [](DLManagedTensorVersioned*) { ++deletes; };
    legacy.dl_tensor = t;
    legacy.deleter = [](DLManagedTensor*) { ++deletes; };
  }
};

TEST(DLPackTest, ImportTakesOwnershipOnSuccessAndCallsTheDeleterOnce) {
  CountingProducer::deletes = 0;
  CountingProducer p({2, 3}, {3, 1}, 6);
  {
    AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBuffer buffer, ai_core::from_dlpack(&p.managed));
    EXPECT_EQ(buffer.data(), p.memory.data());
    EXPECT_THAT(buffer.sizes(), ElementsAre(2, 3));
    EXPECT_FALSE(buffer.is_read_only());
    AI_CORE_ASSERT_OK_AND_ASSIGN(at::Tensor t, ai_core::to_tensor(buffer));
    TensorBuffer copy = buffer;
    buffer = TensorBuffer();
    EXPECT_EQ(CountingProducer::deletes, 0);
    EXPECT_EQ(t[1][2].item<float>(), 5.0f);
    t.mul_(2);  // zero copy: writes the producer's memory
  }
  EXPECT_EQ(CountingProducer::deletes, 1);
  EXPECT_EQ(p.memory[5], 10.0f);

  CountingProducer legacy({4}, {}, 4);  // null strides: compact
  {
    AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBuffer buffer, ai_core::from_dlpack(&legacy.legacy));
    EXPECT_THAT(buffer.strides(), ElementsAre(1));
  }
  EXPECT_EQ(CountingProducer::deletes, 2);
}

TEST(DLPackTest, ImportRejectsHostileInputWithoutTakingOwnership) {
  CountingProducer::deletes = 0;
  struct Case {
    std::string name;
    std::function<void(CountingProducer&)> corrupt;
    std::string message;
  };
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max() / 2;
  const std::vector<Case> cases = {
      {"major version", [](CountingProducer& p) { p.managed.version.major = 2; },
       "major version 2 is not supported"},
      {"negative ndim", [](CountingProducer& p) { p.managed.dl_tensor.ndim = -1; }, "ndim -1"},
      {"huge ndim", [](CountingProducer& p) { p.managed.dl_tensor.ndim = 1 << 30; },
       "ndim 1073741824"},
      {"null shape", [](CountingProducer& p) { p.managed.dl_tensor.shape = nullptr; },
       "shape is null for ndim 2"},
      {"negative extent", [](CountingProducer& p) { p.shape[1] = -3; }, "size -3 of dimension 1"},
      {"negative extent, null strides",
       [](CountingProducer& p) {
         p.shape[0] = -1;
         p.managed.dl_tensor.strides = nullptr;
       },
       "size -1 of dimension 0"},
      {"negative stride", [](CountingProducer& p) { p.strides[0] = -3; }, "stride -3"},
      {"element overflow", [](CountingProducer& p) { p.shape[0] = huge; }, "overflows int64"},
      {"span overflow", [](CountingProducer& p) { p.strides[0] = huge; }, "overflows int64"},
      {"null data", [](CountingProducer& p) { p.managed.dl_tensor.data = nullptr; },
       "data is null but shape [2, 3] holds 6 elements"},
      {"misaligned byte_offset", [](CountingProducer& p) { p.managed.dl_tensor.byte_offset = 2; },
       "not aligned to the element size 4"},
      {"vector lanes", [](CountingProducer& p) { p.managed.dl_tensor.dtype.lanes = 2; }, "2 lanes"},
      {"complex",
       [](CountingProducer& p) {
         p.managed.dl_tensor.dtype = {kDLComplex, 64, 1};
       },
       "code 5"},
      {"unknown device",
       [](CountingProducer& p) {
         p.managed.dl_tensor.device = {kDLMetal, 0};
       },
       "device type 8"},
      {"missing CUDA device",
       [](CountingProducer& p) {
         p.managed.dl_tensor.device = {kDLCUDA, 100};
       },
       "cuda:100"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    CountingProducer p({2, 3}, {3, 1}, 6);
    c.corrupt(p);
    auto r = ai_core::from_dlpack(&p.managed);
    EXPECT_THAT(r, HasMessage(c.message));
    EXPECT_FALSE(r.has_value());
  }
  EXPECT_EQ(CountingProducer::deletes, 0);  // on failure the caller still owns the struct
  EXPECT_THAT(ai_core::from_dlpack(static_cast<DLManagedTensorVersioned*>(nullptr)),
              HasMessage("null"));
  EXPECT_THAT(ai_core::from_dlpack(static_cast<DLManagedTensor*>(nullptr)), HasMessage("null"));
}

TEST(DLPackTest, ByteOffsetSizeZeroAndOddStridesOfSizeOneDims) {
  CountingProducer::deletes = 0;
  {
    CountingProducer p({2}, {1}, 6);
    p.managed.dl_tensor.byte_offset = 4 * sizeof(float);
    AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBuffer b, ai_core::from_dlpack(&p.managed));
    EXPECT_EQ(b.data(), p.memory.data() + 4);
    EXPECT_EQ(static_cast<const float*>(b.data())[1], 5.0f);
  }
  {
    CountingProducer p({0, 3}, {3, 1}, 1);
    p.managed.dl_tensor.data = nullptr;  // size-0: a null pointer is legal
    AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBuffer b, ai_core::from_dlpack(&p.managed));
    EXPECT_EQ(b.numel(), 0);
    EXPECT_EQ(b.data(), nullptr);
    AI_CORE_ASSERT_OK_AND_ASSIGN(at::Tensor t, ai_core::to_tensor(b));
    EXPECT_EQ(t.numel(), 0);
  }
  {
    CountingProducer p({1, 3, 1}, {12345, 1, 999}, 3);
    AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBuffer b, ai_core::from_dlpack(&p.managed));
    EXPECT_TRUE(b.view().is_contiguous());
    EXPECT_EQ(b.byte_size(), 12);
  }
  EXPECT_EQ(CountingProducer::deletes, 3);
}

TEST(DLPackTest, BoolAndSizeZeroExportRoundTripThroughTorch) {
  at::Tensor flags = at::zeros({5}, at::kBool);
  flags[2] = true;
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto m, ai_core::to_dlpack(host_buffer(flags)));
  EXPECT_EQ(m->dl_tensor.dtype.code, kDLBool);
  EXPECT_EQ(m->dl_tensor.dtype.bits, 8);
  at::Tensor back = at::fromDLPack(m.release());
  EXPECT_TRUE(back.equal(flags));

  at::Tensor empty = at::empty({0, 4}, at::kHalf);
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto e, ai_core::to_dlpack_versioned(host_buffer(empty)));
  EXPECT_EQ(e->dl_tensor.data, nullptr);
  EXPECT_EQ(e->dl_tensor.shape[0], 0);
  at::Tensor empty_back = at::fromDLPackVersioned(e.release());
  EXPECT_EQ(empty_back.sizes(), at::IntArrayRef({0, 4}));

  at::Tensor scalar = at::arange(1, at::kLong).reshape({}) + 41;
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto s, ai_core::to_dlpack_versioned(host_buffer(scalar)));
  EXPECT_EQ(s->dl_tensor.ndim, 0);
  EXPECT_EQ(s->dl_tensor.shape, nullptr);
  EXPECT_EQ(at::fromDLPackVersioned(s.release()).item<std::int64_t>(), 41);
}

TEST(DLPackTest, ImportsWhatTorchExports) {
  at::Tensor t = at::arange(12, at::kInt).reshape({3, 4}).slice(1, 1, 3);
  DLManagedTensorVersioned* m = at::toDLPackVersioned(t);
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBuffer b, ai_core::from_dlpack(m));
  EXPECT_EQ(b.data(), t.data_ptr());
  EXPECT_THAT(b.strides(), ElementsAre(4, 1));
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto v,
                               (ai_core::make_tensor_view<const std::int32_t, 2>(b.view())));
  EXPECT_EQ(v(2, 1), 10);
}

TEST(DLPackTest, AnImportedBroadcastGivesOnlyConstTypedViews) {
  // The producer does not mark a broadcast read-only; a writable TensorView of it would race.
  at::Tensor t = at::arange(3, at::kInt).expand({2, 3});
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBuffer b, ai_core::from_dlpack(at::toDLPackVersioned(t)));
  ASSERT_FALSE(b.is_read_only());
  EXPECT_THAT((ai_core::make_tensor_view<std::int32_t, 2>(b.view())),
              AllOf(HasMessage("share an address"), HasMessage("stride 0")));
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto v,
                               (ai_core::make_tensor_view<const std::int32_t, 2>(b.view())));
  EXPECT_EQ(v(1, 2), 2);
}

TEST(DLPackTest, EmptyBufferCannotBeExported) {
  EXPECT_THAT(ai_core::to_dlpack_versioned(TensorBuffer()), HasMessage("owns no storage"));
  EXPECT_THAT(ai_core::to_dlpack(TensorBuffer()), HasMessage("owns no storage"));
}

}  // namespace
