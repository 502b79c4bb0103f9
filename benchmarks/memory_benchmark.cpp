// SPDX-License-Identifier: MIT
// Costs of the memory and metrics modules, each next to the usual way of doing the same thing.
// Goals (docs/memory.md, docs/metrics.md): memory_stats <= 1 us on a GPU; try_reserve + release
// uncontended <= 20 ns, reported under 8 threads; log_metric to a JSON Lines file <= 1 us per
// record.
//   BM_MemoryStats_Cpu                 memory_stats(cpu): sysinfo + getrusage
//   BM_MemoryStats_CudaAllocator       memory_stats(cuda:0, query_driver=false) (GPU only)
//   BM_MemoryStats_CudaWithDriver      memory_stats(cuda:0), adds cudaMemGetInfo (GPU only)
//   BM_TorchGetDeviceStats             c10::cuda::CUDACachingAllocator::getDeviceStats (GPU only)
//   BM_MemoryTracker_ReserveRelease    try_reserve + release, 1 and 8 threads
//   BM_MutexTracker_ReserveRelease     the same budget behind a mutex, 1 and 8 threads
//   BM_LockedAddSub_Floor              a bare fetch_add + fetch_sub on one counter (the floor)
//   BM_MetricsLogger_LogMetric         one JSON Lines record, written through
//   BM_MetricsLogger_FormatOnly        the same record built, written nowhere
//   BM_Ofstream_MetricLine             the same line through std::ofstream, flushed
//   BM_Write_MetricLine                the same bytes through write(2) alone (the floor)
#include <ai_core/log.hpp>
#include <ai_core/memory.hpp>
#include <ai_core/metrics.hpp>

#include <benchmark/benchmark.h>
#if AI_CORE_WITH_CUDA
#  include <c10/cuda/CUDACachingAllocator.h>
#  include <c10/cuda/CUDAFunctions.h>
#endif

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>

namespace {

const c10::Device kCpu(c10::DeviceType::CPU);
const c10::Device kCuda(c10::DeviceType::CUDA, 0);

void BM_MemoryStats_Cpu(benchmark::State& state) {
  for (auto _ : state) {
    auto stats = ai_core::memory_stats(kCpu);
    benchmark::DoNotOptimize(stats);
  }
}
BENCHMARK(BM_MemoryStats_Cpu);

#if AI_CORE_WITH_CUDA
bool skip_without_gpu(benchmark::State& state) {
  if (c10::cuda::device_count() > 0) return false;
  state.SkipWithError("no CUDA device");
  return true;
}

void BM_MemoryStats_CudaAllocator(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  (void)ai_core::memory_stats(kCuda);  // initialises CUDA outside the timed loop
  for (auto _ : state) {
    auto stats = ai_core::memory_stats(kCuda, /*query_driver=*/false);
    benchmark::DoNotOptimize(stats);
  }
}
BENCHMARK(BM_MemoryStats_CudaAllocator);

void BM_MemoryStats_CudaWithDriver(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  (void)ai_core::memory_stats(kCuda);
  for (auto _ : state) {
    auto stats = ai_core::memory_stats(kCuda);
    benchmark::DoNotOptimize(stats);
  }
}
BENCHMARK(BM_MemoryStats_CudaWithDriver);

void BM_TorchGetDeviceStats(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  (void)ai_core::memory_stats(kCuda);
  for (auto _ : state) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(0);
    benchmark::DoNotOptimize(stats);
  }
}
BENCHMARK(BM_TorchGetDeviceStats);

#endif  // AI_CORE_WITH_CUDA

ai_core::MemoryTracker& shared_tracker() {
  static ai_core::MemoryTracker tracker(std::uint64_t{1} << 40);
  return tracker;
}

void BM_MemoryTracker_ReserveRelease(benchmark::State& state) {
  ai_core::MemoryTracker& tracker = shared_tracker();
  for (auto _ : state) {
    auto reservation = tracker.try_reserve(4096);
    benchmark::DoNotOptimize(reservation);
  }
}
BENCHMARK(BM_MemoryTracker_ReserveRelease)->Threads(1)->Threads(8)->UseRealTime();

