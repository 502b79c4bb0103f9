// SPDX-License-Identifier: MIT
// Tests of <ai_core/interop.hpp> and <ai_core/dtype.hpp> on the CPU: every validation error of the
// buffer factories, the host path, overflow, size-0 and 0-dim tensors, to_tensor over caller
// memory with the owner released exactly once (counted), output buffers, and the CUDA helpers'
// errors on a machine or build without a GPU.
#include <ai_core/device.hpp>
#include <ai_core/dlpack.hpp>
#include <ai_core/dtype.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/testing/cuda_probe.hpp>
#include <ai_core/testing/matchers.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/imag.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/quantize_per_tensor.h>
#include <ATen/ops/sum.h>
#include <ATen/ops/zeros.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/accumulate.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#if AI_CORE_WITH_CUDA
#  include <c10/cuda/CUDAFunctions.h>
#endif

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ::ai_core::Access;
using ::ai_core::BufferOwner;
using ::ai_core::BufferRequirements;
using ::ai_core::Contiguity;
using ::ai_core::DtypeSet;
using ::ai_core::ErrorCode;
using ::ai_core::Result;
using ::ai_core::StreamHandle;
using ::ai_core::TensorBuffer;
using ::ai_core::TensorBufferView;
using ::ai_core::Unexpected;
using ::ai_core::testing::HasErrorCode;
using ::ai_core::testing::HasMessage;
using ::ai_core::testing::IsOk;
using ::testing::AllOf;
using ::testing::ElementsAre;

int gpu_count() {
#if AI_CORE_WITH_CUDA
  return c10::cuda::device_count();
#else
  return 0;
#endif
}

at::Tensor cpu_floats(std::vector<std::int64_t> sizes) {
  return at::arange(c10::multiply_integers(sizes), at::TensorOptions().dtype(at::kFloat))
      .reshape(sizes);
}

// --- dtype.hpp
// ------------------------------------------------------------------------------------

TEST(DtypeTest, NamesTheVocabularyShortAndOthersLikeTorch) {
  EXPECT_EQ(ai_core::dtype_name(at::kFloat), "f32");
  EXPECT_EQ(ai_core::dtype_name(at::kBFloat16), "bf16");
  EXPECT_EQ(ai_core::dtype_name(at::kFloat8_e4m3fn), "fp8_e4m3fn");
  EXPECT_EQ(ai_core::dtype_name(at::kBool), "bool");
  EXPECT_EQ(ai_core::dtype_name(at::kComplexFloat), "ComplexFloat");
  EXPECT_EQ(ai_core::dtype_name(static_cast<c10::ScalarType>(100)), "<invalid dtype>");
}

TEST(DtypeTest, SizesMatchTorchForEveryInteropDtype) {
  int count = 0;
  for (int i = 0; i < static_cast<int>(c10::ScalarType::NumOptions); ++i) {
    const auto dtype = static_cast<c10::ScalarType>(i);
    if (!ai_core::is_interop_dtype(dtype)) {
      EXPECT_EQ(ai_core::dtype_size(dtype), 0) << c10::toString(dtype);
      continue;
    }
    ++count;
    EXPECT_EQ(ai_core::dtype_size(dtype), static_cast<std::int64_t>(c10::elementSize(dtype)))
        << c10::toString(dtype);
    EXPECT_TRUE(DtypeSet::interop().contains(dtype));
  }
  EXPECT_EQ(count, 12);
}

TEST(DtypeTest, ElementTypesMapToTheirDtypes) {
  static_assert(ai_core::dtype_of_v<float> == at::kFloat);
  static_assert(ai_core::dtype_of_v<const c10::Half> == at::kHalf);
  static_assert(ai_core::dtype_of_v<c10::BFloat16> == at::kBFloat16);
  static_assert(ai_core::dtype_of_v<std::int8_t> == at::kChar);
  static_assert(ai_core::dtype_of_v<std::uint8_t> == at::kByte);
  static_assert(ai_core::dtype_of_v<bool> == at::kBool);
  static_assert(ai_core::dtype_of_v<c10::Float8_e5m2> == at::kFloat8_e5m2);
  static_assert(ai_core::TensorElement<double>);
  static_assert(!ai_core::TensorElement<char>);
  static_assert(!ai_core::TensorElement<c10::complex<float>>);
}

TEST(DtypeTest, SetMembershipAndText) {
  constexpr DtypeSet half_types{at::kHalf, at::kBFloat16};
  static_assert(half_types.contains(at::kHalf) && !half_types.contains(at::kFloat));
  EXPECT_EQ(half_types.to_string(), "f16 or bf16");
  EXPECT_EQ(DtypeSet{at::kFloat}.to_string(), "f32");
  EXPECT_EQ(DtypeSet::floating().to_string(), "f32, f16, bf16 or f64");
  EXPECT_EQ(DtypeSet{}.to_string(), "no dtype");
  EXPECT_EQ(DtypeSet{}.with(at::kInt), DtypeSet{at::kInt});
}

// --- as_host_buffer: the host path
// -------------------------------------------------------------------

TEST(TensorBufferViewTest, DescribesAContiguousTensorZeroCopy) {
  at::Tensor t = cpu_floats({2, 3});
  const auto refs = t.storage().use_count();
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView v, ai_core::as_host_buffer(t));
  EXPECT_EQ(v.data(), t.data_ptr());
  EXPECT_EQ(v.dtype(), at::kFloat);
  EXPECT_EQ(v.rank(), 2);
  EXPECT_THAT(v.sizes(), ElementsAre(2, 3));
  EXPECT_THAT(v.strides(), ElementsAre(3, 1));
  EXPECT_EQ(v.numel(), 6);
  EXPECT_EQ(v.byte_size(), 24);
  EXPECT_EQ(v.element_size(), 4);
  EXPECT_TRUE(v.is_contiguous());
  EXPECT_EQ(v.device(), c10::Device(c10::kCPU));
  EXPECT_EQ(v.stream(), nullptr);
  EXPECT_FALSE(v.has_pinned_stream());
  EXPECT_FALSE(v.is_read_only());
  // Borrowing: no refcount taken.
  EXPECT_EQ(t.storage().use_count(), refs);
}

