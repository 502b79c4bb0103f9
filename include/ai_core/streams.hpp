// SPDX-License-Identifier: MIT
// ai_core/streams.hpp: ordering work on buffers between CUDA streams, for memory torch did not
// allocate (`to_tensor`, DLPack), where `record_stream` does nothing: `CudaEvent`, `wait_stream`,
// `release_after` and `collect_released_buffers`. `cudaEvent_t` and `cudaStream_t` are held as
// `void*`, so the header compiles without the CUDA toolkit; a build without CUDA reports every
// call as `device_not_available`.
//
// Part of the interop module (<ai_core/interop.hpp>); docs/interop.md, "Streams and memory torch
// did not allocate".
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>
#include <ai_core/tensor_buffer.hpp>

#include <c10/core/Device.h>

#include <cstdint>
#include <utility>

namespace ai_core {

/// An owning CUDA event (`cudaEvent_t` held as `void*`), created without timing, for ordering
/// work between streams when torch's `record_stream` cannot help (memory torch did not allocate).
/// Move-only; destroyed with `cudaEventDestroy`.
class CudaEvent {
 public:
  /// Creates an event on `device` (a CUDA device with an index). Fails without CUDA or on a CUDA
  /// error.
  AI_CORE_API static Result<CudaEvent> create(c10::Device device);
  /// Records the event on `stream`: it completes when the work queued there so far completes.
  AI_CORE_API Result<void> record(StreamHandle stream);
  /// Makes `stream` wait (on the GPU, without blocking the host) until the event completes.
  AI_CORE_API Result<void> block(StreamHandle stream) const;
  /// Returns whether the event has completed (true for an event never recorded).
  AI_CORE_API Result<bool> query() const;
  /// Blocks the host until the event completes.
  AI_CORE_API Result<void> synchronize() const;
  /// Returns the raw `cudaEvent_t` as `void*`.
  void* handle() const noexcept { return event_; }
  /// Returns the device the event belongs to.
  c10::Device device() const noexcept { return device_; }

  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  /// Moves the event; `other` then holds none.
  CudaEvent(CudaEvent&& other) noexcept
      : event_(std::exchange(other.event_, nullptr)), device_(other.device_) {}
  /// Destroys the held event, then takes `other`'s.
  AI_CORE_API CudaEvent& operator=(CudaEvent&& other) noexcept;
  /// Destroys the event.
  AI_CORE_API ~CudaEvent();

 private:
  CudaEvent(void* event, c10::Device device) noexcept : event_(event), device_(device) {}
  void* event_ = nullptr;
  c10::Device device_ = c10::Device(c10::DeviceType::CUDA, 0);
};

/// Makes `consumer` wait for the work queued on `producer` so far (an event recorded on
/// `producer`, waited on by `consumer`; the host does not block). Both streams belong to
/// `device`. Use it when a buffer written on one stream is read on another, and again in the
/// other direction before the buffer's memory is released or reused. A no-op when the streams
/// are the same. Fails without CUDA or on a CUDA error.
AI_CORE_API Result<void> wait_stream(StreamHandle consumer, StreamHandle producer,
                                     c10::Device device);

/// Keeps `buffer` (and so its memory and owner) alive until the work queued on `stream` so far
/// has completed: records an event on `stream` and parks the buffer in a process-wide list; the
/// list is swept (completed entries dropped, releasing their memory on the host thread that
/// sweeps) on every `release_after` and `collect_released_buffers` call. The event-based
/// replacement for `record_stream` on memory torch did not allocate (`to_tensor`, DLPack).
/// Thread-safe. Fails without CUDA or on a CUDA error (then the buffer is released by the caller's
/// copy as usual: nothing is parked).
AI_CORE_API Result<void> release_after(StreamHandle stream, TensorBuffer buffer);

/// Drops the parked buffers (see `release_after`) whose streams have passed their event; with
/// `wait` true, first waits for all of them. Returns how many are still parked.
AI_CORE_API std::int64_t collect_released_buffers(bool wait = false);

}  // namespace ai_core
