// SPDX-License-Identifier: MIT
// Device selection: `DeviceConfig` (validation, the environment), `get_device`, `warn_if_cpu`, the
// cached CUDA probe and the test hooks. The probe itself is in device_probe.cpp, the report in
// device_report.cpp.
//
// Note [CPU fallback warning]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A program that silently computes on the CPU because CUDA is broken is the most expensive failure
// of this kind of software: it "works", 10-100x slower, often for hours. So the fallback is loud,
// but only once: a warning per call would flood training loops.
//   - Once per process, not per component. The Rust crate used one `Once` too, but its message was
//     fixed at the first call, so it only ever named the first crate and later crates fell back
//     unnoticed. Here the warning names the component that triggered it, and every further
//     component that ends up on the CPU is logged once at debug level ("nf4 also runs on the
//     CPU"), so `SPDLOG_LEVEL=debug` shows the complete list.
//   - Exactly once however many threads race: the first caller per component takes a mutex
//     (`WarnState::mutex`); the decision "has the warning been shown?" is made under it. Every
//     later call of a known component only walks a lock-free list of component names.
//   - It says the reason (from the cached probe: no driver, no device, CPU-only libtorch, ai_core
//     built without CUDA, a driver error with its text), the cost, and what to do: declare CPU
//     intended with `RUST_AI_FORCE_CPU=1` (or the legacy names), or run `ai-core doctor`.
//   - `RUST_AI_FORCE_CPU=1` really silences it: `get_device` returns the CPU without warning, and
//     `warn_if_cpu` (which components also call in their own CPU branches) checks the environment
//     before warning. The Rust crate warned even when CPU was forced.
//   - Where it goes: always `ai_core::log(warn, ...)` (so `LogCapture` and a host's logger see it),
//     and on stderr in every case: by way of ai_core's default logger when that logger is installed
//     and shows warnings (`logger_reaches_stderr(warn)`), otherwise written to stderr directly —
//     the host silenced logging, raised the level, or routed ai_core's logger to its own sinks (a
//     file, a collector). Never twice on the terminal. The subprocess tests (tests/device_test.cpp)
//     count it on stderr exactly once in each case.
//
// Note [cached device selection]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The probe runs once, under `ProbeState::mutex`, and its result goes into an immutable `Snapshot`
// published through an atomic pointer (release/acquire). After that, `get_device` is: validate the
// config (integer compares), one acquire load, one compare of the ordinal, one relaxed load of the
// ordinal's "info logged" flag. No CUDA call, no lock. Snapshots replaced by the test hooks are
// retired, never freed, so a reader still holding one is safe; the whole state is leaked on
// purpose so that device selection works during static destruction.
#include <ai_core/device.hpp>
#include <ai_core/log.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/testing/cuda_probe.hpp>
#include <ai_core/torch_error.hpp>

#include "device_internal.hpp"
#include "env_parse.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ai_core {
namespace {

// --- environment parsing ------------------------------------------------------------------------

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace

Result<bool> detail::parse_env_bool(std::string_view name, std::string_view value) {
  for (std::string_view yes : {"1", "true", "yes", "on"}) {
    if (equals_ignoring_case(value, yes)) return true;
  }
  for (std::string_view no : {"0", "false", "no", "off"}) {
    if (equals_ignoring_case(value, no)) return false;
  }
  return CoreError::invalid_config(std::string(name) + "=" + detail::quote(value) +
                                   " is not a boolean: expected 1/0, true/false, yes/no or on/off "
                                   "(any case, no spaces)");
}

Result<int> detail::parse_env_decimal(std::string_view name, std::string_view value, int max,
                                      std::string_view what) {
  int number = 0;
  bool ok = !value.empty();
  for (char c : value) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    number = number * 10 + (c - '0');
    if (number > max) {
      ok = false;
      break;
    }
  }
  if (!ok) {
    return CoreError::invalid_config(std::string(name) + "=" + detail::quote(value) + " is not " +
                                     std::string(what) + ": expected a decimal integer from 0 to " +
                                     std::to_string(max));
  }
  return number;
}

