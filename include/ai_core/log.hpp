// SPDX-License-Identifier: MIT
// ai_core/log.hpp: the library's logging front end.
//
// ai_core logs through a spdlog logger named "ai_core". This header includes neither spdlog nor
// fmt (Note [fmt versions] in src/CMakeLists.txt): any translation unit may log, including ones
// that include torch's headers, and a consumer's own fmt version is never constrained. A host that
// uses spdlog hands in its own logger with `set_logger`; one that does not gets a stderr logger
// whose level follows the `SPDLOG_LEVEL` environment variable ("debug", or "warn,ai_core=trace").
//
// Example:
//   // route ai_core's messages to the host's sinks:
//   ai_core::set_logger(spdlog::default_logger());
//   ai_core::log(ai_core::LogLevel::info, "selected cuda:0");
#pragma once

#include <ai_core/export.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog {
class logger;  // Forward declaration: spdlog stays out of public headers.
}  // namespace spdlog

namespace ai_core {

/// Severity of a log message. The values equal spdlog's `level::level_enum`.
enum class LogLevel : std::uint8_t {
  trace = 0,     ///< Step-by-step detail.
  debug = 1,     ///< Diagnostics for developers.
  info = 2,      ///< Normal operation worth recording (the device chosen).
  warn = 3,      ///< Something the user should act on (the CPU fallback).
  error = 4,     ///< An operation failed.
  critical = 5,  ///< The process cannot go on.
  off = 6,       ///< No messages; only meaningful as a threshold.
};

/// Returns the lower-case name of `level` ("trace" … "off").
[[nodiscard]] AI_CORE_API std::string_view to_string(LogLevel level) noexcept;

/// Sends `message` at `level` to the ai_core logger and to every active `LogCapture`.
/// Thread-safe. Never throws: a sink that throws is ignored.
AI_CORE_API void log(LogLevel level, std::string_view message) noexcept;

/// Returns whether a message at `level` would reach the logger, so that callers can skip building
/// expensive messages.
[[nodiscard]] AI_CORE_API bool should_log(LogLevel level) noexcept;

/// Returns whether a message at `level` sent through `log` reaches stderr by way of the current
/// logger: true only while ai_core's own default logger (a stderr sink) is installed and lets
/// `level` through. Code that must be seen on a terminal (the CPU-fallback warning) writes to
/// stderr itself when this is false, and does not print the same line twice when it is true.
[[nodiscard]] AI_CORE_API bool logger_reaches_stderr(LogLevel level) noexcept;

/// Replaces the logger ai_core writes to. Passing `nullptr` restores the default logger. Calling it
/// again simply replaces the logger (it is never an error). Thread-safe: messages being written
/// while the logger is replaced go to either the old or the new one, never to neither.
AI_CORE_API void set_logger(std::shared_ptr<spdlog::logger> logger) noexcept;

/// Returns the logger ai_core writes to (the default one is created on first use).
[[nodiscard]] AI_CORE_API std::shared_ptr<spdlog::logger> logger();

/// Sets the level threshold of the current logger.
AI_CORE_API void set_log_level(LogLevel level) noexcept;

/// Returns the level threshold of the current logger.
[[nodiscard]] AI_CORE_API LogLevel log_level() noexcept;

/// One message as a `LogCapture` recorded it.
struct LogRecord {
  LogLevel level;       ///< The level it was logged at.
  std::string message;  ///< The message text, unformatted (no time stamp, no logger name).
};

/// Records every message sent through `ai_core::log` while it lives, whatever the logger's level
/// and whatever logger is installed. Meant for tests (of ai_core and of libraries built on it).
/// Several captures may be active at once, from any thread; each sees every message.
class AI_CORE_API LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  /// Returns a copy of the records so far, oldest first.
  [[nodiscard]] std::vector<LogRecord> records() const;

  /// Returns how many records contain `needle` (at `level`, or at any level when it is `off`).
  [[nodiscard]] std::size_t count(std::string_view needle, LogLevel level = LogLevel::off) const;

  /// Forgets the records so far.
  void clear();

  struct State;  ///< Implementation detail (src/log.cpp).

 private:
  std::shared_ptr<State> state_;
};

}  // namespace ai_core
