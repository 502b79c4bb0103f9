// SPDX-License-Identifier: MIT
// ai_core/memory.hpp: how much memory a job needs, and how much it uses.
//
// - Estimates: `estimate_tensor_bytes`, `estimate_attention_memory` and `estimate_qlora_memory`
//   (a QLoRA fine-tuning run, component by component; formulas and sources in docs/memory.md).
//   Every product is overflow-checked: a result that does not fit 64 bits is an error, never a
//   wrapped number.
// - Budgets: `MemoryTracker`, a byte budget shared by threads; `try_reserve` either reserves
//   atomically (one compare-exchange, no check-then-add race) or fails with `out_of_memory`, and
//   the `MemoryReservation` it returns gives the bytes back when it is destroyed.
// - Measurements: `memory_stats(device)`, what torch's CUDA caching allocator and the driver know
//   about a GPU (on the CPU, the machine's memory and the process's peak resident size), and
//   `reset_peak_memory_stats`.
// - Out-of-memory diagnosis: `diagnose_out_of_memory` (allocated against reserved bytes, so
//   fragmentation is visible, and what to try) and `with_allocator_view`, which adds it to an
//   `out_of_memory` error.
//
// Example:
//   ai_core::MemoryTracker budget(8ull << 30);
//   AI_CORE_ASSIGN_OR_RETURN(ai_core::MemoryReservation r, budget.try_reserve(bytes));
//   AI_CORE_ASSIGN_OR_RETURN(ai_core::MemoryStats stats, ai_core::memory_stats(device));
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/export.hpp>
#include <ai_core/str_cat.hpp>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <c10/util/ArrayRef.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ai_core {

// --- estimates
// ------------------------------------------------------------------------------------

/// Returns the bytes of a dense tensor of `shape` and `dtype` (product of the extents times the
/// element size; 0 for an empty shape's zero extent, the element size for a scalar `{}`).
/// Errors: `invalid_config` for a negative extent or a dtype outside the interop vocabulary
/// (`is_interop_dtype`), `out_of_memory` when the size does not fit 64 bits.
[[nodiscard]] AI_CORE_API Result<std::uint64_t> estimate_tensor_bytes(c10::IntArrayRef shape,
                                                                      c10::ScalarType dtype);

/// Returns the bytes of the tensors one eager (unfused) scaled-dot-product attention holds at its
/// peak, all in `dtype`: the query, key, value and output (4 x batch x heads x seq_len x head_dim)
/// plus the score matrix and its softmax (2 x batch x heads x seq_len^2). Fused kernels
/// (FlashAttention, memory-efficient SDPA) never hold the score matrices: for them this is an upper
/// bound. Errors: `invalid_config` for an extent below 1 or a dtype outside the interop
/// vocabulary, `out_of_memory` when the result does not fit 64 bits.
[[nodiscard]] AI_CORE_API Result<std::uint64_t> estimate_attention_memory(std::int64_t batch,
                                                                          std::int64_t heads,
                                                                          std::int64_t seq_len,
                                                                          std::int64_t head_dim,
                                                                          c10::ScalarType dtype);

/// The optimizer of a QLoRA run, for its state's size.
enum class OptimizerKind : std::uint8_t {
  adamw_32bit = 0,  ///< AdamW with two float32 moments (bitsandbytes' 32-bit and paged AdamW,
                    ///< QLoRA's choice): 8 bytes per trainable parameter.
  adamw_8bit = 1,   ///< bitsandbytes' blockwise 8-bit AdamW: 2 bytes per parameter plus one
                    ///< float32 scale per 256 values of each moment.
  sgd = 2,          ///< Plain SGD without momentum: no state.
  adamw = 3,        ///< torch's AdamW: two moments in the parameters' dtype (`zeros_like`), so
                    ///< 4 bytes per parameter for bf16 adapters, 8 for float32 ones.
};

/// Returns "adamw_32bit", "adamw_8bit", "sgd" or "adamw".
[[nodiscard]] AI_CORE_API std::string_view to_string(OptimizerKind kind) noexcept;

/// Parses "adamw_32bit", "paged_adamw_32bit", "adamw_8bit", "paged_adamw_8bit", "sgd", or
/// "adamw" / "adamw_torch" (torch's AdamW), in any case;
/// anything else is an `invalid_config` error naming the value and the accepted spellings.
[[nodiscard]] AI_CORE_API Result<OptimizerKind> parse_optimizer(std::string_view text);