namespace {

using detail::parse_env_bool;

Result<int> parse_ordinal(std::string_view name, std::string_view value) {
  return detail::parse_env_decimal(name, value, kMaxCudaOrdinal, "a CUDA device ordinal");
}

Result<FallbackPolicy> parse_fallback(std::string_view name, std::string_view value) {
  for (FallbackPolicy policy :
       {FallbackPolicy::warn, FallbackPolicy::error, FallbackPolicy::allow}) {
    if (equals_ignoring_case(value, to_string(policy))) return policy;
  }
  return CoreError::invalid_config(std::string(name) + "=" + detail::quote(value) +
                                   " is not a CPU fallback policy: expected warn, error or allow "
                                   "(any case)");
}

// Reads the process environment. Names are always the string literals of device_internal.hpp,
// so `name.data()` is null-terminated.
struct ProcessEnv {
  std::optional<std::string_view> operator()(std::string_view name) const {
    const char* value = std::getenv(name.data());
    if (value == nullptr) return std::nullopt;
    return std::string_view(value);
  }
};

struct FunctionEnv {
  const EnvLookup& lookup;
  std::optional<std::string> operator()(std::string_view name) const { return lookup(name); }
};

// Reads one setting: the first variable of `names` that is set decides (`apply` parses it and, when
// `report` is given, returns its effect in words). See `detail::read_device_env`.
template <class Lookup, class Apply>
void resolve(const Lookup& lookup, std::span<const char* const> names,
             std::vector<EnvVariableReport>* report, std::optional<CoreError>& first_error,
             Apply&& apply) {
  const char* winner = nullptr;
  for (const char* name : names) {
    if (winner != nullptr && report == nullptr) return;
    const auto value = lookup(name);
    if (!value) {
      if (report != nullptr) report->push_back({name, std::nullopt, "not set"});
      continue;
    }
    const std::string_view text = *value;
    if (winner != nullptr) {
      report->push_back({name, std::string(text),
                         std::string("ignored: ") + winner + " is set and takes priority"});
      continue;
    }
    winner = name;
    Result<std::string> effect = apply(name, text);
    if (!effect) {
      if (report != nullptr) {
        report->push_back({name, std::string(text), "invalid: " + effect.error().message()});
      }
      if (!first_error) first_error = std::move(effect).error();
      if (report == nullptr) return;
      continue;
    }
    if (report != nullptr) report->push_back({name, std::string(text), std::move(*effect)});
  }
}

template <class Lookup>
Result<DeviceConfig> read_env(const Lookup& lookup, std::vector<EnvVariableReport>* report) {
  DeviceConfig config;
  std::optional<CoreError> error;
  const bool describe = report != nullptr;

  resolve(lookup, detail::kForceCpuVariables, report, error,
          [&](const char* name, std::string_view value) -> Result<std::string> {
            AI_CORE_ASSIGN_OR_RETURN(const bool force, parse_env_bool(name, value));
            config.with_force_cpu(force);
            DeviceConfigAccess::force_cpu_source(config) =
                std::string(name) + "=" + std::string(value);
            if (!describe) return std::string();
            return force ? std::string("decides force_cpu = true: the CPU is used, no warning")
                         : std::string("decides force_cpu = false");
          });
  if (error && !describe) return std::move(*error);

  resolve(lookup, detail::kCudaDeviceVariables, report, error,
          [&](const char* name, std::string_view value) -> Result<std::string> {
            AI_CORE_ASSIGN_OR_RETURN(const int ordinal, parse_ordinal(name, value));
            config.with_cuda_device(ordinal);
            DeviceConfigAccess::cuda_device_source(config) =
                std::string(name) + "=" + std::string(value);
            if (!describe) return std::string();
            std::string effect = "decides the CUDA ordinal: cuda:" + std::to_string(ordinal);
            if (std::string_view(name) == "LOCAL_RANK") {
              effect += " (no RUST_AI_CUDA_DEVICE or legacy variable is set: one GPU per rank)";
            }
            return effect;
          });
  if (error && !describe) return std::move(*error);

  resolve(
      lookup, detail::kFallbackVariables, report, error,
      [&](const char* name, std::string_view value) -> Result<std::string> {
        AI_CORE_ASSIGN_OR_RETURN(const FallbackPolicy policy, parse_fallback(name, value));
        config.with_fallback(policy);
        DeviceConfigAccess::fallback_source(config) = std::string(name) + "=" + std::string(value);
        if (!describe) return std::string();
        return std::string("decides the CPU fallback policy: ") + std::string(to_string(policy));
      });
  if (error) return std::move(*error);
  return config;
}

// --- process-wide state -------------------------------------------------------------------------

// The probe result and what is derived from it, immutable once published (except the flags).
struct Snapshot {
  explicit Snapshot(CudaProbeResult r)
      : result(std::move(r)),
        usable(detail::is_usable(result)),
        device_count(usable ? result.device_count : 0),
        info_logged(std::make_unique<std::atomic<bool>[]>(static_cast<std::size_t>(device_count))),
        reason(usable ? std::string() : detail::describe_unusable(result)) {}

