// SPDX-License-Identifier: MIT
// ai_core/detail/config.hpp: compiler and host/device configuration macros shared by headers that
// compile both in plain C++ and under nvcc (CUTLASS's idea: one place for host/device macros).
// No stability promise (detail/).
#pragma once

/// Marks a function callable from host and device code under nvcc (or clang CUDA), and a plain
/// function in a host compiler.
/// WARNING: expands to CUDA attributes under a CUDA compiler: use it only on functions whose body
/// compiles in device code (no exceptions, no std::string, no torch calls).
#if defined(__CUDACC__) || defined(__HIPCC__)
#  define AI_CORE_HOST_DEVICE __host__ __device__
#else
#  define AI_CORE_HOST_DEVICE
#endif

/// Marks a function as a cold, never inlined error path (Note [cold error paths] in
/// <ai_core/result_macros.hpp>): the function that checks keeps only a compare, a branch and a
/// call.
#if defined(__GNUC__) || defined(__clang__)
#  define AI_CORE_INTERNAL_COLD [[gnu::cold, gnu::noinline]]
#else
#  define AI_CORE_INTERNAL_COLD
#endif

/// Pastes `a` and `b` after expanding them (unique names from `__LINE__`).
#define AI_CORE_INTERNAL_CONCAT_IMPL(a, b) a##b
#define AI_CORE_INTERNAL_CONCAT(a, b) AI_CORE_INTERNAL_CONCAT_IMPL(a, b)

namespace ai_core::detail {

/// `false`, but dependent on `T...`: the condition of a `static_assert` in a discarded
/// `if constexpr` branch or in a template that must never be instantiated.
template <class... T>
inline constexpr bool dependent_false = false;

}  // namespace ai_core::detail
