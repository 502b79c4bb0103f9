// SPDX-License-Identifier: MIT
// GPU tests for <nf4/quantizer.hpp> (CTest label `cuda`): the CUDA kernels against the CPU path,
// bit for bit, on codes, absmax and dequantized values, through the vector paths and the
// per-element fallbacks (odd counts, tails, misaligned input and output), on the current stream;
// NaN reporting and device errors on the GPU. Every test skips with a message without a GPU.
#include <nf4/code_table.hpp>
#include <nf4/double_quant.hpp>
#include <nf4/quantizer.hpp>

#include <ai_core/error.hpp>
#include <ai_core/testing/matchers.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace nf4 {
namespace {

using ::ai_core::testing::HasErrorCode;
using ::ai_core::testing::HasMessage;
using ::ai_core::testing::IsOk;

const c10::Device kCpu(c10::DeviceType::CPU);
const c10::Device kCuda(c10::DeviceType::CUDA, 0);

bool no_gpu() { return c10::cuda::device_count() == 0; }
constexpr const char* kNoGpu = "no CUDA device visible: this GPU test runs on the device machine";

Nf4Quantizer make_quantizer(Nf4Config config) {
  auto quantizer = Nf4Quantizer::create(config);
  EXPECT_TRUE(quantizer.has_value());
  return *quantizer;
}

at::Tensor random_input(std::int64_t numel, c10::ScalarType dtype, std::uint64_t seed) {
  at::Generator generator = at::detail::createCPUGenerator(seed);
  at::Tensor x = at::randn({numel}, generator, at::TensorOptions().dtype(at::kFloat));
  at::Tensor scale = at::exp(at::randn({numel / 32 + 1}, generator) * 3.0f).clamp_max(1000.0f);
  x = x * scale.repeat_interleave(32).slice(0, 0, numel);
  x.slice(0, 0, std::min<std::int64_t>(numel, 64)).zero_();  // an all-zero block
  return x.to(dtype);
}

// Returns the bits of `t` (on the CPU) as an integer tensor, so equality is bitwise.
at::Tensor bits(const at::Tensor& t) {
  const at::Tensor cpu = t.cpu().contiguous();
  switch (cpu.scalar_type()) {
    case at::kFloat: return cpu.view(at::kInt);
    case at::kHalf:
    case at::kBFloat16: return cpu.view(at::kShort);
    default: return cpu;
  }
}

struct Shape {
  c10::ScalarType dtype;
  std::int64_t block_size;
  std::int64_t numel;
  std::int64_t offset;  // elements skipped at the start: offset 1 misaligns the data
};

class Nf4CudaAgreementTest : public ::testing::TestWithParam<Shape> {};

TEST_P(Nf4CudaAgreementTest, CpuAndGpuGiveIdenticalCodesAbsmaxAndValues) {
  if (no_gpu()) GTEST_SKIP() << kNoGpu;
  const Shape shape = GetParam();
  const at::Tensor base = random_input(shape.numel + shape.offset, shape.dtype, shape.numel);
  const at::Tensor x_cpu = base.slice(0, shape.offset);
  const at::Tensor base_gpu = base.to(kCuda);
  const at::Tensor x_gpu = base_gpu.slice(0, shape.offset);  // same misalignment on the GPU
  for (const c10::ScalarType out_dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    const Nf4Quantizer quantizer =
        make_quantizer({.block_size = shape.block_size, .compute_dtype = out_dtype});
    auto q_cpu = quantizer.quantize(x_cpu, kCpu);
    auto q_gpu = quantizer.quantize(x_gpu, kCuda);
    ASSERT_THAT(q_cpu, IsOk());
    ASSERT_THAT(q_gpu, IsOk());
    ASSERT_TRUE(q_gpu->codes().is_cuda());
    EXPECT_TRUE(at::equal(q_gpu->codes().cpu(), q_cpu->codes())) << "codes, out " << out_dtype;
    EXPECT_TRUE(at::equal(bits(q_gpu->absmax()), bits(q_cpu->absmax()))) << "absmax";

    auto y_cpu = quantizer.dequantize(*q_cpu, kCpu);
    auto y_gpu = quantizer.dequantize(*q_gpu, kCuda);
    ASSERT_THAT(y_cpu, IsOk());
    ASSERT_THAT(y_gpu, IsOk());
    EXPECT_TRUE(at::equal(bits(*y_gpu), bits(*y_cpu))) << "values, out " << out_dtype;

    // Misaligned output: the per-element path of the dequantize kernel.
    const at::Tensor padded = at::empty({shape.numel + 1}, base_gpu.options().dtype(out_dtype));
    const at::Tensor out = padded.slice(0, 1);
    auto status = quantizer.dequantize_into(*q_gpu, out);
    ASSERT_THAT(status, IsOk());
    EXPECT_TRUE(at::equal(bits(out), bits(*y_cpu))) << "misaligned output, out " << out_dtype;
  }
}

INSTANTIATE_TEST_SUITE_P(
    PathsAndShapes, Nf4CudaAgreementTest,
    ::testing::Values(Shape{at::kBFloat16, 64, 1 << 20, 0}, Shape{at::kHalf, 64, 1 << 20, 0},
                      Shape{at::kFloat, 64, 1 << 20, 0}, Shape{at::kBFloat16, 32, 100003, 0},
                      Shape{at::kBFloat16, 64, 100003, 1}, Shape{at::kFloat, 128, 4099, 1},
                      Shape{at::kHalf, 256, 77777, 3}, Shape{at::kBFloat16, 4096, 3 * 4096 + 5, 0},
                      Shape{at::kFloat, 32, 1, 0}, Shape{at::kBFloat16, 64, 15, 0}));

TEST(Nf4CudaTest, LargeWeightAgreesBitForBit) {
  if (no_gpu()) GTEST_SKIP() << kNoGpu;
  const at::Tensor w = random_input(4096 * 4096, at::kBFloat16, 42).reshape({4096, 4096});
  const Nf4Quantizer quantizer = make_quantizer({});
  auto q_cpu = quantizer.quantize(w, kCpu);
  auto q_gpu = quantizer.quantize(w.to(kCuda), kCuda);
  ASSERT_TRUE(q_cpu.has_value() && q_gpu.has_value());
  EXPECT_TRUE(at::equal(q_gpu->codes().cpu(), q_cpu->codes()));
  EXPECT_TRUE(at::equal(bits(q_gpu->absmax()), bits(q_cpu->absmax())));
  auto y_gpu = quantizer.dequantize(*q_gpu, kCuda);
  auto y_cpu = quantizer.dequantize(*q_cpu, kCpu);
  ASSERT_TRUE(y_cpu.has_value() && y_gpu.has_value());
  EXPECT_TRUE(at::equal(bits(*y_gpu), bits(*y_cpu)));
}

TEST(Nf4CudaTest, RunsOnTheCurrentStream) {
  if (no_gpu()) GTEST_SKIP() << kNoGpu;
  const at::Tensor x = random_input(1 << 16, at::kBFloat16, 9).to(kCuda);
  const Nf4Quantizer quantizer = make_quantizer({});
  auto expected_q = quantizer.quantize(x, kCuda);
  ASSERT_TRUE(expected_q.has_value());
  auto expected = quantizer.dequantize(*expected_q, kCuda);
  ASSERT_TRUE(expected.has_value());
  c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool(false, 0);
  c10::cuda::CUDAStreamGuard guard(stream);
  auto y = quantizer.dequantize(*expected_q, kCuda);
  ASSERT_THAT(y, IsOk());
  stream.synchronize();
  EXPECT_TRUE(at::equal(bits(*y), bits(*expected)));
}

TEST(Nf4CudaTest, NonFiniteValueNamesTheFirstElementOnTheGpuToo) {
  if (no_gpu()) GTEST_SKIP() << kNoGpu;
  for (const c10::ScalarType dtype : {at::kFloat, at::kHalf, at::kBFloat16}) {
    at::Tensor x = at::ones({100000}, at::kFloat);
    x[99999].fill_(std::numeric_limits<float>::infinity());
    x[70].fill_(std::numeric_limits<float>::quiet_NaN());
    auto q = make_quantizer({}).quantize(x.to(dtype).to(kCuda), kCuda);
    ASSERT_FALSE(q.has_value()) << dtype;
    EXPECT_THAT(q, HasMessage("nf4 non-finite input: nan at element 70 (block 1, offset 6 of 64)"));
  }
}

TEST(Nf4CudaTest, TensorOnTheCpuAskedToRunOnTheGpuIsADeviceMismatch) {
  if (no_gpu()) GTEST_SKIP() << kNoGpu;
  auto q = make_quantizer({}).quantize(at::ones({64}), kCuda);
  ASSERT_THAT(q, HasErrorCode(ai_core::ErrorCode::device_mismatch));

  auto q_gpu =
      make_quantizer({}).quantize(at::ones({64}, at::TensorOptions().device(kCuda)), kCuda);
  ASSERT_TRUE(q_gpu.has_value());
  auto y = make_quantizer({}).dequantize(*q_gpu, kCpu);
  ASSERT_THAT(y, HasErrorCode(ai_core::ErrorCode::device_mismatch));
}

TEST(Nf4CudaDoubleQuantTest, CpuAndGpuGiveIdenticalNestedConstantsAndValues) {
  if (no_gpu()) GTEST_SKIP() << kNoGpu;
  for (const std::int64_t numel : {std::int64_t{64} * 1000 + 33, std::int64_t{1} << 20}) {
    const at::Tensor x = random_input(numel, at::kBFloat16, 21);
    for (const Nf4Encoding encoding : {Nf4Encoding::nearest, Nf4Encoding::bitsandbytes}) {
      const Nf4Quantizer quantizer = make_quantizer({.block_size = 64, .encoding = encoding});
      auto cpu = quantizer.quantize_double(x, kCpu);
      auto gpu = quantizer.quantize_double(x.to(kCuda), kCuda);
      ASSERT_THAT(cpu, IsOk());
      ASSERT_THAT(gpu, IsOk());
      EXPECT_EQ(cpu->offset(), gpu->offset());
      EXPECT_TRUE(at::equal(cpu->nested_absmax(), gpu->nested_absmax().cpu()));
      if (encoding == Nf4Encoding::nearest) {
        // The bitsandbytes encoding uses the GPU's approximate reciprocal, which the CPU only
        // matches where it is correctly rounded (scripts/gpu/nf4.sh counts those places).
        EXPECT_TRUE(at::equal(cpu->codes(), gpu->codes().cpu()));
        EXPECT_TRUE(at::equal(cpu->absmax_codes(), gpu->absmax_codes().cpu()));
      }
      // Dequantizing the same (GPU) state on both devices gives the same bits.
      auto moved = Nf4DoubleQuantTensor::create(
          gpu->codes().cpu(), gpu->absmax_codes().cpu(), gpu->nested_absmax().cpu(),
          gpu->nested_code().cpu(), gpu->offset(), {numel}, at::kBFloat16, 64);
      ASSERT_THAT(moved, IsOk());
      for (const c10::ScalarType dtype : {at::kBFloat16, at::kHalf, at::kFloat}) {
        auto on_gpu = dequantize_double(*gpu, dtype);
        auto on_cpu = dequantize_double(*moved, dtype);
        ASSERT_THAT(on_gpu, IsOk());
        ASSERT_THAT(on_cpu, IsOk());
        EXPECT_TRUE(at::equal(on_gpu->cpu(), *on_cpu)) << numel << " " << c10::toString(dtype);
      }
      // The per-element path: an output that is not 16-byte aligned.
      at::Tensor storage =
          at::empty({numel + 1}, at::TensorOptions().dtype(at::kBFloat16).device(kCuda));
      const at::Tensor shifted = storage.slice(0, 1);
      ASSERT_THAT(dequantize_double_into(*gpu, shifted), IsOk());
      auto reference = dequantize_double(*moved, at::kBFloat16);
      ASSERT_THAT(reference, IsOk());
      EXPECT_TRUE(at::equal(shifted.cpu(), *reference));
    }
  }
}

TEST(Nf4CudaDoubleQuantTest, OutputOnAnotherDeviceIsADeviceMismatch) {
  if (no_gpu()) GTEST_SKIP() << kNoGpu;
  auto gpu = make_quantizer({}).quantize_double(at::randn({256}, at::kFloat).to(kCuda), kCuda);
  ASSERT_THAT(gpu, IsOk());
  EXPECT_THAT(dequantize_double_into(*gpu, at::empty({256}, at::kFloat)),
              HasErrorCode(ai_core::ErrorCode::device_mismatch));
}

}  // namespace
}  // namespace nf4
