// SPDX-License-Identifier: MIT
// src/memory.cpp: the estimators, `MemoryTracker`'s out-of-line part, `memory_stats` on the CPU
// and the dispatch to the CUDA side (memory_cuda.cpp), and the out-of-memory diagnosis.
#include "memory_internal.hpp"

#include <ai_core/dtype.hpp>
#include <ai_core/error.hpp>
#include <ai_core/log.hpp>
#include <ai_core/memory.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>

#include <sys/resource.h>
#include <sys/sysinfo.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ai_core {
namespace {

// Overflow-checked unsigned arithmetic: the first overflow is remembered and every later result
// is meaningless, so a caller checks `overflow` once at the end.
struct Checked {
  bool overflow = false;
  std::uint64_t mul(std::uint64_t a, std::uint64_t b) {
    std::uint64_t r = 0;
    overflow |= __builtin_mul_overflow(a, b, &r);
    return r;
  }
  std::uint64_t add(std::uint64_t a, std::uint64_t b) {
    std::uint64_t r = 0;
    overflow |= __builtin_add_overflow(a, b, &r);
    return r;
  }
  std::uint64_t mul(std::initializer_list<std::uint64_t> factors) {
    std::uint64_t r = 1;
    for (std::uint64_t f : factors) r = mul(r, f);
    return r;
  }
  static std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return a / b + (a % b != 0); }
};

Result<std::uint64_t> element_bytes(c10::ScalarType dtype, std::string_view what) {
  if (!is_interop_dtype(dtype)) {
    return CoreError::invalid_config(str_cat(what, ": dtype ", dtype_name(dtype),
                                             " has no fixed element size here; expected one of ",
                                             DtypeSet::interop().to_string()));
  }
  return static_cast<std::uint64_t>(dtype_size(dtype));
}

CoreError overflow_error(std::string_view what) {
  return CoreError::out_of_memory(str_cat(what, " does not fit in 64 bits"));
}

std::string lower_trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_power_of_two_in(std::int64_t value, std::int64_t lo, std::int64_t hi) {
  return value >= lo && value <= hi && (value & (value - 1)) == 0;
}

}  // namespace

// --- estimates
// ------------------------------------------------------------------------------------

Result<std::uint64_t> estimate_tensor_bytes(c10::IntArrayRef shape, c10::ScalarType dtype) {
  AI_CORE_ASSIGN_OR_RETURN(std::uint64_t bytes, element_bytes(dtype, "estimate_tensor_bytes"));
  Checked c;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      return CoreError::invalid_config(str_cat("estimate_tensor_bytes: extent ", shape[i],
                                               " at dimension ", i, " of shape ", shape,
                                               " is negative; expected extents >= 0"));
    }
    bytes = c.mul(bytes, static_cast<std::uint64_t>(shape[i]));
  }
  if (c.overflow)
    return overflow_error(str_cat("the size of a ", dtype_name(dtype), " tensor of shape ", shape));
  return bytes;
}

Result<std::uint64_t> estimate_attention_memory(std::int64_t batch, std::int64_t heads,
                                                std::int64_t seq_len, std::int64_t head_dim,
                                                c10::ScalarType dtype) {
  const std::pair<std::string_view, std::int64_t> extents[] = {
      {"batch", batch}, {"heads", heads}, {"seq_len", seq_len}, {"head_dim", head_dim}};
  for (const auto& [name, value] : extents) {
    if (value < 1) {
      return CoreError::invalid_config(
          str_cat("estimate_attention_memory: ", name, " is ", value, "; expected >= 1"));
    }
  }
  AI_CORE_ASSIGN_OR_RETURN(std::uint64_t bytes, element_bytes(dtype, "estimate_attention_memory"));
  Checked c;
  const auto b = static_cast<std::uint64_t>(batch);
  const auto h = static_cast<std::uint64_t>(heads);
  const auto s = static_cast<std::uint64_t>(seq_len);
  const auto d = static_cast<std::uint64_t>(head_dim);
  // Q, K, V and the output: 4 b h s d; scores and probabilities: 2 b h s^2.
  const std::uint64_t elements = c.add(c.mul({4, b, h, s, d}), c.mul({2, b, h, s, s}));
  const std::uint64_t total = c.mul(elements, bytes);
  if (c.overflow) return overflow_error("the attention estimate");
  return total;
}

