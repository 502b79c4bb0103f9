// SPDX-License-Identifier: MIT
// src/trace.cpp: <ai_core/trace.hpp>: the sinks behind `TraceRange` (NVTX, RecordFunction, the
// execution timeline) and the Chrome trace writer.
//
// Each thread keeps a stack of frames, one per open range, reused from range to range so that a
// range in steady state allocates nothing for NVTX and the timeline's host span. A frame remembers
// which sinks it opened, so switching sinks while a range is open cannot unbalance NVTX or
// RecordFunction. The CUDA parts (events, anchors, NVTX) compile only with AI_CORE_WITH_CUDA.
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/log.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/trace.hpp>

#include "json_internal.hpp"

#include <ATen/record_function.h>
#include <c10/core/Device.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if AI_CORE_WITH_CUDA
#  include <c10/cuda/CUDAFunctions.h>
#  include <c10/cuda/CUDAGuard.h>
#  include <c10/cuda/CUDAStream.h>
#  include <cuda_runtime_api.h>
#  if __has_include(<nvtx3/nvToolsExt.h>)
#    include <nvtx3/nvToolsExt.h>
#    define AI_CORE_INTERNAL_HAS_NVTX 1
#  endif
#endif
#ifndef AI_CORE_INTERNAL_HAS_NVTX
#  define AI_CORE_INTERNAL_HAS_NVTX 0
#endif

