// SPDX-License-Identifier: MIT
// src/seed.cpp: <ai_core/seed.hpp>: seeding torch's generators, its determinism switches, and the
// capture, restore and byte format of `RngState`.
//
// The CUDA generators are reached through `at::globalContext().defaultGenerator(cuda:i)`, which
// goes through torch's CUDA hooks: this file needs no CUDA header and works the same in a build
// of ai_core without CUDA.
#include <ai_core/device.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/log.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/seed.hpp>
#include <ai_core/torch_error.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <ATen/ops/empty.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ai_core {
namespace {

// The seed of the last successful `seed_everything`, valid once `g_seeded` is set.
std::atomic<bool> g_seeded{false};
std::atomic<std::uint64_t> g_seed{0};

/// Returns the number of CUDA generators torch has: the visible devices. With ai_core's CUDA
/// paths compiled, the cached probe answers (no CUDA call after the first); otherwise torch's
/// hooks, which report zero without a CUDA libtorch.
int cuda_generator_count() {
#if AI_CORE_WITH_CUDA
  const CudaProbeResult& probe = cuda_probe_result();
  return probe.status == CudaStatus::ok ? probe.device_count : 0;
#else
  if (!at::globalContext().hasCUDA()) return 0;
  return static_cast<int>(at::detail::getCUDAHooks().deviceCount());
#endif
}

at::Generator cuda_generator(int index) {
  return at::globalContext().defaultGenerator(
      c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(index)));
}

std::vector<std::uint8_t> read_state(at::Generator generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  const at::Tensor state = generator.get_state();
  const at::Tensor bytes = state.contiguous();
  const auto* data = static_cast<const std::uint8_t*>(bytes.const_data_ptr());
  return {data, data + bytes.nbytes()};
}

void write_state(at::Generator& generator, const std::vector<std::uint8_t>& bytes) {
  at::Tensor state = at::empty({static_cast<std::int64_t>(bytes.size())}, at::kByte);
  if (!bytes.empty()) std::memcpy(state.mutable_data_ptr(), bytes.data(), bytes.size());
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

// --- byte format --------------------------------------------------------------------------------

constexpr char kMagic[8] = {'A', 'I', 'C', 'O', 'R', 'N', 'G', '\0'};

std::uint64_t fnv1a64(std::span<const std::uint8_t> bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const std::uint8_t byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

template <class T>
void put(std::vector<std::uint8_t>& out, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(value) >> (8 * i)));
  }
}

void put_blob(std::vector<std::uint8_t>& out, const std::vector<std::uint8_t>& blob) {
  put<std::uint64_t>(out, blob.size());
  out.insert(out.end(), blob.begin(), blob.end());
}

/// Reads the byte format front to back; every read checks the bytes left and names what it was
/// reading when they run out.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  template <class T>
  Result<T> get(std::string_view what) {
    if (bytes_.size() - pos_ < sizeof(T)) return truncated(what, sizeof(T));
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      value |= static_cast<std::uint64_t>(bytes_[pos_ + i]) << (8 * i);
    }
    pos_ += sizeof(T);
    return static_cast<T>(value);
  }

  Result<std::vector<std::uint8_t>> blob(std::string_view what) {
    AI_CORE_ASSIGN_OR_RETURN(const std::uint64_t size, get<std::uint64_t>(what));
    if (bytes_.size() - pos_ < size) return truncated(what, size);
    std::vector<std::uint8_t> out(bytes_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                  bytes_.begin() + static_cast<std::ptrdiff_t>(pos_ + size));
    pos_ += size;
    return out;
  }

  [[nodiscard]] std::size_t position() const noexcept { return pos_; }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }

 private:
  CoreError truncated(std::string_view what, std::uint64_t needed) const {
    return CoreError::invalid_config("RNG state bytes are truncated: reading " + std::string(what) +
                                     " at byte " + std::to_string(pos_) + " needs " +
                                     std::to_string(needed) + " bytes, " +
                                     std::to_string(bytes_.size() - pos_) + " left (total " +
                                     std::to_string(bytes_.size()) + " bytes)");
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

bool valid(DeterministicAlgorithms mode) {
  return static_cast<std::uint8_t>(mode) <=
         static_cast<std::uint8_t>(DeterministicAlgorithms::strict);
}

void warn_if_cublas_workspace_unset() {
  if (cuda_generator_count() == 0) return;
  const char* value = std::getenv("CUBLAS_WORKSPACE_CONFIG");
  const std::string_view text = value == nullptr ? std::string_view() : std::string_view(value);
  if (text == ":4096:8" || text == ":16:8") return;
  std::string message =
      "seed_everything: strict deterministic algorithms with CUDA need "
      "CUBLAS_WORKSPACE_CONFIG=:4096:8 or :16:8 set before the first cuBLAS call; it is ";
  if (value == nullptr) {
    message += "not set";
  } else {
    message += '\'';
    message.append(text);
    message += '\'';
  }
  message += ", so cuBLAS matrix products will throw";
  log(LogLevel::warn, message);
}

}  // namespace