  CudaProbeResult result;
  bool usable;
  int device_count;
  std::unique_ptr<std::atomic<bool>[]> info_logged;  // Per ordinal: "using cuda:N" was logged.
  std::string reason;                                // Why CUDA is not usable ("" when it is).
};

struct ProbeState {
  std::mutex mutex;
  std::shared_ptr<CudaProbe> probe;                  // Installed by a test; null: system probe.
  std::vector<std::unique_ptr<Snapshot>> snapshots;  // Every snapshot ever published (retired).
};

ProbeState& probe_state() {
  static ProbeState* state =
      new ProbeState();  // Leaked on purpose: Note [cached device selection].
  return *state;
}

// Components known to `warn_if_cpu`, a lock-free push-only list (Note [CPU fallback warning]).
struct ComponentNode {
  std::string name;
  const ComponentNode* next;
};

struct WarnState {
  std::mutex mutex;
  std::vector<std::unique_ptr<ComponentNode>> nodes;  // Owns every node ever pushed.
};

WarnState& warn_state() {
  static WarnState* state = new WarnState();  // Leaked on purpose, like `probe_state`.
  return *state;
}

// Trivially destructible, constant-initialized: usable at any time, including at exit.
constinit std::atomic<const Snapshot*> g_snapshot{nullptr};
constinit std::atomic<const ComponentNode*> g_components{nullptr};
constinit std::atomic<bool> g_cpu_warning_given{false};
constinit std::atomic<bool> g_force_cpu_logged{false};
constinit std::atomic<bool> g_allow_logged{false};
constinit std::atomic<CpuWarningHandler> g_cpu_warning_handler{nullptr};

const Snapshot* load_snapshot_slow() {
  ProbeState& state = probe_state();
  std::lock_guard lock(state.mutex);
  if (const Snapshot* existing = g_snapshot.load(std::memory_order_acquire)) return existing;
  std::shared_ptr<CudaProbe> probe = state.probe ? state.probe : make_system_cuda_probe();
  auto snapshot = std::make_unique<Snapshot>(detail::run_probe(*probe, CudaProbeOptions{}));
  if (snapshot->usable) {
    log(LogLevel::debug, "ai_core: CUDA probe: " + std::to_string(snapshot->device_count) +
                             " usable device(s): " + detail::list_devices(snapshot->result));
  } else {
    log(LogLevel::debug, "ai_core: CUDA probe: not usable: " + snapshot->reason);
  }
  const Snapshot* published = snapshot.get();
  state.snapshots.push_back(std::move(snapshot));
  g_snapshot.store(published, std::memory_order_release);
  return published;
}

inline const Snapshot* load_snapshot() {
  if (const Snapshot* snapshot = g_snapshot.load(std::memory_order_acquire)) return snapshot;
  return load_snapshot_slow();
}

// Returns true exactly once per reset of `flag`.
inline bool first_time(std::atomic<bool>& flag) noexcept {
  return !flag.load(std::memory_order_relaxed) && !flag.exchange(true, std::memory_order_acq_rel);
}

bool component_known(std::string_view component) noexcept {
  for (const ComponentNode* node = g_components.load(std::memory_order_acquire); node != nullptr;
       node = node->next) {
    if (node->name == component) return true;
  }
  return false;
}

std::string force_cpu_origin(const DeviceConfig& config) {
  return config.force_cpu_source().empty() ? std::string("DeviceConfig::with_force_cpu")
                                           : config.force_cpu_source();
}

void reset_state_locked() {
  g_snapshot.store(nullptr, std::memory_order_release);
  g_components.store(nullptr, std::memory_order_release);
  g_cpu_warning_given.store(false, std::memory_order_release);
  g_force_cpu_logged.store(false, std::memory_order_release);
  g_allow_logged.store(false, std::memory_order_release);
}

}  // namespace

