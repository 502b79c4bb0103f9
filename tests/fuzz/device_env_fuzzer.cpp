// SPDX-License-Identifier: MIT
// libFuzzer target: environment parsing, `DeviceConfig::from_env(lookup)`, `get_device` with a
// fake CUDA probe, and `device_report` / `to_json`, driven by a fuzzed name -> value map (never
// the real environment).
//
// Oracles (a violation aborts, which libFuzzer reports as a crash):
//   - from_env agrees with an independent model of the documented rules (docs/device.md): the
//     first set variable of each setting decides; booleans 1/0 true/false yes/no on/off in any
//     case; ordinals are decimal digits only, at most kMaxCudaOrdinal; the fallback policy is
//     warn/error/allow in any case; a malformed value is `invalid_config` naming "NAME='...'"
//     of the first malformed deciding variable (force, then ordinal, then fallback);
//   - a parsed config validates, and records where each setting came from ("NAME=value");
//   - get_device returns what its contract says for the fake probe (CPU when forced, cuda:N when
//     N < the visible devices, device_not_available otherwise or under FallbackPolicy::error);
//   - device_report never throws and `to_json` is well-formed JSON whatever bytes the values hold.
#include <ai_core/device.hpp>
#include <ai_core/error.hpp>
#include <ai_core/log.hpp>
#include <ai_core/testing/cuda_probe.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Aborts with `what` (libFuzzer saves the input as a crash artifact).
void require(bool ok, const char* what, const std::string& detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "device_env_fuzzer: oracle violated: %s %s\n", what, detail.c_str());
  std::abort();
}

constexpr const char* kForce[] = {"RUST_AI_FORCE_CPU", "AXOLOTL_FORCE_CPU", "VSA_OPTIM_FORCE_CPU"};
constexpr const char* kOrdinal[] = {"RUST_AI_CUDA_DEVICE", "AXOLOTL_CUDA_DEVICE",
                                    "VSA_OPTIM_CUDA_DEVICE", "LOCAL_RANK"};
constexpr const char* kFallback[] = {"RUST_AI_CPU_FALLBACK"};

// Values worth trying verbatim, besides arbitrary bytes.
constexpr const char* kInteresting[] = {
    "1",           "0",          "true",  "FALSE",       "Yes",
    "no",          "ON",         "off",   "warn",        "ERROR",
    "Allow",       "",           " 1",    "1 ",          "-1",
    "+1",          "32767",      "32768", "0032767",     "00000000000000000000000001",
    "99999999999", "2147483648", "0x1",   "1e3",         "127",
    "128",         "tru",        "yess",  "w\xC3\xA4rn", "1\n",
    "\t"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<bool> model_bool(std::string_view v) {
  const std::string l = lower(v);
  if (l == "1" || l == "true" || l == "yes" || l == "on") return true;
  if (l == "0" || l == "false" || l == "no" || l == "off") return false;
  return std::nullopt;
}

std::optional<int> model_ordinal(std::string_view v) {
  if (v.empty()) return std::nullopt;
  long long value = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
    if (value > ai_core::kMaxCudaOrdinal) return std::nullopt;
  }
  return static_cast<int>(value);
}

std::optional<ai_core::FallbackPolicy> model_fallback(std::string_view v) {
  const std::string l = lower(v);
  if (l == "warn") return ai_core::FallbackPolicy::warn;
  if (l == "error") return ai_core::FallbackPolicy::error;
  if (l == "allow") return ai_core::FallbackPolicy::allow;
  return std::nullopt;
}

// A probe whose answer the fuzzer sets before each run.
class ScriptedProbe : public ai_core::CudaProbe {
 public:
  ai_core::CudaProbeResult result;
  ai_core::CudaProbeResult probe(const ai_core::CudaProbeOptions&) override { return result; }
};

