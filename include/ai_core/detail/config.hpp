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