TEST(TensorBufferViewTest, StridedViewHasItsSpanAsByteSize) {
  at::Tensor base = cpu_floats({4, 6});
  at::Tensor t = base.slice(1, 1, 5, 2);  // sizes [4, 2], strides [6, 2], offset 1
  EXPECT_THAT(ai_core::as_host_buffer(t), HasErrorCode(ErrorCode::invalid_config));
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView v,
                               ai_core::as_host_buffer(t, {.contiguity = Contiguity::any}));
  EXPECT_EQ(v.data(), t.data_ptr());
  EXPECT_EQ(static_cast<float*>(v.data())[0], 1.0f);
  EXPECT_THAT(v.strides(), ElementsAre(6, 2));
  EXPECT_FALSE(v.is_contiguous());
  EXPECT_EQ(v.byte_size(), ((4 - 1) * 6 + (2 - 1) * 2 + 1) * 4);
}

TEST(TensorBufferViewTest, SizeZeroAndZeroDimTensorsAreValid) {
  at::Tensor empty = at::empty({0, 5}, at::kFloat);
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView e,
                               ai_core::as_host_buffer(empty, {.alignment = 64}));
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ(e.byte_size(), 0);
  EXPECT_EQ(e.data(), nullptr);
  EXPECT_THAT(e.sizes(), ElementsAre(0, 5));

  at::Tensor scalar = at::ones({}, at::kDouble);
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView s, ai_core::as_host_buffer(scalar));
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.byte_size(), 8);
  EXPECT_EQ(*static_cast<double*>(s.data()), 1.0);
}

TEST(TensorBufferViewTest, PinnedStreamIsReturnedAsIs) {
  at::Tensor t = cpu_floats({3});
  int marker = 0;
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView v, ai_core::as_host_buffer(t, {.stream = &marker}));
  EXPECT_TRUE(v.has_pinned_stream());
  EXPECT_EQ(v.stream(), &marker);
  EXPECT_EQ(v.with_stream(nullptr).stream(), nullptr);
  EXPECT_TRUE(v.with_stream(nullptr).has_pinned_stream());
}

TEST(TensorBufferViewTest, ReadOnlyAccessDoesNotNeedAMutableTensor) {
  at::Tensor t = cpu_floats({4});
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView v,
                               ai_core::as_host_buffer(t, {.access = Access::read_only}));
  EXPECT_TRUE(v.is_read_only());
  EXPECT_EQ(v.data(), t.const_data_ptr());
}

TEST(TensorBufferViewTest, FastPathAgreesWithTorchOnLayouts) {
  // The fast path computes contiguity itself (Note [interop fast path, key test]); it must match
  // torch's definition on odd layouts, and accept the plain-tensor variants.
  at::Tensor grad = cpu_floats({2, 3});
  grad.set_requires_grad(true);
  std::vector<at::Tensor> tensors = {
      cpu_floats({2, 3}),
      cpu_floats({2, 3}).t(),
      cpu_floats({4, 1, 3}).as_strided({4, 1, 3}, {3, 77, 1}),
      cpu_floats({3}).expand({2, 3}),
      cpu_floats({0, 4}).as_strided({0, 4}, {9, 2}),
      cpu_floats({6}).slice(0, 0, 6, 2),
      cpu_floats({1, 1}).as_strided({1, 1}, {5, 9}),
      cpu_floats({2, 3, 4}).permute({0, 2, 1}),
      grad,
  };
  {
    c10::InferenceMode guard;
    tensors.push_back(cpu_floats({5, 2}));
  }
  for (const at::Tensor& t : tensors) {
    SCOPED_TRACE(::testing::PrintToString(t.sizes()) + " " + ::testing::PrintToString(t.strides()));
    const BufferRequirements any_layout{.contiguity = Contiguity::any, .access = Access::read_only};
    AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView v, ai_core::as_host_buffer(t, any_layout));
    EXPECT_EQ(v.is_contiguous(), t.is_contiguous());
    EXPECT_EQ(v.data(), t.numel() == 0 ? nullptr : t.const_data_ptr());
    EXPECT_THAT(v.sizes(), ::testing::ElementsAreArray(t.sizes().vec()));
    EXPECT_THAT(v.strides(), ::testing::ElementsAreArray(t.strides().vec()));
    EXPECT_EQ(v.numel(), t.numel());
    for (std::int64_t d = v.rank(); d < static_cast<std::int64_t>(ai_core::kMaxBufferRank); ++d) {
      EXPECT_EQ(v.sizes().data()[d], 0);  // zero past the rank
    }
    EXPECT_EQ(ai_core::as_host_buffer(t, {.access = Access::read_only}).has_value(),
              t.is_contiguous());
    AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBuffer b, ai_core::make_host_buffer(t, any_layout));
    EXPECT_EQ(b.data(), v.data());
    EXPECT_EQ(b.byte_size(), v.byte_size());
    EXPECT_TRUE(b.owns_storage());
  }
}

TEST(TensorBufferViewTest, EveryInteropDtypeIsAccepted) {
  for (int i = 0; i < static_cast<int>(c10::ScalarType::NumOptions); ++i) {
    const auto dtype = static_cast<c10::ScalarType>(i);
    if (!ai_core::is_interop_dtype(dtype)) continue;
    at::Tensor t = at::empty({3, 2}, at::TensorOptions().dtype(dtype));
    auto v = ai_core::as_host_buffer(t);
    ASSERT_THAT(v, IsOk()) << c10::toString(dtype);
    EXPECT_EQ(v->dtype(), dtype);
    EXPECT_EQ(v->byte_size(), 6 * ai_core::dtype_size(dtype));
  }
}

// --- as_host_buffer / as_cuda_buffer: every validation error
// ----------------------------------------

struct ViolationCase {
  std::string name;
  at::Tensor tensor;
  BufferRequirements requirements;
  ErrorCode code;
  std::string message;  // a substring the message must contain
};

