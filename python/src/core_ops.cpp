// SPDX-License-Identifier: MIT
// python/src/core_ops.cpp: ai_core's device layer as operators for the Python package
// (torch.ops.ai_core.*), registered with <ai_core/torch_library.hpp>:
//
//   get_device(str? component=None) -> Device     `get_device(DeviceConfig::from_env())`
//   device_report_json() -> str                   `to_json(device_report())` (`ai-core doctor
//   --json`) device_report_text() -> str                   `to_string(device_report())` (`ai-core
//   doctor`) version() -> str                              `ai_core::runtime_version()`
//   _queue_cpu_warnings(bool enable) -> ()
//       queue the CPU fallback warning (set_cpu_warning_handler) instead of writing it to stderr
//   _take_cpu_warnings() -> str[]
//       the queued warnings, oldest first; the package issues them as Python warnings
//       (torch.ops calls do not turn TORCH_WARN into Python warnings: they would reach stderr)
//   _raise_error(str code, str message, str[] context) -> ()
//       raises the CoreError described, for the tests of the error translation
//
// No pybind11 and no Python headers: the package loads this library with
// torch.ops.load_library, so one build serves every Python version.
#include <ai_core/device.hpp>
#include <ai_core/error.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/torch_library.hpp>
#include <ai_core/version.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ai_core::python {
namespace {

Result<c10::Device> get_device_op(std::optional<std::string_view> component) {
  AI_CORE_ASSIGN_OR_RETURN(DeviceConfig config, DeviceConfig::from_env(),
                           "in ai_core.get_device()");
  if (component.has_value()) config.with_component(std::string(*component));
  AI_CORE_ASSIGN_OR_RETURN(c10::Device device, get_device(config), "in ai_core.get_device()");
  return device;
}

Result<std::string> device_report_json() { return to_json(device_report()); }

Result<std::string> device_report_text() { return to_string(device_report()); }

Result<std::string> version() { return std::string(runtime_version()); }

struct PendingWarnings {
  std::mutex mutex;
  std::vector<std::string> messages;
};

PendingWarnings& pending_warnings() {
  static PendingWarnings* pending = new PendingWarnings();  // Leaked: usable during exit.
  return *pending;
}

void queue_warning(std::string_view message) noexcept {
  try {
    PendingWarnings& pending = pending_warnings();
    const std::lock_guard lock(pending.mutex);
    pending.messages.emplace_back(message);
  } catch (...) {
    // Out of memory while queueing a warning: the warning is lost, the caller must not be.
  }
}

Result<void> queue_cpu_warnings(bool enable) {
  (void)set_cpu_warning_handler(enable ? &queue_warning : nullptr);
  return {};
}

Result<std::vector<std::string>> take_cpu_warnings() {
  PendingWarnings& pending = pending_warnings();
  const std::lock_guard lock(pending.mutex);
  return std::exchange(pending.messages, {});
}

Result<void> raise_error(std::string_view code, std::string_view message,
                         std::vector<std::string> context) {
  for (const ErrorCode candidate : kErrorCodes) {
    if (error_code_identifier(candidate) != code) continue;
    CoreError error = CoreError::from_code(candidate, std::string(message));
    for (std::string& line : context) error.with_context(std::move(line));
    return error;
  }
  return CoreError::invalid_config(
      str_cat("_raise_error: unknown error code '", code,
              "'; expected an ErrorCode identifier such as invalid_config"));
}

}  // namespace
}  // namespace ai_core::python

TORCH_LIBRARY_FRAGMENT(ai_core, m) {
  using namespace ai_core::python;
  ai_core::define_function<&get_device_op>(m, "get_device(str? component=None) -> Device");
  ai_core::define_function<&device_report_json>(m, "device_report_json() -> str");
  ai_core::define_function<&device_report_text>(m, "device_report_text() -> str");
  ai_core::define_function<&version>(m, "version() -> str");
  ai_core::define_function<&queue_cpu_warnings>(m, "_queue_cpu_warnings(bool enable) -> ()");
  ai_core::define_function<&take_cpu_warnings>(m, "_take_cpu_warnings() -> str[]");
  ai_core::define_function<&raise_error>(
      m, "_raise_error(str code, str message, str[] context) -> ()");
}
