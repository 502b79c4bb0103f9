// SPDX-License-Identifier: MIT
// The cost of ai_core's error layer (docs/benchmarks.md, "Error layer").
//   - Success path: a function returning Result<int> against one returning a plain int, alone,
//     through 5 frames (AI_CORE_ASSIGN_OR_RETURN against a sentinel check), and for a function
//     with a typical validation body (a shape's element count). Goal: within 5%.
//   - Error path: a shape-mismatch error returned through 1, 5 and 20 frames with
//     AI_CORE_ASSIGN_OR_RETURN, against throwing and catching an exception that carries the same
//     payload (the same CoreError) through as many frames. Goal: >= 10x cheaper.
// Every frame is a separate [[gnu::noipa]] function (no inlining, no interprocedural constant
// propagation), so the compiler cannot fold frames together.
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace {

// The minimum over repetitions, next to the median: on a shared machine other processes only ever
// add time, so the minimum is the steadier estimate of a few-nanosecond cost.
double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

using ai_core::CoreError;
using ai_core::Result;

// --- success path --------------------------------------------------------------------------------

[[gnu::noipa]] int plain_next(int x) {
  if (x < 0) [[unlikely]]
    return -1;  // the sentinel a plain-int API would use
  return x + 1;
}

[[gnu::noipa]] Result<int> result_next(int x) {
  if (x < 0) [[unlikely]]
    return CoreError::invalid_config(ai_core::str_cat("x is ", x));
  return x + 1;
}

template <int N>
[[gnu::noipa]] int plain_chain(int x) {
  if constexpr (N == 1) {
    return plain_next(x);
  } else {
    const int v = plain_chain<N - 1>(x);
    if (v < 0) [[unlikely]]
      return v;
    return v + 1;
  }
}

template <int N>
[[gnu::noipa]] Result<int> result_chain(int x) {
  if constexpr (N == 1) {
    return result_next(x);
  } else {
    AI_CORE_ASSIGN_OR_RETURN(const int v, result_chain<N - 1>(x));
    return v + 1;
  }
}

void BM_Success_PlainInt(benchmark::State& state) {
  int x = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(x);
    int v = plain_next(x);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_Success_PlainInt)->ComputeStatistics("min", min_of);

void BM_Success_ResultInt(benchmark::State& state) {
  int x = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(x);
    Result<int> r = result_next(x);
    int v = *r;
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_Success_ResultInt)->ComputeStatistics("min", min_of);

void BM_Success5Frames_PlainInt(benchmark::State& state) {
  int x = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(x);
    int v = plain_chain<5>(x);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_Success5Frames_PlainInt)->ComputeStatistics("min", min_of);

void BM_Success5Frames_ResultInt(benchmark::State& state) {
  int x = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(x);
    Result<int> r = result_chain<5>(x);
    int v = *r;
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_Success5Frames_ResultInt)->ComputeStatistics("min", min_of);

// A function with a body typical of the library's validation code: the element count of a
// shape, rejecting negative sizes and overflow.
[[gnu::noipa]] std::int64_t plain_numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) [[unlikely]]
      return -1;
  }
  return n;
}

// The library's idiom: AI_CORE_CHECK, which builds the error out of line (Note [cold error paths]).
[[gnu::noipa]] Result<std::int64_t> result_numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) {
    AI_CORE_CHECK(d >= 0, ai_core::ErrorCode::invalid_config, "negative size ", d, " in ", shape);
    AI_CORE_CHECK(!__builtin_mul_overflow(n, d, &n), ai_core::ErrorCode::invalid_config,
                  "element count of ", shape, " overflows");
  }
  return n;
}

// The same checks with the error built inline in the checking function: the prologue saves
// registers on the success path too.
[[gnu::noipa]] Result<std::int64_t> result_numel_inline_error(
    const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 0) [[unlikely]] {
      return CoreError::invalid_config(ai_core::str_cat("negative size ", d, " in ", shape));
    }
    if (__builtin_mul_overflow(n, d, &n)) [[unlikely]] {
      return CoreError::invalid_config(ai_core::str_cat("element count of ", shape, " overflows"));
    }
  }
  return n;
}