/// The linear layers of a Llama-style block that LoRA adapts, as bits of
/// `QloraMemoryConfig::lora_targets`.
namespace lora_target {
inline constexpr std::uint32_t q_proj = 1u << 0;     ///< Query projection, hidden -> hidden.
inline constexpr std::uint32_t k_proj = 1u << 1;     ///< Key projection, hidden -> kv width.
inline constexpr std::uint32_t v_proj = 1u << 2;     ///< Value projection, hidden -> kv width.
inline constexpr std::uint32_t o_proj = 1u << 3;     ///< Output projection, hidden -> hidden.
inline constexpr std::uint32_t gate_proj = 1u << 4;  ///< MLP gate, hidden -> intermediate.
inline constexpr std::uint32_t up_proj = 1u << 5;    ///< MLP up, hidden -> intermediate.
inline constexpr std::uint32_t down_proj = 1u << 6;  ///< MLP down, intermediate -> hidden.
inline constexpr std::uint32_t attention = 0xFu;     ///< q, k, v and o.
inline constexpr std::uint32_t all_linear = 0x7Fu;   ///< All seven: QLoRA's choice.
}  // namespace lora_target

/// A decoder-only transformer (Llama layout: RMSNorm, rotary attention with grouped key/value
/// heads, SwiGLU MLP) and a QLoRA setup, for `estimate_qlora_memory`. The defaults are Llama-2-7B
/// with QLoRA's settings (NF4 block 64, double quantisation, rank 64 on every linear layer,
/// batch 1, sequence 512, 32-bit AdamW, gradient checkpointing off).
struct QloraMemoryConfig {
  std::int64_t num_layers = 32;                ///< Decoder blocks.
  std::int64_t hidden_size = 4096;             ///< Model width h.
  std::int64_t intermediate_size = 11008;      ///< MLP width.
  std::int64_t num_attention_heads = 32;       ///< Query heads; head_dim = hidden / heads.
  std::int64_t num_key_value_heads = 32;       ///< Key/value heads (grouped-query attention).
  std::int64_t vocab_size = 32000;             ///< Embedding rows and output-head columns.
  bool tie_word_embeddings = false;            ///< Whether the output head reuses the embedding.
  std::int64_t nf4_block_size = 64;            ///< Weights per first-level absmax constant.
  bool double_quantization = true;             ///< Constants quantized to 8 bits (QLoRA's DQ).
  std::int64_t double_quant_block_size = 256;  ///< Constants per second-level float32 scale.
  std::int64_t lora_rank = 64;                 ///< r.
  std::uint32_t lora_targets = lora_target::all_linear;  ///< A mask of `LoraTarget` bits, not zero.
  c10::ScalarType compute_dtype = c10::ScalarType::BFloat16;  ///< Unquantized weights, activations.
  c10::ScalarType adapter_dtype = c10::ScalarType::BFloat16;  ///< LoRA weights and gradients.
  OptimizerKind optimizer = OptimizerKind::adamw_32bit;       ///< Decides the optimizer state.
  std::int64_t batch_size = 1;                                ///< Sequences per step.
  std::int64_t sequence_length = 512;                         ///< Tokens per sequence.
  bool gradient_checkpointing = false;  ///< Keep only block inputs; recompute in backward.
  /// The caching allocator's slack over the live tensors, as a fraction of them (block rounding
  /// and cached free blocks). 0.05 by default; docs/memory.md says how it was chosen.
  double allocator_overhead_fraction = 0.05;

  /// Checks the fields: every extent >= 1, `hidden_size` divisible by `num_attention_heads`,
  /// `num_attention_heads` divisible by `num_key_value_heads`, block sizes powers of two in
  /// [16, 4096], a non-zero target mask of known bits, floating dtypes, an overhead in [0, 1].
  /// Returns an `invalid_config` error naming the field, its value and what is expected.
  [[nodiscard]] AI_CORE_API Result<void> validate() const;
};

