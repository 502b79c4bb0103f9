// SPDX-License-Identifier: MIT
// Tests for <ai_core/memory.hpp>: the estimators against hand computations and the QLoRA paper's
// figures, MemoryTracker (with 64 racing threads: label `concurrency`), memory_stats on the CPU
// and the errors of every entry point, and the out-of-memory diagnosis.
#include <ai_core/memory.hpp>
#include <ai_core/testing/matchers.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace ai_core {
namespace {

using ::testing::Contains;
using ::testing::Ge;
using testing::HasErrorCode;
using testing::HasMessage;
using ::testing::HasSubstr;
using testing::IsOk;
using testing::IsOkAndHolds;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

// --- estimate_tensor_bytes / estimate_attention_memory
// --------------------------------------------

TEST(MemoryEstimateTest, TensorBytes) {
  EXPECT_THAT(estimate_tensor_bytes({2, 3, 4}, c10::ScalarType::BFloat16), IsOkAndHolds(48u));
  EXPECT_THAT(estimate_tensor_bytes({4096, 4096}, c10::ScalarType::Float), IsOkAndHolds(67108864u));
  EXPECT_THAT(estimate_tensor_bytes({}, c10::ScalarType::Double), IsOkAndHolds(8u));
  EXPECT_THAT(estimate_tensor_bytes({7, 0, 3}, c10::ScalarType::Float), IsOkAndHolds(0u));
}

TEST(MemoryEstimateTest, TensorBytesErrors) {
  EXPECT_THAT(estimate_tensor_bytes({2, -1}, c10::ScalarType::Float),
              HasMessage("extent -1 at dimension 1 of shape [2, -1] is negative"));
  EXPECT_THAT(estimate_tensor_bytes({2}, c10::ScalarType::ComplexFloat),
              HasErrorCode(ErrorCode::invalid_config));
  // 2^62 * 4 bytes wraps to 0 in 64 bits: an error, never a wrapped number.
  EXPECT_THAT(estimate_tensor_bytes({std::int64_t{1} << 62}, c10::ScalarType::Float),
              HasErrorCode(ErrorCode::out_of_memory));
  EXPECT_THAT(estimate_tensor_bytes({kMax, kMax}, c10::ScalarType::Byte),
              HasMessage("does not fit in 64 bits"));
}

TEST(MemoryEstimateTest, AttentionCountsQkvOutputScoresAndProbabilities) {
  // b=2, h=8, s=128, d=64, bf16: 4*2*8*128*64 + 2*2*8*128*128 = 524288 + 524288 elements.
  EXPECT_THAT(estimate_attention_memory(2, 8, 128, 64, c10::ScalarType::BFloat16),
              IsOkAndHolds(2u * (524288u + 524288u)));
  // 1 x 1 x 1 x 1 in f32: 4 + 2 elements.
  EXPECT_THAT(estimate_attention_memory(1, 1, 1, 1, c10::ScalarType::Float), IsOkAndHolds(24u));
}

TEST(MemoryEstimateTest, AttentionErrors) {
  EXPECT_THAT(estimate_attention_memory(0, 8, 128, 64, c10::ScalarType::Half),
              HasMessage("batch is 0; expected >= 1"));
  EXPECT_THAT(estimate_attention_memory(1, 8, -5, 64, c10::ScalarType::Half),
              HasMessage("seq_len is -5"));
  EXPECT_THAT(estimate_attention_memory(1, 1, 1, 1, c10::ScalarType::QInt8),
              HasErrorCode(ErrorCode::invalid_config));
  EXPECT_THAT(estimate_attention_memory(1, 1, std::int64_t{1} << 32, 1, c10::ScalarType::Float),
              HasErrorCode(ErrorCode::out_of_memory));
}

TEST(MemoryEstimateTest, OptimizerNames) {
  EXPECT_THAT(parse_optimizer("AdamW"), IsOkAndHolds(OptimizerKind::adamw));
  EXPECT_THAT(parse_optimizer("paged_adamw_32bit"), IsOkAndHolds(OptimizerKind::adamw_32bit));
  EXPECT_THAT(parse_optimizer("paged_adamw_8bit"), IsOkAndHolds(OptimizerKind::adamw_8bit));
  EXPECT_THAT(parse_optimizer(" sgd "), IsOkAndHolds(OptimizerKind::sgd));
  EXPECT_THAT(parse_optimizer("lion"), HasMessage("unknown optimizer 'lion'; expected"));
  EXPECT_EQ(to_string(OptimizerKind::adamw_8bit), "adamw_8bit");
}

// --- estimate_qlora_memory
// ------------------------------------------------------------------------

// A model small enough to count by hand: 2 blocks, h=64, intermediate 128, 4 heads of 16, 2 KV
// heads (KV width 32), vocabulary 100, rank 4 on all linears, bf16, batch 2 x 8 tokens.
QloraMemoryConfig tiny() {
  QloraMemoryConfig c;
  c.num_layers = 2;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = 100;
  c.double_quantization = false;
  c.lora_rank = 4;
  c.batch_size = 2;
  c.sequence_length = 8;
  return c;
}

TEST(QloraEstimateTest, TinyModelMatchesHandCount) {
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate e, estimate_qlora_memory(tiny()));
  // Linears per block: q 4096, k 2048, v 2048, o 4096, gate/up/down 8192 each = 36864.
  EXPECT_EQ(e.quantized_parameters, 73728u);
  EXPECT_EQ(e.quantized_weights, 36864u);  // 4 bits each
  // One float32 absmax per 64 weights: 73728 / 64 * 4.
  EXPECT_EQ(e.quantization_constants, 4608u);
  // Embedding and head 100 x 64 bf16 each, five norms of 64 bf16.
  EXPECT_EQ(e.unquantized_weights, 12800u + 12800u + 640u);
  // r (in + out): 512 + 384 + 384 + 512 + 3 * 768 = 4096 per block.
  EXPECT_EQ(e.trainable_parameters, 8192u);
  EXPECT_EQ(e.adapters, 16384u);
  EXPECT_EQ(e.adapter_gradients, 16384u);
  EXPECT_EQ(e.optimizer_state, 65536u);  // two float32 moments
  // Per token and block: norms 2 (4*64 + 4) = 520, LoRA inputs 128 + 128 + 128 + 256, LoRA A
  // outputs 7 * 2 * 4 = 56, q/k/v 3 * 2 * 64 = 384, softmax (4 + 2) * 4 * 8 = 192, SwiGLU
  // 3 * 2 * 128 = 768: 2560 bytes; 16 tokens, 2 blocks, plus the final norm (4*64 + 4) * 16.
  EXPECT_EQ(e.activations,
            2560u * 16u * 2u);  // the final norm cancels the first block's first norm
  // max(loss 12 * 100 * 16 = 19200, block 2 * 8192 + 4 * 2 * 16 * 128 = 32768).
  EXPECT_EQ(e.transient, 32768u);
  EXPECT_EQ(e.static_bytes, 36864u + 4608u + 26240u + 16384u + 16384u + 65536u);
  EXPECT_EQ(e.peak_allocated, e.static_bytes - 16384u + e.activations + e.transient);
  EXPECT_EQ(e.allocator_overhead, 13216u);  // 5% of 264320
  EXPECT_EQ(e.peak_reserved, 264320u + 13216u);
}

