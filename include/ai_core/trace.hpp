// SPDX-License-Identifier: MIT
// ai_core/trace.hpp: ranges that show ai_core's ops in Nsight Systems and torch.profiler, and an
// execution timeline written as Chrome trace JSON.
//
// `ai_core::dispatch` opens a `TraceRange` named after the op around every call, so each
// `GpuDispatchable` op is visible without its author writing anything. What a range does depends
// on the sinks switched on (`set_trace_sinks`, or the variable `RUST_AI_TRACE` read at the first
// range; docs/observability.md):
//   - `TraceSink::nvtx`: an NVTX push/pop range "op (device)" in the domain "ai_core", seen by
//     Nsight Systems. On by itself when the process runs under an NVTX tool (`nsys profile` sets
//     NVTX_INJECTION64_PATH). Nothing in a build without CUDA.
//   - `TraceSink::profiler`: a `RECORD_FUNCTION` range named after the op, with the device as its
//     one input, seen by `torch.profiler` and the C++ Kineto profiler while they record.
//   - `TraceSink::timeline`: each range's host span, and on a CUDA device its GPU time (two CUDA
//     events on the current stream, read when the timeline is collected, never by blocking the
//     stream at the op), kept for `take_timeline_events` / `write_chrome_trace`.
// With every sink off a range costs one relaxed atomic load and a branch (Note [trace switch]);
// the NVTX, Kineto and CUDA headers stay in src/trace.cpp.
//
// Example:
//   ai_core::set_trace_sinks(ai_core::TraceSink::timeline);
//   for (...) AI_CORE_TRY(ai_core::dispatch(op, input, device));
//   { const ai_core::TraceRange step("train_step", device); ... }  // a range of one's own
//   AI_CORE_TRY(ai_core::write_chrome_trace("timeline.json"));     // open in ui.perfetto.dev
//
// Thread safety: every function may be called from any thread. Ranges nest per thread (a range
// must end on the thread that began it, which RAII guarantees); the timeline is shared.
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>

#include <c10/core/Device.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ai_core {

/// Where trace ranges go; a bit set (combine with `|`).
enum class TraceSink : std::uint32_t {
  none = 0,      ///< Ranges do nothing.
  nvtx = 1,      ///< NVTX ranges for Nsight Systems.
  profiler = 2,  ///< `RECORD_FUNCTION` ranges for torch.profiler / Kineto.
  timeline = 4,  ///< The execution timeline (`take_timeline_events`, `write_chrome_trace`).
  all = 7,       ///< Every sink.
};

