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

#include "device_internal.hpp"

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

Result<bool> parse_bool(std::string_view name, std::string_view value) {
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

Result<int> parse_ordinal(std::string_view name, std::string_view value) {
  int ordinal = 0;
  bool ok = !value.empty();
  for (char c : value) {
    if (c < '0' || c > '9') {
      ok = false;
      break;
    }
    ordinal = ordinal * 10 + (c - '0');
    if (ordinal > kMaxCudaOrdinal) {
      ok = false;
      break;
    }
  }
  if (!ok) {
    return CoreError::invalid_config(std::string(name) + "=" + detail::quote(value) +
                                     " is not a CUDA device ordinal: expected a decimal integer "
                                     "from 0 to " +
                                     std::to_string(kMaxCudaOrdinal));
  }
  return ordinal;
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
            AI_CORE_ASSIGN_OR_RETURN(const bool force, parse_bool(name, value));
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
      auto parsed = parse_bool(name, value);
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

Result<c10::Device> get_device(const DeviceConfig& config) {
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