TEST(QloraEstimateTest, DoubleQuantizationHandCount) {
  QloraMemoryConfig c = tiny();
  c.double_quantization = true;
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate e, estimate_qlora_memory(c));
  // Per linear: absmax count m = n / 64 bytes, 4 bytes per 256 of them, a 4-byte offset:
  // q 64+4+4, k 32+4+4, v 32+4+4, o 64+4+4, gate/up/down 128+4+4 each = 632 per block.
  EXPECT_EQ(e.quantization_constants, 1264u);
}

TEST(QloraEstimateTest, VariantsHandCount) {
  QloraMemoryConfig c = tiny();
  c.gradient_checkpointing = true;
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate ckpt, estimate_qlora_memory(c));
  // Block inputs 2 * (2 * 64 * 16), one block's set 40960, final norm 4160.
  EXPECT_EQ(ckpt.activations, 4096u + 40960u + 4160u);

  c = tiny();
  c.adapter_dtype = c10::ScalarType::Float;
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate f32, estimate_qlora_memory(c));
  EXPECT_EQ(f32.adapters, 8192u * 4u);
  // One float32 input copy per adapted module: 3*4*64 + 4*64 + 2*4*64 + 4*128, A outputs 7*4*4.
  EXPECT_EQ(f32.activations, (520u + 768u + 256u + 512u + 512u + 112u + 384u + 192u + 768u) * 32u);

  c = tiny();
  c.optimizer = OptimizerKind::adamw_8bit;
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate adam8, estimate_qlora_memory(c));
  // 2 bytes per parameter plus 8 bytes per 256 values per tensor: 8328 per block.
  EXPECT_EQ(adam8.optimizer_state, 16656u);

  c.optimizer = OptimizerKind::sgd;
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate sgd, estimate_qlora_memory(c));
  EXPECT_EQ(sgd.optimizer_state, 0u);

  // torch's AdamW keeps its moments in the parameters' dtype: 2 x 2 bytes for bf16 adapters.
  c.optimizer = OptimizerKind::adamw;
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate torch_adamw, estimate_qlora_memory(c));
  EXPECT_EQ(torch_adamw.optimizer_state, 8192u * 4u);

  c = tiny();
  c.lora_targets = lora_target::q_proj | lora_target::v_proj;
  c.tie_word_embeddings = true;
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate qv, estimate_qlora_memory(c));
  EXPECT_EQ(qv.trainable_parameters, 2u * (512u + 384u));
  EXPECT_EQ(qv.unquantized_weights, 12800u + 640u);
  // Only the q/k/v input group is kept; two A outputs.
  EXPECT_EQ(qv.activations, (520u + 128u + 2u * 2u * 4u + 384u + 192u + 768u) * 32u);
}

