// SPDX-License-Identifier: MIT
// ai_core/interop.hpp: zero-copy interop between libtorch tensors and raw buffers for hand-written
// kernels. Zero bytes move unless the caller explicitly asks for a copy.
//
//   tensor -> buffer   `as_cuda_buffer` / `as_host_buffer` (borrowing `TensorBufferView`),
//                      `make_cuda_buffer` / `make_host_buffer` (owning `TensorBuffer`)
//                      <ai_core/tensor_buffer.hpp>
//   buffer -> kernel   `make_tensor_view<T, Rank>` (typed `TensorView`)
//                      <ai_core/make_tensor_view.hpp>
//   buffer -> tensor   `to_tensor(view, owner)` over caller memory, `to_tensor(buffer)`
//   outputs            `allocate_output_buffer`, `allocate_like` (torch's caching allocator)
//   streams            `wait_stream`, `CudaEvent`, `release_after` (event-based, for memory torch
//                      did not allocate, where `record_stream` does nothing)
//                      <ai_core/streams.hpp>
//
// Every function says who owns the memory, how long it lives, on which stream it is safe and what
// fails; docs/interop.md collects those rules. Every bad input returns a `CoreError` naming the
// tensor property and the requirement; nothing throws, nothing crashes.
//
// This module header includes the three; each compiles alone. They include only the narrow
// libtorch headers (<ATen/core/TensorBase.h>) and no CUDA header.
#pragma once

#include <ai_core/make_tensor_view.hpp>
#include <ai_core/streams.hpp>
#include <ai_core/tensor_buffer.hpp>