namespace ai_core {
namespace detail {
std::atomic<std::uint32_t> trace_state{kTraceUndecided};
}  // namespace detail

namespace {

constexpr std::uint32_t kSinkBits = static_cast<std::uint32_t>(TraceSink::all);

std::mutex& decide_mutex() {
  static std::mutex mutex;
  return mutex;
}

// --- clock
// ----------------------------------------------------------------------------------------

std::atomic<std::int64_t> g_epoch_ns{0};

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Returns ns since the timeline's epoch (the first timestamp taken after a reset).
std::int64_t timeline_now() {
  const std::int64_t now = steady_ns();
  std::int64_t epoch = g_epoch_ns.load(std::memory_order_relaxed);
  if (epoch == 0) [[unlikely]] {
    std::int64_t expected = 0;
    epoch = g_epoch_ns.compare_exchange_strong(expected, now) ? now : expected;
  }
  return now - epoch;
}

std::uint32_t thread_number() {
  static std::atomic<std::uint32_t> next{1};
  thread_local const std::uint32_t number = next.fetch_add(1, std::memory_order_relaxed);
  return number;
}

void append_device(std::string& out, c10::Device device) {
  // The common types spelled here: c10::DeviceTypeName builds a std::string on every call.
  switch (device.type()) {
    case c10::DeviceType::CPU: out += "cpu"; break;
    case c10::DeviceType::CUDA: out += "cuda"; break;
    default: out += c10::DeviceTypeName(device.type(), /*lower_case=*/true);
  }
  if (device.has_index()) {
    char digits[8];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, device.index());
    out += ':';
    out.append(digits, end);
  }
}

// --- CUDA events, anchors
// ---------------------------------------------------------------------------

#if AI_CORE_WITH_CUDA
struct EventPool {
  std::mutex mutex;
  std::map<int, std::vector<cudaEvent_t>> free;  // By device ordinal.
};

EventPool& event_pool() {
  static auto* pool = new EventPool();  // Leaked: events may be returned during exit.
  return *pool;
}

/// Returns an event of the current device (`device`), from the pool or new; nullptr on failure.
cudaEvent_t acquire_event(int device) {
  {
    EventPool& pool = event_pool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    auto& free = pool.free[device];
    if (!free.empty()) {
      cudaEvent_t event = free.back();
      free.pop_back();
      return event;
    }
  }
  cudaEvent_t event = nullptr;
  if (cudaEventCreate(&event) != cudaSuccess) {
    (void)cudaGetLastError();
    return nullptr;
  }
  return event;
}

void release_event(int device, cudaEvent_t event) {
  if (event == nullptr) return;
  EventPool& pool = event_pool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  pool.free[device].push_back(event);
}

// Note [GPU anchor]: CUDA events measure GPU time relative to each other only. To place a GPU
// span on the host clock, the first timed range of each device records an anchor event on a
// fresh idle stream and waits for it (once per device per timeline): the GPU reaches it within
// microseconds, so the anchor's host time is the midpoint of the record and the wait. A span's
// GPU start is then anchor host time + elapsed(anchor, span start).
struct Anchor {
  cudaEvent_t event = nullptr;
  std::int64_t host_ns = 0;
};

struct Anchors {
  std::mutex mutex;
  std::map<int, Anchor> by_device;
};

Anchors& anchors() {
  static auto* value = new Anchors();
  return *value;
}

bool ensure_anchor(int device) {
  Anchors& all = anchors();
  std::lock_guard<std::mutex> lock(all.mutex);
  if (all.by_device.count(device) != 0) return true;
  Anchor anchor;
  cudaStream_t stream = nullptr;
  if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  anchor.event = acquire_event(device);
  const std::int64_t before = timeline_now();
  const bool ok = anchor.event != nullptr && cudaEventRecord(anchor.event, stream) == cudaSuccess &&
                  cudaEventSynchronize(anchor.event) == cudaSuccess;
  const std::int64_t after = timeline_now();
  (void)cudaStreamDestroy(stream);
  if (!ok) {
    (void)cudaGetLastError();
    release_event(device, anchor.event);
    return false;
  }
  anchor.host_ns = before + (after - before) / 2;
  all.by_device[device] = anchor;
  return true;
}

std::optional<Anchor> anchor_of(int device) {
  Anchors& all = anchors();
  std::lock_guard<std::mutex> lock(all.mutex);
  const auto it = all.by_device.find(device);
  if (it == all.by_device.end()) return std::nullopt;
  return it->second;
}
#endif  // AI_CORE_WITH_CUDA

// --- the timeline store -------------------------------------------------------------------------

struct Pending {
  TimelineEvent event;
#if AI_CORE_WITH_CUDA
  int cuda_device = -1;
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
#endif
};

struct Store {
  std::mutex mutex;
  std::vector<Pending> pending;
  std::size_t capacity = 1'000'000;
  std::atomic<std::uint64_t> dropped{0};
};

Store& store() {
  static auto* value = new Store();
  return *value;
}

// --- per-thread frames
// ----------------------------------------------------------------------------

struct Frame {
  std::uint32_t sinks = 0;  // The sinks this range opened.
  std::string name;
  std::string label;  // NVTX message: "name (device)".
  c10::Device device{c10::kCPU};
  std::optional<at::RecordFunction> record;
  std::vector<c10::IValue> inputs;
  std::int64_t host_start_ns = 0;
#if AI_CORE_WITH_CUDA
  int cuda_device = -1;
  cudaEvent_t start = nullptr;
#endif
};

struct ThreadFrames {
  std::vector<std::unique_ptr<Frame>> frames;
  std::size_t depth = 0;
};

ThreadFrames& thread_frames() {
  thread_local ThreadFrames frames;
  return frames;
}

#if AI_CORE_INTERNAL_HAS_NVTX
nvtxDomainHandle_t nvtx_domain() {
  static const nvtxDomainHandle_t domain = nvtxDomainCreateA("ai_core");
  return domain;
}
#endif

/// Returns the sinks `RUST_AI_TRACE` names, plus `nvtx` when an NVTX tool is attached.
Result<TraceSink> sinks_from_env() {
  const char* value = std::getenv("RUST_AI_TRACE");
  AI_CORE_ASSIGN_OR_RETURN(TraceSink sinks,
                           parse_trace_sinks(value == nullptr ? std::string_view() : value));
  const char* injection = std::getenv("NVTX_INJECTION64_PATH");
  if (injection != nullptr && *injection != '\0') sinks = sinks | TraceSink::nvtx;
  return sinks;
}

/// Decides the sinks from the environment if nothing decided them yet (a concurrent
/// `set_trace_sinks` wins); returns the sink bits.
std::uint32_t decide() {
  const std::uint32_t state = detail::trace_state.load(std::memory_order_acquire);
  if ((state & detail::kTraceUndecided) == 0) [[likely]]
    return state;
  std::optional<CoreError> error;
  {
    std::lock_guard<std::mutex> lock(decide_mutex());
    if ((detail::trace_state.load(std::memory_order_acquire) & detail::kTraceUndecided) != 0) {
      Result<TraceSink> sinks = sinks_from_env();
      if (!sinks.has_value()) error = std::move(sinks).error();
      detail::trace_state.store(
          sinks.has_value() ? static_cast<std::uint32_t>(*sinks) & kSinkBits : 0U,
          std::memory_order_release);
    }
  }
  if (error.has_value()) log(LogLevel::warn, "tracing stays off: " + error->message());
  return detail::trace_state.load(std::memory_order_acquire) & kSinkBits;
}

void begin_gpu_timing(Frame& frame, c10::Device device) {
#if AI_CORE_WITH_CUDA
  const int index = device.has_index() ? device.index() : c10::cuda::current_device();
  const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(index));
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(index));
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &capture) != cudaSuccess ||
      capture != cudaStreamCaptureStatusNone) {
    (void)cudaGetLastError();
    return;  // No timing inside CUDA graph capture: the events would become graph nodes.
  }
  if (!ensure_anchor(index)) return;
  cudaEvent_t start = acquire_event(index);
  if (start == nullptr) return;
  if (cudaEventRecord(start, stream) != cudaSuccess) {
    (void)cudaGetLastError();
    release_event(index, start);
    return;
  }
  frame.cuda_device = index;
  frame.start = start;