std::vector<ViolationCase> violation_cases() {
  std::vector<ViolationCase> cases;
  cases.push_back({"undefined",
                   at::Tensor(),
                   {.name = "w"},
                   ErrorCode::invalid_config,
                   "undefined; expected a defined tensor (tensor 'w')"});
  cases.push_back({"dtype not allowed",
                   cpu_floats({2}),
                   {.dtypes = {at::kHalf, at::kBFloat16}},
                   ErrorCode::invalid_config,
                   "dtype mismatch: expected f16 or bf16, got f32"});
  cases.push_back({"dtype outside the vocabulary",
                   at::zeros({2}, at::kComplexFloat),
                   {.dtypes = DtypeSet::interop().with(at::kComplexFloat)},
                   ErrorCode::invalid_config,
                   "got ComplexFloat"});
  cases.push_back({"non-contiguous",
                   cpu_floats({3, 4}).t(),
                   {},
                   ErrorCode::invalid_config,
                   "not contiguous (sizes [4, 3], strides [1, 4]); the requirement is "
                   "Contiguity::required"});
  cases.push_back({"copy needs an owner",
                   cpu_floats({3}),
                   {.contiguity = Contiguity::copy_if_needed},
                   ErrorCode::invalid_config,
                   "needs an owning buffer"});
  cases.push_back({"misaligned",
                   cpu_floats({8}).slice(0, 1),
                   {.alignment = 16},
                   ErrorCode::invalid_config,
                   "is not aligned to 16 bytes"});
  cases.push_back({"alignment not a power of two",
                   cpu_floats({8}),
                   {.alignment = 12},
                   ErrorCode::invalid_config,
                   "alignment requirement 12 is not a power of two"});
  cases.push_back({"rank above the maximum",
                   at::zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}),
                   {},
                   ErrorCode::dimension_mismatch,
                   "rank 9 exceeds the maximum 8"});
  cases.push_back({"sparse",
                   cpu_floats({2, 2}).to_sparse(),
                   {},
                   ErrorCode::invalid_config,
                   "layout sparse COO is not supported"});
  cases.push_back({"meta",
                   at::empty({2}, at::TensorOptions().device(c10::kMeta)),
                   {},
                   ErrorCode::invalid_config,
                   "meta tensors have no data"});
  cases.push_back({"quantized",
                   at::quantize_per_tensor(cpu_floats({2}), 0.1, 0, at::kQUInt8),
                   {},
                   ErrorCode::invalid_config,
                   "quantized tensors"});
  cases.push_back({"conj bit",
                   at::zeros({2}, at::kComplexFloat).conj(),
                   {.dtypes = DtypeSet::interop().with(at::kComplexFloat)},
                   ErrorCode::invalid_config,
                   "pending conjugate bit"});
  cases.push_back({"neg bit",
                   at::imag(at::zeros({2}, at::kComplexFloat).conj()),
                   {},
                   ErrorCode::invalid_config,
                   "pending negative bit"});
  return cases;
}

TEST(TensorBufferViewTest, EveryViolationIsAnErrorNamingPropertyAndRequirement) {
  for (const ViolationCase& c : violation_cases()) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(ai_core::as_host_buffer(c.tensor, c.requirements),
                AllOf(HasErrorCode(c.code), HasMessage(c.message)));
    if (c.requirements.contiguity != Contiguity::copy_if_needed) {
      EXPECT_THAT(ai_core::make_host_buffer(c.tensor, c.requirements),
                  AllOf(HasErrorCode(c.code), HasMessage(c.message)));
    }
  }
}

TEST(TensorBufferViewTest, WrongDeviceIsADeviceMismatch) {
  at::Tensor t = cpu_floats({2});
  auto r = ai_core::as_cuda_buffer(t, {.name = "input"});
  ASSERT_THAT(r, HasErrorCode(ErrorCode::device_mismatch));
  EXPECT_THAT(r, HasMessage("needs a CUDA tensor"));
  EXPECT_THAT(r, HasMessage("tensor 'input'"));
  ASSERT_NE(r.error().device_info(), nullptr);
  EXPECT_EQ(r.error().device_info()->device, c10::Device(c10::kCPU));
  EXPECT_THAT(ai_core::make_cuda_buffer(t), HasErrorCode(ErrorCode::device_mismatch));
  at::Tensor meta = at::empty({2}, at::TensorOptions().device(c10::kMeta));
  EXPECT_THAT(ai_core::as_cuda_buffer(meta), HasMessage("meta tensors have no data"));
}

// --- writable access: autograd, inference tensors, overlap, bounds
// -----------------------------------------------------------------

std::int64_t version_of(const at::Tensor& t) {
  return static_cast<std::int64_t>(t.unsafeGetTensorImpl()->version_counter().current_version());
}

TEST(WritableAccessTest, BumpsTheVersionCounterLikeAnInPlaceOpAndReadOnlyDoesNot) {
  at::Tensor t = cpu_floats({2, 3});
  const std::int64_t v0 = version_of(t);
  ASSERT_THAT(ai_core::as_host_buffer(t, {.access = Access::read_only}), IsOk());
  ASSERT_THAT(ai_core::make_host_buffer(t, {.access = Access::read_only}), IsOk());
  EXPECT_EQ(version_of(t), v0);
  ASSERT_THAT(ai_core::as_host_buffer(t), IsOk());
  EXPECT_EQ(version_of(t), v0 + 1);
  ASSERT_THAT(ai_core::make_host_buffer(t), IsOk());
  EXPECT_EQ(version_of(t), v0 + 2);
  // A view shares its base's counter, as torch's in-place ops on views do.
  at::Tensor column = t.select(1, 0);
  ASSERT_THAT(ai_core::as_host_buffer(column, {.contiguity = Contiguity::any}), IsOk());
  EXPECT_EQ(version_of(t), v0 + 3);
  // A failed request changes nothing.
  EXPECT_FALSE(ai_core::as_host_buffer(t, {.dtypes = {at::kHalf}}).has_value());
  EXPECT_EQ(version_of(t), v0 + 3);
}

TEST(WritableAccessTest, WriteToATensorSavedForBackwardMakesBackwardRaiseAsTorchDoes) {
  const auto forward = [](const at::Tensor& x) {
    at::Tensor w = at::ones({3});
    w.set_requires_grad(true);
    return at::sum(at::mul(x, w));  // saves x for the gradient of w
  };
  at::Tensor x = cpu_floats({3});
  at::Tensor loss = forward(x);
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView buffer, ai_core::as_host_buffer(x));
  static_cast<float*>(buffer.data())[0] = 100.0f;
  EXPECT_THAT([&] { loss.backward(); }, ::testing::ThrowsMessage<c10::Error>(::testing::HasSubstr(
                                            "modified by an inplace operation")));
  // Reading does not count as a modification.
  at::Tensor y = cpu_floats({3});
  at::Tensor loss2 = forward(y);
  ASSERT_THAT(ai_core::as_host_buffer(y, {.access = Access::read_only}), IsOk());
  EXPECT_NO_THROW(loss2.backward());
}