std::string_view to_string(OptimizerKind kind) noexcept {
  switch (kind) {
    case OptimizerKind::adamw_32bit: return "adamw_32bit";
    case OptimizerKind::adamw_8bit: return "adamw_8bit";
    case OptimizerKind::sgd: return "sgd";
    case OptimizerKind::adamw: return "adamw";
  }
  return "unknown";
}

Result<OptimizerKind> parse_optimizer(std::string_view text) {
  const std::string key = lower_trimmed(text);
  if (key == "adamw_32bit" || key == "paged_adamw_32bit") return OptimizerKind::adamw_32bit;
  if (key == "adamw" || key == "adamw_torch") return OptimizerKind::adamw;
  if (key == "adamw_8bit" || key == "paged_adamw_8bit") return OptimizerKind::adamw_8bit;
  if (key == "sgd") return OptimizerKind::sgd;
  return CoreError::invalid_config(
      str_cat("unknown optimizer '", text,
              "'; expected adamw, adamw_32bit, paged_adamw_32bit, adamw_8bit, paged_adamw_8bit "
              "or sgd"));
}

Result<void> QloraMemoryConfig::validate() const {
  const std::pair<std::string_view, std::int64_t> extents[] = {
      {"num_layers", num_layers},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_attention_heads", num_attention_heads},
      {"num_key_value_heads", num_key_value_heads},
      {"vocab_size", vocab_size},
      {"lora_rank", lora_rank},
      {"batch_size", batch_size},
      {"sequence_length", sequence_length}};
  for (const auto& [name, value] : extents) {
    if (value < 1) {
      return CoreError::invalid_config(
          str_cat("QloraMemoryConfig::", name, " is ", value, "; expected >= 1"));
    }
  }
  if (hidden_size % num_attention_heads != 0) {
    return CoreError::invalid_config(str_cat("QloraMemoryConfig::hidden_size ", hidden_size,
                                             " is not divisible by num_attention_heads ",
                                             num_attention_heads));
  }
  if (num_attention_heads % num_key_value_heads != 0) {
    return CoreError::invalid_config(
        str_cat("QloraMemoryConfig::num_attention_heads ", num_attention_heads,
                " is not divisible by num_key_value_heads ", num_key_value_heads));
  }
  if (!is_power_of_two_in(nf4_block_size, 16, 4096)) {
    return CoreError::invalid_config(str_cat("QloraMemoryConfig::nf4_block_size is ",
                                             nf4_block_size,
                                             "; expected a power of two in [16, 4096]"));
  }
  if (double_quantization && !is_power_of_two_in(double_quant_block_size, 16, 4096)) {
    return CoreError::invalid_config(str_cat("QloraMemoryConfig::double_quant_block_size is ",
                                             double_quant_block_size,
                                             "; expected a power of two in [16, 4096]"));
  }
  if (lora_targets == 0 || (lora_targets & ~lora_target::all_linear) != 0) {
    return CoreError::invalid_config(str_cat("QloraMemoryConfig::lora_targets is ", lora_targets,
                                             "; expected a non-zero mask of lora_target bits "
                                             "(at most ",
                                             lora_target::all_linear, ")"));
  }
  const std::pair<std::string_view, c10::ScalarType> dtypes[] = {{"compute_dtype", compute_dtype},
                                                                 {"adapter_dtype", adapter_dtype}};
  for (const auto& [name, dtype] : dtypes) {
    if (!DtypeSet::floating().contains(dtype)) {
      return CoreError::invalid_config(str_cat("QloraMemoryConfig::", name, " is ",
                                               dtype_name(dtype), "; expected ",
                                               DtypeSet::floating().to_string()));
    }
  }
  switch (optimizer) {
    case OptimizerKind::adamw_32bit:
    case OptimizerKind::adamw_8bit:
    case OptimizerKind::sgd:
    case OptimizerKind::adamw: break;
    default:
      return CoreError::invalid_config(str_cat("QloraMemoryConfig::optimizer is ",
                                               static_cast<int>(optimizer),
                                               "; expected adamw_32bit, adamw_8bit, sgd or adamw"));
  }
  if (!(allocator_overhead_fraction >= 0.0 && allocator_overhead_fraction <= 1.0)) {
    return CoreError::invalid_config(str_cat("QloraMemoryConfig::allocator_overhead_fraction is ",
                                             allocator_overhead_fraction,
                                             "; expected a number in [0, 1]"));
  }
  return {};
}

