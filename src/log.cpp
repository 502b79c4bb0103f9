// SPDX-License-Identifier: MIT
// The logging back end: the only translation unit that includes spdlog (Note [fmt versions] in
// src/CMakeLists.txt). It is compiled without torch's include folder on the path.
#include <ai_core/log.hpp>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>

namespace ai_core {

struct LogCapture::State {
  mutable std::mutex mutex;
  std::vector<LogRecord> records;
};

namespace {

constexpr const char* kLoggerName = "ai_core";

// Parses spdlog's SPDLOG_LEVEL convention for the "ai_core" logger: "info" sets every logger,
// "warn,ai_core=debug" sets ai_core's own. Unknown level names are ignored, as spdlog does.
std::optional<spdlog::level::level_enum> level_from_env() {
  const char* env = std::getenv("SPDLOG_LEVEL");
  if (env == nullptr || *env == '\0') return std::nullopt;
  std::optional<spdlog::level::level_enum> global;
  std::optional<spdlog::level::level_enum> own;
  std::string_view rest(env);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto eq = item.find('=');
    const std::string name(eq == std::string_view::npos ? std::string_view{} : item.substr(0, eq));
    const std::string value(eq == std::string_view::npos ? item : item.substr(eq + 1));
    const auto level = spdlog::level::from_str(value);
    // from_str answers `off` for names it does not know; only take `off` when it was asked for.
    if (level == spdlog::level::off && value != "off") continue;
    if (eq == std::string_view::npos) {
      global = level;
    } else if (name == kLoggerName) {
      own = level;
    }
  }
  return own ? own : global;
}

struct Registry {
  std::mutex mutex;
  std::shared_ptr<spdlog::logger> logger;  // Guarded by `mutex`.
  bool logger_is_default = false;          // Guarded by `mutex`: ai_core's own stderr logger.
  std::vector<std::weak_ptr<LogCapture::State>> captures;  // Guarded by `mutex`.
};

// Installs the default logger into `r` (whose mutex the caller holds): the one the host registered
// under the name "ai_core" if any, else ai_core's own stderr logger.
void install_default_logger(Registry& r) {
  if (auto existing = spdlog::get(kLoggerName)) {
    r.logger = std::move(existing);
    r.logger_is_default = false;
    return;
  }
  auto logger = std::make_shared<spdlog::logger>(
      kLoggerName, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_level(level_from_env().value_or(spdlog::level::info));
  r.logger = std::move(logger);
  r.logger_is_default = true;
}

Registry& registry() {
  static Registry* r = new Registry();  // Leaked on purpose: usable during static destruction.
  return *r;
}

std::shared_ptr<spdlog::logger> current_logger() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (!r.logger) install_default_logger(r);
  return r.logger;
}

}  // namespace

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::critical: return "critical";
    case LogLevel::off: return "off";
  }
  return "unknown";
}

void log(LogLevel level, std::string_view message) noexcept {
  try {
    std::shared_ptr<spdlog::logger> logger;
    std::vector<std::shared_ptr<LogCapture::State>> captures;
    {
      Registry& r = registry();
      std::lock_guard lock(r.mutex);
      if (!r.logger) install_default_logger(r);
      logger = r.logger;
      for (const auto& weak : r.captures) {
        if (auto state = weak.lock()) captures.push_back(std::move(state));
      }
    }
    for (const auto& state : captures) {
      std::lock_guard lock(state->mutex);
      state->records.push_back(LogRecord{level, std::string(message)});
    }
    if (level != LogLevel::off) {
      logger->log(static_cast<spdlog::level::level_enum>(level), message);
    }
  } catch (...) {
    // Logging must never take the caller down.
  }
}

bool should_log(LogLevel level) noexcept {
  try {
    return current_logger()->should_log(static_cast<spdlog::level::level_enum>(level));
  } catch (...) {
    return false;
  }
}

void set_logger(std::shared_ptr<spdlog::logger> logger) noexcept {
  try {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (logger) {
      r.logger = std::move(logger);
      r.logger_is_default = false;
    } else {
      install_default_logger(r);
    }
  } catch (...) {
  }
}

bool logger_reaches_stderr(LogLevel level) noexcept {
  try {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    if (!r.logger) install_default_logger(r);
    return r.logger_is_default &&
           r.logger->should_log(static_cast<spdlog::level::level_enum>(level));
  } catch (...) {
    return false;
  }
}

std::shared_ptr<spdlog::logger> logger() { return current_logger(); }

void set_log_level(LogLevel level) noexcept {
  try {
    current_logger()->set_level(static_cast<spdlog::level::level_enum>(level));
  } catch (...) {
  }
}

LogLevel log_level() noexcept {
  try {
    return static_cast<LogLevel>(current_logger()->level());
  } catch (...) {
    return LogLevel::off;
  }
}

LogCapture::LogCapture() : state_(std::make_shared<State>()) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.captures, [](const auto& weak) { return weak.expired(); });
  r.captures.push_back(state_);
}

LogCapture::~LogCapture() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.captures, [this](const auto& weak) {
    auto locked = weak.lock();
    return !locked || locked == state_;
  });
}

std::vector<LogRecord> LogCapture::records() const {
  std::lock_guard lock(state_->mutex);
  return state_->records;
}

std::size_t LogCapture::count(std::string_view needle, LogLevel level) const {
  std::lock_guard lock(state_->mutex);
  return static_cast<std::size_t>(
      std::count_if(state_->records.begin(), state_->records.end(), [&](const LogRecord& rec) {
        return (level == LogLevel::off || rec.level == level) &&
               rec.message.find(needle) != std::string::npos;
      }));
}

void LogCapture::clear() {
  std::lock_guard lock(state_->mutex);
  state_->records.clear();
}

}  // namespace ai_core