TEST(WritableAccessTest, TensorsThatRequireGradAreWritableOnlyWithoutGradMode) {
  at::Tensor leaf = cpu_floats({4});
  leaf.set_requires_grad(true);
  at::Tensor non_leaf = at::mul(leaf, 2.0);
  for (const at::Tensor* t : {&leaf, &non_leaf}) {
    SCOPED_TRACE(t == &leaf ? "leaf" : "non-leaf");
    EXPECT_THAT(ai_core::as_host_buffer(*t, {.name = "w"}),
                AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("requires grad"),
                      HasMessage("grad mode"), HasMessage("(tensor 'w')")));
    EXPECT_THAT(ai_core::make_host_buffer(*t), HasMessage("requires grad"));
    EXPECT_THAT(ai_core::as_host_buffer(*t, {.access = Access::read_only}), IsOk());
  }
  EXPECT_THAT(ai_core::as_host_buffer(leaf), HasMessage("a leaf tensor that requires grad"));
  // Without grad mode (an optimizer step), the write is allowed and counted.
  at::NoGradGuard no_grad;
  const std::int64_t v0 = version_of(leaf);
  EXPECT_THAT(ai_core::as_host_buffer(leaf), IsOk());
  EXPECT_THAT(ai_core::make_host_buffer(leaf), IsOk());
  EXPECT_EQ(version_of(leaf), v0 + 2);
}

TEST(WritableAccessTest, InferenceTensorsAreWritableOnlyInInferenceMode) {
  at::Tensor t;
  {
    c10::InferenceMode guard;
    t = cpu_floats({4});
    EXPECT_THAT(ai_core::as_host_buffer(t), IsOk());
    EXPECT_THAT(ai_core::make_host_buffer(t), IsOk());
  }
  EXPECT_THAT(ai_core::as_host_buffer(t),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("inference tensor"),
                    HasMessage("outside InferenceMode")));
  EXPECT_THAT(ai_core::make_host_buffer(t), HasMessage("inference tensor"));
  EXPECT_THAT(ai_core::as_host_buffer(t, {.access = Access::read_only}), IsOk());
}

TEST(WritableAccessTest, OverlappingLayoutsAreRefusedForWritingAndAllowedForReading) {
  struct Case {
    std::string name;
    at::Tensor tensor;
    std::string message;
  };
  const std::vector<Case> overlapping = {
      {"expand (stride 0)", cpu_floats({3}).expand({2, 3}), "stride 0"},
      {"unfold with step below size", cpu_floats({6}).unfold(0, 3, 1), "overlap"},
      {"as_strided onto itself", cpu_floats({4}).as_strided({2, 2}, {1, 1}), "overlap"},
  };
  const BufferRequirements write{.contiguity = Contiguity::any, .name = "out"};
  const BufferRequirements read{.contiguity = Contiguity::any, .access = Access::read_only};
  for (const Case& c : overlapping) {
    SCOPED_TRACE(c.name);
    const std::int64_t v0 = version_of(c.tensor);
    EXPECT_THAT(ai_core::as_host_buffer(c.tensor, write),
                AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage(c.message),
                      HasMessage("share an address"), HasMessage("(tensor 'out')")));
    EXPECT_THAT(ai_core::make_host_buffer(c.tensor, write), HasMessage(c.message));
    EXPECT_EQ(version_of(c.tensor), v0);
    AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView v, ai_core::as_host_buffer(c.tensor, read));
    // A typed view inherits the rule: const elements only.
    EXPECT_THAT((ai_core::make_tensor_view<const float, 2>(v)), IsOk());
    const std::vector<std::int64_t> sizes = c.tensor.sizes().vec();
    const std::vector<std::int64_t> strides = c.tensor.strides().vec();
    EXPECT_THAT(TensorBufferView::from_raw(v.data(), v.byte_size(), at::kFloat, sizes, strides,
                                           c10::Device(c10::kCPU)),
                HasMessage(c.message));
    AI_CORE_ASSERT_OK_AND_ASSIGN(
        TensorBufferView raw,
        TensorBufferView::from_raw(v.data(), v.byte_size(), at::kFloat, sizes, strides,
                                   c10::Device(c10::kCPU), Access::read_only));
    EXPECT_TRUE(raw.is_read_only());
  }
  // Strided layouts whose elements have their own addresses stay writable.
  for (const at::Tensor& t :
       {cpu_floats({3, 4}).t(), cpu_floats({8}).slice(0, 0, 8, 3),
        cpu_floats({2, 3, 4}).permute({2, 0, 1}), cpu_floats({1, 1}).as_strided({1, 1}, {0, 0}),
        cpu_floats({6}).unfold(0, 2, 2)}) {
    SCOPED_TRACE(::testing::PrintToString(t.strides()));
    EXPECT_THAT(ai_core::as_host_buffer(t, write), IsOk());
  }
}

TEST(WritableAccessTest, ATypedWritableViewOfAnOverlappingBufferIsAnError) {
  // A view that claims write access over an overlapping layout (a DLPack producer may say so)
  // still cannot become a writable TensorView.
  float memory[3] = {};
  const std::int64_t sizes[] = {2, 3};
  const std::int64_t strides[] = {0, 1};
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      TensorBufferView read, TensorBufferView::from_raw(memory, 12, at::kFloat, sizes, strides,
                                                        c10::Device(c10::kCPU), Access::read_only));
  EXPECT_THAT((ai_core::make_tensor_view<float, 2>(read)), HasMessage("read-only"));
  EXPECT_THAT((ai_core::make_tensor_view<const float, 2>(read)), IsOk());
}

TEST(WritableAccessTest, AViewReachingPastItsStorageIsAnError) {
  // The storage shrunk under the tensor: its last element now lies outside.
  at::Tensor t = cpu_floats({4});
  t.storage().set_nbytes(8);
  for (Access access : {Access::read_write, Access::read_only}) {
    SCOPED_TRACE(static_cast<int>(access));
    EXPECT_THAT(ai_core::as_host_buffer(t, {.access = access}),
                AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("reach byte 16"),
                      HasMessage("storage holds 8 bytes")));
    EXPECT_THAT(ai_core::make_host_buffer(t, {.access = access}), HasMessage("storage holds"));
  }
  // A storage offset counts too.
  at::Tensor tail = cpu_floats({8}).slice(0, 4);
  tail.storage().set_nbytes(24);
  EXPECT_THAT(ai_core::as_host_buffer(tail), HasMessage("reach byte 32"));
  at::Tensor fits = cpu_floats({8}).slice(0, 4);
  EXPECT_THAT(ai_core::as_host_buffer(fits), IsOk());
}

TEST(WritableAccessTest, TypedViewOfANullViewWithElementsIsAnError) {
  EXPECT_THAT((ai_core::make_tensor_view<float, 0>(TensorBufferView())),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("data is null"),
                    HasMessage("1 elements")));
  const std::int64_t sizes[] = {0};
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      TensorBufferView empty,
      TensorBufferView::from_raw(nullptr, 0, at::kFloat, sizes, {}, c10::Device(c10::kCPU)));
  EXPECT_THAT((ai_core::make_tensor_view<float, 1>(empty)), IsOk());
}

