// SPDX-License-Identifier: MIT
// ai_core/cuda/dtype.hpp: maps the CUDA element types to ai_core's dtypes, for .cu code:
// `__half` <-> f16, `__nv_bfloat16` <-> bf16, `__nv_fp8_e4m3` <-> fp8_e4m3fn, `__nv_fp8_e5m2` <->
// fp8_e5m2. With it, `make_tensor_view<__half, 2>(buffer)` checks the buffer's dtype like
// `make_tensor_view<c10::Half, 2>` does. Includes the CUDA toolkit's fp16/bf16/fp8 headers.
#pragma once

#include <ai_core/dtype.hpp>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

namespace ai_core {

// `__half` is IEEE binary16, the layout of f16 (`c10::Half`); `__nv_bfloat16` is bfloat16, the
// layout of bf16 (`c10::BFloat16`); `__nv_fp8_e4m3` is OCP E4M3 without infinities (NaN
// 0x7f/0xff): torch's Float8_e4m3fn; `__nv_fp8_e5m2` is OCP E5M2 (IEEE-like, with infinities):
// torch's Float8_e5m2.
AI_CORE_INTERNAL_DTYPE_TRAIT(__half, Half);
AI_CORE_INTERNAL_DTYPE_TRAIT(__nv_bfloat16, BFloat16);
AI_CORE_INTERNAL_DTYPE_TRAIT(__nv_fp8_e4m3, Float8_e4m3fn);
AI_CORE_INTERNAL_DTYPE_TRAIT(__nv_fp8_e5m2, Float8_e5m2);

static_assert(sizeof(__half) == 2 && sizeof(__nv_bfloat16) == 2);
static_assert(sizeof(__nv_fp8_e4m3) == 1 && sizeof(__nv_fp8_e5m2) == 1);

}  // namespace ai_core