Result<QloraMemoryEstimate> estimate_qlora_memory(const QloraMemoryConfig& config) {
  AI_CORE_TRY(config.validate());
  Checked c;
  const auto L = static_cast<std::uint64_t>(config.num_layers);
  const auto h = static_cast<std::uint64_t>(config.hidden_size);
  const auto inter = static_cast<std::uint64_t>(config.intermediate_size);
  const auto heads = static_cast<std::uint64_t>(config.num_attention_heads);
  const auto kv = static_cast<std::uint64_t>(config.num_key_value_heads) * (h / heads);
  const auto V = static_cast<std::uint64_t>(config.vocab_size);
  const auto r = static_cast<std::uint64_t>(config.lora_rank);
  const auto B = static_cast<std::uint64_t>(config.nf4_block_size);
  const auto B2 = static_cast<std::uint64_t>(config.double_quant_block_size);
  const auto cb = static_cast<std::uint64_t>(dtype_size(config.compute_dtype));
  const auto ab = static_cast<std::uint64_t>(dtype_size(config.adapter_dtype));
  const auto T = c.mul(static_cast<std::uint64_t>(config.batch_size),
                       static_cast<std::uint64_t>(config.sequence_length));
  const auto s = static_cast<std::uint64_t>(config.sequence_length);
  const std::uint32_t targets = config.lora_targets;

  // The seven linears of a block: (mask bit, in features, out features).
  struct Linear {
    std::uint32_t bit;
    std::uint64_t in;
    std::uint64_t out;
  };
  const std::array<Linear, 7> linears{{{lora_target::q_proj, h, h},
                                       {lora_target::k_proj, h, kv},
                                       {lora_target::v_proj, h, kv},
                                       {lora_target::o_proj, h, h},
                                       {lora_target::gate_proj, h, inter},
                                       {lora_target::up_proj, h, inter},
                                       {lora_target::down_proj, inter, h}}};

  QloraMemoryEstimate e;
  std::uint64_t block_codes = 0;
  std::uint64_t block_constants = 0;
  std::uint64_t block_params = 0;
  std::uint64_t block_lora = 0;
  std::uint64_t block_state = 0;
  std::uint64_t max_linear = 0;
  for (const Linear& l : linears) {
    const std::uint64_t n = c.mul(l.in, l.out);
    max_linear = std::max(max_linear, n);
    block_params = c.add(block_params, n);
    block_codes = c.add(block_codes, Checked::ceil_div(n, 2));  // two 4-bit codes per byte
    const std::uint64_t absmax = Checked::ceil_div(n, B);
    if (config.double_quantization) {
      // 8-bit constants, one float32 scale per B2 of them, one float32 offset per tensor.
      block_constants =
          c.add(block_constants, c.add(absmax, c.add(c.mul(4, Checked::ceil_div(absmax, B2)), 4)));
    } else {
      block_constants = c.add(block_constants, c.mul(4, absmax));
    }
    if ((targets & l.bit) != 0) {
      const std::uint64_t a_numel = c.mul(r, l.in);
      const std::uint64_t b_numel = c.mul(r, l.out);
      block_lora = c.add(block_lora, c.add(a_numel, b_numel));
      switch (config.optimizer) {
        case OptimizerKind::adamw_32bit:
          block_state = c.add(block_state, c.mul(8, a_numel + b_numel));
          break;
        case OptimizerKind::adamw_8bit:
          // Two 8-bit moments plus one float32 absmax per 256 values, per moment, per tensor.
          block_state = c.add(block_state, c.add(c.mul(2, a_numel + b_numel),
                                                 c.mul(8, Checked::ceil_div(a_numel, 256) +
                                                              Checked::ceil_div(b_numel, 256))));
          break;
        case OptimizerKind::sgd: break;
        case OptimizerKind::adamw:  // exp_avg and exp_avg_sq as zeros_like(parameter)
          block_state = c.add(block_state, c.mul(2 * ab, a_numel + b_numel));
          break;
      }
    }
  }
  e.quantized_parameters = c.mul(L, block_params);
  e.quantized_weights = c.mul(L, block_codes);
  e.quantization_constants = c.mul(L, block_constants);
  const std::uint64_t embedding = c.mul({V, h, cb});
  const std::uint64_t norms = c.mul({2 * L + 1, h, cb});
  e.unquantized_weights =
      c.add(c.add(embedding, config.tie_word_embeddings ? 0 : embedding), norms);
  e.trainable_parameters = c.mul(L, block_lora);
  e.adapters = c.mul(e.trainable_parameters, ab);
  e.adapter_gradients = e.adapters;
  e.optimizer_state = c.mul(L, block_state);

  // Note [activation count]: bytes autograd keeps per token and block, counted op by op for a
  // Llama block as Hugging Face writes it (eager attention, RMSNorm in float32) with LoRA on the
  // frozen NF4 linears (which keep no input: they dequantize again in backward):
  //   RMSNorm x2: the float32 input (4h) and the reciprocal RMS (4)
  //   LoRA inputs, per input group (q/k/v share the first norm's output, gate/up the second's,
  //     o takes the attention output, down the MLP product): once in the compute dtype when the
  //     adapters are in it (cb * in), else one cast copy per adapted module (ab * in)
  //   LoRA A outputs: ab * r per adapted module
  //   attention: q, k and v as the matmuls keep them (3 cb h, k and v after repeat_kv), the
  //     float32 softmax (4 heads s) and its cast to the compute dtype (cb heads s)
  //   SwiGLU: the gate output, its SiLU and the up output (3 cb intermediate)
  // With gradient checkpointing every block keeps only its input (cb h) and one block's full set
  // lives during its recomputation. Sums of saved tensors that share storage (a view, or the
  // same input kept by two ops) count once.
  const auto group = [&](std::uint32_t mask, std::uint64_t in) {
    std::uint64_t adapted = 0;
    for (const Linear& l : linears) adapted += (targets & l.bit & mask) != 0 ? 1 : 0;
    if (adapted == 0) return std::uint64_t{0};
    return config.adapter_dtype == config.compute_dtype ? c.mul(cb, in) : c.mul({adapted, ab, in});
  };
  std::uint64_t per_token = c.mul(2, c.add(c.mul(4, h), 4));
  per_token =
      c.add(per_token, group(lora_target::q_proj | lora_target::k_proj | lora_target::v_proj, h));
  per_token = c.add(per_token, group(lora_target::o_proj, h));
  per_token = c.add(per_token, group(lora_target::gate_proj | lora_target::up_proj, h));
  per_token = c.add(per_token, group(lora_target::down_proj, inter));
  per_token = c.add(per_token, c.mul({static_cast<std::uint64_t>(std::popcount(targets)), ab, r}));
  per_token = c.add(per_token, c.mul({3, cb, h}));
  per_token = c.add(per_token, c.mul({4 + cb, heads, s}));
  per_token = c.add(per_token, c.mul({3, cb, inter}));
  const std::uint64_t block = c.mul(per_token, T);
  std::uint64_t activations =
      config.gradient_checkpointing ? c.add(c.mul({L, cb, h, T}), block) : c.mul(L, block);
  // The final norm's float32 input and reciprocal RMS. Without checkpointing the first block's
  // input (the frozen embedding's output) needs no gradient, so its first norm keeps nothing: the
  // two terms cancel. (Checkpointing makes the embedding output require a gradient.)
  if (config.gradient_checkpointing) {
    activations = c.add(activations, c.mul(c.add(c.mul(4, h), 4), T));
  }
  e.activations = activations;
  // Note [loss peak]: the step's busiest moment is the start of backward: the float32 log-softmax
  // that cross-entropy keeps, the gradient nll_loss hands back (dense, float32) and the gradient
  // log_softmax produces are alive at once: 3 x 4 bytes x vocab per token. A block's backward
  // needs less (one dequantized weight and a few activation-sized gradients) unless the vocabulary
  // is small, so the larger of the two is taken.
  const std::uint64_t loss_peak = c.mul({12, V, T});
  const std::uint64_t block_peak =
      c.add(c.mul(cb, max_linear), c.mul({4, cb, T, std::max(h, inter)}));
  e.transient = std::max(loss_peak, block_peak);
  // Gradients are absent at that moment (zero_grad sets them to none): `static_bytes` lists them,
  // the peak does not.
  e.static_bytes = c.add(c.add(c.add(e.quantized_weights, e.quantization_constants),
                               c.add(e.unquantized_weights, e.adapters)),
                         c.add(e.adapter_gradients, e.optimizer_state));
  e.peak_allocated = c.add(c.add(e.static_bytes - e.adapter_gradients, e.activations), e.transient);
  if (c.overflow) return overflow_error("the QLoRA memory estimate");
  e.allocator_overhead = static_cast<std::uint64_t>(
      std::ceil(static_cast<double>(e.peak_allocated) * config.allocator_overhead_fraction));
  e.peak_reserved = c.add(e.peak_allocated, e.allocator_overhead);
  if (c.overflow) return overflow_error("the QLoRA memory estimate");
  return e;
}