#else
  (void)frame;
  (void)device;
#endif
}

void end_timeline(Frame& frame, std::uint32_t depth) {
  Pending pending;
  pending.event.host_end_ns = timeline_now();
  pending.event.host_start_ns = frame.host_start_ns;
  pending.event.device = frame.device;
  pending.event.thread = thread_number();
  pending.event.depth = depth;
#if AI_CORE_WITH_CUDA
  if (frame.start != nullptr) {
    const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(frame.cuda_device));
    const cudaStream_t stream =
        c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(frame.cuda_device));
    cudaEvent_t stop = acquire_event(frame.cuda_device);
    if (stop != nullptr && cudaEventRecord(stop, stream) == cudaSuccess) {
      pending.cuda_device = frame.cuda_device;
      pending.start = frame.start;
      pending.stop = stop;
    } else {
      (void)cudaGetLastError();
      release_event(frame.cuda_device, stop);
      release_event(frame.cuda_device, frame.start);
    }
    frame.start = nullptr;
  }
#endif
  Store& timeline = store();
  std::lock_guard<std::mutex> lock(timeline.mutex);
  if (timeline.pending.size() >= timeline.capacity) {
    timeline.dropped.fetch_add(1, std::memory_order_relaxed);
#if AI_CORE_WITH_CUDA
    release_event(pending.cuda_device, pending.start);
    release_event(pending.cuda_device, pending.stop);
#endif
    return;
  }
  pending.event.name = frame.name;
  timeline.pending.push_back(std::move(pending));
}

}  // namespace

// --- sinks
// ------------------------------------------------------------------------------------------

void set_trace_sinks(TraceSink sinks) noexcept {
  std::lock_guard<std::mutex> lock(decide_mutex());
  detail::trace_state.store(static_cast<std::uint32_t>(sinks) & kSinkBits,
                            std::memory_order_release);
}

TraceSink trace_sinks() noexcept {
  try {
    return static_cast<TraceSink>(decide());
  } catch (...) {
    return TraceSink::none;
  }
}