// --- DeviceConfig
// ---------------------------------------------------------------------------------

std::string_view to_string(FallbackPolicy policy) noexcept {
  switch (policy) {
    case FallbackPolicy::warn: return "warn";
    case FallbackPolicy::error: return "error";
    case FallbackPolicy::allow: return "allow";
  }
  return "unknown";
}

Result<void> DeviceConfig::validate() const {
  if (cuda_device_ < 0 || cuda_device_ > kMaxCudaOrdinal) {
    std::string origin =
        cuda_device_source_.empty() ? std::string() : " (" + cuda_device_source_ + ")";
    return CoreError::invalid_config(
        "DeviceConfig: cuda_device is " + std::to_string(cuda_device_) + origin +
        ": expected an ordinal from 0 to " + std::to_string(kMaxCudaOrdinal));
  }
  if (fallback_ != FallbackPolicy::warn && fallback_ != FallbackPolicy::error &&
      fallback_ != FallbackPolicy::allow) {
    return CoreError::invalid_config("DeviceConfig: fallback policy has the value " +
                                     std::to_string(static_cast<int>(fallback_)) +
                                     ": expected warn (0), error (1) or allow (2)");
  }
  if (component_.empty()) {
    return CoreError::invalid_config(
        "DeviceConfig: component is empty: expected the name of the component asking for a device "
        "(with_component)");
  }
  return {};
}

Result<DeviceConfig> DeviceConfig::from_env() { return read_env(ProcessEnv{}, nullptr); }

Result<DeviceConfig> DeviceConfig::from_env(const EnvLookup& lookup) {
  if (!lookup) {
    return CoreError::invalid_config(
        "DeviceConfig::from_env: the environment lookup function is empty: expected a callable");
  }
  return read_env(FunctionEnv{lookup}, nullptr);
}

namespace detail {

// --- the words device selection prints (also used by the report) ---------------------------------

std::string format_cuda_version(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

std::string format_gib(std::uint64_t bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f GiB",
                static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buffer;
}

std::string describe_device(const CudaDeviceInfo& device) {
  std::string text = device.name.empty() ? std::string("unnamed device") : device.name;
  text +=
      ", sm_" + std::to_string(device.capability_major) + std::to_string(device.capability_minor);
  if (device.total_memory_bytes > 0) text += ", " + format_gib(device.total_memory_bytes);
  return text;
}

std::string list_devices(const CudaProbeResult& result) {
  if (result.device_count == 0) return "none";
  std::string text;
  for (int i = 0; i < result.device_count; ++i) {
    if (i > 0) text += ", ";
    text += "cuda:" + std::to_string(i);
    if (static_cast<std::size_t>(i) < result.devices.size()) {
      text += " (" + describe_device(result.devices[static_cast<std::size_t>(i)]) + ")";
    }
  }
  return text;
}

std::string describe_unusable(const CudaProbeResult& result) {
  const std::string detail = result.message.empty() ? std::string() : ": " + result.message;
  switch (result.status) {
    case CudaStatus::ok:
      return result.device_count > 0 ? std::string("CUDA is usable")
                                     : "no CUDA device is visible" + detail;
    case CudaStatus::no_driver: return "no usable NVIDIA driver" + detail;
    case CudaStatus::no_device: {
      std::string text = "the CUDA driver sees no device" + detail;
      if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
        text += " (CUDA_VISIBLE_DEVICES=" + quote(visible) + " limits which devices are visible)";
      }
      return text;
    }
    case CudaStatus::cpu_only_torch: return "libtorch has no CUDA support" + detail;
    case CudaStatus::not_compiled: return "ai_core was built without CUDA" + detail;
    case CudaStatus::driver_error: return "the CUDA driver reported an error" + detail;
  }
  return "CUDA status " + std::to_string(static_cast<int>(result.status)) + detail;
}

std::string quote(std::string_view value) {
  constexpr std::size_t kMaxShown = 64;
  std::string text = "'";
  std::size_t shown = 0;
  for (char c : value) {
    if (shown == kMaxShown) {
      text += "...' (" + std::to_string(value.size()) + " bytes)";
      return text;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '\'' || c == '\\') {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned>(byte));
      text += escaped;
    } else {
      text += c;
    }
    ++shown;
  }
  text += "'";
  return text;
}

