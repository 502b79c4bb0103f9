// SPDX-License-Identifier: MIT
// src/metrics.cpp: `MetricsLogger` (JSON Lines + human lines) and `ProgressBar`.
#include "json_internal.hpp"
#include "memory_internal.hpp"

#include <ai_core/error.hpp>
#include <ai_core/log.hpp>
#include <ai_core/memory.hpp>
#include <ai_core/metrics.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ai_core {
namespace {

constexpr std::size_t kMaxNameBytes = 256;
// Enough for a metric or a training step, so a record allocates once.
constexpr std::size_t kTypicalRecordBytes = 256;

void append_number(std::string& out, double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

void append_number(std::string& out, std::uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

std::string_view non_finite_name(double value) {
  if (std::isnan(value)) return "nan";
  return value > 0 ? "inf" : "-inf";
}

// Builds one JSON object; non-finite doubles become null and are listed under "non_finite".
// Strings go through the one JSON string writer, so any bytes (invalid UTF-8 included) make a
// line every JSON reader accepts.
class JsonRecord {
 public:
  explicit JsonRecord(std::string_view kind) {
    out_.reserve(kTypicalRecordBytes);
    out_ = "{\"time\":";
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    append_number(out_, std::chrono::duration<double>(now).count());
    out_ += ",\"kind\":";
    detail::append_json_string(out_, kind);
  }
  void add(std::string_view key, double value) {
    key_(key);
    if (std::isfinite(value)) {
      append_number(out_, value);
    } else {
      out_ += "null";
      non_finite_.emplace_back(key, non_finite_name(value));
    }
  }
  void add(std::string_view key, std::uint64_t value) {
    key_(key);
    append_number(out_, value);
  }
  void add(std::string_view key, std::string_view value) {
    key_(key);
    detail::append_json_string(out_, value);
  }
  [[nodiscard]] bool has_non_finite() const { return !non_finite_.empty(); }
  std::string finish() && {
    if (!non_finite_.empty()) {
      out_ += ",\"non_finite\":{";
      bool first = true;
      for (const auto& [key, what] : non_finite_) {
        if (!first) out_ += ',';
        first = false;
        detail::append_json_string(out_, key);
        out_ += ':';
        detail::append_json_string(out_, what);
      }
      out_ += '}';
    }
    out_ += "}\n";
    return std::move(out_);
  }

 private:
  void key_(std::string_view key) {
    out_ += ',';
    detail::append_json_string(out_, key);
    out_ += ':';
  }
  std::string out_;
  std::vector<std::pair<std::string, std::string_view>> non_finite_;
};

std::string human_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

}  // namespace

struct MetricsLogger::State {
  MetricsOptions options;
  std::string path;
  int fd = -1;
  std::mutex mutex;  // one record written whole at a time
  std::uint64_t records = 0;

  ~State() {
    if (fd >= 0) ::close(fd);
  }

  Result<void> write(std::string&& line, LogLevel level, std::string&& human) {
    if (fd >= 0) {
      std::lock_guard lock(mutex);
      std::string_view rest = line;
      while (!rest.empty()) {
        const ssize_t n = ::write(fd, rest.data(), rest.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          return CoreError::from_errno(errno, str_cat("writing a metrics record to '", path, "'"));
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
      }
      ++records;
    }
    if (level != LogLevel::off && should_log(level)) log(level, human);
    return {};
  }

  LogLevel level_for(const JsonRecord& record) const {
    if (options.human_level == LogLevel::off) return LogLevel::off;
    return record.has_non_finite() ? LogLevel::warn : options.human_level;
  }
};

MetricsLogger::MetricsLogger(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
MetricsLogger::MetricsLogger(MetricsLogger&&) noexcept = default;
MetricsLogger& MetricsLogger::operator=(MetricsLogger&&) noexcept = default;
MetricsLogger::~MetricsLogger() = default;

MetricsLogger MetricsLogger::human_only(MetricsOptions options) {
  auto state = std::make_unique<State>();
  state->options = options;
  return MetricsLogger(std::move(state));
}

Result<MetricsLogger> MetricsLogger::open_jsonl(const std::string& path, MetricsOptions options) {
  if (path.empty()) {
    return CoreError::invalid_config(
        "MetricsLogger::open_jsonl: the path is empty; expected a file path");
  }
  // Always O_APPEND: each record lands whole at the end even when another process appends too.
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND | (options.truncate ? O_TRUNC : 0);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    return CoreError::from_errno(errno,
                                 str_cat("cannot open metrics file '", path, "' for writing"));
  }
  auto state = std::make_unique<State>();
  state->options = options;
  state->path = path;
  state->fd = fd;
  return MetricsLogger(std::move(state));
}

const std::string& MetricsLogger::path() const noexcept {
  static const std::string kNoPath;
  return state_ ? state_->path : kNoPath;
}

std::uint64_t MetricsLogger::records_written() const noexcept {
  if (!state_) return 0;
  std::lock_guard lock(state_->mutex);
  return state_->records;
}

Result<void> MetricsLogger::log_metric(std::string_view name, double value, std::uint64_t step) {
  if (!state_) return CoreError::invalid_config("MetricsLogger used after it was moved from");
  if (name.empty() || name.size() > kMaxNameBytes) {
    return CoreError::invalid_config(
        str_cat("metric name has ", name.size(), " bytes; expected 1 to ", kMaxNameBytes));
  }
  JsonRecord record("metric");
  record.add("name", name);
  record.add("step", step);
  record.add("value", value);
  const LogLevel level = state_->level_for(record);
  std::string human;
  if (level != LogLevel::off && should_log(level)) {
    human = str_cat("step ", step, ": ", name, " = ", human_number(value));
  }
  return state_->write(std::move(record).finish(), level, std::move(human));
}

Result<void> MetricsLogger::log_training_step(const TrainingStep& step) {
  if (!state_) return CoreError::invalid_config("MetricsLogger used after it was moved from");
  JsonRecord record("training_step");
  record.add("step", step.step);
  record.add("loss", step.loss);
  record.add("learning_rate", step.learning_rate);
  if (step.grad_norm) record.add("grad_norm", *step.grad_norm);
  if (step.tokens_per_second) record.add("tokens_per_second", *step.tokens_per_second);
  if (step.memory_allocated_bytes)
    record.add("memory_allocated_bytes", *step.memory_allocated_bytes);
  if (step.memory_reserved_bytes) record.add("memory_reserved_bytes", *step.memory_reserved_bytes);
  const LogLevel level = state_->level_for(record);
  std::string human;
  if (level != LogLevel::off && should_log(level)) {
    human = str_cat("step ", step.step, ": loss ", human_number(step.loss), ", lr ",
                    human_number(step.learning_rate));
    if (step.grad_norm) human += str_cat(", grad norm ", human_number(*step.grad_norm));
    if (step.tokens_per_second)
      human += str_cat(", ", human_number(*step.tokens_per_second), " tok/s");
    if (step.memory_allocated_bytes) {
      human += str_cat(", ", detail::format_bytes(*step.memory_allocated_bytes), " allocated");
    }
    if (step.memory_reserved_bytes) {
      human += str_cat(", ", detail::format_bytes(*step.memory_reserved_bytes), " reserved");
    }
    if (record.has_non_finite()) human += " (non-finite values recorded as null)";
  }
  return state_->write(std::move(record).finish(), level, std::move(human));
}

Result<void> MetricsLogger::log_memory_usage(c10::Device device) {
  if (!state_) return CoreError::invalid_config("MetricsLogger used after it was moved from");
  AI_CORE_ASSIGN_OR_RETURN(MemoryStats stats, memory_stats(device));
  JsonRecord record("memory");
  record.add("device", stats.device.str());
  if (stats.allocator) {
    record.add("allocated_bytes", stats.allocator->allocated.current);
    record.add("allocated_peak_bytes", stats.allocator->allocated.peak);
    record.add("reserved_bytes", stats.allocator->reserved.current);
    record.add("reserved_peak_bytes", stats.allocator->reserved.peak);
  }
  if (stats.free_bytes) record.add("free_bytes", *stats.free_bytes);
  if (stats.total_bytes) record.add("total_bytes", *stats.total_bytes);
  if (stats.process_peak_resident_bytes) {
    record.add("process_peak_resident_bytes", *stats.process_peak_resident_bytes);
  }
  const LogLevel level = state_->level_for(record);
  std::string human;
  if (level != LogLevel::off && should_log(level)) human = "memory " + to_string(stats);
  return state_->write(std::move(record).finish(), level, std::move(human));
}

// --- ProgressBar
// ----------------------------------------------------------------------------------

struct ProgressBar::State {
  std::string label;
  std::uint64_t total = 0;
  ProgressOptions options;
  bool terminal = false;
  std::FILE* stream = nullptr;
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point last_output;
  mutable std::mutex mutex;
  std::uint64_t done = 0;
  bool finished = false;

  std::chrono::steady_clock::time_point now() const {
    return options.clock ? options.clock() : std::chrono::steady_clock::now();
  }

  std::string render_locked(std::chrono::steady_clock::time_point at) const {
    const double elapsed = std::chrono::duration<double>(at - start).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    std::string out = label;
    if (total > 0) {
      constexpr int kWidth = 20;
      const std::uint64_t shown = done < total ? done : total;
      const int filled = static_cast<int>(shown * kWidth / total);
      out += " [" + std::string(static_cast<std::size_t>(filled), '#') +
             std::string(static_cast<std::size_t>(kWidth - filled), '-') + "]";
      char buffer[96];
      std::snprintf(buffer, sizeof buffer, " %llu/%llu %3d%%",
                    static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                    static_cast<int>(shown * 100 / total));
      out += buffer;
    } else {
      out += str_cat(" ", done);
    }
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "  %.3g it/s", rate);
    out += buffer;
    if (total > 0 && done < total && rate > 0) {
      const auto eta = static_cast<std::uint64_t>(static_cast<double>(total - done) / rate + 0.5);
      std::snprintf(buffer, sizeof buffer, "  ETA %02llu:%02llu",
                    static_cast<unsigned long long>(eta / 60),
                    static_cast<unsigned long long>(eta % 60));
      out += buffer;
    } else if (total > 0 && done >= total) {
      std::snprintf(buffer, sizeof buffer, "  %.1f s", elapsed);
      out += buffer;
    }
    return out;
  }

  void output_locked(std::chrono::steady_clock::time_point at, bool last) {
    const std::string text = render_locked(at);
    if (terminal) {
      std::fprintf(stream, "\r%s\033[K%s", text.c_str(), last ? "\n" : "");
      std::fflush(stream);
    } else {
      log(LogLevel::info, text);
    }
    last_output = at;
  }
};

ProgressBar::ProgressBar(std::string label, std::uint64_t total, ProgressOptions options)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.label = std::move(label);
  s.total = total;
  s.options = std::move(options);
  s.stream = s.options.stream != nullptr ? s.options.stream : stderr;
  s.terminal = s.options.terminal ? *s.options.terminal : ::isatty(::fileno(s.stream)) == 1;
  s.start = s.now();
  s.last_output = s.start;
  if (s.terminal) {
    std::lock_guard lock(s.mutex);
    s.output_locked(s.start, false);
  }
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(std::uint64_t units) {
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  if (s.finished) return;
  s.done += units;
  const auto at = s.now();
  const double since = std::chrono::duration<double>(at - s.last_output).count();
  const double interval =
      s.terminal ? s.options.redraw_interval_seconds : s.options.log_interval_seconds;
  if (since >= interval) s.output_locked(at, false);
}

void ProgressBar::finish() {
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  if (s.finished) return;
  s.finished = true;
  s.output_locked(s.now(), true);
}

std::uint64_t ProgressBar::done() const noexcept {
  std::lock_guard lock(state_->mutex);
  return state_->done;
}

std::string ProgressBar::render() const {
  std::lock_guard lock(state_->mutex);
  return state_->render_locked(state_->now());
}

}  // namespace ai_core