TEST(QloraEstimateTest, PaperBitsPerParameter) {
  // QLoRA (Dettmers et al. 2023, section 3): NF4 with block 64 costs 32/64 = 0.5 bits per
  // parameter of constants; double quantization 8/64 + 32/(64 * 256) = 0.127.
  QloraMemoryConfig c;  // Llama-2-7B
  c.double_quantization = false;
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate plain, estimate_qlora_memory(c));
  EXPECT_DOUBLE_EQ(8.0 * static_cast<double>(plain.quantization_constants) /
                       static_cast<double>(plain.quantized_parameters),
                   0.5);
  EXPECT_DOUBLE_EQ(8.0 * static_cast<double>(plain.quantized_weights) /
                       static_cast<double>(plain.quantized_parameters),
                   4.0);
  c.double_quantization = true;
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate dq, estimate_qlora_memory(c));
  EXPECT_NEAR(8.0 * static_cast<double>(dq.quantization_constants) /
                  static_cast<double>(dq.quantized_parameters),
              0.127, 0.0005);
  // 32 blocks of 4 * 4096^2 + 3 * 4096 * 11008 weights.
  EXPECT_EQ(dq.quantized_parameters, std::uint64_t{32} * (4 * 4096 * 4096 + 3 * 4096 * 11008));
}