/// The bytes of a QLoRA training step, component by component (docs/memory.md has the formulas).
/// `peak_allocated` is what the caching allocator's allocated-bytes peak should read over a step;
/// `peak_reserved` adds the allocator's slack.
struct QloraMemoryEstimate {
  std::uint64_t quantized_weights = 0;       ///< NF4 codes of the block linears (4 bits each).
  std::uint64_t quantization_constants = 0;  ///< Absmax constants (with DQ: both levels).
  std::uint64_t unquantized_weights = 0;     ///< Embedding, output head, norms (compute dtype).
  std::uint64_t adapters = 0;                ///< LoRA A and B matrices.
  std::uint64_t adapter_gradients = 0;       ///< Their gradients (same dtype).
  std::uint64_t optimizer_state = 0;         ///< Per `OptimizerKind`.
  std::uint64_t activations = 0;             ///< What autograd keeps for backward, all blocks.
  std::uint64_t transient = 0;               ///< The busiest moment's extra buffers (the loss).
  std::uint64_t allocator_overhead = 0;      ///< `allocator_overhead_fraction` of the peak.
  std::uint64_t trainable_parameters = 0;    ///< LoRA parameters.
  std::uint64_t quantized_parameters = 0;    ///< Parameters stored in NF4.
  std::uint64_t static_bytes = 0;            ///< Weights, constants, adapters, grads, state.
  std::uint64_t peak_allocated = 0;          ///< static + activations + transient.
  std::uint64_t peak_reserved = 0;           ///< peak_allocated + allocator_overhead.
};

/// Estimates the memory of one QLoRA training step for `config` (validated first: its
/// `invalid_config` errors pass through). `out_of_memory` when a figure does not fit 64 bits.
[[nodiscard]] AI_CORE_API Result<QloraMemoryEstimate> estimate_qlora_memory(
    const QloraMemoryConfig& config);

/// Formats `estimate` as the table `ai-core estimate` prints (one component per line, MiB and
/// GiB, then the peak).
[[nodiscard]] AI_CORE_API std::string to_string(const QloraMemoryEstimate& estimate);

/// Formats `estimate` as one JSON object of byte counts (`ai-core estimate --json`).
[[nodiscard]] AI_CORE_API std::string to_json(const QloraMemoryEstimate& estimate);

// --- budgets
// --------------------------------------------------------------------------------------

class MemoryTracker;

/// Bytes reserved from a `MemoryTracker`, given back when the reservation is destroyed or
/// `release()`d. Move-only; a moved-from or default-constructed reservation holds nothing. The
/// tracker must outlive its reservations.
class AI_CORE_API MemoryReservation {
 public:
  /// Constructs an empty reservation (0 bytes, no tracker).
  MemoryReservation() noexcept = default;
  /// Gives the bytes back.
  ~MemoryReservation() { release(); }
  MemoryReservation(const MemoryReservation&) = delete;
  MemoryReservation& operator=(const MemoryReservation&) = delete;
  /// Takes over `other`'s bytes; `other` is left empty.
  MemoryReservation(MemoryReservation&& other) noexcept
      : tracker_(other.tracker_), bytes_(other.bytes_) {
    other.tracker_ = nullptr;
    other.bytes_ = 0;
  }
  /// Gives this reservation's bytes back, then takes over `other`'s.
  MemoryReservation& operator=(MemoryReservation&& other) noexcept {
    if (this != &other) {
      release();
      tracker_ = other.tracker_;
      bytes_ = other.bytes_;
      other.tracker_ = nullptr;
      other.bytes_ = 0;
    }
    return *this;
  }
  /// Returns the bytes held.
  [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
  /// Gives the bytes back now (idempotent).
  void release() noexcept;

 private:
  friend class MemoryTracker;
  MemoryReservation(MemoryTracker* tracker, std::uint64_t bytes) noexcept
      : tracker_(tracker), bytes_(bytes) {}
  MemoryTracker* tracker_ = nullptr;
  std::uint64_t bytes_ = 0;
};

/// A byte budget shared by threads: what a component may allocate, counted by the component
/// itself (it is not linked to an allocator; `memory_stats` measures the real allocations).
/// Thread-safe and lock-free: `try_reserve` is one compare-exchange loop on the current total, so
/// concurrent reservations never exceed the limit together. Neither copyable nor movable
/// (reservations point at it).
///
/// Example:
///   ai_core::MemoryTracker budget(2ull << 30);
///   AI_CORE_ASSIGN_OR_RETURN(auto reservation, budget.try_reserve(batch_bytes));
///   // ... the bytes return to the budget when `reservation` goes out of scope.
class AI_CORE_API MemoryTracker {
 public:
  /// Makes a tracker allowing `limit_bytes` at a time.
  explicit MemoryTracker(std::uint64_t limit_bytes) noexcept : limit_(limit_bytes) {}
  /// Logs an error when reservations are still outstanding (they would point at a dead tracker).
  ~MemoryTracker();
  MemoryTracker(const MemoryTracker&) = delete;
  MemoryTracker& operator=(const MemoryTracker&) = delete;

