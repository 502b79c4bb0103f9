// SPDX-License-Identifier: MIT
// tools/estimate.cpp: `ai-core estimate [--model NAME] [--layers N ...] [--json]`: prints
// `ai_core::estimate_qlora_memory` for a model given by a preset, by its shape, or both (options
// given on the command line override the preset).
#include "estimate.hpp"

#include <ai_core/memory.hpp>
#include <ai_core/precision.hpp>
#include <ai_core/str_cat.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <string_view>

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
  c.add_option("--batch", config_.batch_size, "Sequences per step (1)");
  c.add_option("--seq", config_.sequence_length, "Tokens per sequence (512)");
  c.add_flag("--checkpointing", config_.gradient_checkpointing, "Gradient checkpointing");
  c.add_option("--overhead", config_.allocator_overhead_fraction,
               "Allocator slack as a fraction of the peak (0.05)");
  c.add_flag("--json", json_, "Print one JSON object of byte counts");
}

bool EstimateCommand::selected() const { return command_->parsed(); }

int EstimateCommand::run() {
  const auto fail = [](const ai_core::CoreError& error) {
    std::fprintf(stderr, "ai-core estimate: %s\n", error.to_string().c_str());
    return 2;
  };
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

  auto estimate = ai_core::estimate_qlora_memory(config);
  if (!estimate) return fail(estimate.error());
  std::string text;
  if (json_) {
    text = ai_core::to_json(*estimate) + "\n";
  } else {
    text = ai_core::str_cat(
        "QLoRA step of ", model_.empty() ? std::string("a custom model") : model_, ": ",
        config.num_layers, " blocks, hidden ", config.hidden_size, ", intermediate ",
        config.intermediate_size, ", heads ", config.num_attention_heads, "/",
        config.num_key_value_heads, ", vocab ", config.vocab_size, "; NF4 block ",
        config.nf4_block_size, config.double_quantization ? " + DQ" : "", ", rank ",
        config.lora_rank, ", ", ai_core::to_string(config.optimizer), ", batch ", config.batch_size,
        " x ", config.sequence_length, config.gradient_checkpointing ? ", checkpointing" : "",
        "\n\n");
    text += ai_core::to_string(*estimate);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace ai_core_tool