// Note: torch refuses to build a tensor whose byte span overflows int64 (as_strided checks it),
// so the overflow checks are exercised through from_raw (ToTensorTest) and DLPack import
// (DLPackTest), which share them with the tensor path.

// --- make_host_buffer: the owning buffer
// -------------------------------------------------------------

TEST(TensorBufferTest, KeepsTheStorageAliveAfterTheTensorDies) {
  TensorBuffer buffer;
  EXPECT_FALSE(buffer.owns_storage());
  const void* data = nullptr;
  {
    at::Tensor t = at::empty({16}, at::kFloat);
    for (int i = 0; i < 16; ++i) t[i] = i;
    data = t.data_ptr();
    const auto refs = t.storage().use_count();
    AI_CORE_ASSERT_OK_AND_ASSIGN(buffer, ai_core::make_host_buffer(t));
    EXPECT_EQ(t.storage().use_count(), refs + 1);
  }
  EXPECT_TRUE(buffer.owns_storage());
  EXPECT_EQ(buffer.data(), data);
  EXPECT_EQ(buffer.storage().use_count(), 1);  // the tensor is gone; the buffer holds the memory
  EXPECT_EQ(static_cast<const float*>(buffer.data())[15], 15.0f);
  EXPECT_FALSE(buffer.is_copy());
  TensorBuffer copy = buffer;
  EXPECT_EQ(buffer.storage().use_count(), 2);
}

TEST(TensorBufferTest, ContiguousCopyOnlyWhenAskedAndVisible) {
  at::Tensor t = cpu_floats({3, 4}).t();
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      TensorBuffer buffer,
      ai_core::make_host_buffer(t, {.contiguity = Contiguity::copy_if_needed}));
  EXPECT_TRUE(buffer.is_copy());
  EXPECT_NE(buffer.data(), t.data_ptr());
  EXPECT_THAT(buffer.sizes(), ElementsAre(4, 3));
  EXPECT_THAT(buffer.strides(), ElementsAre(3, 1));
  EXPECT_EQ(static_cast<const float*>(buffer.data())[1], 4.0f);  // t[0][1] = original[1][0]
  // Already contiguous: no copy.
  at::Tensor c = cpu_floats({3});
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      TensorBuffer same, ai_core::make_host_buffer(c, {.contiguity = Contiguity::copy_if_needed}));
  EXPECT_FALSE(same.is_copy());
  EXPECT_EQ(same.data(), c.data_ptr());
  // The copy is made only when the other requirements hold.
  EXPECT_THAT(ai_core::make_host_buffer(
                  t, {.dtypes = {at::kHalf}, .contiguity = Contiguity::copy_if_needed}),
              HasMessage("dtype mismatch"));
}

// Views of temporaries do not compile (the rvalue overloads are deleted).
template <class B>
concept CanView = requires(B&& b) {
  std::forward<B>(b).view();
};
template <class T>
concept CanBorrowHost = requires(T&& t) {
  ai_core::as_host_buffer(std::forward<T>(t));
};
template <class T>
concept CanBorrowCuda = requires(T&& t) {
  ai_core::as_cuda_buffer(std::forward<T>(t));
};
template <class T>
concept CanOwnHost = requires(T&& t) {
  ai_core::make_host_buffer(std::forward<T>(t));
};
static_assert(!CanView<TensorBuffer>);
static_assert(CanView<const TensorBuffer&>);
static_assert(!CanBorrowHost<at::Tensor>);
static_assert(!CanBorrowCuda<at::Tensor>);
static_assert(CanBorrowCuda<const at::Tensor&>);
static_assert(CanBorrowHost<at::Tensor&>);
static_assert(CanOwnHost<at::Tensor>);  // owning: a temporary is fine

// --- from_raw + to_tensor: caller memory
// ---------------------------------------------------------------

struct ReleaseCounter {
  std::atomic<int> calls{0};
  static void release(void* self) { static_cast<ReleaseCounter*>(self)->calls.fetch_add(1); }
};

TEST(ToTensorTest, WrapsCallerMemoryAndReleasesTheOwnerExactlyOnce) {
  std::vector<float> memory(12);
  for (int i = 0; i < 12; ++i) memory[i] = static_cast<float>(i);
  ReleaseCounter counter;
  const std::int64_t sizes[] = {3, 4};
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      TensorBufferView view,
      TensorBufferView::from_raw(memory.data(), 48, at::kFloat, sizes, {}, c10::Device(c10::kCPU)));
  EXPECT_THAT(view.strides(), ElementsAre(4, 1));
  {
    AI_CORE_ASSERT_OK_AND_ASSIGN(
        at::Tensor t,
        ai_core::to_tensor(view, BufferOwner::from_function(&counter, &ReleaseCounter::release)));
    EXPECT_EQ(t.data_ptr(), memory.data());
    EXPECT_EQ(t.sizes(), at::IntArrayRef({3, 4}));
    EXPECT_EQ(t[2][3].item<float>(), 11.0f);
    at::Tensor view_of_it = t.slice(0, 1);
    t = at::Tensor();
    EXPECT_EQ(counter.calls.load(), 0);  // the slice still shares the storage
    view_of_it.mul_(2);
  }
  EXPECT_EQ(counter.calls.load(), 1);
  EXPECT_EQ(memory[4], 8.0f);  // written through the tensor, zero copy
}

TEST(ToTensorTest, StridedAndSizeZeroAndSharedPtrOwners) {
  auto memory = std::make_shared<std::vector<std::int32_t>>(10, 7);
  std::weak_ptr<std::vector<std::int32_t>> watch = memory;
  const std::int64_t sizes[] = {2, 3};
  const std::int64_t strides[] = {5, 2};  // largest offset 5 + 4 = 9 < 10
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView view,
                               TensorBufferView::from_raw(memory->data(), 40, at::kInt, sizes,
                                                          strides, c10::Device(c10::kCPU)));
  EXPECT_EQ(view.byte_size(), 40);
  {
    AI_CORE_ASSERT_OK_AND_ASSIGN(
        at::Tensor t, ai_core::to_tensor(view, BufferOwner::from_shared(std::move(memory))));
    EXPECT_EQ(t.strides(), at::IntArrayRef({5, 2}));
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_TRUE(watch.expired());

  const std::int64_t empty_sizes[] = {0, 3};
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      TensorBufferView empty,
      TensorBufferView::from_raw(nullptr, 0, at::kBool, empty_sizes, {}, c10::Device(c10::kCPU)));
  int released = 0;
  {
    AI_CORE_ASSERT_OK_AND_ASSIGN(
        at::Tensor t, ai_core::to_tensor(empty, BufferOwner::from_callable([&] { ++released; })));
    EXPECT_EQ(t.numel(), 0);
    EXPECT_EQ(t.scalar_type(), at::kBool);
  }
  EXPECT_EQ(released, 1);
}

