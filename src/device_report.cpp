// SPDX-License-Identifier: MIT
// `device_report()` and its two formats: the table `ai-core doctor` prints and the JSON of
// `ai-core doctor --json`. The report decides the device the way `get_device` does, but from a
// fresh probe and without side effects (no log message, no warning, no cached state).
#include <ai_core/device.hpp>
#include <ai_core/version.hpp>

#include "device_internal.hpp"
#include "json_internal.hpp"

#include <torch/headeronly/version.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace ai_core {
namespace {

std::optional<std::string> lookup_variable(const DeviceReportOptions& options, const char* name) {
  if (options.env) return options.env(name);
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// The variables ai_core does not interpret itself but that decide what it sees.
void add_informational_variables(const DeviceReportOptions& options, DeviceReport& report) {
  auto visible = lookup_variable(options, "CUDA_VISIBLE_DEVICES");
  std::string visible_effect;
  if (!visible) {
    visible_effect = "not set: the CUDA driver shows every device";
  } else if (visible->empty()) {
    visible_effect = "empty: the CUDA driver hides every device";
  } else {
    visible_effect =
        "read by the CUDA driver: only these devices are visible, numbered from 0 "
        "in this order (ordinals index them)";
  }
  report.environment.push_back(
      {"CUDA_VISIBLE_DEVICES", std::move(visible), std::move(visible_effect)});

  auto level = lookup_variable(options, "SPDLOG_LEVEL");
  std::string level_effect = level ? "read by ai_core's default logger: its log level"
                                   : "not set: ai_core's default logger logs at info";
  report.environment.push_back({"SPDLOG_LEVEL", std::move(level), std::move(level_effect)});
}

std::string origin_or(const std::string& source, std::string_view otherwise) {
  return source.empty() ? std::string(otherwise) : source;
}

void decide(const DeviceConfig& config, DeviceReport& report) {
  if (auto valid = config.validate(); !valid) {
    report.error = valid.error();
    report.reason = "the configuration is invalid";
    return;
  }
  if (config.force_cpu()) {
    report.device = c10::Device(c10::DeviceType::CPU);
    report.reason = "the CPU was asked for (" + origin_or(config.force_cpu_source(), "force_cpu") +
                    "): no CUDA probe, no warning";
    return;
  }
  const CudaProbeResult& cuda = report.cuda;
  const int ordinal = config.cuda_device();
  const std::string ordinal_origin =
      origin_or(config.cuda_device_source(), "the default ordinal, no variable set");
  if (detail::is_usable(cuda)) {
    if (ordinal < cuda.device_count) {
      report.device = c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(ordinal));
      report.reason = "CUDA is usable and cuda:" + std::to_string(ordinal) + " is visible (" +
                      ordinal_origin + ")";
      if (static_cast<std::size_t>(ordinal) < cuda.devices.size()) {
        report.reason +=
            ": " + detail::describe_device(cuda.devices[static_cast<std::size_t>(ordinal)]);
      }
      return;
    }
    report.error = detail::ordinal_out_of_range(config, cuda);
    report.reason = "the requested CUDA device is not visible";
    return;
  }
  const std::string why = detail::describe_unusable(cuda);
  const std::string policy_origin = origin_or(config.fallback_source(), "the default");
  switch (config.fallback()) {
    case FallbackPolicy::warn:
      report.device = c10::Device(c10::DeviceType::CPU);
      report.reason = "no usable CUDA: " + why + "; CPU fallback policy warn (" + policy_origin +
                      "): the CPU, with a one-time warning";
      return;
    case FallbackPolicy::allow:
      report.device = c10::Device(c10::DeviceType::CPU);
      report.reason = "no usable CUDA: " + why + "; CPU fallback policy allow (" + policy_origin +
                      "): the CPU, logged at info";
      return;
    case FallbackPolicy::error: break;
  }
  report.error = detail::fallback_forbidden(config, why);
  report.reason = "no usable CUDA and the CPU fallback is forbidden";
}

std::string version_or_none(const std::optional<int>& version) {
  return version ? detail::format_cuda_version(*version) : std::string("none");
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

// Formats rows as left-aligned columns, two spaces apart, each line indented by two spaces.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string text;
  for (const auto& row : rows) {
    std::string line = " ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += " ";
      line += i + 1 == row.size() ? row[i] : pad(row[i], widths[i]);
      if (i + 1 != row.size()) line += " ";
    }
    text += line + "\n";
  }
  return text;
}

// Note [doctor JSON encoding]: the output is ASCII. Each code point outside printable ASCII is
// written as a \uXXXX escape (a surrogate pair above U+FFFF), so a value decodes to the same
// characters it had; the short escapes (\" \\ \n \t \r \b \f) cover the rest. Bytes that are
// not part of a well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF) each become U+FFFD, and the report's "invalid_utf8_replaced" says whether any
// did: environment values are bytes, and JSON can carry only Unicode.

/// Appends `text` as a JSON string (Note [doctor JSON encoding]); sets `*replaced` when a byte
/// was not valid UTF-8.
void append_json_string(std::string& out, std::string_view text, bool* replaced = nullptr) {
  detail::append_json_string(out, text, {.ascii = true, .replaced = replaced});
}

void append_json_optional(std::string& out, const std::optional<std::string>& text,
                          bool* replaced = nullptr) {
  if (text) {
    append_json_string(out, *text, replaced);
  } else {
    out += "null";
  }
}

}  // namespace