  /// Reserves `bytes`, or fails with `out_of_memory` naming the requested bytes and the bytes
  /// still free under the limit (payload: both). Reserving 0 bytes succeeds with an empty
  /// reservation.
  [[nodiscard]] Result<MemoryReservation> try_reserve(std::uint64_t bytes);

  /// Returns the bytes reserved now.
  [[nodiscard]] std::uint64_t current() const noexcept {
    return current_.load(std::memory_order_relaxed);
  }
  /// Returns the most bytes ever reserved at once (since construction or `reset_peak`).
  [[nodiscard]] std::uint64_t peak() const noexcept {
    return peak_.load(std::memory_order_relaxed);
  }
  /// Returns the limit.
  [[nodiscard]] std::uint64_t limit() const noexcept { return limit_; }
  /// Returns the bytes still free under the limit.
  [[nodiscard]] std::uint64_t available() const noexcept {
    const std::uint64_t used = current();
    return used < limit_ ? limit_ - used : 0;
  }
  /// Sets the peak to the current total.
  void reset_peak() noexcept { peak_.store(current(), std::memory_order_relaxed); }

 private:
  friend class MemoryReservation;
  void release(std::uint64_t bytes) noexcept {
    current_.fetch_sub(bytes, std::memory_order_release);
  }

  const std::uint64_t limit_;
  alignas(64) std::atomic<std::uint64_t> current_{0};
  alignas(64) std::atomic<std::uint64_t> peak_{0};
};

inline void MemoryReservation::release() noexcept {
  if (tracker_ != nullptr && bytes_ != 0) tracker_->release(bytes_);
  tracker_ = nullptr;
  bytes_ = 0;
}

inline Result<MemoryReservation> MemoryTracker::try_reserve(std::uint64_t bytes) {
  std::uint64_t used = current_.load(std::memory_order_relaxed);
  do {
    if (bytes > limit_ || used > limit_ - bytes) {
      return CoreError::out_of_memory(
          str_cat("memory budget exceeded: ", bytes, " bytes requested, ",
                  used < limit_ ? limit_ - used : 0, " of ", limit_, " bytes free"),
          bytes, used < limit_ ? limit_ - used : 0);
    }
  } while (!current_.compare_exchange_weak(used, used + bytes, std::memory_order_acquire,
                                           std::memory_order_relaxed));
  const std::uint64_t now = used + bytes;
  std::uint64_t peak = peak_.load(std::memory_order_relaxed);
  while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
  return MemoryReservation(this, bytes);
}

// --- measurements
// ---------------------------------------------------------------------------------

/// A current value and its peak since the last reset, in bytes.
struct ByteStat {
  std::uint64_t current = 0;  ///< Now.
  std::uint64_t peak = 0;     ///< The most since the process started or `reset_peak_memory_stats`.
  friend bool operator==(const ByteStat&, const ByteStat&) = default;
};

/// What torch's CUDA caching allocator knows about one device (its `getDeviceStats`, all pools).
struct AllocatorStats {
  ByteStat allocated;  ///< Bytes in tensors (rounded to the allocator's 512-byte blocks).
  ByteStat reserved;   ///< Bytes the allocator holds from the driver (cudaMalloc'd segments).
  ByteStat active;     ///< Allocated bytes plus freed blocks still in use by a stream.
  ByteStat requested;  ///< Bytes the callers asked for (before rounding).
  std::uint64_t allocation_retries = 0;  ///< Allocations retried after freeing the cache.
  std::uint64_t oom_count = 0;           ///< Out-of-memory errors raised by the allocator.
  friend bool operator==(const AllocatorStats&, const AllocatorStats&) = default;
};

/// Memory of one device. On a GPU: the caching allocator's figures and the driver's free/total.
/// On the CPU: no allocator figures (libtorch's CPU allocator keeps none), the machine's
/// total and free RAM (`sysinfo`; free excludes the page cache) and the process's peak resident
/// size (`getrusage`).
struct MemoryStats {
  c10::Device device{c10::DeviceType::CPU};  ///< The device measured.
  std::optional<AllocatorStats> allocator;   ///< CUDA only.
  std::optional<std::uint64_t> free_bytes;   ///< Driver (GPU) or kernel (CPU) free memory.
  std::optional<std::uint64_t> total_bytes;  ///< Device or machine total.
  std::optional<std::uint64_t> process_peak_resident_bytes;  ///< CPU only: peak RSS.
};

/// Returns the memory figures of `device` (`cuda` without an index: the current CUDA device).
/// `query_driver` false skips the driver's free/total on a GPU (a driver call, slower than the
/// allocator's counters). Initialises torch's CUDA state on first use. Errors:
/// `device_not_available` for a CUDA device that is not visible or without CUDA;
/// `not_implemented` for other device types; `kernel_error` when the driver query fails.
[[nodiscard]] AI_CORE_API Result<MemoryStats> memory_stats(c10::Device device,
                                                           bool query_driver = true);

/// Resets the peaks of `device`'s caching allocator (`ByteStat::peak` restarts at `current`).
/// On the CPU there is nothing to reset (no allocator figures; a process's peak RSS cannot be
/// reset) and it returns success. Errors as `memory_stats`.
[[nodiscard]] AI_CORE_API Result<void> reset_peak_memory_stats(c10::Device device);

/// Formats `stats` as one line: "cuda:0: 12.3 GiB allocated (peak 20.1 GiB), 14.0 GiB reserved
/// (peak 22.0 GiB), 60.2 GiB free of 79.1 GiB".
[[nodiscard]] AI_CORE_API std::string to_string(const MemoryStats& stats);

// --- out of memory
// --------------------------------------------------------------------------------

/// What the allocator looked like when an allocation failed, and what to try.
struct OutOfMemoryDiagnosis {
  c10::Device device{c10::DeviceType::CPU};      ///< Where the allocation failed.
  std::optional<std::uint64_t> requested_bytes;  ///< The failed request, when known.
  std::optional<std::uint64_t> allocated_bytes;  ///< In tensors (CUDA).
  std::optional<std::uint64_t> reserved_bytes;   ///< Held by the caching allocator (CUDA).
  std::optional<std::uint64_t> free_bytes;       ///< Free on the device.
  std::optional<std::uint64_t> total_bytes;      ///< Device total.
  /// Reserved minus allocated: cached blocks that a request did not fit into. A large share of
  /// the reserved bytes means fragmentation, which expandable segments avoid.
  std::optional<std::uint64_t> reserved_unallocated_bytes;
  std::vector<std::string> advice;  ///< What to try, most likely first (never empty).
};

/// Measures `device` (`memory_stats`) and returns the diagnosis for a failed request of
/// `requested_bytes`. Never fails: figures that cannot be read stay empty. The advice always
/// includes a smaller batch or sequence length; on a GPU it adds
/// `PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True` when at least 1/8 of the reserved bytes is
/// unallocated, and freeing other processes' memory when the device's free memory is below 1/16.
[[nodiscard]] AI_CORE_API OutOfMemoryDiagnosis diagnose_out_of_memory(
    c10::Device device, std::optional<std::uint64_t> requested_bytes = {}) noexcept;

/// Formats a diagnosis as the lines `with_allocator_view` adds: "allocator on cuda:0: 70.1 GiB
/// allocated, 76.0 GiB reserved (5.9 GiB reserved but unallocated), 0.2 GiB free of 79.1 GiB",
/// then "try: ..." per advice.
[[nodiscard]] AI_CORE_API std::vector<std::string> to_lines(const OutOfMemoryDiagnosis& diagnosis);

/// Returns `error` with the allocator's view of `device` and the advice, when `error` is an
/// `out_of_memory` error; any other error is returned unchanged. The view is added twice: as
/// typed fields of the error's `memory_info()` (`allocated_bytes`, `reserved_bytes`,
/// `total_bytes`, `device`, `advice`, and on a GPU `free_bytes` when the error had none (on the
/// CPU the machine's free RAM is not what an allocation failed against); inside the
/// `TorchInfo` or `CudaInfo` when the error carries one, else as its `MemoryInfo`), and as the
/// human context lines of `to_lines`. The requested bytes come from the error's `memory_info()`
/// when it has them. The message, location and earlier context lines are kept.
[[nodiscard]] AI_CORE_API CoreError with_allocator_view(CoreError error, c10::Device device);

/// Returns `error` with `diagnosis` added as `with_allocator_view(error, device)` adds the one it
/// measures (for a diagnosis made earlier, or figures from elsewhere); `requested_bytes` comes
/// from the diagnosis when the error has none.
[[nodiscard]] AI_CORE_API CoreError with_allocator_view(CoreError error,
                                                        const OutOfMemoryDiagnosis& diagnosis);

}  // namespace ai_core