TEST(QloraEstimateTest, PaperDoubleQuantizationSaving65B) {
  // The paper: double quantization saves 0.373 bits per parameter, "approximately 3 GB for a 65B
  // model". LLaMA-65B: 80 blocks, h 8192, intermediate 22016, 64 heads.
  QloraMemoryConfig c;
  c.num_layers = 80;
  c.hidden_size = 8192;
  c.intermediate_size = 22016;
  c.num_attention_heads = 64;
  c.num_key_value_heads = 64;
  c.double_quantization = false;
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate plain, estimate_qlora_memory(c));
  c.double_quantization = true;
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate dq, estimate_qlora_memory(c));
  const double saved =
      static_cast<double>(plain.quantization_constants - dq.quantization_constants);
  EXPECT_NEAR(saved / 1e9, 3.0, 0.1);
  EXPECT_NEAR(saved * 8.0 / static_cast<double>(dq.quantized_parameters), 0.373, 0.001);
}

TEST(QloraEstimateTest, ValidationNamesFieldValueAndExpectation) {
  const struct {
    void (*mutate)(QloraMemoryConfig&);
    const char* message;
  } cases[] = {
      {[](QloraMemoryConfig& c) { c.num_layers = 0; }, "num_layers is 0; expected >= 1"},
      {[](QloraMemoryConfig& c) { c.hidden_size = 100; }, "hidden_size 100 is not divisible"},
      {[](QloraMemoryConfig& c) { c.num_key_value_heads = 5; },
       "not divisible by num_key_value_heads 5"},
      {[](QloraMemoryConfig& c) { c.nf4_block_size = 48; },
       "nf4_block_size is 48; expected a power"},
      {[](QloraMemoryConfig& c) { c.double_quant_block_size = 3; }, "double_quant_block_size is 3"},
      {[](QloraMemoryConfig& c) { c.lora_targets = 0; }, "lora_targets is 0"},
      {[](QloraMemoryConfig& c) { c.lora_targets = 1u << 9; }, "lora_targets is 512"},
      {[](QloraMemoryConfig& c) { c.compute_dtype = c10::ScalarType::Int; },
       "compute_dtype is i32"},
      {[](QloraMemoryConfig& c) { c.optimizer = static_cast<OptimizerKind>(9); }, "optimizer is 9"},
      {[](QloraMemoryConfig& c) { c.allocator_overhead_fraction = -0.1; },
       "allocator_overhead_fraction is -0.1"},
      {[](QloraMemoryConfig& c) { c.sequence_length = -1; }, "sequence_length is -1"},
  };
  for (const auto& c : cases) {
    QloraMemoryConfig config;
    c.mutate(config);
    EXPECT_THAT(estimate_qlora_memory(config), HasErrorCode(ErrorCode::invalid_config))
        << c.message;
    EXPECT_THAT(config.validate(), HasMessage(c.message));
  }
  EXPECT_THAT(QloraMemoryConfig{}.validate(), IsOk());
}

TEST(QloraEstimateTest, OverflowIsAnError) {
  QloraMemoryConfig c;
  c.vocab_size = std::int64_t{1} << 40;
  c.batch_size = std::int64_t{1} << 20;
  c.sequence_length = std::int64_t{1} << 20;
  EXPECT_THAT(estimate_qlora_memory(c), HasErrorCode(ErrorCode::out_of_memory));
}

TEST(QloraEstimateTest, TableAndJson) {
  AI_CORE_ASSERT_OK_AND_ASSIGN(QloraMemoryEstimate e, estimate_qlora_memory(tiny()));
  const std::string table = to_string(e);
  EXPECT_THAT(table, HasSubstr("quantized_weights"));
  EXPECT_THAT(table, HasSubstr("36864"));
  EXPECT_THAT(table, HasSubstr("peak_reserved"));
  EXPECT_THAT(to_json(e),
              StartsWith("{\"quantized_weights\":36864,\"quantization_constants\":4608,"));
  EXPECT_THAT(to_json(e), HasSubstr("\"trainable_parameters\":8192"));
}

// --- MemoryTracker
// --------------------------------------------------------------------------------