Result<TraceSink> parse_trace_sinks(std::string_view text) {
  const auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  const std::string_view whole = trim(text);
  if (whole.empty() || whole == "0" || whole == "off" || whole == "none") return TraceSink::none;
  if (whole == "1" || whole == "on" || whole == "all") return TraceSink::all;
  TraceSink sinks = TraceSink::none;
  std::string_view rest = whole;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view word = trim(rest.substr(0, comma));
    if (word == "nvtx") {
      sinks = sinks | TraceSink::nvtx;
    } else if (word == "profiler" || word == "torch") {
      sinks = sinks | TraceSink::profiler;
    } else if (word == "timeline") {
      sinks = sinks | TraceSink::timeline;
    } else {
      return CoreError::invalid_config(
          "RUST_AI_TRACE='" + std::string(text) + "' names the sink '" + std::string(word) +
          "': expected 0/off/none, 1/on/all, or a comma-separated list of nvtx, profiler (or "
          "torch), timeline");
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return sinks;
}

Result<void> configure_tracing_from_env() {
  AI_CORE_ASSIGN_OR_RETURN(const TraceSink sinks, sinks_from_env());
  set_trace_sinks(sinks);
  return {};
}

// --- ranges -------------------------------------------------------------------------------------

namespace detail {

bool trace_begin(std::string_view name, c10::Device device) noexcept {
  std::uint32_t sinks = 0;
  try {
    sinks = decide();
  } catch (...) {
    return false;
  }
  if (sinks == 0) return false;
  ThreadFrames& thread = thread_frames();
  Frame* frame = nullptr;
  try {
    if (thread.depth == thread.frames.size()) thread.frames.push_back(std::make_unique<Frame>());
    frame = thread.frames[thread.depth].get();
    // NVTX needs only the label; the name is kept for RecordFunction and the timeline.
    if ((sinks & ~static_cast<std::uint32_t>(TraceSink::nvtx)) != 0) frame->name.assign(name);
    frame->device = device;
    frame->sinks = 0;
  } catch (...) {
    return false;
  }
#if AI_CORE_INTERNAL_HAS_NVTX
  if ((sinks & static_cast<std::uint32_t>(TraceSink::nvtx)) != 0) {
    try {
      frame->label.assign(name);
      frame->label.append(" (", 2);
      append_device(frame->label, device);
      frame->label.append(")", 1);
      nvtxEventAttributes_t attributes{};
      attributes.version = NVTX_VERSION;
      attributes.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
      attributes.messageType = NVTX_MESSAGE_TYPE_ASCII;
      attributes.message.ascii = frame->label.c_str();
      nvtxDomainRangePushEx(nvtx_domain(), &attributes);
      frame->sinks |= static_cast<std::uint32_t>(TraceSink::nvtx);
    } catch (...) {
    }
  }
#endif
  if ((sinks & static_cast<std::uint32_t>(TraceSink::profiler)) != 0) {
    try {
      frame->record.emplace(at::RecordScope::FUNCTION);
      if (frame->record->isActive()) {
        if (frame->record->needsInputs()) {
          std::string device_name;
          append_device(device_name, device);
          frame->inputs.clear();
          frame->inputs.emplace_back(std::move(device_name));
          frame->record->before(
              std::string_view(frame->name),
              c10::ArrayRef<const c10::IValue>(frame->inputs.data(), frame->inputs.size()));
        } else {
          frame->record->before(std::string_view(frame->name), c10::ArrayRef<const c10::IValue>{});
        }
      }
      frame->sinks |= static_cast<std::uint32_t>(TraceSink::profiler);
    } catch (...) {
      frame->record.reset();
    }
  }
  if ((sinks & static_cast<std::uint32_t>(TraceSink::timeline)) != 0) {
    try {
      // Without GPU timing (no usable device, graph capture) the host span is still recorded.
      if (device.is_cuda()) {
        try {
          begin_gpu_timing(*frame, device);
        } catch (...) {
        }
      }
      frame->host_start_ns = timeline_now();
      frame->sinks |= static_cast<std::uint32_t>(TraceSink::timeline);
    } catch (...) {
    }
  }
  ++thread.depth;
  return true;
}

void trace_end() noexcept {
  ThreadFrames& thread = thread_frames();
  if (thread.depth == 0) return;  // Unbalanced: nothing to close.
  --thread.depth;
  Frame& frame = *thread.frames[thread.depth];
  if ((frame.sinks & static_cast<std::uint32_t>(TraceSink::timeline)) != 0) {
    try {
      end_timeline(frame, static_cast<std::uint32_t>(thread.depth));
    } catch (...) {
    }
  }
  if ((frame.sinks & static_cast<std::uint32_t>(TraceSink::profiler)) != 0) {
    try {
      frame.record.reset();  // Runs the end callbacks.
    } catch (...) {
    }
  }
#if AI_CORE_INTERNAL_HAS_NVTX
  if ((frame.sinks & static_cast<std::uint32_t>(TraceSink::nvtx)) != 0) {
    nvtxDomainRangePop(nvtx_domain());
  }
#endif
  frame.sinks = 0;
}

void reset_tracing_for_testing() noexcept {
  {
    Store& timeline = store();
    std::lock_guard<std::mutex> lock(timeline.mutex);
#if AI_CORE_WITH_CUDA
    for (Pending& pending : timeline.pending) {
      release_event(pending.cuda_device, pending.start);
      release_event(pending.cuda_device, pending.stop);
    }
#endif
    timeline.pending.clear();
    timeline.capacity = 1'000'000;
    timeline.dropped.store(0, std::memory_order_relaxed);
  }
#if AI_CORE_WITH_CUDA
  {
    Anchors& all = anchors();
    std::lock_guard<std::mutex> lock(all.mutex);
    for (auto& [device, anchor] : all.by_device) release_event(device, anchor.event);
    all.by_device.clear();
  }
#endif
  g_epoch_ns.store(0, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(decide_mutex());
  trace_state.store(kTraceUndecided, std::memory_order_release);
}

}  // namespace detail

// --- the timeline
// ---------------------------------------------------------------------------------

std::uint64_t timeline_dropped_events() noexcept {
  return store().dropped.load(std::memory_order_relaxed);
}

void set_timeline_capacity(std::size_t events) noexcept {
  Store& timeline = store();
  std::lock_guard<std::mutex> lock(timeline.mutex);
  timeline.capacity = events;
}

Result<std::vector<TimelineEvent>> take_timeline_events() {
  std::vector<Pending> pending;
  {
    Store& timeline = store();
    std::lock_guard<std::mutex> lock(timeline.mutex);
    pending.swap(timeline.pending);
  }
  std::vector<TimelineEvent> events;
  events.reserve(pending.size());
  std::optional<CoreError> error;
  for (Pending& item : pending) {
#if AI_CORE_WITH_CUDA
    if (item.start != nullptr && item.stop != nullptr) {
      float gpu_ms = 0.0F;
      float anchor_ms = 0.0F;
      const std::optional<Anchor> anchor = anchor_of(item.cuda_device);
      cudaError_t status = cudaEventSynchronize(item.stop);
      if (status == cudaSuccess) status = cudaEventElapsedTime(&gpu_ms, item.start, item.stop);
      if (status == cudaSuccess && anchor.has_value()) {
        status = cudaEventElapsedTime(&anchor_ms, anchor->event, item.start);
        if (status == cudaSuccess) {
          item.event.gpu_start_ns = anchor->host_ns + static_cast<std::int64_t>(anchor_ms * 1e6);
        }
      }
      if (status == cudaSuccess) {
        item.event.gpu_duration_ns = static_cast<std::int64_t>(static_cast<double>(gpu_ms) * 1e6);
      } else if (!error.has_value()) {
        (void)cudaGetLastError();
        error = CoreError::cuda(
            static_cast<int>(status), cudaGetErrorName(status),
            "reading the CUDA events of the trace range '" + item.event.name + "' failed");
      }
      release_event(item.cuda_device, item.start);
      release_event(item.cuda_device, item.stop);
    }
#endif
    events.push_back(std::move(item.event));
  }
  if (error.has_value()) return std::move(*error);
  std::sort(events.begin(), events.end(), [](const TimelineEvent& a, const TimelineEvent& b) {
    return a.host_start_ns < b.host_start_ns;
  });
  return events;
}

std::string to_chrome_trace_json(std::span<const TimelineEvent> events) {
  const auto micros = [](std::int64_t ns) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3f", static_cast<double>(ns) / 1000.0);
    return std::string(buffer);
  };
  std::string out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[";
  bool first = true;
  const auto separator = [&] {
    if (!first) out += ',';
    first = false;
  };
  // Track names: host threads under pid 1, one pid per GPU (2 + ordinal).
  separator();
  out += R"({"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":"ai_core host"}})";
  std::vector<int> gpu_tracks;
  for (const TimelineEvent& event : events) {
    if (!event.gpu_duration_ns.has_value()) continue;
    const int index = event.device.has_index() ? event.device.index() : 0;
    if (std::find(gpu_tracks.begin(), gpu_tracks.end(), index) != gpu_tracks.end()) continue;
    gpu_tracks.push_back(index);
    separator();
    out += R"({"name":"process_name","ph":"M","pid":)" + std::to_string(2 + index) +
           R"(,"tid":0,"args":{"name":)" +
           detail::json_string("GPU cuda:" + std::to_string(index)) + "}}";
  }
  for (const TimelineEvent& event : events) {
    std::string device;
    append_device(device, event.device);
    separator();
    out += "{\"name\":";
    detail::append_json_string(out, event.name);
    out += ",\"cat\":\"ai_core\",\"ph\":\"X\",\"pid\":1,\"tid\":" + std::to_string(event.thread) +
           ",\"ts\":" + micros(event.host_start_ns) +
           ",\"dur\":" + micros(event.host_end_ns - event.host_start_ns) + ",\"args\":{\"device\":";
    detail::append_json_string(out, device);
    if (event.gpu_duration_ns.has_value()) {
      out += ",\"gpu_us\":" + micros(*event.gpu_duration_ns);
    }
    out += "}}";
    if (event.gpu_duration_ns.has_value() && event.gpu_start_ns.has_value()) {
      const int index = event.device.has_index() ? event.device.index() : 0;
      separator();
      out += "{\"name\":";
      detail::append_json_string(out, event.name);
      out += ",\"cat\":\"ai_core.gpu\",\"ph\":\"X\",\"pid\":" + std::to_string(2 + index) +
             ",\"tid\":0,\"ts\":" + micros(*event.gpu_start_ns) +
             ",\"dur\":" + micros(*event.gpu_duration_ns) + ",\"args\":{\"device\":";
      detail::append_json_string(out, device);
      out += "}}";
    }
  }
  out += "]}";
  return out;
}

Result<void> write_chrome_trace(const std::string& path) {
  AI_CORE_ASSIGN_OR_RETURN(const std::vector<TimelineEvent> events, take_timeline_events());
  const std::string json = to_chrome_trace_json(events);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return CoreError::from_errno(errno,
                                 "cannot open the Chrome trace file '" + path + "' for writing");
  }
  const std::size_t written = std::fwrite(json.data(), 1, json.size(), file);
  const int write_errno = errno;
  const bool closed = std::fclose(file) == 0;
  if (written != json.size() || !closed) {
    return CoreError::from_errno(written != json.size() ? write_errno : errno,
                                 "writing the Chrome trace file '" + path + "' failed after " +
                                     std::to_string(written) + " of " +
                                     std::to_string(json.size()) + " bytes");
  }
  return {};
}

}  // namespace ai_core