TEST(ToTensorTest, FromRawRejectsLayoutsThatDoNotFit) {
  alignas(16) static float memory[16];
  const c10::Device cpu(c10::kCPU);
  struct Case {
    std::string name;
    std::vector<std::int64_t> sizes, strides;
    std::int64_t byte_size;
    void* data;
    c10::ScalarType dtype;
    std::string message;
  };
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max() / 2;
  const std::vector<Case> cases = {
      {"negative size", {2, -1}, {}, 64, memory, at::kFloat, "size -1 of dimension 1"},
      {"negative stride", {2, 2}, {2, -1}, 64, memory, at::kFloat, "stride -1 of dimension 1"},
      {"past the byte size",
       {4, 4},
       {4, 1},
       60,
       memory,
       at::kFloat,
       "reach 64 bytes (largest offset 15 elements of 4 bytes); expected at most the buffer's 60"},
      {"stride past the byte size", {2, 2}, {8, 1}, 36, memory, at::kFloat, "reach 40 bytes"},
      {"numel overflow", {huge, 4}, {}, 64, memory, at::kFloat, "overflows int64"},
      {"span overflow", {3, 2}, {huge, 1}, 64, memory, at::kFloat, "overflows int64"},
      {"byte overflow", {huge}, {1}, 64, memory, at::kDouble, "overflows int64"},
      {"null data", {2}, {}, 64, nullptr, at::kFloat, "data is null"},
      {"misaligned",
       {2},
       {},
       60,
       reinterpret_cast<char*>(memory) + 2,
       at::kFloat,
       "not aligned to the element size 4"},
      {"negative byte size", {0}, {}, -1, memory, at::kFloat, "byte size -1 is negative"},
      {"stride count", {2, 2}, {1}, 64, memory, at::kFloat, "1 strides for 2 sizes"},
      {"dtype", {2}, {}, 64, memory, at::kComplexFloat, "got ComplexFloat"},
      {"rank", {1, 1, 1, 1, 1, 1, 1, 1, 1}, {}, 64, memory, at::kFloat, "rank 9 exceeds"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = TensorBufferView::from_raw(c.data, c.byte_size, c.dtype, c.sizes, c.strides, cpu);
    EXPECT_THAT(r, HasMessage(c.message));
    EXPECT_FALSE(r.has_value());
  }
  // Size-1 dims with odd strides are fine and stay as given.
  const std::int64_t sizes[] = {1, 4, 1};
  const std::int64_t strides[] = {1000, 1, 77};
  auto ok = TensorBufferView::from_raw(memory, 16, at::kFloat, sizes, strides, cpu);
  ASSERT_THAT(ok, IsOk());
  EXPECT_TRUE(ok->is_contiguous());
  EXPECT_EQ(ok->byte_size(), 16);
}

TEST(ToTensorTest, FailureReleasesTheOwnerOnce) {
  float memory[4] = {};
  const std::int64_t sizes[] = {4};
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      TensorBufferView view, TensorBufferView::from_raw(memory, 16, at::kFloat, sizes, {},
                                                        c10::Device(c10::kCPU), Access::read_only));
  ReleaseCounter counter;
  auto r = ai_core::to_tensor(view, BufferOwner::from_function(&counter, &ReleaseCounter::release));
  EXPECT_THAT(r, AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("read-only")));
  EXPECT_EQ(counter.calls.load(), 1);
  // A default view (rank 0, one element, null data) is rejected.
  EXPECT_THAT(ai_core::to_tensor(TensorBufferView(), BufferOwner::unowned()),
              HasMessage("data is null"));
}

TEST(ToTensorTest, MissingCudaDeviceIsAnError) {
  if (gpu_count() > 0) GTEST_SKIP() << "a GPU is present";
  float memory[4] = {};
  const std::int64_t sizes[] = {4};
  auto r =
      TensorBufferView::from_raw(memory, 16, at::kFloat, sizes, {}, c10::Device(c10::kCUDA, 0));
  EXPECT_THAT(r, HasErrorCode(ErrorCode::device_not_available));
  auto no_index =
      TensorBufferView::from_raw(memory, 16, at::kFloat, sizes, {}, c10::Device(c10::kCUDA));
  EXPECT_THAT(no_index, HasMessage("has no index"));
}

TEST(BufferOwnerTest, MovesAndResetsReleaseOnce) {
  ReleaseCounter counter;
  {
    BufferOwner a = BufferOwner::from_function(&counter, &ReleaseCounter::release);
    BufferOwner b = std::move(a);
    EXPECT_FALSE(a.owns());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_TRUE(b.owns());
    BufferOwner c;
    c = std::move(b);
    c.reset();
    EXPECT_EQ(counter.calls.load(), 1);
    c.reset();
  }
  EXPECT_EQ(counter.calls.load(), 1);
  EXPECT_FALSE(BufferOwner::unowned().owns());
}

// --- TensorBuffer -> tensor, output buffers
// ------------------------------------------------------------

TEST(ToTensorTest, OwningBufferBecomesATensorSharingItsStorage) {
  at::Tensor base = cpu_floats({4, 6});
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      TensorBuffer buffer,
      ai_core::make_host_buffer(base.slice(1, 2, 6), {.contiguity = Contiguity::any}));
  AI_CORE_ASSERT_OK_AND_ASSIGN(at::Tensor t, ai_core::to_tensor(buffer));
  EXPECT_TRUE(t.storage().is_alias_of(base.storage()));
  EXPECT_EQ(t.data_ptr(), base.slice(1, 2, 6).data_ptr());
  EXPECT_TRUE(t.equal(base.slice(1, 2, 6)));
  EXPECT_THAT(ai_core::to_tensor(TensorBuffer()), HasMessage("owns no storage"));
}