DeviceReport device_report(const DeviceReportOptions& options) {
  DeviceReport report;
  report.library_version = runtime_version();
  report.torch_version = TORCH_VERSION;
  report.cuda_compiled = AI_CORE_WITH_CUDA != 0;
  CudaProbeOptions probe_options;
  probe_options.query_free_memory = options.query_free_memory;
  report.cuda = detail::run_probe(*detail::installed_cuda_probe(), probe_options);

  auto config = detail::read_device_env(options.env ? &options.env : nullptr, &report.environment);
  add_informational_variables(options, report);
  if (!config) {
    report.error = config.error();
    report.reason = "the environment is malformed";
    return report;
  }
  decide(*config, report);
  return report;
}

std::string to_string(const DeviceReport& report) {
  std::string text = "ai_core device report\n";
  const CudaProbeResult& cuda = report.cuda;
  std::string status = std::string(to_string(cuda.status));
  if (!cuda.message.empty()) status += ": " + cuda.message;
  text += table({{"ai_core", report.library_version},
                 {"torch", report.torch_version},
                 {"CUDA compiled in", report.cuda_compiled ? "yes" : "no (AI_CORE_WITH_CUDA=OFF)"},
                 {"CUDA runtime", version_or_none(cuda.runtime_version)},
                 {"CUDA driver", version_or_none(cuda.driver_version)},
                 {"CUDA status", status}});

  text += "\nDevices (" + std::to_string(cuda.device_count) + " visible)\n";
  if (cuda.devices.empty()) {
    text += "  none\n";
  } else {
    std::vector<std::vector<std::string>> rows{{"device", "name", "capability", "total", "free"}};
    for (const auto& device : cuda.devices) {
      rows.push_back(
          {"cuda:" + std::to_string(device.index), device.name,
           std::to_string(device.capability_major) + "." + std::to_string(device.capability_minor),
           detail::format_gib(device.total_memory_bytes),
           device.free_memory_bytes ? detail::format_gib(*device.free_memory_bytes)
                                    : std::string("not queried")});
    }
    text += table(rows);
  }

  text += "\nEnvironment (in priority order within each setting)\n";
  std::vector<std::vector<std::string>> rows{{"variable", "value", "effect"}};
  for (const auto& variable : report.environment) {
    rows.push_back({variable.name, variable.value ? detail::quote(*variable.value) : "(not set)",
                    variable.effect});
  }
  text += table(rows);

  text += "\nSelected device\n";
  if (report.device) {
    text += "  " + report.device->str() + ": " + report.reason + "\n";
  }
  if (report.error) {
    text += "  error: " + report.reason + ": " + std::string(to_string(report.error->code())) +
            ": " + report.error->message() + "\n";
  }
  return text;
}

std::string to_json(const DeviceReport& report) {
  bool replaced = false;
  std::string out = "{\"ai_core_version\":";
  append_json_string(out, report.library_version, &replaced);
  out += ",\"torch_version\":";
  append_json_string(out, report.torch_version, &replaced);
  out += ",\"cuda_compiled\":";
  out += report.cuda_compiled ? "true" : "false";
  const CudaProbeResult& cuda = report.cuda;
  out += ",\"cuda\":{\"status\":";
  append_json_string(out, to_string(cuda.status), &replaced);
  out += ",\"message\":";
  append_json_string(out, cuda.message, &replaced);
  out += ",\"runtime_version\":";
  append_json_optional(
      out,
      cuda.runtime_version
          ? std::optional<std::string>(detail::format_cuda_version(*cuda.runtime_version))
          : std::nullopt,
      &replaced);
  out += ",\"driver_version\":";
  append_json_optional(out,
                       cuda.driver_version ? std::optional<std::string>(
                                                 detail::format_cuda_version(*cuda.driver_version))
                                           : std::nullopt,
                       &replaced);
  out += ",\"device_count\":" + std::to_string(cuda.device_count) + ",\"devices\":[";
  for (std::size_t i = 0; i < cuda.devices.size(); ++i) {
    const CudaDeviceInfo& device = cuda.devices[i];
    if (i > 0) out += ",";
    out += "{\"index\":" + std::to_string(device.index) + ",\"name\":";
    append_json_string(out, device.name, &replaced);
    out += ",\"capability\":";
    append_json_string(
        out,
        std::to_string(device.capability_major) + "." + std::to_string(device.capability_minor),
        &replaced);
    out += ",\"total_memory_bytes\":" + std::to_string(device.total_memory_bytes);
    out += ",\"free_memory_bytes\":";
    out += device.free_memory_bytes ? std::to_string(*device.free_memory_bytes) : "null";
    out += "}";
  }
  out += "]},\"environment\":[";
  for (std::size_t i = 0; i < report.environment.size(); ++i) {
    const EnvVariableReport& variable = report.environment[i];
    if (i > 0) out += ",";
    out += "{\"name\":";
    append_json_string(out, variable.name, &replaced);
    out += ",\"value\":";
    append_json_optional(out, variable.value, &replaced);
    out += ",\"effect\":";
    append_json_string(out, variable.effect, &replaced);
    out += "}";
  }
  out += "],\"selected_device\":";
  append_json_optional(
      out, report.device ? std::optional<std::string>(report.device->str()) : std::nullopt,
      &replaced);
  out += ",\"reason\":";
  append_json_string(out, report.reason, &replaced);
  out += ",\"error\":";
  if (report.error) {
    out += "{\"code\":";
    append_json_string(out, to_string(report.error->code()), &replaced);
    out += ",\"message\":";
    append_json_string(out, report.error->message(), &replaced);
    out += "}";
  } else {
    out += "null";
  }
  out += ",\"invalid_utf8_replaced\":";
  out += replaced ? "true" : "false";
  out += "}\n";
  return out;
}

}  // namespace ai_core
