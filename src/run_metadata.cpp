// SPDX-License-Identifier: MIT
// src/run_metadata.cpp: <ai_core/run_metadata.hpp>: collecting and writing the run metadata.
//
// The NCCL version is read from the NCCL library libtorch already loaded (`dlopen` with
// RTLD_NOLOAD, then `ncclGetVersion`), so this file needs no NCCL header, loads nothing new and
// reports nothing when libtorch has no NCCL.
#include <ai_core/device.hpp>
#include <ai_core/run_metadata.hpp>
#include <ai_core/seed.hpp>
#include <ai_core/torch_error.hpp>
#include <ai_core/version.hpp>

#include "json_internal.hpp"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/headeronly/version.h>

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;  // POSIX: the process environment.

namespace ai_core {
namespace {

// Exact names beyond ai_core's own families: what decides devices, determinism and the
// distributed layout of a run. docs/observability.md says why each is there.
constexpr std::array<std::string_view, 21> kAllowList = {
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "CUDA_LAUNCH_BLOCKING",
    "CUDA_MODULE_LOADING",
    "CUBLAS_WORKSPACE_CONFIG",
    "CUBLASLT_WORKSPACE_SIZE",
    "NVIDIA_TF32_OVERRIDE",
    "PYTORCH_CUDA_ALLOC_CONF",
    "TORCH_CUDNN_V8_API_DISABLED",
    "NCCL_DEBUG",
    "NCCL_ALGO",
    "NCCL_PROTO",
    "LOCAL_RANK",
    "RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "PYTHONHASHSEED",
    "SLURM_JOB_ID",
    "NVTX_INJECTION64_PATH",
};

constexpr std::array<std::string_view, 3> kPrefixes = {"RUST_AI_", "AXOLOTL_", "VSA_OPTIM_"};

constexpr std::array<std::string_view, 7> kSecretWords = {
    "KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH"};

bool looks_secret(std::string_view name) {
  std::string upper(name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return std::any_of(kSecretWords.begin(), kSecretWords.end(),
                     [&](std::string_view word) { return upper.find(word) != std::string::npos; });
}

std::vector<EnvironmentEntry> allowed_environment() {
  std::vector<EnvironmentEntry> entries;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::size_t equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view name = text.substr(0, equals);
    const bool exact = std::find(kAllowList.begin(), kAllowList.end(), name) != kAllowList.end();
    const bool family = std::any_of(kPrefixes.begin(), kPrefixes.end(), [&](std::string_view p) {
      return name.size() > p.size() && name.starts_with(p);
    });
    if (!exact && !family) continue;
    std::string value = family && looks_secret(name) ? std::string("<redacted>")
                                                     : std::string(text.substr(equals + 1));
    entries.push_back({std::string(name), std::move(value)});
  }
  std::sort(entries.begin(), entries.end(),
            [](const EnvironmentEntry& a, const EnvironmentEntry& b) { return a.name < b.name; });
  return entries;
}

std::optional<std::string> loaded_nccl_version() {
  for (const char* library : {"libnccl.so.2", "libnccl.so"}) {
    void* handle = ::dlopen(library, RTLD_LAZY | RTLD_NOLOAD);
    if (handle == nullptr) continue;
    using GetVersion = int (*)(int*);
    auto* get_version = reinterpret_cast<GetVersion>(::dlsym(handle, "ncclGetVersion"));
    int code = 0;
    const bool ok = get_version != nullptr && get_version(&code) == 0 && code > 0;
    ::dlclose(handle);
    if (!ok) return std::nullopt;
    // NCCL >= 2.9 encodes major * 10000 + minor * 100 + patch; older ones major * 1000 + ...
    const int major = code >= 10000 ? code / 10000 : code / 1000;
    const int minor = code >= 10000 ? (code / 100) % 100 : (code / 100) % 10;
    const int patch = code % 100;
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  }
  return std::nullopt;
}

std::optional<long> torch_cudnn_version() {
  Result<std::optional<long>> version = capture([]() -> std::optional<long> {
    if (!at::globalContext().hasCuDNN()) return std::nullopt;
    return at::detail::getCUDAHooks().versionCuDNN();
  });
  return version.has_value() ? *version : std::nullopt;
}

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return {};
  return buffer;
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

// --- JSON ---------------------------------------------------------------------------------------

void key(std::string& out, std::string_view name) {
  if (out.back() != '{') out += ',';
  detail::append_json_string(out, name);
  out += ':';
}

void string_field(std::string& out, std::string_view name, std::string_view value) {
  key(out, name);
  detail::append_json_string(out, value);
}

template <class T>
void optional_field(std::string& out, std::string_view name, const std::optional<T>& value) {
  key(out, name);
  if (!value.has_value()) {
    out += "null";
  } else if constexpr (std::is_same_v<T, std::string>) {
    detail::append_json_string(out, *value);
  } else {
    out += std::to_string(*value);
  }
}

void bool_field(std::string& out, std::string_view name, bool value) {
  key(out, name);
  out += value ? "true" : "false";
}

}  // namespace

std::span<const std::string_view> run_metadata_environment_allow_list() noexcept {
  return kAllowList;
}

std::span<const std::string_view> run_metadata_environment_prefixes() noexcept { return kPrefixes; }

RunMetadata RunMetadata::collect() {
  RunMetadata metadata;
  metadata.ai_core_version = runtime_version();
  metadata.torch_version = TORCH_VERSION;
  metadata.cuda_compiled = AI_CORE_WITH_CUDA != 0;
  const CudaProbeResult& probe = cuda_probe_result();
  metadata.cuda_status = std::string(to_string(probe.status));
  metadata.cuda_runtime_version = probe.runtime_version;
  metadata.cuda_driver_version = probe.driver_version;
  metadata.cudnn_version = torch_cudnn_version();
  metadata.nccl_version = loaded_nccl_version();
  metadata.gpus = probe.devices;
  metadata.environment = allowed_environment();
  metadata.determinism = determinism_settings();
  metadata.host = host_name();
  metadata.process_id = static_cast<std::int64_t>(::getpid());
  metadata.collected_at = utc_now();
  return metadata;
}

std::string RunMetadata::to_json() const {
  std::string out = "{";
  string_field(out, "ai_core_version", ai_core_version);
  string_field(out, "torch_version", torch_version);
  bool_field(out, "cuda_compiled", cuda_compiled);
  string_field(out, "cuda_status", cuda_status);
  optional_field(out, "cuda_runtime_version", cuda_runtime_version);
  optional_field(out, "cuda_driver_version", cuda_driver_version);
  optional_field(out, "cudnn_version", cudnn_version);
  optional_field(out, "nccl_version", nccl_version);
  key(out, "gpus");
  out += '[';
  for (const CudaDeviceInfo& gpu : gpus) {
    if (out.back() != '[') out += ',';
    out += '{';
    key(out, "index");
    out += std::to_string(gpu.index);
    string_field(out, "name", gpu.name);
    string_field(out, "capability",
                 std::to_string(gpu.capability_major) + "." + std::to_string(gpu.capability_minor));
    key(out, "total_memory_bytes");
    out += std::to_string(gpu.total_memory_bytes);
    out += '}';
  }
  out += ']';
  key(out, "environment");
  out += '{';
  for (const EnvironmentEntry& entry : environment) string_field(out, entry.name, entry.value);
  out += '}';
  key(out, "determinism");
  out += '{';
  // The seed is a string: JSON readers keep numbers as doubles, which lose seeds above 2^53.
  optional_field(out, "seed",
                 determinism.seed.has_value()
                     ? std::optional<std::string>(std::to_string(*determinism.seed))
                     : std::nullopt);
  bool_field(out, "deterministic_algorithms", determinism.deterministic_algorithms);
  bool_field(out, "deterministic_algorithms_warn_only",
             determinism.deterministic_algorithms_warn_only);
  bool_field(out, "cudnn_deterministic", determinism.cudnn_deterministic);
  bool_field(out, "cudnn_benchmark", determinism.cudnn_benchmark);
  out += '}';
  string_field(out, "host", host);
  key(out, "process_id");
  out += std::to_string(process_id);
  string_field(out, "collected_at", collected_at);
  optional_field(out, "config_type", config_type);
  key(out, "config");
  out += '{';
  for (const auto& [name, value] : config) string_field(out, name, value);
  out += '}';
  out += '}';
  return out;
}

}  // namespace ai_core