TEST(OutputBufferTest, AllocatesWithItsBuffer) {
  const std::int64_t sizes[] = {5, 7};
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      auto out, ai_core::allocate_output_buffer(sizes, at::kBFloat16, c10::Device(c10::kCPU)));
  EXPECT_EQ(out.first.sizes(), at::IntArrayRef({5, 7}));
  EXPECT_EQ(out.first.scalar_type(), at::kBFloat16);
  EXPECT_EQ(out.second.data(), out.first.data_ptr());
  EXPECT_EQ(out.second.byte_size(), 70);

  AI_CORE_ASSERT_OK_AND_ASSIGN(auto like, ai_core::allocate_like(cpu_floats({3, 4}).t()));
  EXPECT_EQ(like.first.sizes(), at::IntArrayRef({4, 3}));
  EXPECT_TRUE(like.first.is_contiguous());
  EXPECT_EQ(like.second.data(), like.first.data_ptr());

  const std::int64_t negative[] = {2, -3};
  EXPECT_THAT(ai_core::allocate_output_buffer(negative, at::kFloat, c10::Device(c10::kCPU)),
              HasMessage("size -3 of dimension 1"));
  const std::int64_t huge[] = {std::numeric_limits<std::int64_t>::max() / 2, 4};
  EXPECT_THAT(ai_core::allocate_output_buffer(huge, at::kFloat, c10::Device(c10::kCPU)),
              HasMessage("overflows int64"));
  EXPECT_THAT(ai_core::allocate_output_buffer(sizes, at::kComplexDouble, c10::Device(c10::kCPU)),
              HasMessage("got ComplexDouble"));
  EXPECT_THAT(ai_core::allocate_like(at::Tensor()), HasMessage("undefined"));
}

TEST(OutputBufferTest, OutOfMemoryNamesTheRequestedBytes) {
  // 1 PiB: past any x86-64 user address space, so the CPU allocator fails deterministically.
  const std::int64_t sizes[] = {std::int64_t{1} << 47, 8};
  auto r = ai_core::allocate_output_buffer(sizes, at::kByte, c10::Device(c10::kCPU));
  ASSERT_THAT(r, HasErrorCode(ErrorCode::out_of_memory));
  EXPECT_THAT(r, HasMessage("out of memory allocating 1125899906842624 bytes"));
  const ai_core::MemoryInfo* memory = r.error().memory_info();
  ASSERT_NE(memory, nullptr) << r.error().to_string();
  EXPECT_EQ(memory->requested_bytes, std::optional<std::uint64_t>(std::uint64_t{1} << 50));
  EXPECT_FALSE(memory->free_bytes.has_value());  // no free-memory query on the CPU
  ASSERT_FALSE(r.error().context().empty());
  EXPECT_THAT(r.error().context(), ::testing::Contains(::testing::HasSubstr("torch: ")));
  // The element count times the element size overflowing int64 is a configuration error.
  const std::int64_t too_many[] = {std::int64_t{1} << 61};
  EXPECT_THAT(ai_core::allocate_output_buffer(too_many, at::kDouble, c10::Device(c10::kCPU)),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("overflows int64")));
  // The process still allocates afterwards.
  const std::int64_t small[] = {4};
  EXPECT_THAT(ai_core::allocate_output_buffer(small, at::kFloat, c10::Device(c10::kCPU)), IsOk());
}

// --- one device-index rule in every entry point (Note [one device-index rule])
// -----------------------------------------------------------------

/// Every entry point that takes a device, called with `device`; returns its error, if any.
struct DeviceEntryPoint {
  std::string name;
  std::function<std::optional<ai_core::CoreError>(c10::Device)> call;
  bool cuda_only = false;  // a CPU device is a device_mismatch there
};

template <class R>
std::optional<ai_core::CoreError> error_of(const R& result) {
  if (result.has_value()) return std::nullopt;
  return result.error();
}

/// A view of 16 bytes of host memory that claims to live on `device`, made while a fake probe
/// shows 128 CUDA devices (the view describes memory; nothing touches the device).
Result<TensorBufferView> raw_view_seen_by_128_devices(c10::Device device) {
  static float memory[4] = {};
  static const std::int64_t sizes[] = {4};
  ai_core::testing::ScopedCudaProbe probe(std::make_shared<ai_core::testing::FakeCudaProbe>(
      ai_core::testing::FakeCudaProbe::with_devices(128)));
  return TensorBufferView::from_raw(memory, 16, at::kFloat, sizes, {}, device);
}

std::vector<DeviceEntryPoint> device_entry_points() {
  static float memory[4] = {};
  static const std::int64_t sizes[] = {4};
  return {
      {"from_raw",
       [](c10::Device d) {
         return error_of(TensorBufferView::from_raw(memory, 16, at::kFloat, sizes, {}, d));
       }},
      {"to_tensor",
       [](c10::Device d) -> std::optional<ai_core::CoreError> {
         // The view is made while a probe shows the device (from_raw applies the rule too, so
         // a view naming a device that never exists cannot be made), then the device goes away.
         auto view = raw_view_seen_by_128_devices(d);
         if (!view) return view.error();
         return error_of(ai_core::to_tensor(*view, BufferOwner()));
       }},
      {"allocate_output_buffer",
       [](c10::Device d) {
         return error_of(ai_core::allocate_output_buffer(sizes, at::kFloat, d));
       }},
      {"CudaEvent::create", [](c10::Device d) { return error_of(ai_core::CudaEvent::create(d)); },
       true},
      {"wait_stream",
       [](c10::Device d) {
         return error_of(ai_core::wait_stream(nullptr, reinterpret_cast<void*>(1), d));
       },
       true},
      {"to_dlpack_device", [](c10::Device d) { return error_of(ai_core::to_dlpack_device(d)); }},
      {"from_dlpack_device",
       [](c10::Device d) -> std::optional<ai_core::CoreError> {
         if (!d.is_cuda()) return std::nullopt;  // DLPack has no way to say cpu:5 or cuda
         return error_of(ai_core::from_dlpack_device({kDLCUDA, d.index()}));
       }},
      {"check_device", [](c10::Device d) { return error_of(ai_core::check_device(d)); }},
  };
}

