// SPDX-License-Identifier: MIT
// src/cuda_kernels.cu: the NF4 CUDA kernels and their launchers (src/kernels.hpp).
//
// Dequantization is written for memory bandwidth (Note [NF4 dequant kernel]); quantization gives
// one group of threads to each block of values and reduces its absmax with warp shuffles
// (Note [NF4 quantize kernel]). Both reproduce src/cpu_kernels.cpp bit for bit: the same float32
// absmax, the same IEEE division, the same `encode_normalized`, the same float32 product rounded to
// nearest even.
#include "kernels.hpp"

#include <nf4/code_table.hpp>

#include <ai_core/cuda/dtype.hpp>
#include <ai_core/error.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/tensor_view.hpp>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <type_traits>

namespace nf4::detail {
namespace {

// The table in constant memory, initialised from the one host definition (no second copy of the
// literals to drift apart).
__constant__ float kCodeTableDevice[kNumCodes] = {
    kCodeValues[0],  kCodeValues[1],  kCodeValues[2],  kCodeValues[3],
    kCodeValues[4],  kCodeValues[5],  kCodeValues[6],  kCodeValues[7],
    kCodeValues[8],  kCodeValues[9],  kCodeValues[10], kCodeValues[11],
    kCodeValues[12], kCodeValues[13], kCodeValues[14], kCodeValues[15],
};

constexpr int kThreads = 256;

// Returns the multiprocessor count of the current device, asked once per device and cached.
int sm_count() {
  static std::array<std::atomic<int>, 64> cache{};
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= 64) return 132;
  int count = cache[device].load(std::memory_order_relaxed);
  if (count == 0) {
    if (cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device) != cudaSuccess ||
        count <= 0) {
      count = 132;
    }
    cache[device].store(count, std::memory_order_relaxed);
  }
  return count;
}

// Returns the grid of a grid-stride kernel: as many blocks as can be resident on the device at
// once (asked once per kernel through the occupancy API), but no more than the work needs. A grid
// larger than one resident wave would leave its last blocks running alone at the end.
template <auto kKernel>
unsigned grid_for(std::int64_t threads_needed) {
  static std::atomic<int> blocks_per_sm{0};
  int per_sm = blocks_per_sm.load(std::memory_order_relaxed);
  if (per_sm == 0) {
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kKernel, kThreads, 0) !=
            cudaSuccess ||
        per_sm <= 0) {
      per_sm = 1;
    }
    blocks_per_sm.store(per_sm, std::memory_order_relaxed);
  }
  const std::int64_t resident = std::int64_t{sm_count()} * per_sm;
  const std::int64_t needed = (threads_needed + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::max<std::int64_t>(1, std::min(resident, needed)));
}

// ---- element conversions
// -------------------------------------------------------------------------

template <class T>
__device__ __forceinline__ float to_float(T v);
template <>
__device__ __forceinline__ float to_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ float to_float<__half>(__half v) {
  return __half2float(v);
}
template <>
__device__ __forceinline__ float to_float<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <class T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// Packs two floats, rounded to nearest even, into one 32-bit word: `lo` at the lower address.
template <class T>
__device__ __forceinline__ std::uint32_t pack2(float lo, float hi);
template <>
__device__ __forceinline__ std::uint32_t pack2<__half>(float lo, float hi) {
  const __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const std::uint32_t*>(&h);
}
template <>
__device__ __forceinline__ std::uint32_t pack2<__nv_bfloat16>(float lo, float hi) {
  const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const std::uint32_t*>(&h);
}

// Stores 16 consecutive values at `out` (16-byte aligned) with streaming stores: the output is
// written once and not read back by this kernel, so it should not evict the codes from L2.
template <class T>
__device__ __forceinline__ void store8(T* out, const float (&v)[8]) {
  uint4 w;
  w.x = pack2<T>(v[0], v[1]);
  w.y = pack2<T>(v[2], v[3]);
  w.z = pack2<T>(v[4], v[5]);
  w.w = pack2<T>(v[6], v[7]);
  __stcs(reinterpret_cast<uint4*>(out), w);
}
template <>
__device__ __forceinline__ void store8<float>(float* out, const float (&v)[8]) {
  float4* dst = reinterpret_cast<float4*>(out);
  __stcs(dst, make_float4(v[0], v[1], v[2], v[3]));
  __stcs(dst + 1, make_float4(v[4], v[5], v[6], v[7]));
}