CoreError ordinal_out_of_range(const DeviceConfig& config, const CudaProbeResult& result) {
  const int ordinal = config.cuda_device();
  std::string detail = config.component() + " asked for cuda:" + std::to_string(ordinal);
  if (!config.cuda_device_source().empty()) detail += " (" + config.cuda_device_source() + ")";
  detail += ", but " + std::to_string(result.device_count) +
            " CUDA device(s) are visible: " + list_devices(result);
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
    detail += "; CUDA_VISIBLE_DEVICES=" + quote(visible);
  }
  if (config.cuda_device_source().starts_with("LOCAL_RANK=")) {
    detail +=
        "; if the launcher gives each rank its own GPU through CUDA_VISIBLE_DEVICES, set "
        "RUST_AI_CUDA_DEVICE=0";
  }
  if (ordinal <= 127) {
    return CoreError::device_not_available(
        c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(ordinal)),
        std::move(detail));
  }
  return CoreError::device_not_available("cuda:" + std::to_string(ordinal) + " (" + detail + ")");
}

CoreError fallback_forbidden(const DeviceConfig& config, const std::string& reason) {
  const std::string origin = config.fallback_source().empty()
                                 ? std::string("DeviceConfig::with_fallback(FallbackPolicy::error)")
                                 : config.fallback_source();
  std::string detail = config.component() + " needs a CUDA device and the CPU fallback is " +
                       "forbidden (" + origin + "): " + reason;
  const int ordinal = config.cuda_device();
  if (ordinal <= 127) {
    return CoreError::device_not_available(
        c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(ordinal)),
        std::move(detail));
  }
  return CoreError::device_not_available("cuda:" + std::to_string(ordinal) + " (" + detail + ")");
}

Result<DeviceConfig> read_device_env(const EnvLookup* lookup,
                                     std::vector<EnvVariableReport>* report) {
  if (lookup != nullptr && *lookup) return read_env(FunctionEnv{*lookup}, report);
  return read_env(ProcessEnv{}, report);
}

bool cpu_declared_by_env() noexcept {
  try {
    for (const char* name : kForceCpuVariables) {
      const char* value = std::getenv(name);
      if (value == nullptr) continue;
      auto parsed = parse_env_bool(name, value);
      return parsed && *parsed;  // The first set variable decides.
    }
  } catch (...) {
  }
  return false;
}

std::shared_ptr<CudaProbe> installed_cuda_probe() {
  ProbeState& state = probe_state();
  std::lock_guard lock(state.mutex);
  return state.probe ? state.probe : make_system_cuda_probe();
}

}  // namespace detail

// --- selection
// ------------------------------------------------------------------------------------