// Minimal JSON well-formedness check (RFC 8259 grammar, no semantic checks).
struct JsonChecker {
  std::string_view s;
  std::size_t i = 0;
  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  }
  bool lit(std::string_view word) {
    if (s.substr(i, word.size()) != word) return false;
    i += word.size();
    return true;
  }
  bool string() {
    if (i >= s.size() || s[i] != '"') return false;
    for (++i; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c == '"') {
        ++i;
        return true;
      }
      if (c < 0x20) return false;  // raw control characters are not allowed in JSON strings
      if (c == '\\') {
        if (++i >= s.size()) return false;
        const char e = s[i];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k) {
            if (++i >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
          }
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
      }
    }
    return false;
  }
  bool number() {
    const std::size_t start = i;
    if (i < s.size() && s[i] == '-') ++i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' ||
                            s[i] == 'e' || s[i] == 'E' || s[i] == '+' || s[i] == '-')) {
      ++i;
    }
    return i > start;
  }
  bool value(int depth) {
    if (depth > 64) return false;
    ws();
    if (i >= s.size()) return false;
    bool ok = false;
    if (s[i] == '{') {
      ++i;
      ws();
      if (i < s.size() && s[i] == '}') {
        ++i;
        ok = true;
      } else {
        while (true) {
          ws();
          if (!string()) return false;
          ws();
          if (i >= s.size() || s[i++] != ':') return false;
          if (!value(depth + 1)) return false;
          ws();
          if (i < s.size() && s[i] == ',') {
            ++i;
            continue;
          }
          if (i < s.size() && s[i] == '}') {
            ++i;
            ok = true;
          }
          break;
        }
      }
    } else if (s[i] == '[') {
      ++i;
      ws();
      if (i < s.size() && s[i] == ']') {
        ++i;
        ok = true;
      } else {
        while (true) {
          if (!value(depth + 1)) return false;
          ws();
          if (i < s.size() && s[i] == ',') {
            ++i;
            continue;
          }
          if (i < s.size() && s[i] == ']') {
            ++i;
            ok = true;
          }
          break;
        }
      }
    } else if (s[i] == '"') {
      ok = string();
    } else if (lit("true") || lit("false") || lit("null")) {
      ok = true;
    } else {
      ok = number();
    }
    ws();
    return ok;
  }
  bool document() { return value(0) && i == s.size(); }
};