// The floor of any exact shared budget: one locked add and one locked subtract on one counter,
// with no limit check and no peak.
void BM_LockedAddSub_Floor(benchmark::State& state) {
  static std::atomic<std::uint64_t> counter{0};
  for (auto _ : state) {
    benchmark::DoNotOptimize(counter.fetch_add(4096, std::memory_order_acquire));
    counter.fetch_sub(4096, std::memory_order_release);
  }
}
BENCHMARK(BM_LockedAddSub_Floor)->Threads(1)->UseRealTime();

// The bookkeeping a mutex gives: check and add under one lock.
struct MutexTracker {
  std::mutex mutex;
  std::uint64_t used = 0;
  std::uint64_t limit = std::uint64_t{1} << 40;
  bool reserve(std::uint64_t bytes) {
    std::lock_guard lock(mutex);
    if (used + bytes > limit) return false;
    used += bytes;
    return true;
  }
  void release(std::uint64_t bytes) {
    std::lock_guard lock(mutex);
    used -= bytes;
  }
};

void BM_MutexTracker_ReserveRelease(benchmark::State& state) {
  static MutexTracker tracker;
  for (auto _ : state) {
    bool ok = tracker.reserve(4096);
    benchmark::DoNotOptimize(ok);
    tracker.release(4096);
  }
}
BENCHMARK(BM_MutexTracker_ReserveRelease)->Threads(1)->Threads(8)->UseRealTime();

std::string scratch_path(const char* name) {
  return "/tmp/ai_core_memory_benchmark_" + std::to_string(::getpid()) + "_" + name;
}

void BM_MetricsLogger_LogMetric(benchmark::State& state) {
  const std::string path = scratch_path("metrics.jsonl");
  auto logger = ai_core::MetricsLogger::open_jsonl(
      path, {.human_level = ai_core::LogLevel::off, .truncate = true});
  if (!logger) {
    state.SkipWithError(logger.error().to_string().c_str());
    return;
  }
  std::uint64_t step = 0;
  for (auto _ : state) {
    auto result = logger->log_metric("train/loss", 1.2345678, ++step);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
  ::unlink(path.c_str());
}
BENCHMARK(BM_MetricsLogger_LogMetric);

// The same record built but written nowhere (no file, human lines off): the formatting's share.
void BM_MetricsLogger_FormatOnly(benchmark::State& state) {
  auto logger = ai_core::MetricsLogger::human_only({.human_level = ai_core::LogLevel::off});
  std::uint64_t step = 0;
  for (auto _ : state) {
    auto result = logger.log_metric("train/loss", 1.2345678, ++step);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MetricsLogger_FormatOnly);

void BM_Ofstream_MetricLine(benchmark::State& state) {
  const std::string path = scratch_path("ofstream.jsonl");
  std::ofstream out(path, std::ios::trunc);
  std::uint64_t step = 0;
  for (auto _ : state) {
    out << "{\"time\":" << 1732712345.123
        << ",\"kind\":\"metric\",\"name\":\"train/loss\",\"step\":" << ++step
        << ",\"value\":" << 1.2345678 << "}\n"
        << std::flush;
  }
  state.SetItemsProcessed(state.iterations());
  ::unlink(path.c_str());
}
BENCHMARK(BM_Ofstream_MetricLine);

// The floor of one write per record: the same bytes through write(2) alone, no formatting.
void BM_Write_MetricLine(benchmark::State& state) {
  const std::string path = scratch_path("write.jsonl");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    state.SkipWithError("cannot open the scratch file");
    return;
  }
  const std::string line =
      "{\"time\":1732712345.123456,\"kind\":\"metric\",\"name\":\"train/loss\",\"step\":123456,"
      "\"value\":1.2345678}\n";
  for (auto _ : state) {
    const ssize_t written = ::write(fd, line.data(), line.size());
    benchmark::DoNotOptimize(written);
  }
  state.SetItemsProcessed(state.iterations());
  ::close(fd);
  ::unlink(path.c_str());
}
BENCHMARK(BM_Write_MetricLine);

}  // namespace
BENCHMARK_MAIN();