namespace {

Result<c10::Device> select_device(const DeviceConfig& config) {
  const int ordinal = config.cuda_device();
  const FallbackPolicy policy = config.fallback();
  if (ordinal < 0 || ordinal > kMaxCudaOrdinal || config.component().empty() ||
      static_cast<std::uint8_t>(policy) > static_cast<std::uint8_t>(FallbackPolicy::allow)) {
    AI_CORE_TRY(config.validate());
  }

  if (config.force_cpu()) {
    if (first_time(g_force_cpu_logged)) {
      log(LogLevel::info,
          config.component() + ": using the CPU as asked (" + force_cpu_origin(config) + ")");
    }
    return c10::Device(c10::DeviceType::CPU);
  }

  const Snapshot* snapshot = load_snapshot();
  if (snapshot->usable) {
    if (ordinal < snapshot->device_count) {
      if (first_time(snapshot->info_logged[static_cast<std::size_t>(ordinal)])) {
        const auto& devices = snapshot->result.devices;
        std::string what = static_cast<std::size_t>(ordinal) < devices.size()
                               ? " (" + detail::describe_device(devices[ordinal]) + ")"
                               : std::string();
        log(LogLevel::info, config.component() + ": using cuda:" + std::to_string(ordinal) + what);
      }
      return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(ordinal));
    }
    return detail::ordinal_out_of_range(config, snapshot->result);
  }

  switch (policy) {
    case FallbackPolicy::warn:
      warn_if_cpu(c10::Device(c10::DeviceType::CPU), config.component());
      return c10::Device(c10::DeviceType::CPU);
    case FallbackPolicy::allow:
      if (first_time(g_allow_logged)) {
        log(LogLevel::info, config.component() + ": using the CPU: " + snapshot->reason +
                                " (CPU fallback policy: allow)");
      }
      return c10::Device(c10::DeviceType::CPU);
    case FallbackPolicy::error: break;
  }
  return detail::fallback_forbidden(config, snapshot->reason);
}

}  // namespace

Result<c10::Device> get_device(const DeviceConfig& config) {
  // No exception leaves: an allocation or a host's log sink failing becomes the error.
  return capture([&] { return select_device(config); });
}

// Note [one device-index rule]: every function that takes a device checks it here, against the
// cached probe `get_device` uses (so a test probe changes both, and the visible count is asked of
// the probe, never of CUDA directly). The rule: the CPU is `cpu` or `cpu:0`; a CUDA device has an
// explicit index from 0 to the visible count - 1. A negative index other than "unspecified", a
// CPU index other than 0 and an ordinal past the visible devices are `device_not_available`,
// naming the device and what is visible; a CUDA device without an index is `invalid_config`
// (ai_core never guesses the current device); another device type is `device_mismatch`.
Result<void> check_device(c10::Device device, std::string_view caller) {
  // The accepted devices return before any string is built: every interop entry point and
  // `to_tensor` call this on their success path.
  const auto who = [caller] { return caller.empty() ? std::string() : str_cat(caller, ": "); };
  try {
    if (device.is_cpu()) {
      if (device.index() == -1 || device.index() == 0) [[likely]]
        return {};
      return CoreError::device_not_available(
          device, str_cat(who(), "the CPU has the index 0 only; expected cpu or cpu:0"));
    }
    if (!device.is_cuda()) {
      return CoreError::device_mismatch(c10::Device(c10::DeviceType::CUDA), device,
                                        str_cat(who(), "only CPU and CUDA devices are supported"));
    }
    if (device.index() == -1) {
      return CoreError::invalid_config(
          str_cat(who(), "device ", device, " has no index; expected an explicit cuda:N"));
    }
    const Snapshot* snapshot = load_snapshot();
    const int count = snapshot->device_count;
    if (device.index() >= 0 && device.index() < count) [[likely]]
      return {};
    const std::string visible =
        count > 0
            ? str_cat(count, " CUDA device(s) visible: ", detail::list_devices(snapshot->result))
            : str_cat("no CUDA device is visible: ", snapshot->reason);
    if (device.index() < 0) {
      return CoreError::device_not_available(
          device,
          str_cat(who(), device.index(), " is not a device index; expected cuda:0 to cuda:N-1 ",
                  "for N visible devices; ", visible));
    }
    return CoreError::device_not_available(device, str_cat(who(), visible));
  } catch (const std::exception& error) {
    return CoreError::device_not_available(
        device, str_cat(who(), "checking the device failed: ", error.what()));
  }
}

