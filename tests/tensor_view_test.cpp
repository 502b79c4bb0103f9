// SPDX-License-Identifier: MIT
// Tests of <ai_core/tensor_view.hpp> and `make_tensor_view`: layout (compile-time), indexing with
// strides, the checked factory (dtype, rank, read-only, 32-bit reach including strides), and the
// debug bounds check. This TU undefines NDEBUG so the bounds check is compiled in; the layout
// static_asserts in the header hold in every build (Note [view layout and NDEBUG]).
#undef NDEBUG
#include <ai_core/interop.hpp>
#include <ai_core/tensor_view.hpp>
#include <ai_core/testing/matchers.hpp>

#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <type_traits>

namespace {

using ::ai_core::BufferRequirements;
using ::ai_core::Contiguity;
using ::ai_core::ErrorCode;
using ::ai_core::TensorBufferView;
using ::ai_core::TensorView;
using ::ai_core::TensorView32;
using ::ai_core::testing::HasErrorCode;
using ::ai_core::testing::HasMessage;
using ::ai_core::testing::IsOk;

// Compile-time: trivially copyable, standard layout, fixed size, for every element and rank.
template <class T, std::size_t R, class I>
constexpr bool kernel_passable() {
  using V = TensorView<T, R, I>;
  return std::is_trivially_copyable_v<V> && std::is_standard_layout_v<V> &&
         sizeof(V) == sizeof(T*) + 2 * (R == 0 ? 1 : R) * sizeof(I);
}
static_assert(kernel_passable<float, 1, std::int64_t>());
static_assert(kernel_passable<const c10::Half, 4, std::int64_t>());
static_assert(kernel_passable<c10::BFloat16, 3, std::int32_t>());
static_assert(kernel_passable<bool, 0, std::int64_t>());
static_assert(kernel_passable<std::uint8_t, 8, std::int32_t>());
// const conversion only adds const.
static_assert(std::is_convertible_v<TensorView<float, 2>, TensorView<const float, 2>>);
static_assert(!std::is_convertible_v<TensorView<const float, 2>, TensorView<float, 2>>);
// operator() takes exactly Rank integral indices.
template <class V, class... I>
concept Indexable = requires(V v, I... i) {
  v(i...);
};
static_assert(Indexable<TensorView<float, 2>, int, long>);
static_assert(!Indexable<TensorView<float, 2>, int>);
static_assert(!Indexable<TensorView<float, 2>, double, int>);
// A constexpr use, to show it needs no runtime.
constexpr std::int64_t kOffset = [] {
  const std::int64_t sizes[] = {3, 4}, strides[] = {10, 2};
  return TensorView<const float, 2>(nullptr, sizes, strides).offset(2, 3);
}();
static_assert(kOffset == 26);

TEST(TensorViewTest, IndexesThroughStrides) {
  at::Tensor base = at::arange(24, at::kFloat).reshape({4, 6});
  at::Tensor t = base.slice(1, 1, 6, 2);  // [4, 3], strides [6, 2]
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView buffer,
                               ai_core::as_host_buffer(t, {.contiguity = Contiguity::any}));
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto v, (ai_core::make_tensor_view<float, 2>(buffer)));
  EXPECT_EQ(v.size(0), 4);
  EXPECT_EQ(v.size(1), 3);
  EXPECT_EQ(v.stride(0), 6);
  EXPECT_EQ(v.stride(1), 2);
  EXPECT_EQ(v.numel(), 12);
  EXPECT_FALSE(v.is_contiguous());
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 3; ++j) EXPECT_EQ(v(i, j), t[i][j].item<float>()) << i << "," << j;
  }
  v(3, 2) = -1.0f;  // writes into the tensor: zero copy
  EXPECT_EQ(base[3][5].item<float>(), -1.0f);
  TensorView<const float, 2> read = v;
  EXPECT_EQ(read(3, 2), -1.0f);
}

