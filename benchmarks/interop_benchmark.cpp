// SPDX-License-Identifier: MIT
// Interop costs against what a libtorch user writes today, in the same binary (ratios are what
// count: host figures move between machines). Runs on CPU tensors everywhere and, when a GPU is
// present, on CUDA tensors too (the *_Cuda variants skip with a message otherwise).
//   BM_Borrow_*       as_*_buffer (read_write, and read_only: *ReadOnly) vs a hand-made view (with
//                     the stream lookup on CUDA)
//   BM_Own_*          make_*_buffer + destroy vs at::toDLPack + deleter
//   BM_ToTensor_*     to_tensor vs at::from_blob with strides and a deleter
//   BM_HostRoundTrip  the Rust crate's conversion: tensor.cpu().to(cuda), 256 MiB (GPU only)
#include <ai_core/interop.hpp>

#include <ATen/DLConvertor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <benchmark/benchmark.h>

#if AI_CORE_WITH_CUDA
#  include <ATen/cuda/CUDAContext.h>
#  include <c10/cuda/CUDAFunctions.h>
#  include <cuda_runtime_api.h>
#endif

#include <cstdint>

namespace {

bool have_gpu() {
#if AI_CORE_WITH_CUDA
  return c10::cuda::device_count() > 0;
#else
  return false;
#endif
}

at::Tensor make_tensor(bool cuda) {
  auto opts = at::TensorOptions().dtype(at::kFloat);
  if (cuda) opts = opts.device(c10::kCUDA, 0);
  return at::empty({1024, 1024}, opts);
}

/// What a user writes today: pointer, sizes, strides, dtype, device (and the stream on CUDA).
struct HandView {
  void* p;
  std::int64_t sizes[8];
  std::int64_t strides[8];
  int nd;
  int dtype;
  int dev;
  void* stream;
};

void hand_view(benchmark::State& state, bool cuda, bool with_stream) {
  if (cuda && !have_gpu()) {
    state.SkipWithError("no GPU");
    return;
  }
  at::Tensor t = make_tensor(cuda);
  for (auto _ : state) {
    HandView w;
    w.p = t.data_ptr();
    w.nd = static_cast<int>(t.dim());
    auto sz = t.sizes();
    auto st = t.strides();
    for (int d = 0; d < w.nd; ++d) {
      w.sizes[d] = sz[d];
      w.strides[d] = st[d];
    }
    w.dtype = static_cast<int>(t.scalar_type());
    w.dev = t.get_device();
    w.stream = nullptr;
#if AI_CORE_WITH_CUDA
    if (with_stream) w.stream = at::cuda::getCurrentCUDAStream(w.dev).stream();
#else
    (void)with_stream;
#endif
    benchmark::DoNotOptimize(w);
  }
}

void BM_Borrow_HandMadeView_Cpu(benchmark::State& s) { hand_view(s, false, false); }
void BM_Borrow_AsHostBuffer_Cpu(benchmark::State& state) {
  at::Tensor t = make_tensor(false);
  for (auto _ : state) {
    auto v = ai_core::as_host_buffer(t);
    benchmark::DoNotOptimize(v);
  }
}
// Read-only access: what a kernel input takes; no write bookkeeping (docs/interop.md, "Writes"),
// like the hand-made view. The default (read_write) bumps the version counter as an in-place op.
void BM_Borrow_AsHostBufferReadOnly_Cpu(benchmark::State& state) {
  at::Tensor t = make_tensor(false);
  const ai_core::BufferRequirements read_only{.access = ai_core::Access::read_only};
  for (auto _ : state) {
    auto v = ai_core::as_host_buffer(t, read_only);
    benchmark::DoNotOptimize(v);
  }
}
void BM_Borrow_HandMadeViewWithStream_Cuda(benchmark::State& s) { hand_view(s, true, true); }
void BM_Borrow_AsCudaBufferReadOnly_Cuda(benchmark::State& state) {
  if (!have_gpu()) return state.SkipWithError("no GPU");
  at::Tensor t = make_tensor(true);
  const ai_core::BufferRequirements read_only{.access = ai_core::Access::read_only};
  for (auto _ : state) {
    auto v = ai_core::as_cuda_buffer(t, read_only);
    benchmark::DoNotOptimize(v);
  }
}
void BM_Borrow_AsCudaBuffer_Cuda(benchmark::State& state) {
  if (!have_gpu()) return state.SkipWithError("no GPU");
  at::Tensor t = make_tensor(true);
  for (auto _ : state) {
    auto v = ai_core::as_cuda_buffer(t);
    benchmark::DoNotOptimize(v);
  }
}
void BM_Borrow_AsCudaBufferThenStream_Cuda(benchmark::State& state) {
  if (!have_gpu()) return state.SkipWithError("no GPU");
  at::Tensor t = make_tensor(true);
  for (auto _ : state) {
    auto v = ai_core::as_cuda_buffer(t);
    benchmark::DoNotOptimize(v->stream());
  }
}

void to_dlpack_and_delete(benchmark::State& state, bool cuda) {
  if (cuda && !have_gpu()) return state.SkipWithError("no GPU");
  at::Tensor t = make_tensor(cuda);
  for (auto _ : state) {
    DLManagedTensor* m = at::toDLPack(t);
    benchmark::DoNotOptimize(m->dl_tensor.data);
    m->deleter(m);
  }
}
void own(benchmark::State& state, bool cuda) {
  if (cuda && !have_gpu()) return state.SkipWithError("no GPU");
  at::Tensor t = make_tensor(cuda);
  for (auto _ : state) {
    auto b = cuda ? ai_core::make_cuda_buffer(t) : ai_core::make_host_buffer(t);
    benchmark::DoNotOptimize(b->data());
  }
}
void own_read_only(benchmark::State& state, bool cuda) {
  if (cuda && !have_gpu()) return state.SkipWithError("no GPU");
  at::Tensor t = make_tensor(cuda);
  const ai_core::BufferRequirements read_only{.access = ai_core::Access::read_only};
  for (auto _ : state) {
    auto b =
        cuda ? ai_core::make_cuda_buffer(t, read_only) : ai_core::make_host_buffer(t, read_only);
    benchmark::DoNotOptimize(b->data());
  }
}
void BM_Own_ToDLPackAndDelete_Cpu(benchmark::State& s) { to_dlpack_and_delete(s, false); }
void BM_Own_MakeHostBufferReadOnly_Cpu(benchmark::State& s) { own_read_only(s, false); }
void BM_Own_MakeCudaBufferReadOnly_Cuda(benchmark::State& s) { own_read_only(s, true); }
void BM_Own_MakeHostBuffer_Cpu(benchmark::State& s) { own(s, false); }
void BM_Own_ToDLPackAndDelete_Cuda(benchmark::State& s) { to_dlpack_and_delete(s, true); }
void BM_Own_MakeCudaBuffer_Cuda(benchmark::State& s) { own(s, true); }

void from_blob(benchmark::State& state, bool cuda) {
  if (cuda && !have_gpu()) return state.SkipWithError("no GPU");
  at::Tensor t = make_tensor(cuda);
  void* raw = t.data_ptr();
  auto opts = t.options();
  for (auto _ : state) {
    at::Tensor u = at::from_blob(
        raw, {1024, 1024}, {1024, 1}, [](void*) {}, opts);
    benchmark::DoNotOptimize(u.data_ptr());
  }
}
void release_nothing(void*) {}
void to_tensor(benchmark::State& state, bool cuda) {
  if (cuda && !have_gpu()) return state.SkipWithError("no GPU");
  at::Tensor t = make_tensor(cuda);
  const std::int64_t sizes[] = {1024, 1024};
  const std::int64_t strides[] = {1024, 1};
  auto view = ai_core::TensorBufferView::from_raw(t.data_ptr(), t.nbytes(), at::kFloat, sizes,
                                                  strides, t.device());
  if (!view) return state.SkipWithError(view.error().to_string().c_str());
  for (auto _ : state) {
    auto u =
        ai_core::to_tensor(*view, ai_core::BufferOwner::from_function(nullptr, &release_nothing));
    benchmark::DoNotOptimize(u->data_ptr());
  }
}
void BM_ToTensor_FromBlobStrided_Cpu(benchmark::State& s) { from_blob(s, false); }
void BM_ToTensor_ToTensor_Cpu(benchmark::State& s) { to_tensor(s, false); }
void BM_ToTensor_FromBlobStrided_Cuda(benchmark::State& s) { from_blob(s, true); }
void BM_ToTensor_ToTensor_Cuda(benchmark::State& s) { to_tensor(s, true); }

void BM_HostRoundTrip_256MiB_Cuda(benchmark::State& state) {
  if (!have_gpu()) return state.SkipWithError("no GPU");
#if AI_CORE_WITH_CUDA
  at::Tensor big = at::empty({std::int64_t{1} << 26}, at::TensorOptions().device(c10::kCUDA, 0));
  for (auto _ : state) {
    at::Tensor back = big.cpu().to(c10::Device(c10::kCUDA, 0));
    cudaDeviceSynchronize();
    benchmark::DoNotOptimize(back.data_ptr());
  }
  state.SetBytesProcessed(state.iterations() * (std::int64_t{1} << 28));
#endif
}
void BM_HostRoundTrip_BorrowInstead_Cuda(benchmark::State& state) {
  if (!have_gpu()) return state.SkipWithError("no GPU");
  at::Tensor big = at::empty({std::int64_t{1} << 26}, at::TensorOptions().device(c10::kCUDA, 0));
  for (auto _ : state) {
    auto v = ai_core::as_cuda_buffer(big);
    benchmark::DoNotOptimize(v);
  }
}

BENCHMARK(BM_Borrow_HandMadeView_Cpu);
BENCHMARK(BM_Borrow_AsHostBuffer_Cpu);
BENCHMARK(BM_Borrow_AsHostBufferReadOnly_Cpu);
BENCHMARK(BM_Borrow_HandMadeViewWithStream_Cuda);
BENCHMARK(BM_Borrow_AsCudaBuffer_Cuda);
BENCHMARK(BM_Borrow_AsCudaBufferReadOnly_Cuda);
BENCHMARK(BM_Borrow_AsCudaBufferThenStream_Cuda);
BENCHMARK(BM_Own_ToDLPackAndDelete_Cpu);
BENCHMARK(BM_Own_MakeHostBuffer_Cpu);
BENCHMARK(BM_Own_MakeHostBufferReadOnly_Cpu);
BENCHMARK(BM_Own_ToDLPackAndDelete_Cuda);
BENCHMARK(BM_Own_MakeCudaBuffer_Cuda);
BENCHMARK(BM_Own_MakeCudaBufferReadOnly_Cuda);
BENCHMARK(BM_ToTensor_FromBlobStrided_Cpu);
BENCHMARK(BM_ToTensor_ToTensor_Cpu);
BENCHMARK(BM_ToTensor_FromBlobStrided_Cuda);
BENCHMARK(BM_ToTensor_ToTensor_Cuda);
BENCHMARK(BM_HostRoundTrip_256MiB_Cuda)->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK(BM_HostRoundTrip_BorrowInstead_Cuda);

}  // namespace

BENCHMARK_MAIN();
