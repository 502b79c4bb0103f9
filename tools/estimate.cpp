// SPDX-License-Identifier: MIT
// tools/estimate.cpp: `ai-core estimate [--model NAME] [--layers N ...] [--json]`: prints
// `ai_core::estimate_qlora_memory` for a model given by a preset, by its shape, or both (options
// given on the command line override the preset). `--fit MEMORY [--seqs 512,2048]` searches, per
// sequence length, the largest batch whose estimated peak (reserved bytes) fits MEMORY, with a
// progress bar on stderr.
#include "estimate.hpp"

#include <ai_core/memory.hpp>
#include <ai_core/metrics.hpp>
#include <ai_core/precision.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>

#include <CLI/CLI.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ai_core_tool {
namespace {

struct Shape {
  std::int64_t layers, hidden, intermediate, heads, kv_heads, vocab;
  bool tied;
};

// Published shapes (the models' config.json files).
const std::map<std::string, Shape, std::less<>>& presets() {
  static const std::map<std::string, Shape, std::less<>> kPresets{
      {"llama2-7b", {32, 4096, 11008, 32, 32, 32000, false}},
      {"llama2-13b", {40, 5120, 13824, 40, 40, 32000, false}},
      {"llama2-70b", {80, 8192, 28672, 64, 8, 32000, false}},
      {"llama-65b", {80, 8192, 22016, 64, 64, 32000, false}},
      {"llama3-8b", {32, 4096, 14336, 32, 8, 128256, false}},
      {"llama3-70b", {80, 8192, 28672, 64, 8, 128256, false}},
      {"mistral-7b", {32, 4096, 14336, 32, 8, 32000, false}},
      {"qwen2.5-1.5b", {28, 1536, 8960, 12, 2, 151936, true}},
  };
  return kPresets;
}

std::string preset_names() {
  std::string out;
  for (const auto& [name, shape] : presets()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

ai_core::Result<std::uint32_t> parse_targets(std::string_view text) {
  if (text == "all") return ai_core::lora_target::all_linear;
  if (text == "attention") return ai_core::lora_target::attention;
  const std::pair<std::string_view, std::uint32_t> names[] = {
      {"q", ai_core::lora_target::q_proj},       {"k", ai_core::lora_target::k_proj},
      {"v", ai_core::lora_target::v_proj},       {"o", ai_core::lora_target::o_proj},
      {"gate", ai_core::lora_target::gate_proj}, {"up", ai_core::lora_target::up_proj},
      {"down", ai_core::lora_target::down_proj}};
  std::uint32_t mask = 0;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    bool known = false;
    for (const auto& [name, bit] : names) {
      if (item == name) {
        mask |= bit;
        known = true;
      }
    }
    if (!known) {
      return ai_core::CoreError::invalid_config(
          ai_core::str_cat("unknown LoRA target '", item,
                           "'; expected all, attention, or a comma list of q, k, v, o, gate, up, "
                           "down"));
    }
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return mask;
}

std::string gib(std::uint64_t bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f GiB", static_cast<double>(bytes) / (1ull << 30));
  return buffer;
}

// A memory budget for --fit: its bytes and how to name it.
struct Budget {
  std::uint64_t bytes = 0;
  std::string text;  // "24GiB", or "cuda:0 (23.51 GiB free)"
};

constexpr std::string_view kFitExpected =
    "expected a size such as 80GiB, 24GB, 16000MiB or 1.5TiB (KiB/MiB/GiB/TiB are powers of 1024, "
    "kB/MB/GB/TB of 1000), a byte count, or a CUDA device (cuda, cuda:0) for its free memory";

// Parses --fit: a positive size with an optional unit (any case), or a CUDA device, whose free
// memory as the driver reports it is the budget.
ai_core::Result<Budget> parse_budget(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return ai_core::CoreError::invalid_config(
        ai_core::str_cat("--fit '", text, "' ", why, "; ", kFitExpected));
  };
  std::string lower;
  for (const char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "cuda" || lower.starts_with("cuda:")) {
    c10::DeviceIndex index = -1;
    if (lower.size() > 5) {
      const std::string digits = lower.substr(5);
      if (digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(digits) > std::numeric_limits<c10::DeviceIndex>::max()) {
        return bad("is not a CUDA device");
      }
      index = static_cast<c10::DeviceIndex>(std::stoi(digits));
    } else if (lower.size() == 5) {
      return bad("is not a CUDA device");
    }
    const c10::Device device(c10::DeviceType::CUDA, index);
    auto stats = ai_core::memory_stats(device);
    if (!stats) return std::move(stats).error().with_context(ai_core::str_cat("--fit ", text));
    if (!stats->free_bytes) {
      return ai_core::CoreError::device_not_available(
          device, ai_core::str_cat("--fit ", text, ": the driver did not report its free memory"));
    }
    return Budget{*stats->free_bytes,
                  ai_core::str_cat(stats->device, " (", gib(*stats->free_bytes), " free)")};
  }
  // The number: digits with at most one decimal point, then the unit.
  std::size_t end = 0;
  bool point = false;
  bool digit = false;
  for (; end < lower.size(); ++end) {
    const char c = lower[end];
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (!digit) return bad("does not start with a number");
  double number = 0;  // from_chars: the C locale's decimal point whatever the process's locale
  std::from_chars(lower.data(), lower.data() + end, number);
  std::string_view unit = std::string_view(lower).substr(end);
  while (unit.starts_with(' ')) unit.remove_prefix(1);
  const std::pair<std::string_view, double> units[] = {
      {"", 1.0},       {"b", 1.0},  {"kib", 0x1p10}, {"mib", 0x1p20}, {"gib", 0x1p30},
      {"tib", 0x1p40}, {"kb", 1e3}, {"mb", 1e6},     {"gb", 1e9},     {"tb", 1e12}};
  std::optional<double> scale;
  for (const auto& [name, factor] : units) {
    if (unit == name) scale = factor;
  }
  if (!scale) return bad(ai_core::str_cat("has an unknown unit '", unit, "'"));
  const double bytes = std::floor(number * *scale);
  if (!(bytes >= 1.0)) return bad("is less than one byte");
  if (bytes >= 0x1p64) return bad("does not fit in 64 bits");
  return Budget{static_cast<std::uint64_t>(bytes), std::string(text)};
}

// One row of --fit: the largest batch at `sequence_length` whose peak fits, and the estimate at
// that batch (at batch 1 when none fits).
struct FitRow {
  std::int64_t sequence_length = 0;
  std::optional<std::int64_t> max_batch;
  ai_core::QloraMemoryEstimate estimate;
};

// Searches the largest batch in [1, max_batch] whose `peak_reserved` fits `budget`: doubling, then
// bisecting (the estimate grows with the batch). A batch whose figures overflow 64 bits does not
// fit; other errors (an invalid sequence length) pass through.
ai_core::Result<FitRow> fit_row(ai_core::QloraMemoryConfig config, std::int64_t sequence_length,
                                std::uint64_t budget, std::int64_t max_batch) {
  config.sequence_length = sequence_length;
  FitRow row{sequence_length, std::nullopt, {}};
  // Returns whether `batch` fits, keeping its estimate in `row` when it does.
  const auto fits = [&](std::int64_t batch) -> ai_core::Result<bool> {
    config.batch_size = batch;
    auto estimate = ai_core::estimate_qlora_memory(config);
    if (!estimate) {
      if (estimate.error().code() == ai_core::ErrorCode::out_of_memory) return false;
      return std::move(estimate).error();
    }
    if (batch == 1) row.estimate = *estimate;
    if (estimate->peak_reserved > budget) return false;
    row.max_batch = batch;
    row.estimate = *estimate;
    return true;
  };
  AI_CORE_ASSIGN_OR_RETURN(const bool one, fits(1));
  if (!one) return row;
  std::int64_t good = 1;  // fits
  std::int64_t bad = 0;   // the smallest batch known not to fit (0: none yet)
  while (bad == 0 && good < max_batch) {
    const std::int64_t next = good > max_batch / 2 ? max_batch : good * 2;
    AI_CORE_ASSIGN_OR_RETURN(const bool ok, fits(next));
    (ok ? good : bad) = next;
  }
  while (bad != 0 && bad - good > 1) {
    const std::int64_t middle = good + (bad - good) / 2;
    AI_CORE_ASSIGN_OR_RETURN(const bool ok, fits(middle));
    (ok ? good : bad) = middle;
  }
  return row;  // `fits` kept the estimate of the last batch that fit: `good`
}

}  // namespace

EstimateCommand::EstimateCommand(CLI::App& app) {
  command_ = app.add_subcommand(
      "estimate", "Estimate the GPU memory of a QLoRA fine-tuning step (docs/memory.md)");
  CLI::App& c = *command_;
  c.add_option("--model", model_, "A preset shape: " + preset_names());
  c.add_option("--layers", config_.num_layers, "Decoder blocks");
  c.add_option("--hidden", config_.hidden_size, "Hidden size");
  c.add_option("--intermediate", config_.intermediate_size, "MLP intermediate size");
  c.add_option("--heads", config_.num_attention_heads, "Attention heads");
  c.add_option("--kv-heads", config_.num_key_value_heads, "Key/value heads");
  c.add_option("--vocab", config_.vocab_size, "Vocabulary size");
  c.add_flag("--tie-embeddings", config_.tie_word_embeddings, "The head reuses the embedding");
  c.add_option("--block-size", config_.nf4_block_size, "NF4 block size (64)");
  c.add_flag("--no-double-quant", no_double_quant_, "Keep the absmax constants in float32");
  c.add_option("--rank", config_.lora_rank, "LoRA rank (64)");
  c.add_option("--targets", targets_, "LoRA targets: all, attention, or e.g. q,v");
  c.add_option("--optimizer", optimizer_,
               "adamw_32bit (QLoRA's, default), adamw_8bit, sgd, or adamw (torch's: moments in the "
               "adapter dtype)");
  c.add_option("--compute-dtype", compute_dtype_, "Precision of activations and unquantized parts");
  c.add_option("--adapter-dtype", adapter_dtype_, "Precision of the LoRA weights");
  CLI::Option* batch = c.add_option("--batch", config_.batch_size, "Sequences per step (1)");
  CLI::Option* seq = c.add_option("--seq", config_.sequence_length, "Tokens per sequence (512)");
  c.add_flag("--checkpointing", config_.gradient_checkpointing, "Gradient checkpointing");
  c.add_option("--overhead", config_.allocator_overhead_fraction,
               "Allocator slack as a fraction of the peak (0.05)");
  c.add_flag("--json", json_, "Print one JSON object of byte counts");
  CLI::Option* fit = c.add_option(
      "--fit", fit_,
      "Find the largest batch whose estimated peak (reserved bytes) fits this memory: 80GiB, 24GB, "
      "... or a CUDA device (cuda:0: its free memory)");
  fit->excludes(batch);
  c.add_option("--seqs", seqs_,
               "With --fit: the sequence lengths to try (default: --seq if given, else "
               "256,512,1024,2048,4096,8192)")
      ->delimiter(',')
      ->excludes(seq)
      ->needs(fit);
  c.add_option("--max-batch", max_batch_, "With --fit: the largest batch to try (65536)")
      ->needs(fit);
}

bool EstimateCommand::selected() const { return command_->parsed(); }

namespace {

// Prints `error` to stderr; returns the exit status (2 for an invalid configuration, else 1).
int fail(const ai_core::CoreError& error) {
  std::fprintf(stderr, "ai-core estimate: %s\n", error.to_string().c_str());
  return error.code() == ai_core::ErrorCode::invalid_config ? 2 : 1;
}

// The model and QLoRA setup in one line; `with_batch` false for --fit (the batch is the answer).
std::string describe(const std::string& model, const ai_core::QloraMemoryConfig& config,
                     bool with_batch) {
  return ai_core::str_cat(
      "QLoRA step of ", model.empty() ? std::string("a custom model") : model, ": ",
      config.num_layers, " blocks, hidden ", config.hidden_size, ", intermediate ",
      config.intermediate_size, ", heads ", config.num_attention_heads, "/",
      config.num_key_value_heads, ", vocab ", config.vocab_size, "; NF4 block ",
      config.nf4_block_size, config.double_quantization ? " + DQ" : "", ", rank ", config.lora_rank,
      ", ", ai_core::to_string(config.optimizer),
      with_batch ? ai_core::str_cat(", batch ", config.batch_size, " x ", config.sequence_length)
                 : std::string(),
      config.gradient_checkpointing ? ", checkpointing" : "");
}

}  // namespace

int EstimateCommand::run() {
  ai_core::QloraMemoryConfig config = config_;
  if (!model_.empty()) {
    const auto it = presets().find(model_);
    if (it == presets().end()) {
      return fail(ai_core::CoreError::invalid_config(
          ai_core::str_cat("unknown model '", model_, "'; expected one of ", preset_names())));
    }
    const Shape& s = it->second;
    // A preset gives the shape; an option given on the command line wins over it.
    const auto set = [&](const char* option, std::int64_t& field, std::int64_t value) {
      if (command_->count(option) == 0) field = value;
    };
    set("--layers", config.num_layers, s.layers);
    set("--hidden", config.hidden_size, s.hidden);
    set("--intermediate", config.intermediate_size, s.intermediate);
    set("--heads", config.num_attention_heads, s.heads);
    set("--kv-heads", config.num_key_value_heads, s.kv_heads);
    set("--vocab", config.vocab_size, s.vocab);
    if (command_->count("--tie-embeddings") == 0) config.tie_word_embeddings = s.tied;
  }
  config.double_quantization = !no_double_quant_;
  auto targets = parse_targets(targets_);
  if (!targets) return fail(targets.error());
  config.lora_targets = *targets;
  auto optimizer = ai_core::parse_optimizer(optimizer_);
  if (!optimizer) return fail(optimizer.error());
  config.optimizer = *optimizer;
  auto compute = ai_core::parse_precision(compute_dtype_);
  if (!compute) return fail(compute.error());
  config.compute_dtype = ai_core::compute_dtype(*compute);
  auto adapter = ai_core::parse_precision(adapter_dtype_);
  if (!adapter) return fail(adapter.error());
  config.adapter_dtype = ai_core::compute_dtype(*adapter);

  if (command_->count("--fit") != 0) return run_fit(config);
  auto estimate = ai_core::estimate_qlora_memory(config);
  if (!estimate) return fail(estimate.error());
  std::string text;
  if (json_) {
    text = ai_core::to_json(*estimate) + "\n";
  } else {
    text = describe(model_, config, true) + "\n\n" + ai_core::to_string(*estimate);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

int EstimateCommand::run_fit(const ai_core::QloraMemoryConfig& config) {
  if (max_batch_ < 1) {
    return fail(ai_core::CoreError::invalid_config(
        ai_core::str_cat("--max-batch ", max_batch_, " is not a batch size; expected >= 1")));
  }
  auto budget = parse_budget(fit_);
  if (!budget) return fail(budget.error());
  std::vector<std::int64_t> seqs = seqs_;
  if (seqs.empty() && command_->count("--seq") != 0) seqs = {config.sequence_length};
  if (seqs.empty()) seqs = {256, 512, 1024, 2048, 4096, 8192};

  // The bar goes to stderr (or the log), never to stdout: --json output stays one JSON object.
  std::vector<FitRow> rows;
  std::optional<ai_core::CoreError> error;
  {
    ai_core::ProgressBar bar("ai-core estimate --fit", seqs.size());
    for (const std::int64_t seq : seqs) {
      auto row = fit_row(config, seq, budget->bytes, max_batch_);
      if (!row) {
        error = std::move(row).error().with_context(
            ai_core::str_cat("--fit ", fit_, " at --seqs value ", seq));
        break;
      }
      rows.push_back(*std::move(row));
      bar.advance();
    }
  }  // The bar's last line is out before anything else is printed.
  if (error) return fail(*error);

  bool any = false;
  for (const FitRow& row : rows) any = any || row.max_batch.has_value();
  std::string text;
  if (json_) {
    text = ai_core::str_cat("{\"budget_bytes\":", budget->bytes, ",\"fits\":[");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const FitRow& row = rows[i];
      text += ai_core::str_cat(
          i == 0 ? "" : ",", "{\"sequence_length\":", row.sequence_length,
          ",\"max_batch\":", row.max_batch ? std::to_string(*row.max_batch) : "null",
          ",\"estimate\":", ai_core::to_json(row.estimate), "}");
    }
    text += "]}\n";
  } else {
    text = ai_core::str_cat(describe(model_, config, false), "\n\nLargest batch whose estimated ",
                            "peak (reserved bytes, with the allocator's slack) fits ",
                            gib(budget->bytes), " (--fit ", budget->text, "):\n\n");
    char line[160];
    std::snprintf(line, sizeof line, "%10s  %9s  %15s  %12s\n", "seq len", "max batch",
                  "peak reserved", "headroom");
    text += line;
    for (const FitRow& row : rows) {
      if (row.max_batch) {
        std::snprintf(line, sizeof line, "%10lld  %9lld  %15s  %12s%s\n",
                      static_cast<long long>(row.sequence_length),
                      static_cast<long long>(*row.max_batch),
                      gib(row.estimate.peak_reserved).c_str(),
                      gib(budget->bytes - row.estimate.peak_reserved).c_str(),
                      *row.max_batch == max_batch_ ? "  (--max-batch)" : "");
      } else {
        std::snprintf(line, sizeof line, "%10lld  %9s  %15s  (batch 1 needs %s)\n",
                      static_cast<long long>(row.sequence_length), "none", "-",
                      gib(row.estimate.peak_reserved).c_str());
      }
      text += line;
    }
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  if (!any) {
    const FitRow* smallest = &rows.front();
    for (const FitRow& row : rows) {
      if (row.estimate.peak_reserved < smallest->estimate.peak_reserved) smallest = &row;
    }
    return fail(ai_core::CoreError::out_of_memory(ai_core::str_cat(
        "nothing fits in ", gib(budget->bytes), " (--fit ", budget->text, "): batch 1 x ",
        smallest->sequence_length, " tokens needs ", gib(smallest->estimate.peak_reserved),
        "; expected a budget of at least that, a shorter --seqs, gradient checkpointing "
        "(--checkpointing) or a smaller --rank")));
  }
  return 0;
}

}  // namespace ai_core_tool