TEST(MemoryTrackerTest, ReservesAndReleasesOnDestruction) {
  MemoryTracker tracker(1000);
  {
    AI_CORE_ASSERT_OK_AND_ASSIGN(MemoryReservation a, tracker.try_reserve(600));
    EXPECT_EQ(a.bytes(), 600u);
    EXPECT_EQ(tracker.current(), 600u);
    EXPECT_EQ(tracker.available(), 400u);
    AI_CORE_ASSERT_OK_AND_ASSIGN(MemoryReservation b, tracker.try_reserve(400));
    EXPECT_EQ(tracker.current(), 1000u);
  }
  EXPECT_EQ(tracker.current(), 0u);
  EXPECT_EQ(tracker.peak(), 1000u);
  tracker.reset_peak();
  EXPECT_EQ(tracker.peak(), 0u);
}

TEST(MemoryTrackerTest, OverTheLimitIsOutOfMemoryWithRequestedAndFree) {
  MemoryTracker tracker(1000);
  AI_CORE_ASSERT_OK_AND_ASSIGN(MemoryReservation a, tracker.try_reserve(700));
  auto failed = tracker.try_reserve(301);
  ASSERT_THAT(failed, HasErrorCode(ErrorCode::out_of_memory));
  EXPECT_THAT(failed, HasMessage("301 bytes requested, 300 of 1000 bytes free"));
  ASSERT_NE(failed.error().memory_info(), nullptr);
  EXPECT_EQ(failed.error().memory_info()->requested_bytes, 301u);
  EXPECT_EQ(failed.error().memory_info()->free_bytes, 300u);
  EXPECT_EQ(tracker.current(), 700u);  // a failed reservation takes nothing
  // A request larger than the whole limit, and one near 2^64, never wrap.
  EXPECT_THAT(tracker.try_reserve(std::numeric_limits<std::uint64_t>::max()),
              HasErrorCode(ErrorCode::out_of_memory));
  EXPECT_THAT(tracker.try_reserve(std::numeric_limits<std::uint64_t>::max() - 600),
              HasErrorCode(ErrorCode::out_of_memory));
}