int visible_cuda_device_count() noexcept {
  try {
    return load_snapshot()->device_count;
  } catch (...) {
    return 0;
  }
}

void warn_if_cpu(c10::Device device, std::string_view component) noexcept {
  if (!device.is_cpu()) return;
  if (component_known(component)) return;  // The fast path: this component was seen before.
  try {
    const Snapshot* snapshot = load_snapshot();  // Before taking the warn mutex (lock order).
    WarnState& state = warn_state();
    std::lock_guard lock(state.mutex);
    if (component_known(component)) return;
    auto node = std::make_unique<ComponentNode>(
        ComponentNode{std::string(component), g_components.load(std::memory_order_relaxed)});
    g_components.store(node.get(), std::memory_order_release);
    state.nodes.push_back(std::move(node));

    const std::string name =
        component.empty() ? std::string("(unnamed component)") : std::string(component);
    if (g_cpu_warning_given.load(std::memory_order_relaxed)) {
      log(LogLevel::debug, name +
                               " also runs on the CPU (the CPU fallback warning is shown once "
                               "per process)");
      return;
    }
    g_cpu_warning_given.store(true, std::memory_order_relaxed);
    if (detail::cpu_declared_by_env()) {
      log(LogLevel::debug,
          name + " runs on the CPU, declared intended by the environment (RUST_AI_FORCE_CPU)");
      return;
    }
    const std::string reason = snapshot->usable
                                   ? "CUDA is usable (" + std::to_string(snapshot->device_count) +
                                         " device(s) visible) but it was handed a CPU device"
                                   : snapshot->reason;
    // Note [CPU fallback warning]: the text names the component, the reason, the cost and the fix.
    const std::string message =
        name + " is running on the CPU: " + reason +
        ". CPU execution is typically 10-100x slower than a CUDA GPU for tensor work. If CPU is "
        "intended, set RUST_AI_FORCE_CPU=1 to select it explicitly and silence this warning; "
        "otherwise run `ai-core doctor` to see why CUDA is not used. (Shown once per process; "
        "other components on the CPU are logged at debug level.)";
    const bool logger_prints_it = logger_reaches_stderr(LogLevel::warn);
    if (const CpuWarningHandler handler = g_cpu_warning_handler.load(std::memory_order_acquire)) {
      // The host shows it; the logger records it without printing it a second time.
      log(logger_prints_it ? LogLevel::debug : LogLevel::warn, message);
      handler(message);
      return;
    }
    log(LogLevel::warn, message);
    if (!logger_prints_it) {
      const std::string line = "WARNING: ai_core: " + message + "\n";
      std::fwrite(line.data(), 1, line.size(), stderr);
      std::fflush(stderr);
    }
  } catch (...) {
    // Warning must never take the caller down.
  }
}

CpuWarningHandler set_cpu_warning_handler(CpuWarningHandler handler) noexcept {
  return g_cpu_warning_handler.exchange(handler, std::memory_order_acq_rel);
}

bool cuda_available() noexcept {
  try {
    return load_snapshot()->usable;
  } catch (...) {
    return false;
  }
}

const CudaProbeResult& cuda_probe_result() { return load_snapshot()->result; }

// --- test hooks ---------------------------------------------------------------------------------

namespace testing {

std::shared_ptr<CudaProbe> set_cuda_probe_for_testing(std::shared_ptr<CudaProbe> probe) {
  ProbeState& state = probe_state();
  std::lock_guard lock(state.mutex);
  std::lock_guard warn_lock(warn_state().mutex);  // Lock order: probe, then warn (as warn_if_cpu).
  std::swap(state.probe, probe);
  reset_state_locked();
  return probe;
}

void reset_device_state_for_testing() {
  std::lock_guard lock(probe_state().mutex);
  std::lock_guard warn_lock(warn_state().mutex);
  reset_state_locked();
}

}  // namespace testing
}  // namespace ai_core