std::shared_ptr<ScriptedProbe> g_probe;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Info and debug records would go to stderr through the default logger; keep the run quiet
  // (the warn-level CPU fallback path is not taken below, see Note in the body).
  ai_core::set_log_level(ai_core::LogLevel::error);
  g_probe = std::make_shared<ScriptedProbe>();
  ai_core::testing::set_cuda_probe_for_testing(g_probe);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  std::map<std::string, std::string, std::less<>> env;
  std::vector<const char*> all;
  for (const char* n : kForce) all.push_back(n);
  for (const char* n : kOrdinal) all.push_back(n);
  for (const char* n : kFallback) all.push_back(n);
  for (const char* name : all) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: break;  // not set
      case 1:
        env[name] =
            kInteresting[in.ConsumeIntegralInRange<std::size_t>(0, std::size(kInteresting) - 1)];
        break;
      default: env[name] = in.ConsumeRandomLengthString(48); break;
    }
  }
  const int device_count = in.ConsumeIntegralInRange<int>(-2, 200);
  const auto status = static_cast<ai_core::CudaStatus>(in.ConsumeIntegralInRange<int>(0, 6));
  const bool with_devices_vector = in.ConsumeBool();

  int lookups = 0;
  const ai_core::EnvLookup lookup = [&](std::string_view name) -> std::optional<std::string> {
    ++lookups;
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };

  // --- the model ---------------------------------------------------------------------------------
  bool want_force = false;
  int want_ordinal = 0;
  ai_core::FallbackPolicy want_fallback = ai_core::FallbackPolicy::warn;
  std::string want_error_var;  // empty: success expected
  std::string want_force_source, want_ordinal_source, want_fallback_source;
  auto first_set = [&](auto& names) -> const char* {
    for (const char* n : names) {
      if (env.count(n) != 0) return n;
    }
    return nullptr;
  };
  if (const char* n = first_set(kForce)) {
    if (auto v = model_bool(env[n])) {
      want_force = *v;
      want_force_source = std::string(n) + "=" + env[n];
    } else {
      want_error_var = n;
    }
  }
  if (want_error_var.empty()) {
    if (const char* n = first_set(kOrdinal)) {
      if (auto v = model_ordinal(env[n])) {
        want_ordinal = *v;
        want_ordinal_source = std::string(n) + "=" + env[n];
      } else {
        want_error_var = n;
      }
    }
  }
  if (want_error_var.empty()) {
    if (const char* n = first_set(kFallback)) {
      if (auto v = model_fallback(env[n])) {
        want_fallback = *v;
        want_fallback_source = std::string(n) + "=" + env[n];
      } else {
        want_error_var = n;
      }
    }
  }

  // --- from_env ----------------------------------------------------------------------------------
  auto config = ai_core::DeviceConfig::from_env(lookup);
  require(lookups > 0, "from_env never asked the lookup");
  if (!want_error_var.empty()) {
    require(!config.has_value(), "from_env accepted a malformed value of", want_error_var);
    require(config.error().code() == ai_core::ErrorCode::invalid_config,
            "from_env error is not invalid_config:", config.error().to_string());
    require(config.error().message().find(want_error_var + "='") != std::string::npos,
            "from_env error does not name the variable:",
            want_error_var + " / " + config.error().message());
  } else {
    require(config.has_value(), "from_env rejected a well-formed environment:",
            config.has_value() ? std::string() : config.error().to_string());
    require(config->force_cpu() == want_force, "force_cpu differs from the model");
    require(config->cuda_device() == want_ordinal, "cuda_device differs from the model");
    require(config->fallback() == want_fallback, "fallback differs from the model");
    require(config->force_cpu_source() == want_force_source, "force_cpu_source differs",
            config->force_cpu_source());
    require(config->cuda_device_source() == want_ordinal_source, "cuda_device_source differs",
            config->cuda_device_source());
    require(config->fallback_source() == want_fallback_source, "fallback_source differs",
            config->fallback_source());
    require(config->validate().has_value(), "a parsed config does not validate");

    // --- get_device with the scripted probe ------------------------------------------------------
    ai_core::CudaProbeResult result;
    result.status = status;
    result.device_count = device_count;
    if (with_devices_vector) {
      for (int i = 0; i < std::min(device_count, 4); ++i) {
        result.devices.push_back({i, "Fuzz GPU", 9, 0, std::uint64_t{80} << 30, std::nullopt});
      }
    }
    g_probe->result = result;
    ai_core::testing::reset_device_state_for_testing();
    const bool usable = status == ai_core::CudaStatus::ok && device_count > 0;
    const int visible = usable ? std::min(device_count, 128) : 0;
    // Note: the warn policy without CUDA writes the one-time warning to stderr at this log level
    // (on purpose, src/device.cpp); it is tested in tests/device_test.cpp, skipped here.
    if (config->force_cpu() || usable || config->fallback() != ai_core::FallbackPolicy::warn) {
      auto device = ai_core::get_device(*config);
      if (config->force_cpu()) {
        require(device.has_value() && device->is_cpu(), "forced CPU did not give the CPU");
      } else if (usable && want_ordinal < visible) {
        require(device.has_value() && device->is_cuda() && device->index() == want_ordinal,
                "a visible ordinal did not give cuda:N");
      } else if (usable || config->fallback() == ai_core::FallbackPolicy::error) {
        require(!device.has_value() &&
                    device.error().code() == ai_core::ErrorCode::device_not_available,
                "expected device_not_available",
                device.has_value() ? std::string() : device.error().to_string());
      } else {
        require(device.has_value() && device->is_cpu(), "allow policy did not give the CPU");
      }
    }
  }

  // --- device_report / to_json -------------------------------------------------------------------
  if (in.ConsumeBool()) {
    ai_core::DeviceReportOptions options;
    options.env = lookup;
    options.query_free_memory = false;
    const ai_core::DeviceReport report = ai_core::device_report(options);
    if (!want_error_var.empty()) {
      require(
          report.error.has_value() && report.error->code() == ai_core::ErrorCode::invalid_config,
          "device_report missed the malformed variable", want_error_var);
    } else {
      require(!report.error.has_value() ||
                  report.error->code() == ai_core::ErrorCode::device_not_available,
              "device_report reports an error for a well-formed environment",
              report.error ? report.error->to_string() : std::string());
    }
    const std::string json = ai_core::to_json(report);
    JsonChecker checker{json};
    require(checker.document(), "to_json is not well-formed JSON:", json);
    (void)ai_core::to_string(report);
  }
  return 0;
}