TEST(MemoryTrackerTest, ZeroBytesAndMoves) {
  MemoryTracker tracker(10);
  AI_CORE_ASSERT_OK_AND_ASSIGN(MemoryReservation empty, tracker.try_reserve(0));
  EXPECT_EQ(empty.bytes(), 0u);
  AI_CORE_ASSERT_OK_AND_ASSIGN(MemoryReservation a, tracker.try_reserve(4));
  MemoryReservation b = std::move(a);
  EXPECT_EQ(a.bytes(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_EQ(b.bytes(), 4u);
  AI_CORE_ASSERT_OK_AND_ASSIGN(MemoryReservation c, tracker.try_reserve(6));
  b = std::move(c);  // gives b's 4 bytes back, takes c's 6
  EXPECT_EQ(tracker.current(), 6u);
  b.release();
  b.release();  // idempotent
  EXPECT_EQ(tracker.current(), 0u);
}

TEST(MemoryTrackerTest, SixtyFourRacingThreadsNeverExceedTheLimit) {
  constexpr int kThreads = 64;
  constexpr int kRounds = 300;
  constexpr std::uint64_t kLimit = 1000;
  MemoryTracker tracker(kLimit);
  std::atomic<int> over_limit{0};
  std::atomic<int> successes{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kRounds; ++i) {
        auto r = tracker.try_reserve(static_cast<std::uint64_t>(50 + (t * 7 + i) % 100));
        if (!r.has_value()) continue;
        successes.fetch_add(1, std::memory_order_relaxed);
        if (tracker.current() > kLimit) over_limit.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(over_limit.load(), 0);
  EXPECT_GT(successes.load(), 0);
  EXPECT_EQ(tracker.current(), 0u);
  EXPECT_LE(tracker.peak(), kLimit);
}

TEST(MemoryTrackerTest, ExactlyAsManyHoldersAsTheLimitAllows) {
  // 64 threads each hold one 100-byte reservation until all have tried: exactly 10 succeed.
  constexpr int kThreads = 64;
  MemoryTracker tracker(1000);
  std::atomic<int> held{0};
  std::latch tried(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto r = tracker.try_reserve(100);
      if (r.has_value()) held.fetch_add(1);
      tried.arrive_and_wait();  // keep the reservation until every thread has tried
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(held.load(), 10);
  EXPECT_EQ(tracker.peak(), 1000u);
  EXPECT_EQ(tracker.current(), 0u);
}

// --- memory_stats
// ---------------------------------------------------------------------------------

TEST(MemoryStatsTest, CpuHasMachineFiguresAndNoAllocator) {
  AI_CORE_ASSERT_OK_AND_ASSIGN(MemoryStats stats, memory_stats(c10::Device(c10::DeviceType::CPU)));
  EXPECT_TRUE(stats.device.is_cpu());
  EXPECT_FALSE(stats.allocator.has_value());
  ASSERT_TRUE(stats.total_bytes.has_value());
  ASSERT_TRUE(stats.free_bytes.has_value());
  EXPECT_GT(*stats.total_bytes, 0u);
  EXPECT_LE(*stats.free_bytes, *stats.total_bytes);
  ASSERT_TRUE(stats.process_peak_resident_bytes.has_value());
  EXPECT_GT(*stats.process_peak_resident_bytes, 0u);
  EXPECT_THAT(to_string(stats), StartsWith("cpu: "));
  EXPECT_THAT(to_string(stats), HasSubstr("free of"));
  EXPECT_THAT(reset_peak_memory_stats(c10::Device(c10::DeviceType::CPU)), IsOk());
}

TEST(MemoryStatsTest, Errors) {
  // No machine has 120 visible GPUs; without CUDA the answer is the same code.
  const c10::Device missing(c10::DeviceType::CUDA, 120);
  EXPECT_THAT(memory_stats(missing), HasErrorCode(ErrorCode::device_not_available));
  EXPECT_THAT(reset_peak_memory_stats(missing), HasErrorCode(ErrorCode::device_not_available));
  EXPECT_THAT(memory_stats(c10::Device(c10::DeviceType::MPS)),
              HasMessage("memory_stats for mps (supported: cpu and cuda devices)"));
  EXPECT_THAT(reset_peak_memory_stats(c10::Device(c10::DeviceType::Meta)),
              HasErrorCode(ErrorCode::not_implemented));
}

TEST(MemoryStatsTest, ToStringOfAllocatorFigures) {
  MemoryStats stats;
  stats.device = c10::Device(c10::DeviceType::CUDA, 0);
  AllocatorStats a;
  a.allocated = {std::uint64_t{3} << 30, std::uint64_t{5} << 30};
  a.reserved = {std::uint64_t{4} << 30, std::uint64_t{6} << 30};
  a.oom_count = 1;
  stats.allocator = a;
  stats.free_bytes = std::uint64_t{70} << 30;
  stats.total_bytes = std::uint64_t{80} << 30;
  EXPECT_EQ(to_string(stats),
            "cuda:0: 3.00 GiB allocated (peak 5.00 GiB), 4.00 GiB reserved (peak 6.00 GiB), 0 "
            "allocation retries, 1 OOMs, 70.00 GiB free of 80.00 GiB");
}

// --- out of memory
// --------------------------------------------------------------------------------

TEST(OutOfMemoryTest, DiagnosisAlwaysAdvisesAndMeasures) {
  const OutOfMemoryDiagnosis d = diagnose_out_of_memory(c10::Device(c10::DeviceType::CPU), 4096);
  EXPECT_EQ(d.requested_bytes, 4096u);
  EXPECT_TRUE(d.free_bytes.has_value());
  EXPECT_FALSE(d.allocated_bytes.has_value());
  ASSERT_THAT(d.advice, SizeIs(Ge(1u)));
  EXPECT_THAT(d.advice[0], HasSubstr("smaller batch"));
  const OutOfMemoryDiagnosis gpu = diagnose_out_of_memory(c10::Device(c10::DeviceType::CUDA, 120));
  EXPECT_THAT(gpu.advice, Contains(HasSubstr("gradient checkpointing")));
}

// A diagnosis with the caching allocator's figures, as a GPU gives them.
OutOfMemoryDiagnosis fragmented_gpu() {
  OutOfMemoryDiagnosis d;
  d.device = c10::Device(c10::DeviceType::CUDA, 1);
  d.requested_bytes = std::uint64_t{2} << 30;
  d.allocated_bytes = std::uint64_t{60} << 30;
  d.reserved_bytes = std::uint64_t{76} << 30;
  d.reserved_unallocated_bytes = std::uint64_t{16} << 30;
  d.free_bytes = std::uint64_t{1} << 30;
  d.total_bytes = std::uint64_t{80} << 30;
  d.advice = {"a smaller batch size", "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True"};
  return d;
}

TEST(OutOfMemoryTest, LinesShowAllocatedAgainstReservedAndExpandableSegments) {
  const OutOfMemoryDiagnosis d = fragmented_gpu();
  const auto lines = to_lines(d);
  ASSERT_THAT(lines, SizeIs(3u));
  EXPECT_EQ(lines[0],
            "allocator on cuda:1: 2.00 GiB requested, 60.00 GiB allocated, 76.00 GiB reserved "
            "(16.00 GiB reserved but unallocated), 1.00 GiB free of 80.00 GiB");
  EXPECT_EQ(lines[2], "try: PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True");
}

TEST(OutOfMemoryTest, WithAllocatorViewAddsContextToOutOfMemoryOnly) {
  CoreError oom = CoreError::out_of_memory("allocating the activations", 1 << 20, std::nullopt);
  const CoreError enriched = with_allocator_view(oom, c10::Device(c10::DeviceType::CPU));
  EXPECT_EQ(enriched.code(), ErrorCode::out_of_memory);
  EXPECT_EQ(enriched.message(), oom.message());
  ASSERT_THAT(enriched.context(), SizeIs(Ge(2u)));
  EXPECT_THAT(enriched.context()[0], StartsWith("allocator on cpu: 1.0 MiB requested,"));
  EXPECT_THAT(enriched.context()[1], StartsWith("try: a smaller batch size"));
  EXPECT_EQ(enriched.memory_info()->requested_bytes, std::uint64_t{1} << 20);

  const CoreError other = CoreError::invalid_config("bad rank");
  EXPECT_EQ(with_allocator_view(other, c10::Device(c10::DeviceType::CPU)), other);
}

TEST(OutOfMemoryTest, WithAllocatorViewFillsTypedFieldsOnTheCpu) {
  CoreError oom = CoreError::out_of_memory("allocating the activations", 1 << 20, std::nullopt);
  oom.with_context("in layer 3");
  const CoreError enriched = with_allocator_view(oom, c10::Device(c10::DeviceType::CPU));
  EXPECT_EQ(enriched.location().line(), oom.location().line());
  ASSERT_THAT(enriched.context(), SizeIs(Ge(3u)));
  EXPECT_EQ(enriched.context()[0], "in layer 3");  // earlier context first, then the view
  EXPECT_THAT(enriched.context()[1], StartsWith("allocator on cpu:"));
  const MemoryInfo* memory = enriched.memory_info();
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->requested_bytes, std::uint64_t{1} << 20);
  EXPECT_EQ(memory->device, c10::Device(c10::DeviceType::CPU));
  // The CPU has no caching allocator; the machine's total is known, and its free RAM (not what
  // a CPU allocation fails against) stays in the human line only.
  EXPECT_FALSE(memory->allocated_bytes.has_value());
  EXPECT_FALSE(memory->reserved_bytes.has_value());
  ASSERT_TRUE(memory->total_bytes.has_value());
  EXPECT_GT(*memory->total_bytes, 0u);
  EXPECT_FALSE(memory->free_bytes.has_value());
  EXPECT_THAT(enriched.context()[1], HasSubstr(" free of "));
  ASSERT_THAT(memory->advice, SizeIs(Ge(1u)));
  EXPECT_THAT(memory->advice[0], HasSubstr("smaller batch"));
  // The human lines and the typed advice say the same.
  EXPECT_EQ(enriched.context()[2], "try: " + memory->advice[0]);
}

TEST(OutOfMemoryTest, WithAllocatorViewCarriesAllocatedAndReservedBytes) {
  const OutOfMemoryDiagnosis d = fragmented_gpu();
  // The error's own free bytes (read when the allocation failed) win over the later measurement.
  const CoreError enriched =
      with_allocator_view(CoreError::out_of_memory("to_tensor", std::nullopt, 12345), d);
  const MemoryInfo* memory = enriched.memory_info();
  ASSERT_NE(memory, nullptr);
  const MemoryInfo expected{.requested_bytes = d.requested_bytes,
                            .free_bytes = 12345,
                            .allocated_bytes = d.allocated_bytes,
                            .reserved_bytes = d.reserved_bytes,
                            .total_bytes = d.total_bytes,
                            .device = d.device,
                            .advice = d.advice};
  EXPECT_EQ(*memory, expected);
  EXPECT_EQ(*memory->reserved_bytes - *memory->allocated_bytes, std::uint64_t{16} << 30);
  ASSERT_THAT(enriched.context(), SizeIs(3u));
  EXPECT_THAT(enriched.context()[0], HasSubstr("60.00 GiB allocated, 76.00 GiB reserved"));
  EXPECT_EQ(enriched.context()[2], "try: PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True");
  // The same view twice gives equal errors (operator== compares the typed fields).
  EXPECT_EQ(enriched,
            with_allocator_view(CoreError::out_of_memory("to_tensor", std::nullopt, 12345), d));
  EXPECT_NE(enriched,
            with_allocator_view(CoreError::out_of_memory("to_tensor", std::nullopt, 1), d));
}

TEST(OutOfMemoryTest, WithAllocatorViewFillsTorchAndCudaPayloadsInPlace) {
  const OutOfMemoryDiagnosis d = fragmented_gpu();
  const CoreError torch_oom = CoreError::from_code(
      ErrorCode::out_of_memory, "CUDA out of memory",
      TorchInfo{"c10::OutOfMemoryError", "CUDA out of memory", std::nullopt, std::nullopt});
  const CoreError from_torch = with_allocator_view(torch_oom, d);
  ASSERT_NE(from_torch.torch_info(), nullptr);  // the libtorch payload stays
  EXPECT_EQ(from_torch.torch_info()->kind, "c10::OutOfMemoryError");
  ASSERT_NE(from_torch.memory_info(), nullptr);
  EXPECT_EQ(from_torch.memory_info()->reserved_bytes, d.reserved_bytes);
  EXPECT_EQ(from_torch.memory_info()->requested_bytes, d.requested_bytes);
  EXPECT_EQ(from_torch.memory_info()->free_bytes, d.free_bytes);  // a GPU's, read after the failure

  const CoreError cuda_oom = CoreError::cuda(2, "cudaErrorMemoryAllocation", "cudaMalloc");
  EXPECT_EQ(cuda_oom.memory_info(), nullptr);
  const CoreError from_cuda = with_allocator_view(cuda_oom, d);
  ASSERT_NE(from_cuda.cuda_info(), nullptr);
  EXPECT_EQ(from_cuda.cuda_info()->name, "cudaErrorMemoryAllocation");
  ASSERT_NE(from_cuda.memory_info(), nullptr);
  EXPECT_EQ(from_cuda.memory_info()->allocated_bytes, d.allocated_bytes);
  EXPECT_EQ(from_cuda.memory_info()->advice, d.advice);

  const CoreError kernel = CoreError::cuda(700, "cudaErrorIllegalAddress", "scale");
  EXPECT_EQ(with_allocator_view(kernel, d), kernel);
}

}  // namespace
}  // namespace ai_core