namespace detail {

std::string format_bytes(std::uint64_t bytes) {
  char buffer[32];
  if (bytes < 1024) {
    std::snprintf(buffer, sizeof buffer, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < (std::uint64_t{1} << 30)) {
    std::snprintf(buffer, sizeof buffer, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  } else {
    std::snprintf(buffer, sizeof buffer, "%.2f GiB", static_cast<double>(bytes) / (1 << 30));
  }
  return buffer;
}

}  // namespace detail

namespace {

struct EstimateRow {
  std::string_view name;
  std::uint64_t QloraMemoryEstimate::*field;
};

constexpr EstimateRow kEstimateRows[] = {
    {"quantized_weights", &QloraMemoryEstimate::quantized_weights},
    {"quantization_constants", &QloraMemoryEstimate::quantization_constants},
    {"unquantized_weights", &QloraMemoryEstimate::unquantized_weights},
    {"adapters", &QloraMemoryEstimate::adapters},
    {"adapter_gradients", &QloraMemoryEstimate::adapter_gradients},
    {"optimizer_state", &QloraMemoryEstimate::optimizer_state},
    {"activations", &QloraMemoryEstimate::activations},
    {"transient", &QloraMemoryEstimate::transient},
    {"allocator_overhead", &QloraMemoryEstimate::allocator_overhead},
    {"static_bytes", &QloraMemoryEstimate::static_bytes},
    {"peak_allocated", &QloraMemoryEstimate::peak_allocated},
    {"peak_reserved", &QloraMemoryEstimate::peak_reserved},
};

}  // namespace

std::string to_string(const QloraMemoryEstimate& estimate) {
  std::string out;
  char line[128];
  std::snprintf(line, sizeof line, "%-24s %16s %12s\n", "component", "bytes", "size");
  out += line;
  for (const EstimateRow& row : kEstimateRows) {
    const std::uint64_t value = estimate.*row.field;
    if (row.name == "static_bytes") out += std::string(54, '-') + '\n';
    std::snprintf(line, sizeof line, "%-24s %16llu %12s\n", std::string(row.name).c_str(),
                  static_cast<unsigned long long>(value), detail::format_bytes(value).c_str());
    out += line;
  }
  out += str_cat("trainable parameters: ", estimate.trainable_parameters,
                 ", quantized parameters: ", estimate.quantized_parameters, '\n');
  return out;
}

std::string to_json(const QloraMemoryEstimate& estimate) {
  std::string out = "{";
  for (const EstimateRow& row : kEstimateRows) {
    out += str_cat('"', row.name, "\":", estimate.*row.field, ',');
  }
  out += str_cat("\"trainable_parameters\":", estimate.trainable_parameters,
                 ",\"quantized_parameters\":", estimate.quantized_parameters, "}");
  return out;
}

// --- budgets
// --------------------------------------------------------------------------------------

MemoryTracker::~MemoryTracker() {
  const std::uint64_t outstanding = current();
  if (outstanding != 0) {
    log(LogLevel::error,
        str_cat("MemoryTracker destroyed with ", outstanding,
                " bytes still reserved: its reservations outlive it and must not be released"));
  }
}

// --- measurements
// ---------------------------------------------------------------------------------

Result<MemoryStats> memory_stats(c10::Device device, bool query_driver) {
  MemoryStats stats;
  stats.device = device;
  if (device.is_cpu()) {
    struct sysinfo info {};
    if (::sysinfo(&info) == 0) {
      stats.total_bytes = static_cast<std::uint64_t>(info.totalram) * info.mem_unit;
      stats.free_bytes = static_cast<std::uint64_t>(info.freeram) * info.mem_unit;
    }
    struct rusage usage {};
    if (::getrusage(RUSAGE_SELF, &usage) == 0) {
      stats.process_peak_resident_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
    }
    return stats;
  }
  if (device.is_cuda()) {
    AI_CORE_TRY(detail::cuda_memory_stats(device, query_driver, stats));
    return stats;
  }
  return CoreError::not_implemented(
      str_cat("memory_stats for ", device, " (supported: cpu and cuda devices)"));
}

Result<void> reset_peak_memory_stats(c10::Device device) {
  if (device.is_cpu()) return {};
  if (device.is_cuda()) return detail::cuda_reset_peak_memory_stats(device);
  return CoreError::not_implemented(
      str_cat("reset_peak_memory_stats for ", device, " (supported: cpu and cuda devices)"));
}

std::string to_string(const MemoryStats& stats) {
  std::string out = str_cat(stats.device, ":");
  const char* sep = " ";
  if (stats.allocator) {
    const AllocatorStats& a = *stats.allocator;
    out += str_cat(sep, detail::format_bytes(a.allocated.current), " allocated (peak ",
                   detail::format_bytes(a.allocated.peak), "), ",
                   detail::format_bytes(a.reserved.current), " reserved (peak ",
                   detail::format_bytes(a.reserved.peak), ")");
    if (a.allocation_retries != 0 || a.oom_count != 0) {
      out += str_cat(", ", a.allocation_retries, " allocation retries, ", a.oom_count, " OOMs");
    }
    sep = ", ";
  }
  if (stats.free_bytes && stats.total_bytes) {
    out += str_cat(sep, detail::format_bytes(*stats.free_bytes), " free of ",
                   detail::format_bytes(*stats.total_bytes));
    sep = ", ";
  }
  if (stats.process_peak_resident_bytes) {
    out +=
        str_cat(sep, "process peak RSS ", detail::format_bytes(*stats.process_peak_resident_bytes));
  }
  return out;
}

// --- out of memory
// --------------------------------------------------------------------------------

OutOfMemoryDiagnosis diagnose_out_of_memory(c10::Device device,
                                            std::optional<std::uint64_t> requested_bytes) noexcept {
  OutOfMemoryDiagnosis d;
  d.device = device;
  d.requested_bytes = requested_bytes;
  try {
    auto stats = memory_stats(device);
    if (stats.has_value()) {
      d.device = stats->device;
      d.free_bytes = stats->free_bytes;
      d.total_bytes = stats->total_bytes;
      if (stats->allocator) {
        d.allocated_bytes = stats->allocator->allocated.current;
        d.reserved_bytes = stats->allocator->reserved.current;
        d.reserved_unallocated_bytes =
            *d.reserved_bytes > *d.allocated_bytes ? *d.reserved_bytes - *d.allocated_bytes : 0;
      }
    }
    d.advice.emplace_back("a smaller batch size or sequence length (activations grow with both)");
    if (device.is_cuda()) {
      if (d.reserved_unallocated_bytes && d.reserved_bytes &&
          *d.reserved_unallocated_bytes * 8 >= *d.reserved_bytes && *d.reserved_bytes > 0) {
        d.advice.emplace_back(
            "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True (a large share of the reserved "
            "memory is cached but unallocated: fragmentation)");
      }
      if (d.free_bytes && d.total_bytes && *d.free_bytes * 16 < *d.total_bytes &&
          d.reserved_bytes && *d.reserved_bytes * 2 < *d.total_bytes) {
        d.advice.emplace_back(
            "freeing the GPU: other processes hold most of its memory (nvidia-smi lists them)");
      }
      d.advice.emplace_back(
          "gradient checkpointing, or an 8-bit optimizer, to trade compute for memory");
    }
  } catch (...) {
    if (d.advice.empty()) d.advice.emplace_back("a smaller batch size or sequence length");
  }
  return d;
}

std::vector<std::string> to_lines(const OutOfMemoryDiagnosis& diagnosis) {
  std::vector<std::string> lines;
  std::string view = str_cat("allocator on ", diagnosis.device, ":");
  if (diagnosis.requested_bytes) {
    view += str_cat(" ", detail::format_bytes(*diagnosis.requested_bytes), " requested,");
  }
  if (diagnosis.allocated_bytes && diagnosis.reserved_bytes) {
    view += str_cat(" ", detail::format_bytes(*diagnosis.allocated_bytes), " allocated, ",
                    detail::format_bytes(*diagnosis.reserved_bytes), " reserved (",
                    detail::format_bytes(diagnosis.reserved_unallocated_bytes.value_or(0)),
                    " reserved but unallocated),");
  }
  if (diagnosis.free_bytes && diagnosis.total_bytes) {
    view += str_cat(" ", detail::format_bytes(*diagnosis.free_bytes), " free of ",
                    detail::format_bytes(*diagnosis.total_bytes));
  } else if (!view.empty() && view.back() == ',') {
    view.pop_back();
  }
  lines.push_back(std::move(view));
  for (const std::string& advice : diagnosis.advice) lines.push_back("try: " + advice);
  return lines;
}

CoreError with_allocator_view(CoreError error, c10::Device device) {
  if (error.code() != ErrorCode::out_of_memory) return error;
  std::optional<std::uint64_t> requested;
  if (const MemoryInfo* memory = error.memory_info()) requested = memory->requested_bytes;
  return with_allocator_view(std::move(error), diagnose_out_of_memory(device, requested));
}

CoreError with_allocator_view(CoreError error, const OutOfMemoryDiagnosis& d) {
  if (error.code() != ErrorCode::out_of_memory) return error;
  MemoryInfo view;
  if (const MemoryInfo* memory = error.memory_info()) view = *memory;
  if (!view.requested_bytes) view.requested_bytes = d.requested_bytes;
  // The free bytes the error already has were read when the allocation failed: keep them. A GPU's
  // free bytes read now are what the failed request competed for (the caching allocator freed its
  // cache and retried before failing); the machine's free RAM is not what a CPU allocation failed
  // against (address space, overcommit), so on the CPU it stays in the human line only.
  if (!view.free_bytes && d.device.is_cuda()) view.free_bytes = d.free_bytes;
  view.allocated_bytes = d.allocated_bytes;
  view.reserved_bytes = d.reserved_bytes;
  view.total_bytes = d.total_bytes;
  view.device = d.device;
  view.advice = d.advice;

  // The payload is immutable once made: rebuild the error around the filled view, keeping its
  // message, location and context. A payload of another kind (none, or one that cannot hold a
  // view) becomes the view.
  ErrorPayload payload = error.payload();
  if (auto* torch = std::get_if<TorchInfo>(&payload)) {
    torch->memory = std::move(view);
  } else if (auto* cuda = std::get_if<CudaInfo>(&payload)) {
    cuda->memory = std::move(view);
  } else {
    payload = std::move(view);
  }
  CoreError out =
      CoreError::from_code(error.code(), error.message(), std::move(payload), error.location());
  for (const std::string& line : error.context()) out.with_context(line);
  for (std::string& line : to_lines(d)) out.with_context(std::move(line));
  return out;
}

}  // namespace ai_core