std::string_view to_string(DeterministicAlgorithms mode) noexcept {
  switch (mode) {
    case DeterministicAlgorithms::unchanged: return "unchanged";
    case DeterministicAlgorithms::off: return "off";
    case DeterministicAlgorithms::warn_only: return "warn_only";
    case DeterministicAlgorithms::strict: return "strict";
  }
  return "unknown";
}

Result<void> seed_everything(std::uint64_t seed, const DeterminismOptions& options) {
  if (!valid(options.algorithms)) {
    return CoreError::invalid_config(
        "DeterminismOptions::algorithms is " +
        std::to_string(static_cast<unsigned>(options.algorithms)) +
        ": expected unchanged (0), off (1), warn_only (2) or strict (3)");
  }
  AI_CORE_TRY(capture([&] {
    {
      at::Generator cpu = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(cpu.mutex());
      cpu.set_current_seed(seed);
    }
    const int gpus = cuda_generator_count();
    for (int i = 0; i < gpus; ++i) {
      at::Generator gpu = cuda_generator(i);
      std::lock_guard<std::mutex> lock(gpu.mutex());
      gpu.set_current_seed(seed);
    }
    at::Context& context = at::globalContext();
    switch (options.algorithms) {
      case DeterministicAlgorithms::unchanged: break;
      case DeterministicAlgorithms::off: context.setDeterministicAlgorithms(false, false); break;
      case DeterministicAlgorithms::warn_only:
        context.setDeterministicAlgorithms(true, true);
        break;
      case DeterministicAlgorithms::strict: context.setDeterministicAlgorithms(true, false); break;
    }
    if (options.cudnn_deterministic.has_value()) {
      context.setDeterministicCuDNN(*options.cudnn_deterministic);
    }
    if (options.cudnn_benchmark.has_value()) context.setBenchmarkCuDNN(*options.cudnn_benchmark);
  }));
  if (options.algorithms == DeterministicAlgorithms::strict) warn_if_cublas_workspace_unset();
  g_seed.store(seed, std::memory_order_relaxed);
  g_seeded.store(true, std::memory_order_release);
  return {};
}

DeterminismSettings determinism_settings() {
  DeterminismSettings settings;
  if (g_seeded.load(std::memory_order_acquire)) {
    settings.seed = g_seed.load(std::memory_order_relaxed);
  }
  const at::Context& context = at::globalContext();
  settings.deterministic_algorithms = context.deterministicAlgorithms();
  settings.deterministic_algorithms_warn_only = context.deterministicAlgorithmsWarnOnly();
  settings.cudnn_deterministic = context.deterministicCuDNN();
  settings.cudnn_benchmark = context.benchmarkCuDNN();
  return settings;
}

// --- RngState
// -------------------------------------------------------------------------------------

std::vector<std::uint8_t> RngState::to_bytes() const {
  std::vector<std::uint8_t> out(std::begin(kMagic), std::end(kMagic));
  put<std::uint32_t>(out, kFormatVersion);
  put_blob(out, cpu_);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(cuda_.size()));
  for (const auto& state : cuda_) put_blob(out, state);
  put<std::uint64_t>(out, fnv1a64(out));
  return out;
}