TEST(DeviceIndexTest, EveryEntryPointAppliesTheOneRule) {
  ai_core::testing::ScopedCudaProbe probe(std::make_shared<ai_core::testing::FakeCudaProbe>(
      ai_core::testing::FakeCudaProbe::with_devices(2)));
  struct Case {
    c10::Device device;
    std::string message;
  };
  const std::vector<Case> refused = {
      {c10::Device(c10::kCUDA, -2), "-2 is not a device index"},
      {c10::Device(c10::kCUDA, 2), "2 CUDA device(s) visible: cuda:0 (Fake GPU 0"},
      {c10::Device(c10::kCUDA, 7), "cuda:1 (Fake GPU 1"},
      {c10::Device(c10::kCPU, 5), "the CPU has the index 0 only"},
  };
  for (const DeviceEntryPoint& entry : device_entry_points()) {
    for (const Case& c : refused) {
      SCOPED_TRACE(entry.name + " " + c.device.str());
      if (entry.name == "from_dlpack_device" && !c.device.is_cuda()) continue;
      std::optional<ai_core::CoreError> error;
      ASSERT_NO_THROW(error = entry.call(c.device));
      ASSERT_TRUE(error.has_value());
      if (entry.cuda_only && c.device.is_cpu()) {
        EXPECT_EQ(error->code(), ErrorCode::device_mismatch) << error->to_string();
        continue;
      }
      EXPECT_EQ(error->code(), ErrorCode::device_not_available) << error->to_string();
      // DLPack names its own field: "device id -2 is out of range".
      const bool dlpack_id = entry.name == "from_dlpack_device" && c.device.index() < 0;
      EXPECT_THAT(error->to_string(),
                  ::testing::HasSubstr(dlpack_id ? "device id -2 is out of range" : c.message));
    }
  }
  // The same probe decides get_device: cuda:1 exists, cuda:2 does not.
  EXPECT_THAT(ai_core::get_device(ai_core::DeviceConfig{}.with_cuda_device(1)), IsOk());
  EXPECT_THAT(ai_core::check_device(c10::Device(c10::kCUDA, 1)), IsOk());
  EXPECT_THAT(ai_core::get_device(ai_core::DeviceConfig{}.with_cuda_device(2)),
              HasErrorCode(ErrorCode::device_not_available));
  EXPECT_EQ(ai_core::visible_cuda_device_count(), 2);
  EXPECT_THAT(ai_core::check_device(c10::Device(c10::kCPU, 0)), IsOk());
  EXPECT_THAT(ai_core::check_device(c10::Device(c10::kCUDA)), HasMessage("has no index"));
  EXPECT_THAT(ai_core::check_device(c10::Device(c10::kXPU, 0)),
              HasErrorCode(ErrorCode::device_mismatch));
}

/// A probe that throws: the exception comes from below every entry point.
class ThrowingProbe : public ai_core::CudaProbe {
 public:
  ai_core::CudaProbeResult probe(const ai_core::CudaProbeOptions& /*options*/) override {
    throw std::runtime_error("fake driver crash");
  }
};

TEST(DeviceIndexTest, AnExceptionFromBelowNeverLeavesAnEntryPoint) {
  // 1. The probe throws: every entry point reports no visible device, naming the exception.
  {
    ai_core::testing::ScopedCudaProbe probe(std::make_shared<ThrowingProbe>());
    for (const DeviceEntryPoint& entry : device_entry_points()) {
      SCOPED_TRACE(entry.name);
      std::optional<ai_core::CoreError> error;
      ASSERT_NO_THROW(error = entry.call(c10::Device(c10::kCUDA, 0)));
      ASSERT_TRUE(error.has_value());
      EXPECT_EQ(error->code(), ErrorCode::device_not_available);
      EXPECT_THAT(error->to_string(), ::testing::HasSubstr("fake driver crash"));
    }
    EXPECT_THAT(
        ai_core::get_device(ai_core::DeviceConfig{}.with_fallback(ai_core::FallbackPolicy::error)),
        AllOf(HasErrorCode(ErrorCode::device_not_available), HasMessage("fake driver crash")));
  }
  // 2. The probe claims devices CUDA does not have: torch and the CUDA runtime throw or fail
  // below the check, and every entry point still returns (an error or, for the functions that
  // touch no device, a value).
  ai_core::testing::ScopedCudaProbe probe(std::make_shared<ai_core::testing::FakeCudaProbe>(
      ai_core::testing::FakeCudaProbe::with_devices(128)));
  const c10::Device absent(c10::kCUDA, 120);
  for (const DeviceEntryPoint& entry : device_entry_points()) {
    SCOPED_TRACE(entry.name);
    std::optional<ai_core::CoreError> error;
    ASSERT_NO_THROW(error = entry.call(absent));
    if (entry.name == "allocate_output_buffer" || entry.name == "CudaEvent::create" ||
        entry.name == "wait_stream") {
      ASSERT_TRUE(error.has_value());
      EXPECT_THAT(error->to_string(), ::testing::HasSubstr("cuda:120"));
    }
  }
  // release_after reaches CudaEvent::create through an owning buffer on that device.
  auto view = raw_view_seen_by_128_devices(absent);
  ASSERT_THAT(view, IsOk());
  Result<at::Tensor> tensor = Unexpected(ai_core::CoreError::invalid_config("not run"));
  ASSERT_NO_THROW(tensor = ai_core::to_tensor(*view, BufferOwner()));
  if (tensor) {
    AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBuffer buffer, ai_core::make_cuda_buffer(*tensor));
    Result<void> parked;
    ASSERT_NO_THROW(parked = ai_core::release_after(nullptr, buffer));
    EXPECT_THAT(parked, HasMessage("cuda:120"));
    EXPECT_EQ(ai_core::collect_released_buffers(), 0);
  }
  // The stream lookup is noexcept: no stream for a device CUDA does not have.
  StreamHandle stream = reinterpret_cast<StreamHandle>(1);
  ASSERT_NO_THROW(stream = view->stream());
  EXPECT_EQ(stream, nullptr);
}

// --- CUDA helpers without a GPU
// --------------------------------------------------------------------------

TEST(CudaHelpersTest, ReportMissingCudaAsErrors) {
  if (gpu_count() > 0) GTEST_SKIP() << "a GPU is present";
  EXPECT_THAT(ai_core::CudaEvent::create(c10::Device(c10::kCUDA, 0)),
              HasErrorCode(ErrorCode::device_not_available));
  EXPECT_THAT(ai_core::wait_stream(nullptr, reinterpret_cast<void*>(1), c10::Device(c10::kCUDA, 0)),
              HasErrorCode(ErrorCode::device_not_available));
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBuffer buffer, ai_core::make_host_buffer(cpu_floats({2})));
  EXPECT_THAT(ai_core::release_after(nullptr, buffer), HasErrorCode(ErrorCode::device_mismatch));
  EXPECT_THAT(ai_core::release_after(nullptr, TensorBuffer()), HasMessage("owns no storage"));
  EXPECT_EQ(ai_core::collect_released_buffers(), 0);
}

}  // namespace