// bitsandbytes' fast-math arithmetic (Note [NF4 and bitsandbytes]), as the same PTX instructions.
__device__ __forceinline__ float rcp_approx_ftz(float x) {
  float r;
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
}
__device__ __forceinline__ float mul_ftz(float a, float b) {
  float r;
  asm("mul.rn.ftz.f32 %0, %1, %2;" : "=f"(r) : "f"(a), "f"(b));
  return r;
}
__device__ __forceinline__ float abs_ftz(float x) {
  float r;
  asm("abs.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
}

// ---- dequantization --------------------------------------------------------------------------

// Note [NF4 dequant kernel]
// Dequantization reads 0.5 byte of codes and 1/64 of a float of absmax per element and writes 2
// bytes (bf16): a pure bandwidth problem, so the kernel is shaped for the memory system:
// - one "chunk" is 8 elements: one 4-byte code load (ld.global.nc through `__ldg`) becomes one
//   16-byte bf16 store (two for f32), and consecutive lanes take consecutive chunks, so a warp's
//   store covers 512 contiguous bytes and writes every 32-byte sector whole (two 16-byte stores
//   32 bytes apart per lane would write half of every sector per instruction). Block sizes are
//   powers of two >= 32, so a chunk never straddles two absmax blocks: one absmax load per chunk
//   (the 8 chunks of a 64-block hit the same L1 line), and the block index is a shift, never a
//   64-bit division;
// - the 16-entry table lives in shared memory: 16 floats sit in 16 different banks, so any pattern
//   of lookups by a warp is conflict-free;
// - a grid-stride loop over one resident wave of the device, 2048 threads per SM (the launch bounds
//   hold the kernel to 32 registers, which it fits without spilling), each thread issuing kUnroll
//   independent chunk loads before it uses any, so enough bytes are in flight to cover DRAM
//   latency;
// - stores are streaming (`__stcs`): 128 MiB of output should not evict the codes from L2.
// Shapes that do not allow vectors (codes not 8-byte aligned, output not 16-byte aligned) and the
// elements after the last full chunk take a per-element path.
constexpr int kUnroll = 4;

// Where a dequantize kernel gets block b's absmax: `Plain` reads the float32 array;
// `Nested` reconstructs it from the double-quantized parts (Note [NF4 double dequant kernel]).
// `setup` fills the kernel's shared table before the `__syncthreads` that publishes the NF4 one.
struct PlainAbsmax {
  const float* absmax;
  __device__ __forceinline__ void setup(float* /*table*/) const {}
  __device__ __forceinline__ float operator()(std::int64_t b, const float* /*table*/) const {
    return __ldg(absmax + b);
  }
};

// Note [NF4 double dequant kernel]
// The double-quantized kernel is the plain one (Note [NF4 dequant kernel]) with the absmax load
// replaced by its reconstruction: one byte of absmax code per chunk (the chunks of a block share
// it, so it comes from L1), one float of nested absmax per 256 blocks (always an L1 hit), the
// 256-entry table in shared memory (1 KiB; a warp touches at most 4 blocks of 64, so at most 4
// distinct entries), then (code * nested) + offset with `__fmul_rn`/`__fadd_rn`: two roundings,
// never contracted into an FMA, which is what bitsandbytes' dequantize_blockwise followed by
// `absmax += offset` computes. It reads 1/64 byte per element for the constants instead of 1/16
// and writes nothing but the output, where bitsandbytes runs three kernels and stores the float32
// absmax in between.
struct NestedAbsmax {
  const std::uint8_t* absmax_codes;
  const float* nested_absmax;
  const float* code;  // 256 floats in global memory, copied to shared by `setup`.
  float offset;
  int log2_nested;
  __device__ __forceinline__ void setup(float* table) const {
    for (int i = threadIdx.x; i < 256; i += blockDim.x) table[i] = __ldg(code + i);
  }
  __device__ __forceinline__ float operator()(std::int64_t b, const float* table) const {
    const float product =
        __fmul_rn(table[__ldg(absmax_codes + b)], __ldg(nested_absmax + (b >> log2_nested)));
    return __fadd_rn(product, offset);
  }
};

// The most threads one SM of the architecture being compiled keeps resident (CUDA C++ Programming
// Guide, "Features and Technical Specifications"): 2048 on 8.0, 9.0 and 10.x, 1024 on 7.5, 1536 on
// the others nvcc 13 supports. The launch bounds below ask for a full SM; asking more than the
// architecture has is a ptxas error.
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ == 800 || __CUDA_ARCH__ == 900 || \
    __CUDA_ARCH__ == 1000 || __CUDA_ARCH__ == 1030
#  define NF4_INTERNAL_MAX_THREADS_PER_SM 2048
#elif __CUDA_ARCH__ == 750
#  define NF4_INTERNAL_MAX_THREADS_PER_SM 1024
#else
#  define NF4_INTERNAL_MAX_THREADS_PER_SM 1536
#endif

template <class Source>
constexpr int kSharedTable = std::is_same_v<Source, NestedAbsmax> ? 256 : 1;

template <class T, class Source>
__global__ void __launch_bounds__(kThreads, NF4_INTERNAL_MAX_THREADS_PER_SM / kThreads)
    dequantize_chunks(ai_core::TensorView<const std::uint8_t, 1> code_view, Source source,
                      ai_core::TensorView<T, 1> out_view, std::int64_t num_chunks,
                      int chunk_shift) {
  // Note [NF4 dequant kernel]. A chunk is 8 elements: 4 bytes of codes, one 16-byte store (bf16,
  // f16) or two (f32). Lane k of a warp handles chunk base + k, so each warp-wide load reads 128
  // contiguous bytes and each warp-wide store writes 512 contiguous bytes: every 32-byte sector
  // is written whole by one instruction.
  const std::uint32_t* __restrict__ codes =
      reinterpret_cast<const std::uint32_t*>(code_view.data());
  T* __restrict__ out = out_view.data();
  __shared__ float lut[kNumCodes];
  __shared__ float table[kSharedTable<Source>];
  if (threadIdx.x < kNumCodes) lut[threadIdx.x] = kCodeTableDevice[threadIdx.x];
  source.setup(table);
  __syncthreads();
  const std::int64_t stride = std::int64_t{gridDim.x} * kThreads;
  for (std::int64_t base = std::int64_t{blockIdx.x} * kThreads + threadIdx.x; base < num_chunks;
       base += kUnroll * stride) {
    std::uint32_t q[kUnroll];
    float scale[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::int64_t i = base + u * stride;
      if (i < num_chunks) {
        q[u] = __ldg(codes + i);
        scale[u] = source(i >> chunk_shift, table);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const std::int64_t i = base + u * stride;
      if (i < num_chunks) {
        float v[8];
#pragma unroll
        for (int k = 0; k < 4; ++k) {  // byte k holds elements 2k (high nibble) and 2k + 1
          const std::uint32_t byte = q[u] >> (8 * k);
          v[2 * k] = __fmul_rn(lut[(byte >> 4) & 0xF], scale[u]);
          v[2 * k + 1] = __fmul_rn(lut[byte & 0xF], scale[u]);
        }
        store8(out + i * 8, v);
      }
    }
  }
}

// The per-element path: elements [begin, numel).
template <class T, class Source>
__global__ void __launch_bounds__(kThreads)
    dequantize_elements(ai_core::TensorView<const std::uint8_t, 1> code_view, Source source,
                        ai_core::TensorView<T, 1> out_view, std::int64_t begin, int log2_block) {
  const std::uint8_t* __restrict__ codes = code_view.data();
  T* __restrict__ out = out_view.data();
  const std::int64_t numel = out_view.size(0);
  __shared__ float lut[kNumCodes];
  __shared__ float table[kSharedTable<Source>];
  if (threadIdx.x < kNumCodes) lut[threadIdx.x] = kCodeTableDevice[threadIdx.x];
  source.setup(table);
  __syncthreads();
  const std::int64_t stride = std::int64_t{gridDim.x} * kThreads;
  for (std::int64_t e = begin + std::int64_t{blockIdx.x} * kThreads + threadIdx.x; e < numel;
       e += stride) {
    const std::uint8_t byte = __ldg(codes + (e >> 1));
    const std::uint8_t code = (e & 1) ? low_code(byte) : high_code(byte);
    out[e] = from_float<T>(__fmul_rn(lut[code], source(e >> log2_block, table)));
  }
}

template <class T, class Source>
cudaError_t launch_dequantize(ai_core::TensorView<const std::uint8_t, 1> codes, Source source,
                              int log2_block, ai_core::TensorView<T, 1> out, cudaStream_t stream) {
  const std::int64_t numel = out.size(0);
  const bool vectors = reinterpret_cast<std::uintptr_t>(codes.data()) % 4 == 0 &&
                       reinterpret_cast<std::uintptr_t>(out.data()) % 16 == 0;
  const std::int64_t num_chunks = vectors ? numel / 8 : 0;
  if (num_chunks > 0) {
    dequantize_chunks<T, Source>
        <<<grid_for<dequantize_chunks<T, Source>>(num_chunks), kThreads, 0, stream>>>(
            codes, source, out, num_chunks, log2_block - 3);
    if (const cudaError_t status = cudaGetLastError(); status != cudaSuccess) return status;
  }
  const std::int64_t begin = num_chunks * 8;
  if (begin < numel) {
    dequantize_elements<T, Source>
        <<<grid_for<dequantize_elements<T, Source>>(numel - begin), kThreads, 0, stream>>>(
            codes, source, out, begin, log2_block);
    return cudaGetLastError();
  }
  return cudaSuccess;
}

// ---- nested quantization ---------------------------------------------------------------------

// One thread block per nested block: (absmax - offset) in float32, the block's max |v| by a
// shared-memory reduction, then each value's byte by `encode_dynamic` over the shared table.
template <bool kBnb>
__global__ void __launch_bounds__(kThreads)
    double_quantize_blocks(ai_core::TensorView<const float, 1> absmax_view, float offset,
                           ai_core::TensorView<const float, 1> code_view, int log2_nested,
                           ai_core::TensorView<std::uint8_t, 1> qcode_view,
                           ai_core::TensorView<float, 1> nested_view) {
  __shared__ float table[256];
  __shared__ float partial[kThreads / 32];
  const float* __restrict__ absmax = absmax_view.data();
  const std::int64_t num_blocks = absmax_view.size(0);
  for (int i = threadIdx.x; i < 256; i += kThreads) table[i] = code_view.data()[i];
  const std::int64_t start = std::int64_t{blockIdx.x} << log2_nested;
  const std::int64_t count = min(std::int64_t{1} << log2_nested, num_blocks - start);
  float scale = 0.0f;
  for (std::int64_t i = threadIdx.x; i < count; i += kThreads) {
    scale = fmaxf(scale, fabsf(__fsub_rn(absmax[start + i], offset)));
  }
  for (int o = 16; o > 0; o >>= 1) scale = fmaxf(scale, __shfl_xor_sync(0xFFFFFFFFu, scale, o));
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = scale;
  __syncthreads();
  scale = partial[0];
  for (int w = 1; w < kThreads / 32; ++w) scale = fmaxf(scale, partial[w]);
  if (threadIdx.x == 0) nested_view.data()[blockIdx.x] = scale;
  const float inverse = kBnb ? rcp_approx_ftz(scale) : 0.0f;
  for (std::int64_t i = threadIdx.x; i < count; i += kThreads) {
    const float v = __fsub_rn(absmax[start + i], offset);
    const float x = kBnb ? mul_ftz(v, inverse) : (scale > 0.0f ? __fdiv_rn(v, scale) : 0.0f);
    qcode_view.data()[start + i] = encode_dynamic(table, x);
  }
}

// ---- quantization ----------------------------------------------------------------------------

// Note [NF4 quantize kernel]
// A group of G = min(32, block / 8) threads of one warp owns one block of values; each thread
// handles 8 consecutive values at a time (one 16-byte load for f16/bf16, two for f32, when the
// input is 16-byte aligned) and writes their 4 code bytes as one 32-bit store. Pass 1 takes the
// thread's max |x| and the group's max through `__shfl_xor_sync` over offsets < G (groups are
// aligned within the warp); pass 2 re-reads the values (L1/L2 hits), divides by the absmax and
// encodes. The warp loop is warp-uniform so every shuffle has all 32 lanes. A NaN or Inf lowers
// `first_bad` to its element index with one atomicMin per thread; the host reports it.

// Loads the 8 values at e0 .. e0 + 7 (those below `numel`; the others read as 0).
template <class T, bool kVector>
__device__ __forceinline__ void load8(const T* __restrict__ input, std::int64_t e0,
                                      std::int64_t numel, float (&x)[8]) {
  if (kVector && e0 + 8 <= numel) {
    if constexpr (sizeof(T) == 2) {
      const uint4 raw = __ldg(reinterpret_cast<const uint4*>(input + e0));
      const T* v = reinterpret_cast<const T*>(&raw);
#pragma unroll
      for (int k = 0; k < 8; ++k) x[k] = to_float<T>(v[k]);
    } else {
      const float4 a = __ldg(reinterpret_cast<const float4*>(input + e0));
      const float4 b = __ldg(reinterpret_cast<const float4*>(input + e0) + 1);
      x[0] = a.x, x[1] = a.y, x[2] = a.z, x[3] = a.w;
      x[4] = b.x, x[5] = b.y, x[6] = b.z, x[7] = b.w;
    }
    return;
  }
#pragma unroll
  for (int k = 0; k < 8; ++k) x[k] = e0 + k < numel ? to_float<T>(input[e0 + k]) : 0.0f;
}

template <class T, bool kVector, bool kBnb>
__global__ void __launch_bounds__(kThreads)
    quantize_blocks(ai_core::TensorView<const T, 1> input_view, int log2_block, int log2_group,
                    ai_core::TensorView<std::uint8_t, 1> code_view,
                    ai_core::TensorView<float, 1> absmax_view,
                    ai_core::TensorView<std::int64_t, 1> first_bad_view) {
  const T* __restrict__ input = input_view.data();
  std::uint8_t* __restrict__ codes = code_view.data();
  float* __restrict__ absmax = absmax_view.data();
  // The flag is an int64 tensor (interop has no uint64 dtype); -1 reads as UINT64_MAX unsigned.
  auto* first_bad = reinterpret_cast<unsigned long long*>(first_bad_view.data());
  const std::int64_t numel = input_view.size(0);
  const int lane = static_cast<int>(threadIdx.x & 31);
  const int group_size = 1 << log2_group;
  const int rank = lane & (group_size - 1);
  const int groups_per_warp = 32 >> log2_group;
  const std::int64_t num_blocks = ((numel - 1) >> log2_block) + 1;
  const std::int64_t num_bytes = (numel + 1) >> 1;
  const std::int64_t vectors_per_block = std::int64_t{1} << (log2_block - 3);
  const std::int64_t warp = (std::int64_t{blockIdx.x} * kThreads + threadIdx.x) >> 5;
  const std::int64_t num_warps = (std::int64_t{gridDim.x} * kThreads) >> 5;
  unsigned long long bad = ~0ull;
  for (std::int64_t w = warp; w * groups_per_warp < num_blocks; w += num_warps) {
    const std::int64_t b = w * groups_per_warp + (lane >> log2_group);
    const bool active = b < num_blocks;
    const std::int64_t first = b << log2_block;
    float scale = 0.0f;
    if (active) {
      for (std::int64_t v = rank; v < vectors_per_block; v += group_size) {
        const std::int64_t e0 = first + (v << 3);
        if (e0 >= numel) break;
        float x[8];
        load8<T, kVector>(input, e0, numel, x);
#pragma unroll
        for (int k = 0; k < 8; ++k) {
          if (!isfinite(x[k]) && static_cast<unsigned long long>(e0 + k) < bad) bad = e0 + k;
          scale = fmaxf(scale, kBnb ? abs_ftz(x[k]) : fabsf(x[k]));
        }
      }
    }
    for (int offset = group_size >> 1; offset > 0; offset >>= 1) {
      scale = fmaxf(scale, __shfl_xor_sync(0xFFFFFFFFu, scale, offset));
    }
    if (!active) continue;
    if (rank == 0) absmax[b] = scale;
    for (std::int64_t v = rank; v < vectors_per_block; v += group_size) {
      const std::int64_t e0 = first + (v << 3);
      if (e0 >= numel) break;
      float x[8];
      load8<T, kVector>(input, e0, numel, x);
      std::uint32_t word = 0;
      const float inverse = kBnb ? rcp_approx_ftz(scale) : 0.0f;
      const auto encode = [&](float v) -> std::uint8_t {
        if constexpr (kBnb) {
          return encode_normalized_bitsandbytes(mul_ftz(v, inverse));
        } else {
          return encode_normalized(scale > 0.0f ? __fdiv_rn(v, scale) : 0.0f);
        }
      };
#pragma unroll
      for (int k = 0; k < 8; k += 2) {
        const std::uint8_t c0 = encode(x[k]);
        // The pad nibble encodes 0, as bitsandbytes' loads pad with 0 (code 7, or 0 in an
        // all-zero block under kBnb).
        const std::uint8_t c1 = e0 + k + 1 < numel ? encode(x[k + 1]) : encode(0.0f);
        word |= std::uint32_t{pack_codes(c0, c1)} << (4 * k);
      }
      const std::int64_t j0 = e0 >> 1;  // 4-byte aligned: e0 is a multiple of 8.
      if (j0 + 4 <= num_bytes) {
        *reinterpret_cast<std::uint32_t*>(codes + j0) = word;
      } else {
        for (int k = 0; j0 + k < num_bytes; ++k) {
          codes[j0 + k] = static_cast<std::uint8_t>(word >> (8 * k));
        }
      }
    }
  }
  if (bad != ~0ull) atomicMin(first_bad, bad);
}

template <class T, bool kBnb>
cudaError_t launch_quantize(ai_core::TensorView<const T, 1> input, int log2_block,
                            ai_core::TensorView<std::uint8_t, 1> codes,
                            ai_core::TensorView<float, 1> absmax,
                            ai_core::TensorView<std::int64_t, 1> first_bad, cudaStream_t stream) {
  if (const cudaError_t status =
          cudaMemsetAsync(first_bad.data(), 0xFF, sizeof(std::int64_t), stream);
      status != cudaSuccess) {
    return status;
  }
  const std::int64_t numel = input.size(0);
  const int log2_group = std::min(5, log2_block - 3);
  const std::int64_t num_blocks = ((numel - 1) >> log2_block) + 1;
  const std::int64_t groups_per_warp = 32 >> log2_group;
  const std::int64_t warps = (num_blocks + groups_per_warp - 1) / groups_per_warp;
  const bool vectors = reinterpret_cast<std::uintptr_t>(input.data()) % 16 == 0 &&
                       reinterpret_cast<std::uintptr_t>(codes.data()) % 4 == 0;
  if (vectors) {
    quantize_blocks<T, true, kBnb>
        <<<grid_for<quantize_blocks<T, true, kBnb>>(warps * 32), kThreads, 0, stream>>>(
            input, log2_block, log2_group, codes, absmax, first_bad);
  } else {
    quantize_blocks<T, false, kBnb>
        <<<grid_for<quantize_blocks<T, false, kBnb>>(warps * 32), kThreads, 0, stream>>>(
            input, log2_block, log2_group, codes, absmax, first_bad);
  }
  return cudaGetLastError();
}

float to_float_host(float v) { return v; }
float to_float_host(__half v) { return __half2float(v); }
float to_float_host(__nv_bfloat16 v) { return __bfloat162float(v); }

ai_core::CoreError cuda_error(cudaError_t status, const char* what) {
  return ai_core::CoreError::cuda(static_cast<int>(status), cudaGetErrorName(status),
                                  std::string(what) + ": " + cudaGetErrorString(status));
}

template <class T>
ai_core::Result<NonFinite> quantize_typed(const ai_core::TensorBufferView& input, int log2_block,
                                          const ai_core::TensorBufferView& codes,
                                          const ai_core::TensorBufferView& absmax,
                                          const ai_core::TensorBufferView& first_bad,
                                          bool bitsandbytes) {
  AI_CORE_ASSIGN_OR_RETURN(auto input_view, (ai_core::make_tensor_view<const T, 1>(input)));
  AI_CORE_ASSIGN_OR_RETURN(auto code_view, (ai_core::make_tensor_view<std::uint8_t, 1>(codes)));
  AI_CORE_ASSIGN_OR_RETURN(auto absmax_view, (ai_core::make_tensor_view<float, 1>(absmax)));
  AI_CORE_ASSIGN_OR_RETURN(auto bad_view, (ai_core::make_tensor_view<std::int64_t, 1>(first_bad)));
  const auto stream = static_cast<cudaStream_t>(input.stream());
  if (const cudaError_t status = bitsandbytes
                                     ? launch_quantize<T, true>(input_view, log2_block, code_view,
                                                                absmax_view, bad_view, stream)
                                     : launch_quantize<T, false>(input_view, log2_block, code_view,
                                                                 absmax_view, bad_view, stream);
      status != cudaSuccess) {
    return cuda_error(status, "nf4 quantize kernel launch");
  }
  std::int64_t bad = 0;
  if (const cudaError_t status =
          cudaMemcpyAsync(&bad, bad_view.data(), sizeof(bad), cudaMemcpyDeviceToHost, stream);
      status != cudaSuccess) {
    return cuda_error(status, "nf4 quantize: reading the NaN/Inf flag");
  }
  if (const cudaError_t status = cudaStreamSynchronize(stream); status != cudaSuccess) {
    return cuda_error(status, "nf4 quantize kernel");
  }
  if (bad < 0) return NonFinite{};  // -1 (all bits set): no NaN or Inf.
  T value{};
  if (const cudaError_t status = cudaMemcpyAsync(&value, input_view.data() + bad, sizeof(T),
                                                 cudaMemcpyDeviceToHost, stream);
      status != cudaSuccess) {
    return cuda_error(status, "nf4 quantize: reading the non-finite value");
  }
  if (const cudaError_t status = cudaStreamSynchronize(stream); status != cudaSuccess) {
    return cuda_error(status, "nf4 quantize: reading the non-finite value");
  }
  return NonFinite{bad, static_cast<double>(to_float_host(value))};
}

template <class T>
ai_core::Result<void> dequantize_typed(const ai_core::TensorBufferView& codes,
                                       const ai_core::TensorBufferView& absmax, int log2_block,
                                       const ai_core::TensorBufferView& output) {
  AI_CORE_ASSIGN_OR_RETURN(auto code_view,
                           (ai_core::make_tensor_view<const std::uint8_t, 1>(codes)));
  AI_CORE_ASSIGN_OR_RETURN(auto absmax_view, (ai_core::make_tensor_view<const float, 1>(absmax)));
  AI_CORE_ASSIGN_OR_RETURN(auto out_view, (ai_core::make_tensor_view<T, 1>(output)));
  if (const cudaError_t status =
          launch_dequantize<T>(code_view, PlainAbsmax{absmax_view.data()}, log2_block, out_view,
                               static_cast<cudaStream_t>(output.stream()));
      status != cudaSuccess) {
    return cuda_error(status, "nf4 dequantize kernel launch");
  }
  return {};
}

template <class T>
ai_core::Result<void> dequantize_double_typed(const ai_core::TensorBufferView& codes,
                                              const NestedAbsmax& source, int log2_block,
                                              const ai_core::TensorBufferView& output) {
  AI_CORE_ASSIGN_OR_RETURN(auto code_view,
                           (ai_core::make_tensor_view<const std::uint8_t, 1>(codes)));
  AI_CORE_ASSIGN_OR_RETURN(auto out_view, (ai_core::make_tensor_view<T, 1>(output)));
  if (const cudaError_t status = launch_dequantize<T>(code_view, source, log2_block, out_view,
                                                      static_cast<cudaStream_t>(output.stream()));
      status != cudaSuccess) {
    return cuda_error(status, "nf4 double-quant dequantize kernel launch");
  }
  return {};
}

}  // namespace

ai_core::Result<NonFinite> quantize_cuda(const ai_core::TensorBufferView& input, int log2_block,
                                         const ai_core::TensorBufferView& codes,
                                         const ai_core::TensorBufferView& absmax,
                                         const ai_core::TensorBufferView& first_bad,
                                         bool bitsandbytes) {
  switch (input.dtype()) {
    case c10::ScalarType::Float:
      return quantize_typed<float>(input, log2_block, codes, absmax, first_bad, bitsandbytes);
    case c10::ScalarType::Half:
      return quantize_typed<__half>(input, log2_block, codes, absmax, first_bad, bitsandbytes);
    case c10::ScalarType::BFloat16:
      return quantize_typed<__nv_bfloat16>(input, log2_block, codes, absmax, first_bad,
                                           bitsandbytes);
    default: break;
  }
  return ai_core::CoreError::not_implemented("nf4 quantize kernel for this dtype");
}

ai_core::Result<void> dequantize_cuda(const ai_core::TensorBufferView& codes,
                                      const ai_core::TensorBufferView& absmax, int log2_block,
                                      const ai_core::TensorBufferView& output) {
  switch (output.dtype()) {
    case c10::ScalarType::Float: return dequantize_typed<float>(codes, absmax, log2_block, output);
    case c10::ScalarType::Half: return dequantize_typed<__half>(codes, absmax, log2_block, output);
    case c10::ScalarType::BFloat16:
      return dequantize_typed<__nv_bfloat16>(codes, absmax, log2_block, output);
    default: break;
  }
  return ai_core::CoreError::not_implemented("nf4 dequantize kernel for this dtype");
}

ai_core::Result<void> double_quantize_cuda(const ai_core::TensorBufferView& absmax, float offset,
                                           const ai_core::TensorBufferView& code, int log2_nested,
                                           const ai_core::TensorBufferView& absmax_codes,
                                           const ai_core::TensorBufferView& nested_absmax,
                                           bool bitsandbytes) {
  AI_CORE_ASSIGN_OR_RETURN(auto absmax_view, (ai_core::make_tensor_view<const float, 1>(absmax)));
  AI_CORE_ASSIGN_OR_RETURN(auto code_view, (ai_core::make_tensor_view<const float, 1>(code)));
  AI_CORE_ASSIGN_OR_RETURN(auto qcode_view,
                           (ai_core::make_tensor_view<std::uint8_t, 1>(absmax_codes)));
  AI_CORE_ASSIGN_OR_RETURN(auto nested_view, (ai_core::make_tensor_view<float, 1>(nested_absmax)));
  const std::int64_t num_nested = nested_view.size(0);
  if (num_nested == 0) return {};
  const auto stream = static_cast<cudaStream_t>(absmax_codes.stream());
  const auto grid = static_cast<unsigned>(num_nested);
  if (bitsandbytes) {
    double_quantize_blocks<true><<<grid, kThreads, 0, stream>>>(
        absmax_view, offset, code_view, log2_nested, qcode_view, nested_view);
  } else {
    double_quantize_blocks<false><<<grid, kThreads, 0, stream>>>(
        absmax_view, offset, code_view, log2_nested, qcode_view, nested_view);
  }
  if (const cudaError_t status = cudaGetLastError(); status != cudaSuccess) {
    return cuda_error(status, "nf4 nested quantize kernel launch");
  }
  return {};
}

ai_core::Result<void> dequantize_double_cuda(const ai_core::TensorBufferView& codes,
                                             const ai_core::TensorBufferView& absmax_codes,
                                             const ai_core::TensorBufferView& nested_absmax,
                                             const ai_core::TensorBufferView& code, float offset,
                                             int log2_block, int log2_nested,
                                             const ai_core::TensorBufferView& output) {
  const NestedAbsmax source{static_cast<const std::uint8_t*>(absmax_codes.data()),
                            static_cast<const float*>(nested_absmax.data()),
                            static_cast<const float*>(code.data()), offset, log2_nested};
  switch (output.dtype()) {
    case c10::ScalarType::Float:
      return dequantize_double_typed<float>(codes, source, log2_block, output);
    case c10::ScalarType::Half:
      return dequantize_double_typed<__half>(codes, source, log2_block, output);
    case c10::ScalarType::BFloat16:
      return dequantize_double_typed<__nv_bfloat16>(codes, source, log2_block, output);
    default: break;
  }
  return ai_core::CoreError::not_implemented("nf4 double-quant dequantize kernel for this dtype");
}

}  // namespace nf4::detail