Result<RngState> RngState::from_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return CoreError::invalid_config(
        "not an ai_core RNG state: expected the bytes to start with the magic \"AICORNG\\0\" "
        "(RngState::to_bytes), got " +
        std::to_string(bytes.size()) + " bytes that do not");
  }
  Reader reader(bytes.subspan(sizeof kMagic));
  AI_CORE_ASSIGN_OR_RETURN(const std::uint32_t version, reader.get<std::uint32_t>("the version"));
  if (version != kFormatVersion) {
    return CoreError::invalid_config("RNG state format version " + std::to_string(version) +
                                     " is not supported: expected version " +
                                     std::to_string(kFormatVersion));
  }
  AI_CORE_ASSIGN_OR_RETURN(std::vector<std::uint8_t> cpu, reader.blob("the CPU generator state"));
  AI_CORE_ASSIGN_OR_RETURN(const std::uint32_t count,
                           reader.get<std::uint32_t>("the CUDA generator count"));
  std::vector<std::vector<std::uint8_t>> cuda;
  for (std::uint32_t i = 0; i < count; ++i) {
    AI_CORE_ASSIGN_OR_RETURN(std::vector<std::uint8_t> state,
                             reader.blob("the state of CUDA generator " + std::to_string(i) +
                                         " of " + std::to_string(count)));
    cuda.push_back(std::move(state));
  }
  const std::size_t covered = sizeof kMagic + reader.position();
  AI_CORE_ASSIGN_OR_RETURN(const std::uint64_t checksum, reader.get<std::uint64_t>("the checksum"));
  if (reader.position() != reader.size()) {
    return CoreError::invalid_config("RNG state has " +
                                     std::to_string(reader.size() - reader.position()) +
                                     " trailing bytes after the checksum: expected " +
                                     std::to_string(sizeof kMagic + reader.position()) +
                                     " bytes in all, got " + std::to_string(bytes.size()));
  }
  const std::uint64_t expected = fnv1a64(bytes.first(covered));
  if (checksum != expected) {
    return CoreError::invalid_config(
        "RNG state checksum mismatch: the bytes are corrupted (stored checksum " +
        std::to_string(checksum) + ", computed " + std::to_string(expected) + ")");
  }
  return RngState(std::move(cpu), std::move(cuda));
}

Result<RngState> capture_rng_state() {
  return capture([&] {
    std::vector<std::uint8_t> cpu = read_state(at::detail::getDefaultCPUGenerator());
    std::vector<std::vector<std::uint8_t>> cuda;
    const int gpus = cuda_generator_count();
    for (int i = 0; i < gpus; ++i) cuda.push_back(read_state(cuda_generator(i)));
    return RngState(std::move(cpu), std::move(cuda));
  });
}

Result<void> restore_rng_state(const RngState& state) {
  const int gpus = cuda_generator_count();
  if (state.cuda().size() != static_cast<std::size_t>(gpus)) {
    return CoreError::invalid_config(
        "RNG state holds " + std::to_string(state.cuda().size()) +
        " CUDA generator states but this process sees " + std::to_string(gpus) +
        " CUDA devices: expected a state captured with the same visible devices "
        "(CUDA_VISIBLE_DEVICES)");
  }
  AI_CORE_ASSIGN_OR_RETURN(const RngState previous, capture_rng_state());
  Result<void> applied = capture([&] {
    at::Generator cpu = at::detail::getDefaultCPUGenerator();
    write_state(cpu, state.cpu());
    for (int i = 0; i < gpus; ++i) {
      at::Generator gpu = cuda_generator(i);
      write_state(gpu, state.cuda()[static_cast<std::size_t>(i)]);
    }
  });
  if (applied.has_value()) return {};
  // Put back what was there, so a rejected state changes nothing.
  (void)capture([&] {
    at::Generator cpu = at::detail::getDefaultCPUGenerator();
    write_state(cpu, previous.cpu());
    for (int i = 0; i < gpus; ++i) {
      at::Generator gpu = cuda_generator(i);
      write_state(gpu, previous.cuda()[static_cast<std::size_t>(i)]);
    }
  });
  return CoreError::invalid_config(
      "libtorch rejected the RNG state: " + std::move(applied).error().message() +
      " (expected the bytes of a state captured by "
      "capture_rng_state with the same torch version)");
}

}  // namespace ai_core
