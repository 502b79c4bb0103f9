// SPDX-License-Identifier: MIT
// Tests of <ai_core/torch_error.hpp> with real libtorch errors: TORCH_CHECK failures from at:: ops,
// a real CPU allocation failure, the c10 subclasses (IndexError, LinAlgError, NotImplementedError
// from ops; the others through c10's own TORCH_CHECK_WITH), and capture() of every exception
// family it converts.
#include <ai_core/result_macros.hpp>
#include <ai_core/testing/matchers.hpp>
#include <ai_core/torch_error.hpp>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace ai_core {
namespace {

using ::ai_core::testing::HasErrorCode;
using ::ai_core::testing::HasMessage;
using ::ai_core::testing::IsOkAndHolds;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(TorchErrorTest, ConvertsARealTorchCheckFailure) {
  const Result<at::Tensor> r = capture([] {
    return at::matmul(at::ones({2, 3}), at::ones({2, 3}));
  });
  ASSERT_THAT(r, HasErrorCode(ErrorCode::torch));
  ASSERT_NE(r.error().torch_info(), nullptr);
  EXPECT_EQ(r.error().torch_info()->kind, "c10::Error");
  EXPECT_THAT(r.error().torch_info()->message,
              HasSubstr("mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)"));
  EXPECT_EQ(r.error().to_string(), "torch error: c10::Error: " + r.error().torch_info()->message);
  // No C++ backtrace in the message (what_without_backtrace).
  EXPECT_THAT(r.error().message(), Not(HasSubstr("frame #")));
}

TEST(TorchErrorTest, RecordsTheCaptureCallAsLocation) {
  const auto line = __LINE__ + 1;
  const auto r = capture([] { return at::ones({2}).view({3}); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().location().line(), static_cast<std::uint_least32_t>(line));
  EXPECT_THAT(r.error().location().file_name(), EndsWith("torch_error_test.cpp"));
}

TEST(TorchErrorTest, ConvertsARealCpuAllocationFailureToOutOfMemory) {
  // 2^50 bytes (1 PiB): more than any address space this test runs in will grant.
  constexpr std::int64_t kBytes = std::int64_t{1} << 50;
  const auto r = capture([] { return at::empty({kBytes}, at::kByte); });
  ASSERT_THAT(r, HasErrorCode(ErrorCode::out_of_memory));
  ASSERT_NE(r.error().memory_info(), nullptr);
  EXPECT_EQ(r.error().memory_info()->requested_bytes, static_cast<std::uint64_t>(kBytes));
  EXPECT_FALSE(r.error().memory_info()->free_bytes.has_value());
  // libtorch 2.11 reports it as a plain c10::Error (Note [CPU allocation failures]).
  EXPECT_EQ(r.error().torch_info()->kind, "c10::Error");
  EXPECT_THAT(r.error().message(), HasSubstr("DefaultCPUAllocator"));
}

TEST(TorchErrorTest, KeepsTheKindOfRealOpErrors) {
  struct Case {
    const char* name;
    Result<at::Tensor> result;
    const char* kind;
    const char* message;
  };
  const Case cases[] = {
      {"select out of range", capture([] { return at::ones({2}).select(0, 5); }), "c10::IndexError",
       "index 5 out of range"},
      {"index_select out of range",
       capture([] { return at::ones({2}).index_select(0, at::tensor({5}, at::kLong)); }),
       "c10::IndexError", "index out of range"},
      {"cholesky of a negative definite matrix",
       capture([] { return at::linalg_cholesky(-at::eye(2)); }), "c10::LinAlgError",
       "not positive-definite"},
      {"bool matmul", capture([] {
         return at::mm(at::ones({2, 2}, at::kBool), at::ones({2, 2}, at::kBool));
       }),
       "c10::NotImplementedError", "not implemented for 'Bool'"},
      {"bool subtraction",
       capture([] { return at::ones({2}, at::kBool) - at::ones({2}, at::kBool); }), "c10::Error",
       "with two bool tensors is not supported"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_THAT(c.result, HasErrorCode(ErrorCode::torch));
    EXPECT_EQ(c.result.error().torch_info()->kind, c.kind);
    EXPECT_THAT(c.result.error().torch_info()->message, HasSubstr(c.message));
    EXPECT_THAT(c.result, HasMessage(std::string(c.kind) + ": "));
  }
}

// c10's own check macros throw each subclass: real c10 exceptions, made the way libtorch makes
// them.
template <class F>
CoreError error_of(F f) {
  auto r = capture(f);
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? CoreError::kernel_error("no error") : std::move(r).error();
}

TEST(TorchErrorTest, KeepsEveryC10Kind) {
  EXPECT_EQ(error_of([] { TORCH_CHECK(false, "plain ", 1); }).torch_info()->kind, "c10::Error");
  EXPECT_EQ(error_of([] { TORCH_CHECK_INDEX(false, "i"); }).torch_info()->kind, "c10::IndexError");
  EXPECT_EQ(error_of([] { TORCH_CHECK_VALUE(false, "v"); }).torch_info()->kind, "c10::ValueError");
  EXPECT_EQ(error_of([] { TORCH_CHECK_TYPE(false, "t"); }).torch_info()->kind, "c10::TypeError");
  EXPECT_EQ(error_of([] { TORCH_CHECK_NOT_IMPLEMENTED(false, "n"); }).torch_info()->kind,
            "c10::NotImplementedError");
  EXPECT_EQ(error_of([] { TORCH_CHECK_LINALG(false, "l"); }).torch_info()->kind,
            "c10::LinAlgError");
  EXPECT_EQ(error_of([] { TORCH_CHECK_WITH(BufferError, false, "b"); }).torch_info()->kind,
            "c10::BufferError");
  EXPECT_EQ(error_of([] { TORCH_CHECK_WITH(SyntaxError, false, "s"); }).torch_info()->kind,
            "c10::SyntaxError");
  EXPECT_EQ(error_of([] { TORCH_CHECK_WITH(DistBackendError, false, "d"); }).torch_info()->kind,
            "c10::DistBackendError");
  EXPECT_EQ(error_of([] { TORCH_CHECK_WITH(DistQueueEmptyError, false, "q"); }).torch_info()->kind,
            "c10::DistQueueEmptyError");
  EXPECT_EQ(error_of([] { TORCH_CHECK_WITH(DistNetworkError, false, "n"); }).torch_info()->kind,
            "c10::DistNetworkError");
  EXPECT_EQ(error_of([] { TORCH_CHECK_WITH(EnforceFiniteError, false, "f"); }).torch_info()->kind,
            "c10::EnforceFiniteError");
  for (const auto& e : {error_of([] { TORCH_CHECK_VALUE(false, "bad value ", 3); }),
                        error_of([] { TORCH_INTERNAL_ASSERT(false, "invariant"); })}) {
    EXPECT_EQ(e.code(), ErrorCode::torch);
  }
  EXPECT_THAT(error_of([] { TORCH_CHECK_VALUE(false, "bad value ", 3); }).to_string(),
              EndsWith("c10::ValueError: bad value 3"));
}

TEST(TorchErrorTest, ConvertsOutOfMemoryErrorsAndAcceleratorErrors) {
  const CoreError oom = error_of([] {
    TORCH_CHECK_WITH(OutOfMemoryError, false, "CUDA out of memory. Tried to allocate 2.00 GiB.");
  });
  EXPECT_EQ(oom.code(), ErrorCode::out_of_memory);
  EXPECT_EQ(oom.torch_info()->kind, "c10::OutOfMemoryError");
  EXPECT_EQ(oom.memory_info(), nullptr);  // "2.00 GiB" is not an exact byte count

  const CoreError accelerator = error_of([] {
    throw c10::AcceleratorError(c10::SourceLocation{__func__, __FILE__, __LINE__}, 700,
                                "CUDA error: an illegal memory access was encountered");
  });
  EXPECT_EQ(accelerator.code(), ErrorCode::torch);
  EXPECT_EQ(accelerator.torch_info()->kind, "c10::AcceleratorError");
  EXPECT_EQ(accelerator.torch_info()->accelerator_error, 700);
}

TEST(TorchErrorTest, ClassifiesAllocationFailuresByKindAndMessage) {
  // c10::OutOfMemoryError becomes out_of_memory; exact byte counts are read from the message.
  const auto oom = from_c10_error("c10::OutOfMemoryError",
                                  "DefaultCPUAllocator: not enough memory: you tried to allocate "
                                  "1125899906842624 bytes.\n");
  EXPECT_EQ(oom.code(), ErrorCode::out_of_memory);
  ASSERT_NE(oom.memory_info(), nullptr);
  EXPECT_EQ(oom.memory_info()->requested_bytes, std::uint64_t{1} << 50);
  EXPECT_EQ(oom.torch_info()->kind, "c10::OutOfMemoryError");
  EXPECT_EQ(oom.to_string(),
            "out of memory: c10::OutOfMemoryError: DefaultCPUAllocator: not enough memory: you "
            "tried to allocate 1125899906842624 bytes.");
  // The CPU allocator's plain c10::Error is recognized by its message.
  const auto cpu = from_c10_error(
      "c10::Error", "DefaultCPUAllocator: can't allocate memory: you tried to allocate 64 bytes.");
  EXPECT_EQ(cpu.code(), ErrorCode::out_of_memory);
  EXPECT_EQ(cpu.memory_info()->requested_bytes, 64u);
  // The CUDA caching allocator's rounded "20.00 GiB" is not an exact byte count: not reported.
  const auto rounded =
      from_c10_error("c10::OutOfMemoryError", "CUDA out of memory. Tried to allocate 20.00 GiB.");
  EXPECT_EQ(rounded.code(), ErrorCode::out_of_memory);
  EXPECT_EQ(rounded.memory_info(), nullptr);
  // Anything else stays a torch error.
  const auto index = from_c10_error("c10::IndexError", "index 5 is out of bounds");
  EXPECT_EQ(index.code(), ErrorCode::torch);
  EXPECT_EQ(index.memory_info(), nullptr);
  EXPECT_EQ(from_c10_error("c10::AcceleratorError", "x", 700).torch_info()->accelerator_error, 700);
}

TEST(TorchErrorTest, FromC10ErrorWorksOnACaughtError) {
  try {
    (void)at::ones({2}).reshape({5});
    FAIL() << "reshape did not throw";
  } catch (const c10::Error& e) {
    EXPECT_STREQ(c10_error_kind(e), "c10::Error");
    const CoreError error = from_c10_error(e);
    EXPECT_EQ(error.code(), ErrorCode::torch);
    EXPECT_THAT(error.message(), HasSubstr("shape '[5]' is invalid for input of size 2"));
  }
}

// --- capture of the other exception families -----------------------------------------------------

TEST(CaptureTest, PassesValuesAndResultsThrough) {
  EXPECT_THAT(capture([] { return 3; }), IsOkAndHolds(3));
  static_assert(std::is_same_v<decltype(capture([] { return 3; })), Result<int>>);
  static_assert(std::is_same_v<decltype(capture([] {})), Result<void>>);
  static_assert(std::is_same_v<decltype(capture([]() -> Result<int> { return 1; })), Result<int>>);
  int target = 0;
  static_assert(std::is_same_v<decltype(capture([&]() -> int& { return target; })), Result<int>>);
  int calls = 0;
  EXPECT_TRUE(capture([&] { ++calls; }));
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(capture([]() -> Result<int> { return CoreError::kernel_error("inner"); }),
              HasMessage("kernel error: inner"));
  at::Tensor t = at::zeros({2});
  EXPECT_TRUE(capture([&]() -> at::Tensor& { return t.add_(1); }));
  EXPECT_EQ(t.sum().item<float>(), 2.0f);
}

TEST(CaptureTest, ConvertsAiCoreExceptionsBack) {
  const CoreError original = CoreError::shape_mismatch({2}, {3}).with_context("ctx");
  const auto r = capture([&] { throw Exception(original); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), original);
  // Round trip through value(): Result -> Exception -> Result.
  const auto again = capture([&] { return Result<int>(original).value(); });
  EXPECT_EQ(again.error(), original);
}

TEST(CaptureTest, ConvertsStdExceptions) {
  const auto bad_alloc = capture([] { throw std::bad_alloc(); });
  EXPECT_THAT(bad_alloc, HasErrorCode(ErrorCode::out_of_memory));
  EXPECT_THAT(bad_alloc, HasMessage("std::bad_alloc"));

  // A real std::bad_alloc from operator new. Not under AddressSanitizer: its operator new reports
  // the failed 2^60-byte request and aborts instead of throwing (g++ 12 libsanitizer;
  // allocator_may_return_null only makes malloc return null), which is the ASan stage of
  // scripts/reliability.sh, not a bug here.
#if !defined(__SANITIZE_ADDRESS__)
  const auto huge = capture([] {
    std::vector<char> v;
    v.reserve(std::size_t{1} << 60);
    return v.size();
  });
  EXPECT_THAT(huge, HasErrorCode(ErrorCode::out_of_memory));
#endif

  // A real std::system_error (std::filesystem::filesystem_error).
  const auto fs = capture([] { return std::filesystem::file_size("/nonexistent-ai-core/x"); });
  ASSERT_THAT(fs, HasErrorCode(ErrorCode::io));
  EXPECT_EQ(fs.error().io_info()->error, std::errc::no_such_file_or_directory);

  // A logic_error reports an argument out of range: invalid_config, not torch's.
  const auto out_of_range = capture([] { throw std::out_of_range("slot 9 of 4"); });
  ASSERT_THAT(out_of_range, HasErrorCode(ErrorCode::invalid_config));
  EXPECT_EQ(out_of_range.error().torch_info(), nullptr);
  EXPECT_EQ(out_of_range.error().to_string(), "invalid config: std::out_of_range: slot 9 of 4");
  EXPECT_THAT(capture([] { return std::stoi("rank"); }),
              HasErrorCode(ErrorCode::invalid_config));  // std::invalid_argument

  // Any other std::exception is `unknown`, with its type name: not filed under torch.
  const auto runtime = capture([] { throw std::runtime_error("boom"); });
  ASSERT_THAT(runtime, HasErrorCode(ErrorCode::unknown));
  EXPECT_EQ(runtime.error().torch_info(), nullptr);
  EXPECT_EQ(runtime.error().to_string(), "unknown error: std::runtime_error: boom");
  struct LibraryError : std::exception {
    const char* what() const noexcept override { return "library failed"; }
  };
  const auto library = capture([]() -> int { throw LibraryError(); });
  ASSERT_THAT(library, HasErrorCode(ErrorCode::unknown));
  EXPECT_THAT(library, HasMessage("LibraryError: library failed"));
}

TEST(CaptureTest, ConvertsExceptionsNotDerivedFromStdException) {
  const auto thrown_int = capture([]() -> int { throw 42; });
  ASSERT_THAT(thrown_int, HasErrorCode(ErrorCode::unknown));
  EXPECT_THAT(thrown_int, HasMessage("not derived from std::exception"));
  EXPECT_EQ(thrown_int.error().torch_info(), nullptr);
  struct NotAnException {};
  EXPECT_THAT(capture([] { throw NotAnException(); }), HasErrorCode(ErrorCode::unknown));
}

TEST(CaptureTest, WorksWithTheMacros) {
  auto sum_of = [](const at::Tensor& a, const at::Tensor& b) -> Result<double> {
    AI_CORE_ASSIGN_OR_RETURN(at::Tensor c, capture([&] { return a + b; }), "adding a and b");
    return c.sum().item<double>();
  };
  EXPECT_THAT(sum_of(at::ones({2}), at::ones({2})), IsOkAndHolds(4.0));
  const auto failed = sum_of(at::ones({2}), at::ones({3}));
  ASSERT_THAT(failed, HasErrorCode(ErrorCode::torch));
  EXPECT_THAT(failed.error().context(), ElementsAre("adding a and b"));
  EXPECT_THAT(failed, HasMessage("must match the size of tensor b (3)"));
}

}  // namespace
}  // namespace ai_core