[[nodiscard]] constexpr TraceSink operator|(TraceSink a, TraceSink b) noexcept {
  return static_cast<TraceSink>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
[[nodiscard]] constexpr TraceSink operator&(TraceSink a, TraceSink b) noexcept {
  return static_cast<TraceSink>(static_cast<std::uint32_t>(a) & static_cast<std::uint32_t>(b));
}
/// Returns whether `sinks` includes every sink of `sink`.
[[nodiscard]] constexpr bool has_sink(TraceSink sinks, TraceSink sink) noexcept {
  return (sinks & sink) == sink && sink != TraceSink::none;
}

/// Switches the trace sinks for the whole process, for ranges that begin from now on (a range
/// already open ends in the sinks it began in). Overrides `RUST_AI_TRACE`.
AI_CORE_API void set_trace_sinks(TraceSink sinks) noexcept;

/// Returns the sinks switched on now (reading `RUST_AI_TRACE` first if nothing decided yet).
[[nodiscard]] AI_CORE_API TraceSink trace_sinks() noexcept;

/// Parses a `RUST_AI_TRACE` value: "" / "0" / "off" / "none" → none; "1" / "on" / "all" → all;
/// otherwise a comma-separated list of "nvtx", "profiler" (or "torch"), "timeline". Returns
/// `invalid_config` naming the value and the accepted words otherwise.
[[nodiscard]] AI_CORE_API Result<TraceSink> parse_trace_sinks(std::string_view text);

/// Reads `RUST_AI_TRACE` and switches the sinks it names (plus `nvtx` when NVTX_INJECTION64_PATH
/// says an NVTX tool is attached). Returns `invalid_config` for a malformed value, leaving the
/// sinks as they were. The first range does this by itself, logging a malformed value at warn.
AI_CORE_API Result<void> configure_tracing_from_env();

/// One range of the execution timeline.
struct TimelineEvent {
  std::string name;                ///< The op's or range's name.
  c10::Device device{c10::kCPU};   ///< The device it ran on.
  std::uint32_t thread = 0;        ///< ai_core's number of the host thread (1, 2, ...).
  std::uint32_t depth = 0;         ///< Nesting depth on that thread (0: outermost).
  std::int64_t host_start_ns = 0;  ///< Host start, ns since the timeline's epoch.
  std::int64_t host_end_ns = 0;    ///< Host end, same clock.
  /// GPU start on the host clock (from an anchor event recorded when the device was first
  /// traced; accurate to a few microseconds), for CUDA ranges whose events completed.
  std::optional<std::int64_t> gpu_start_ns;
  /// GPU time between the range's two CUDA events, in ns (event resolution about 0.5 µs).
  std::optional<std::int64_t> gpu_duration_ns;
};

/// Returns the timeline collected so far and empties it. For CUDA ranges it reads the events'
/// times, waiting (on the host, not on any stream) for events the GPU has not reached yet.
/// Returns `kernel_error` when CUDA reports an error reading them.
[[nodiscard]] AI_CORE_API Result<std::vector<TimelineEvent>> take_timeline_events();

/// Returns how many ranges the timeline dropped because it held `timeline_capacity()` events.
[[nodiscard]] AI_CORE_API std::uint64_t timeline_dropped_events() noexcept;

/// Sets how many events the timeline keeps before dropping new ones (default 1,000,000).
AI_CORE_API void set_timeline_capacity(std::size_t events) noexcept;

/// Returns `events` as a Chrome trace JSON document (`{"traceEvents": [...]}`): one complete
/// ("X") event per range on its host thread, plus one per GPU time on a track per device.
/// Perfetto (ui.perfetto.dev) and chrome://tracing open it.
[[nodiscard]] AI_CORE_API std::string to_chrome_trace_json(std::span<const TimelineEvent> events);

/// Takes the timeline (`take_timeline_events`) and writes it to `path` as Chrome trace JSON.
/// Returns `io` naming the path when the file cannot be written.
AI_CORE_API Result<void> write_chrome_trace(const std::string& path);

namespace detail {

// Note [trace switch]: one word says whether any sink is on. It is constant-initialised to
// `kTraceUndecided`, so the first range takes the slow path, which reads the environment once;
// afterwards it holds the sink bits, and with every sink off the check in `TraceRange` is a
// relaxed load and a predicted branch. The out-of-line `trace_begin`/`trace_end` do the work.
inline constexpr std::uint32_t kTraceUndecided = 0x80000000U;
AI_CORE_API extern std::atomic<std::uint32_t> trace_state;

/// Returns whether a range must call `trace_begin` (a sink is on, or nothing decided yet).
[[nodiscard]] inline bool trace_active() noexcept {
  return trace_state.load(std::memory_order_relaxed) != 0;
}

/// Opens a range on the calling thread; returns whether one was opened (then `trace_end` must
/// follow on this thread). Never throws: a failure of a sink drops that sink for this range.
AI_CORE_API bool trace_begin(std::string_view name, c10::Device device) noexcept;
/// Closes the innermost range opened by `trace_begin` on the calling thread.
AI_CORE_API void trace_end() noexcept;

/// Resets the timeline, its epoch and anchors, and the sinks to "undecided". Test-only: call it
/// while no range is open on any thread.
AI_CORE_API void reset_tracing_for_testing() noexcept;

}  // namespace detail

/// A scoped trace range: begins at construction, ends at destruction, in the sinks switched on.
/// Costs a load and a branch when every sink is off. Not copyable or movable (it ends on the
/// thread and scope that began it).
class TraceRange {
 public:
  /// Begins a range named `name` for work on `device`. `name` is copied when a sink is on.
  explicit TraceRange(std::string_view name, c10::Device device = c10::Device(c10::kCPU)) noexcept {
    if (detail::trace_active()) [[unlikely]]
      open_ = detail::trace_begin(name, device);
  }
  /// Makes an inactive range; `begin` may open it later (for callers that compute the name only
  /// when tracing is on).
  TraceRange() noexcept = default;
  TraceRange(const TraceRange&) = delete;
  TraceRange& operator=(const TraceRange&) = delete;
  ~TraceRange() {
    if (open_) [[unlikely]]
      detail::trace_end();
  }

  /// Begins the range if it is not open yet; see `detail::trace_begin`.
  void begin(std::string_view name, c10::Device device) noexcept {
    if (!open_) open_ = detail::trace_begin(name, device);
  }

  /// Returns whether the range is open in some sink.
  [[nodiscard]] bool open() const noexcept { return open_; }

 private:
  bool open_ = false;
};

}  // namespace ai_core