TEST(TensorViewTest, ZeroDimAndEmptyViews) {
  at::Tensor scalar = at::arange(1, at::kInt).reshape({});
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView s, ai_core::as_host_buffer(scalar));
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto v, (ai_core::make_tensor_view<std::int32_t, 0>(s)));
  EXPECT_EQ(v(), 0);
  EXPECT_EQ(v.numel(), 1);
  at::Tensor empty = at::empty({0, 3}, at::kFloat);
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView e, ai_core::as_host_buffer(empty));
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto ev, (ai_core::make_tensor_view32<const float, 2>(e)));
  EXPECT_TRUE(ev.empty());
  EXPECT_TRUE(ev.is_contiguous());
  TensorView<float, 3> none;
  EXPECT_EQ(none.data(), nullptr);
  EXPECT_EQ(none.numel(), 0);
}

TEST(TensorViewTest, FactoryChecksDtypeRankAndAccess) {
  at::Tensor t = at::arange(6, at::kFloat).reshape({2, 3});
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView buffer, ai_core::as_host_buffer(t));
  EXPECT_THAT((ai_core::make_tensor_view<c10::Half, 2>(buffer)),
              HasMessage("dtype mismatch: expected f16 (the view's element type), got f32"));
  EXPECT_THAT((ai_core::make_tensor_view<float, 3>(buffer)),
              ::testing::AllOf(HasErrorCode(ErrorCode::dimension_mismatch),
                               HasMessage("rank mismatch: expected 3 (the view's Rank), got 2")));
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView read_only,
                               ai_core::as_host_buffer(t, {.access = ai_core::Access::read_only}));
  EXPECT_THAT((ai_core::make_tensor_view<float, 2>(read_only)), HasMessage("read-only"));
  EXPECT_THAT((ai_core::make_tensor_view<const float, 2>(read_only)), IsOk());
}

TEST(TensorViewTest, ThirtyTwoBitVariantChecksTheLargestReachableOffset) {
  // 2 x 2 elements, but a stride of 2^31 puts the second row past int32: numel alone (4) fits.
  alignas(8) static std::uint8_t memory[16];
  const std::int64_t big = std::int64_t{1} << 31;
  const std::int64_t sizes[] = {2, 2};
  const std::int64_t strides[] = {big, 1};
  AI_CORE_ASSERT_OK_AND_ASSIGN(TensorBufferView buffer,
                               TensorBufferView::from_raw(memory, big + 2, at::kByte, sizes,
                                                          strides, c10::Device(c10::kCPU)));
  EXPECT_THAT((ai_core::make_tensor_view32<std::uint8_t, 2>(buffer)),
              HasMessage("reach past 2^31-1"));
  EXPECT_THAT((ai_core::make_tensor_view<std::uint8_t, 2>(buffer)), IsOk());
  // Just inside: largest offset 2^31 - 1.
  const std::int64_t fits[] = {(std::int64_t{1} << 31) - 2, 1};
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      TensorBufferView inside,
      TensorBufferView::from_raw(memory, big, at::kByte, sizes, fits, c10::Device(c10::kCPU)));
  AI_CORE_ASSERT_OK_AND_ASSIGN(auto v32, (ai_core::make_tensor_view32<std::uint8_t, 2>(inside)));
  EXPECT_EQ(v32.offset(1, 1), std::numeric_limits<std::int32_t>::max());
  // A size alone past int32 (stride 0: a broadcast) is rejected too.
  const std::int64_t wide[] = {big};
  const std::int64_t zero[] = {0};
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      TensorBufferView broadcast,
      TensorBufferView::from_raw(memory, 1, at::kByte, wide, zero, c10::Device(c10::kCPU),
                                 ai_core::Access::read_only));
  EXPECT_THAT((ai_core::make_tensor_view32<const std::uint8_t, 1>(broadcast)),
              HasMessage("reach past 2^31-1"));
}

using TensorViewDeathTest = ::testing::Test;

TEST(TensorViewDeathTest, DebugBuildsCheckBounds) {
  float data[6] = {};
  const std::int64_t sizes[] = {2, 3}, strides[] = {3, 1};
  TensorView<float, 2> v(data, sizes, strides);
  EXPECT_DEATH((void)v(2, 0), "index out of bounds");
  EXPECT_DEATH((void)v(0, -1), "index out of bounds");
  EXPECT_DEATH((void)v.size(2), "dimension out of range");
  v(1, 2) = 5.0f;
  EXPECT_EQ(data[5], 5.0f);
}

}  // namespace