void BM_SuccessNumel_PlainInt(benchmark::State& state) {
  const std::vector<std::int64_t> shape{8, 128, 64, 4};
  for (auto _ : state) {
    benchmark::DoNotOptimize(shape.data());
    std::int64_t v = plain_numel(shape);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_SuccessNumel_PlainInt)->ComputeStatistics("min", min_of);

void BM_SuccessNumel_ResultInt(benchmark::State& state) {
  const std::vector<std::int64_t> shape{8, 128, 64, 4};
  for (auto _ : state) {
    benchmark::DoNotOptimize(shape.data());
    Result<std::int64_t> r = result_numel(shape);
    std::int64_t v = *r;
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_SuccessNumel_ResultInt)->ComputeStatistics("min", min_of);

void BM_SuccessNumel_ResultIntInlineError(benchmark::State& state) {
  const std::vector<std::int64_t> shape{8, 128, 64, 4};
  for (auto _ : state) {
    benchmark::DoNotOptimize(shape.data());
    Result<std::int64_t> r = result_numel_inline_error(shape);
    std::int64_t v = *r;
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_SuccessNumel_ResultIntInlineError)->ComputeStatistics("min", min_of);

// --- error path ----------------------------------------------------------------------------------

// The exception carries exactly the payload the Result carries: a CoreError.
struct ErrorException : std::exception {
  explicit ErrorException(CoreError e) : error(std::move(e)) {}
  const char* what() const noexcept override { return "shape mismatch"; }
  CoreError error;
};

[[gnu::noipa]] CoreError make_shape_error(int x) {
  return CoreError::shape_mismatch({2, 3}, {3, x}, "tensor 'weight'");
}

template <int N>
[[gnu::noipa]] Result<int> fail_with_result(int x) {
  if constexpr (N == 1) {
    return make_shape_error(x);
  } else {
    AI_CORE_ASSIGN_OR_RETURN(const int v, fail_with_result<N - 1>(x));
    return v + 1;
  }
}

template <int N>
[[gnu::noipa]] int fail_with_exception(int x) {
  if constexpr (N == 1) {
    throw ErrorException(make_shape_error(x));
  } else {
    return fail_with_exception<N - 1>(x) + 1;
  }
}

template <int N>
void BM_ErrorPath_Result(benchmark::State& state) {
  int x = 2;
  for (auto _ : state) {
    benchmark::DoNotOptimize(x);
    Result<int> r = fail_with_result<N>(x);
    benchmark::DoNotOptimize(r.error().shape_info());
  }
  state.SetLabel(std::to_string(N) + " frames");
}
BENCHMARK_TEMPLATE(BM_ErrorPath_Result, 1)->ComputeStatistics("min", min_of);
BENCHMARK_TEMPLATE(BM_ErrorPath_Result, 5)->ComputeStatistics("min", min_of);
BENCHMARK_TEMPLATE(BM_ErrorPath_Result, 20)->ComputeStatistics("min", min_of);

template <int N>
void BM_ErrorPath_Exception(benchmark::State& state) {
  int x = 2;
  for (auto _ : state) {
    benchmark::DoNotOptimize(x);
    try {
      int v = fail_with_exception<N>(x);
      benchmark::DoNotOptimize(v);
    } catch (const ErrorException& e) {
      benchmark::DoNotOptimize(e.error.shape_info());
    }
  }
  state.SetLabel(std::to_string(N) + " frames");
}
BENCHMARK_TEMPLATE(BM_ErrorPath_Exception, 1)->ComputeStatistics("min", min_of);
BENCHMARK_TEMPLATE(BM_ErrorPath_Exception, 5)->ComputeStatistics("min", min_of);
BENCHMARK_TEMPLATE(BM_ErrorPath_Exception, 20)->ComputeStatistics("min", min_of);

// The cost of making the error alone (the part both error paths share).
void BM_ErrorPath_MakeErrorOnly(benchmark::State& state) {
  int x = 2;
  for (auto _ : state) {
    benchmark::DoNotOptimize(x);
    CoreError e = make_shape_error(x);
    benchmark::DoNotOptimize(e.shape_info());
  }
}
BENCHMARK(BM_ErrorPath_MakeErrorOnly)->ComputeStatistics("min", min_of);

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("sizeof(ai_core::CoreError)", std::to_string(sizeof(CoreError)));
  benchmark::AddCustomContext("sizeof(ai_core::Result<int>)", std::to_string(sizeof(Result<int>)));
  benchmark::AddCustomContext("sizeof(ai_core::Result<void>)",
                              std::to_string(sizeof(Result<void>)));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
