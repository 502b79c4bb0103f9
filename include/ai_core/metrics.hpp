// SPDX-License-Identifier: MIT
// ai_core/metrics.hpp: training metrics that stay numbers, and progress on long work.
//
// `MetricsLogger` writes every record twice: as one JSON object per line to a file (JSON Lines,
// written with one `write` call per record, so a crash loses at most the record being written;
// pandas reads it with `pd.read_json(path, lines=True)`), and as a human line through the ai_core
// logger (<ai_core/log.hpp>). Safe to call from several threads.
// `ProgressBar` draws a bar with rate and ETA when stderr is a terminal, and logs a line every few
// seconds otherwise, so CI logs stay readable.
//
// Example:
//   AI_CORE_ASSIGN_OR_RETURN(auto metrics,
//   ai_core::MetricsLogger::open_jsonl("run/metrics.jsonl"));
//   AI_CORE_TRY(metrics.log_training_step({.step = 10, .loss = 1.93, .learning_rate = 2e-4}));
#pragma once

#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>
#include <ai_core/log.hpp>

#include <c10/core/Device.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ai_core {

/// One optimizer step, for `MetricsLogger::log_training_step`. The optional fields are written
/// only when set.
struct TrainingStep {
  std::uint64_t step = 0;                   ///< The optimizer step.
  double loss = 0.0;                        ///< The training loss (may be NaN: see below).
  double learning_rate = 0.0;               ///< The learning rate used for the step.
  std::optional<double> grad_norm;          ///< The gradient norm before clipping.
  std::optional<double> tokens_per_second;  ///< Throughput.
  std::optional<std::uint64_t> memory_allocated_bytes;  ///< E.g. `AllocatorStats::allocated`.
  std::optional<std::uint64_t> memory_reserved_bytes;   ///< E.g. `AllocatorStats::reserved`.
};

/// Options of `MetricsLogger`.
struct MetricsOptions {
  /// The level of the human line each record sends to the ai_core logger (`off`: none).
  LogLevel human_level = LogLevel::info;
  /// Whether `open_jsonl` empties an existing file (false: keeps it, so a resumed run continues
  /// the same file). Records are appended either way (`O_APPEND`), so loggers of one file in
  /// several processes never write over each other's records.
  bool truncate = false;
};

/// Writes training metrics as JSON Lines and as human log lines. Move-only; thread-safe (records
/// from several threads are written whole, never interleaved).
///
/// Record shapes (one JSON object per line, numbers as JSON numbers):
///   {"time":1732712345.123,"kind":"metric","name":"eval/accuracy","step":10,"value":0.81}
///   {"time":...,"kind":"training_step","step":10,"loss":1.93,"learning_rate":0.0002,
///    "grad_norm":0.7,"tokens_per_second":5120.5,"memory_allocated_bytes":123,...}
///   {"time":...,"kind":"memory","device":"cuda:0","allocated_bytes":...,"reserved_bytes":...,
///    "free_bytes":...,"total_bytes":...}
/// `time` is seconds since the Unix epoch. Non-finite values (NaN, infinities) are not JSON
/// numbers: they are written as `null` with the value's name in a `"non_finite"` member
/// (`"non_finite":{"loss":"nan"}`), and the human line is a warning, so a diverging run is
/// recorded and noticed rather than refused.
class AI_CORE_API MetricsLogger {
 public:
  /// Returns a logger that writes human lines only (no file).
  [[nodiscard]] static MetricsLogger human_only(MetricsOptions options = {});

  /// Opens (creating it if needed, mode 0644) `path` for JSON Lines. Errors: `invalid_config` for
  /// an empty path, `io` (with the errno) when the file cannot be opened for writing.
  [[nodiscard]] static Result<MetricsLogger> open_jsonl(const std::string& path,
                                                        MetricsOptions options = {});

  MetricsLogger(MetricsLogger&&) noexcept;
  MetricsLogger& operator=(MetricsLogger&&) noexcept;
  /// Closes the file.
  ~MetricsLogger();

  /// Records `value` for metric `name` at `step`. `name` must be non-empty and at most 256 bytes
  /// (`invalid_config` otherwise; any bytes are allowed: escaped in the JSON, and a byte that is not
  /// part of well-formed UTF-8 written as U+FFFD). `io` when the
  /// write fails (disk full, ...).
  Result<void> log_metric(std::string_view name, double value, std::uint64_t step);

  /// Records a training step. `io` when the write fails.
  Result<void> log_training_step(const TrainingStep& step);

  /// Records `memory_stats(device)` (its errors pass through).
  Result<void> log_memory_usage(c10::Device device);

  /// Returns the file path ("" for `human_only`).
  [[nodiscard]] const std::string& path() const noexcept;

  /// Returns how many records were written to the file.
  [[nodiscard]] std::uint64_t records_written() const noexcept;

  struct State;  ///< Implementation detail (src/metrics.cpp).

 private:
  explicit MetricsLogger(std::unique_ptr<State> state) noexcept;
  std::unique_ptr<State> state_;
};

/// Options of `ProgressBar`.
struct ProgressOptions {
  /// Seconds between log lines when the output is not a terminal.
  double log_interval_seconds = 10.0;
  /// Seconds between redraws on a terminal.
  double redraw_interval_seconds = 0.1;
  /// Where the terminal bar goes (stderr by default). Not closed by the bar.
  std::FILE* stream = nullptr;
  /// Whether `stream` is a terminal; empty: asks `isatty`.
  std::optional<bool> terminal;
  /// The clock (tests pass a fake one); empty: `std::chrono::steady_clock::now`.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

/// Progress of a task of `total` units: on a terminal a bar redrawn in place,
/// "label [#########-----------]  45/100  45%  12.3 it/s  ETA 00:04"; otherwise the same figures
/// as an info line through the ai_core logger at most every `log_interval_seconds`, plus a last
/// line from `finish`. Thread-safe (`advance` from several threads).
class AI_CORE_API ProgressBar {
 public:
  /// Starts a bar for `total` units (0: unknown, then no percentage and no ETA).
  ProgressBar(std::string label, std::uint64_t total, ProgressOptions options = {});
  /// Calls `finish`.
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Adds `units` done, and draws or logs when it is time.
  void advance(std::uint64_t units = 1);
  /// Draws the final state (a newline on a terminal, a last log line otherwise). Idempotent.
  void finish();
  /// Returns the units done.
  [[nodiscard]] std::uint64_t done() const noexcept;
  /// Returns the text of the current state (what the bar or the log line shows).
  [[nodiscard]] std::string render() const;

  struct State;  ///< Implementation detail (src/metrics.cpp).

 private:
  std::unique_ptr<State> state_;
};

}  // namespace ai_core
