// SPDX-License-Identifier: MIT
// Tests of <ai_core/error.hpp>: every code and its stable number, every factory with its payload
// and message, printing, the context chain, copies and moves, std::error_code integration, real
// errno and std::system_error values, ai_core::Exception, str_cat, and the opt-in fmt formatter.
#define FMT_HEADER_ONLY  // torch's fmt headers, header-only: fmt.hpp works with the consumer's fmt.
#include <fmt/format.h>

#include <ai_core/error.hpp>
#include <ai_core/fmt.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/testing/matchers.hpp>

#include <c10/core/ScalarType.h>
#include <c10/util/ArrayRef.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace ai_core {
namespace {

using ::ai_core::testing::HasErrorCode;
using ::ai_core::testing::HasMessage;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// --- ErrorCode -----------------------------------------------------------------------------------

struct CodeCase {
  ErrorCode code;
  std::int32_t number;
  std::string_view name;
};

// The numbers are part of the API (docs/errors.md): they never change.
constexpr CodeCase kCodes[] = {
    {ErrorCode::invalid_config, 1, "invalid config"},
    {ErrorCode::shape_mismatch, 2, "shape mismatch"},
    {ErrorCode::dimension_mismatch, 3, "dimension mismatch"},
    {ErrorCode::device_not_available, 4, "device not available"},
    {ErrorCode::device_mismatch, 5, "device mismatch"},
    {ErrorCode::out_of_memory, 6, "out of memory"},
    {ErrorCode::kernel_error, 7, "kernel error"},
    {ErrorCode::not_implemented, 8, "not implemented"},
    {ErrorCode::io, 9, "io error"},
    {ErrorCode::torch, 10, "torch error"},
    {ErrorCode::communication, 11, "communication error"},
    {ErrorCode::unknown, 12, "unknown error"},
};

TEST(ErrorCodeTest, HasStableNumbersAndNames) {
  for (const auto& c : kCodes) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(static_cast<std::int32_t>(c.code), c.number);
    EXPECT_EQ(to_string(c.code), c.name);
    std::ostringstream os;
    os << c.code;
    EXPECT_EQ(os.str(), c.name);
  }
}

TEST(ErrorCodeTest, NamesAnUnknownValueWithoutFailing) {
  // Codes are appended over time: a value from a newer ai_core must still print.
  EXPECT_EQ(to_string(static_cast<ErrorCode>(99)), "unrecognized error code");
  EXPECT_EQ(to_string(static_cast<ErrorCode>(0)), "unrecognized error code");
}

TEST(ErrorCodeTest, ConvertsToStdErrorCode) {
  static_assert(std::is_error_code_enum_v<ErrorCode>);
  for (const auto& c : kCodes) {
    SCOPED_TRACE(c.name);
    const std::error_code ec = c.code;  // implicit, through make_error_code (ADL)
    EXPECT_EQ(ec.value(), c.number);
    EXPECT_EQ(&ec.category(), &error_category());
    EXPECT_EQ(ec.message(), c.name);
    EXPECT_TRUE(ec == c.code);
    EXPECT_EQ(make_error_code(c.code), ec);
  }
  EXPECT_STREQ(error_category().name(), "ai_core");
  EXPECT_NE(std::error_code(ErrorCode::io), std::error_code(ErrorCode::torch));
  // Same number, other category: not equal.
  EXPECT_NE(std::error_code(ErrorCode::io), std::error_code(9, std::generic_category()));
}

TEST(ErrorCodeTest, MapsToPortableConditions) {
  EXPECT_EQ(std::error_code(ErrorCode::out_of_memory), std::errc::not_enough_memory);
  EXPECT_EQ(std::error_code(ErrorCode::invalid_config), std::errc::invalid_argument);
  EXPECT_EQ(std::error_code(ErrorCode::not_implemented), std::errc::function_not_supported);
  EXPECT_NE(std::error_code(ErrorCode::shape_mismatch), std::errc::invalid_argument);
  EXPECT_NE(std::error_code(ErrorCode::io), std::errc::io_error);
}

// --- factories and payloads ----------------------------------------------------------------------

TEST(CoreErrorTest, InvalidConfig) {
  const auto e = CoreError::invalid_config("AI_CORE_DEVICE='gpu9': expected cpu, cuda or cuda:N");
  EXPECT_EQ(e.code(), ErrorCode::invalid_config);
  EXPECT_EQ(e.message(), "AI_CORE_DEVICE='gpu9': expected cpu, cuda or cuda:N");
  EXPECT_EQ(e.to_string(), "invalid config: AI_CORE_DEVICE='gpu9': expected cpu, cuda or cuda:N");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(e.payload()));
  EXPECT_EQ(e.shape_info(), nullptr);
  EXPECT_EQ(e.memory_info(), nullptr);
  EXPECT_THAT(e.context(), IsEmpty());
}

TEST(CoreErrorTest, ShapeMismatchNamesBothShapes) {
  const auto e = CoreError::shape_mismatch({2, 3}, {3, 2});
  EXPECT_EQ(e.code(), ErrorCode::shape_mismatch);
  EXPECT_EQ(e.to_string(), "shape mismatch: expected [2, 3], got [3, 2]");
  ASSERT_NE(e.shape_info(), nullptr);
  EXPECT_THAT(e.shape_info()->expected, ElementsAre(2, 3));
  EXPECT_THAT(e.shape_info()->actual, ElementsAre(3, 2));
  EXPECT_EQ(e.device_info(), nullptr);

  const auto with_detail = CoreError::shape_mismatch({4}, {}, "tensor 'bias'");
  EXPECT_EQ(with_detail.to_string(), "shape mismatch: expected [4], got [] (tensor 'bias')");
  EXPECT_THAT(with_detail.shape_info()->actual, IsEmpty());
}

TEST(CoreErrorTest, DimMismatch) {
  const auto e = CoreError::dimension_mismatch("expected a 2-d weight, got 3 dimensions");
  EXPECT_EQ(e.code(), ErrorCode::dimension_mismatch);
  EXPECT_EQ(e.to_string(), "dimension mismatch: expected a 2-d weight, got 3 dimensions");
}

TEST(CoreErrorTest, DeviceNotAvailableCarriesTheDevice) {
  const auto e = CoreError::device_not_available(c10::Device(c10::kCUDA, 3), "2 CUDA devices");
  EXPECT_EQ(e.code(), ErrorCode::device_not_available);
  EXPECT_EQ(e.to_string(), "device not available: cuda:3 (2 CUDA devices)");
  ASSERT_NE(e.device_info(), nullptr);
  EXPECT_EQ(e.device_info()->device, c10::Device(c10::kCUDA, 3));
  EXPECT_FALSE(e.device_info()->expected.has_value());

  const auto described = CoreError::device_not_available("no CUDA device present");
  EXPECT_EQ(described.code(), ErrorCode::device_not_available);
  EXPECT_EQ(described.to_string(), "device not available: no CUDA device present");
  EXPECT_EQ(described.device_info(), nullptr);
}

TEST(CoreErrorTest, DeviceMismatchCarriesBothDevices) {
  const auto e =
      CoreError::device_mismatch(c10::Device("cuda:0"), c10::Device("cpu"), "tensor 'input'");
  EXPECT_EQ(e.code(), ErrorCode::device_mismatch);
  EXPECT_EQ(e.to_string(), "device mismatch: expected cuda:0, got cpu (tensor 'input')");
  ASSERT_NE(e.device_info(), nullptr);
  EXPECT_EQ(e.device_info()->device, c10::Device("cpu"));
  EXPECT_EQ(e.device_info()->expected, c10::Device("cuda:0"));
}

TEST(CoreErrorTest, OomCarriesTheBytesWhenKnown) {
  const auto both = CoreError::out_of_memory("allocating the KV cache", 1u << 30, 512u << 20);
  EXPECT_EQ(both.code(), ErrorCode::out_of_memory);
  EXPECT_EQ(both.to_string(),
            "out of memory: allocating the KV cache (requested 1073741824 bytes, 536870912 bytes "
            "free)");
  ASSERT_NE(both.memory_info(), nullptr);
  EXPECT_EQ(both.memory_info()->requested_bytes, 1u << 30);
  EXPECT_EQ(both.memory_info()->free_bytes, 512u << 20);

  const auto requested = CoreError::out_of_memory("pinned buffer", 4096);
  EXPECT_EQ(requested.message(), "pinned buffer (requested 4096 bytes)");
  EXPECT_FALSE(requested.memory_info()->free_bytes.has_value());

  const auto free_only = CoreError::out_of_memory("arena", std::nullopt, 7);
  EXPECT_EQ(free_only.message(), "arena (7 bytes free)");

  const auto unknown = CoreError::out_of_memory("host allocation failed");
  EXPECT_EQ(unknown.to_string(), "out of memory: host allocation failed");
  ASSERT_NE(unknown.memory_info(), nullptr);
  EXPECT_FALSE(unknown.memory_info()->requested_bytes.has_value());
}

TEST(CoreErrorTest, OomAllocatorViewFieldsStartEmptyAndTakePartInEquality) {
  const auto oom = CoreError::out_of_memory("activations", 4096, 8192);
  const MemoryInfo* memory = oom.memory_info();
  ASSERT_NE(memory, nullptr);
  // Filled by with_allocator_view (<ai_core/memory.hpp>), not by the factory.
  EXPECT_FALSE(memory->allocated_bytes.has_value());
  EXPECT_FALSE(memory->reserved_bytes.has_value());
  EXPECT_FALSE(memory->total_bytes.has_value());
  EXPECT_FALSE(memory->device.has_value());
  EXPECT_TRUE(memory->advice.empty());

  MemoryInfo view{.requested_bytes = 4096,
                  .free_bytes = 8192,
                  .allocated_bytes = 10,
                  .reserved_bytes = 30,
                  .total_bytes = 100,
                  .device = c10::Device("cuda:0"),
                  .advice = {"a smaller batch size"}};
  const auto with_view = CoreError::from_code(ErrorCode::out_of_memory, oom.message(), view);
  EXPECT_NE(with_view, oom);
  EXPECT_EQ(with_view, CoreError::from_code(ErrorCode::out_of_memory, oom.message(), view));
  view.reserved_bytes = 31;
  EXPECT_NE(with_view, CoreError::from_code(ErrorCode::out_of_memory, oom.message(), view));

  // A CUDA allocation failure carries the view inside its CudaInfo.
  const auto cuda = CoreError::from_code(
      ErrorCode::out_of_memory, "cudaMalloc",
      CudaInfo{.code = 2, .name = "cudaErrorMemoryAllocation", .memory = view});
  ASSERT_NE(cuda.memory_info(), nullptr);
  EXPECT_EQ(cuda.memory_info()->reserved_bytes, 31u);
  EXPECT_EQ(CoreError::cuda(2, "cudaErrorMemoryAllocation", "cudaMalloc").memory_info(), nullptr);
}

TEST(CoreErrorTest, KernelAndCuda) {
  const auto kernel =
      CoreError::kernel_error("nf4 dequantize: block size 48 is not a power of two");
  EXPECT_EQ(kernel.code(), ErrorCode::kernel_error);
  EXPECT_EQ(kernel.cuda_info(), nullptr);

  const auto illegal = CoreError::cuda(700, "cudaErrorIllegalAddress", "launching gemv");
  EXPECT_EQ(illegal.code(), ErrorCode::kernel_error);
  EXPECT_EQ(illegal.to_string(), "kernel error: launching gemv (cudaErrorIllegalAddress = 700)");
  ASSERT_NE(illegal.cuda_info(), nullptr);
  EXPECT_EQ(illegal.cuda_info()->code, 700);
  EXPECT_EQ(illegal.cuda_info()->name, "cudaErrorIllegalAddress");

  // Code 2 is cudaErrorMemoryAllocation: out of memory, still with the CUDA payload.
  const auto oom = CoreError::cuda(2, "cudaErrorMemoryAllocation", "cudaMalloc");
  EXPECT_EQ(oom.code(), ErrorCode::out_of_memory);
  EXPECT_EQ(oom.cuda_info()->code, 2);
  EXPECT_EQ(oom.memory_info(), nullptr);
}

TEST(CoreErrorTest, NotImplemented) {
  const auto e = CoreError::not_implemented("nf4 on mps");
  EXPECT_EQ(e.code(), ErrorCode::not_implemented);
  EXPECT_EQ(e.to_string(), "not implemented: nf4 on mps");
}

TEST(CoreErrorTest, IoKeepsTheErrorCode) {
  const auto e = CoreError::io(std::make_error_code(std::errc::permission_denied), "writing 'x'");
  EXPECT_EQ(e.code(), ErrorCode::io);
  EXPECT_EQ(e.to_string(), "io error: writing 'x': Permission denied (generic:13)");
  ASSERT_NE(e.io_info(), nullptr);
  EXPECT_EQ(e.io_info()->error, std::errc::permission_denied);

  const auto bare = CoreError::io(std::make_error_code(std::errc::broken_pipe));
  EXPECT_EQ(bare.message(), "Broken pipe (generic:32)");
}

TEST(CoreErrorTest, FromRealErrnoValues) {
  errno = 0;
  const int fd = ::open("/nonexistent-ai-core-dir/adapter.safetensors", O_RDONLY);
  ASSERT_EQ(fd, -1);
  const int open_errno = errno;
  ASSERT_EQ(open_errno, ENOENT);
  const auto e = CoreError::from_errno(open_errno, "opening adapter.safetensors");
  EXPECT_EQ(e.code(), ErrorCode::io);
  EXPECT_EQ(e.io_info()->error, std::errc::no_such_file_or_directory);
  EXPECT_EQ(e.io_info()->error.value(), ENOENT);
  EXPECT_EQ(e.to_string(),
            "io error: opening adapter.safetensors: No such file or directory (generic:2)");

  // A second, different errno: writing to a directory.
  errno = 0;
  const int dir_fd = ::open("/", O_WRONLY);
  ASSERT_EQ(dir_fd, -1);
  const auto eisdir = CoreError::from_errno(errno);
  EXPECT_EQ(eisdir.io_info()->error.value(), EISDIR);
  EXPECT_THAT(eisdir.message(), HasSubstr("Is a directory"));
}

TEST(CoreErrorTest, FromARealSystemError) {
  std::error_code expected_code;
  try {
    (void)std::filesystem::file_size("/nonexistent-ai-core-dir/weights.bin");
    FAIL() << "file_size of a missing file did not throw";
  } catch (const std::system_error& error) {  // std::filesystem::filesystem_error
    expected_code = error.code();
    const auto e = CoreError::from_system_error(error);
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_EQ(e.io_info()->error, expected_code);
    EXPECT_EQ(e.io_info()->error, std::errc::no_such_file_or_directory);
    // libstdc++'s filesystem_error names the operation and the path.
    EXPECT_THAT(e.message(), HasSubstr("/nonexistent-ai-core-dir/weights.bin"));
    EXPECT_THAT(e.message(), EndsWith("No such file or directory (generic:2)"));
  }
  // The description of the code is not repeated.
  const std::system_error plain(std::make_error_code(std::errc::timed_out), "waiting for rank 1");
  EXPECT_EQ(CoreError::from_system_error(plain).message(),
            "waiting for rank 1: Connection timed out (generic:110)");
}

TEST(CoreErrorTest, TorchKeepsKindAndMessage) {
  const auto e = CoreError::torch("c10::IndexError", "index 5 is out of bounds\n");
  EXPECT_EQ(e.code(), ErrorCode::torch);
  EXPECT_EQ(e.to_string(), "torch error: c10::IndexError: index 5 is out of bounds");
  ASSERT_NE(e.torch_info(), nullptr);
  EXPECT_EQ(e.torch_info()->kind, "c10::IndexError");
  EXPECT_EQ(e.torch_info()->message, "index 5 is out of bounds");
  EXPECT_EQ(e.memory_info(), nullptr);

  // The error room does not read libtorch's messages: even an allocator's text stays `torch`
  // here (from_c10_error in <ai_core/torch_error.hpp> classifies it).
  const auto allocator =
      CoreError::torch("c10::OutOfMemoryError",
                       "DefaultCPUAllocator: not enough memory: you tried to allocate 8 bytes.");
  EXPECT_EQ(allocator.code(), ErrorCode::torch);
  EXPECT_EQ(allocator.memory_info(), nullptr);
  EXPECT_EQ(CoreError::torch("c10::AcceleratorError", "x", 700).torch_info()->accelerator_error,
            700);
}

TEST(CoreErrorTest, FromCodeTakesAnyCodeAndPayload) {
  const auto e = CoreError::from_code(ErrorCode::out_of_memory, "m",
                                      TorchInfo{"c10::Error", "m", std::nullopt, std::nullopt});
  EXPECT_EQ(e.code(), ErrorCode::out_of_memory);
  EXPECT_EQ(e.message(), "m");
  ASSERT_NE(e.torch_info(), nullptr);
  EXPECT_EQ(e.torch_info()->kind, "c10::Error");
}

TEST(CoreErrorTest, FromCodeTakesAnyCode) {
  for (const auto& c : kCodes) {
    SCOPED_TRACE(c.name);
    const auto e = CoreError::from_code(c.code, "m");
    EXPECT_EQ(e.code(), c.code);
    EXPECT_EQ(e.to_string(), std::string(c.name) + ": m");
    EXPECT_EQ(e.error_code(), std::error_code(c.code));
  }
}

// --- location, context, copies, moves ------------------------------------------------------------

TEST(CoreErrorTest, RecordsWhereItWasMade) {
  const auto line = __LINE__ + 1;
  const auto e = CoreError::kernel_error("x");
  EXPECT_EQ(e.location().line(), static_cast<std::uint_least32_t>(line));
  EXPECT_THAT(e.location().file_name(), EndsWith("error_test.cpp"));
  EXPECT_THAT(e.location().function_name(), HasSubstr("RecordsWhereItWasMade"));
  EXPECT_THAT(e.to_string_with_location(),
              HasSubstr("kernel error: x [at " + std::string(e.location().file_name()) + ":" +
                        std::to_string(line)));
}

TEST(CoreErrorTest, PrintsOneIndentedLinePerContext) {
  auto e = CoreError::shape_mismatch({2, 3}, {3, 2});
  e.with_context("loading adapter 'q_proj'").with_context("building layer 3");
  EXPECT_THAT(e.context(), ElementsAre("loading adapter 'q_proj'", "building layer 3"));
  EXPECT_EQ(e.to_string(),
            "shape mismatch: expected [2, 3], got [3, 2]\n"
            "  loading adapter 'q_proj'\n"
            "  building layer 3");
  std::ostringstream os;
  os << e;
  EXPECT_EQ(os.str(), e.to_string());
  EXPECT_THAT(e.to_string_with_location(), HasSubstr("]\n  loading adapter 'q_proj'\n"));

  // The rvalue overload, as used in `return std::move(err).with_context(...)`.
  CoreError moved = CoreError::kernel_error("k").with_context("outer");
  EXPECT_THAT(moved.context(), ElementsAre("outer"));
}

TEST(CoreErrorTest, CopiesAreDeep) {
  auto original = CoreError::out_of_memory("buffer", 64);
  CoreError copy = original;
  copy.with_context("only in the copy");
  EXPECT_THAT(original.context(), IsEmpty());
  EXPECT_THAT(copy.context(), ElementsAre("only in the copy"));
  EXPECT_EQ(copy.memory_info()->requested_bytes, 64u);
  CoreError assigned = CoreError::kernel_error("k");
  assigned = original;
  EXPECT_EQ(assigned, original);
  assigned = assigned;  // self-assignment keeps the error
  EXPECT_EQ(assigned.code(), ErrorCode::out_of_memory);
}

TEST(CoreErrorTest, AMovedFromErrorIsStillUsable) {
  auto source = CoreError::device_mismatch(c10::Device("cuda:0"), c10::Device("cpu"));
  CoreError target = std::move(source);
  EXPECT_EQ(target.code(), ErrorCode::device_mismatch);
  // NOLINTBEGIN(bugprone-use-after-move): reading a moved-from error is what is tested.
  EXPECT_EQ(source.code(), ErrorCode::invalid_config);
  EXPECT_EQ(source.message(), "CoreError used after it was moved from");
  EXPECT_EQ(source.device_info(), nullptr);
  EXPECT_THAT(source.context(), IsEmpty());
  EXPECT_EQ(source.to_string(), "invalid config: CoreError used after it was moved from");
  source.with_context("still works");
  EXPECT_THAT(source.context(), ElementsAre("still works"));
  CoreError other = std::move(target);
  const CoreError copy_of_moved_from = target;  // copying a moved-from error is fine too
  CoreError assigned_from_moved_from = CoreError::kernel_error("k");
  assigned_from_moved_from = target;
  // NOLINTEND(bugprone-use-after-move)
  EXPECT_EQ(copy_of_moved_from.code(), ErrorCode::invalid_config);
  EXPECT_EQ(assigned_from_moved_from.message(), "CoreError used after it was moved from");
  EXPECT_EQ(other.code(), ErrorCode::device_mismatch);
}

TEST(CoreErrorTest, EqualityIgnoresTheLocation) {
  const auto a = CoreError::shape_mismatch({1}, {2});
  const auto b = CoreError::shape_mismatch({1}, {2});  // another line
  EXPECT_EQ(a, b);
  EXPECT_NE(a, CoreError::shape_mismatch({1}, {3}));
  EXPECT_NE(a, CoreError::from_code(ErrorCode::shape_mismatch, a.message()));  // no payload
  auto with_context = a;
  with_context.with_context("c");
  EXPECT_NE(a, with_context);
}

TEST(CoreErrorTest, IsOnePointer) {
  static_assert(sizeof(CoreError) == sizeof(void*));
  static_assert(std::is_nothrow_move_constructible_v<CoreError>);
  static_assert(std::is_nothrow_move_assignable_v<CoreError>);
  static_assert(std::is_copy_constructible_v<CoreError>);
}

// --- Exception -----------------------------------------------------------------------------------

TEST(ExceptionTest, CarriesTheError) {
  auto error = CoreError::not_implemented("fp4");
  error.with_context("quantizing");
  try {
    throw Exception(error);
  } catch (const std::exception& caught) {
    EXPECT_STREQ(caught.what(), "not implemented: fp4\n  quantizing");
    const auto* exception = dynamic_cast<const Exception*>(&caught);
    ASSERT_NE(exception, nullptr);
    EXPECT_EQ(exception->error(), error);
    const Exception copy = *exception;  // copies share the state and never throw
    static_assert(std::is_nothrow_copy_constructible_v<Exception>);
    EXPECT_EQ(&copy.error(), &exception->error());
  }
}

// --- str_cat -------------------------------------------------------------------------------------

TEST(StrCatTest, FormatsEveryKindOfPart) {
  const std::string name = "q_proj";
  const std::vector<std::int64_t> shape{2, 3};
  EXPECT_EQ(str_cat("rank ", 64, " > ", std::int64_t{-32}, ", ", name, ' ', std::string_view("v")),
            "rank 64 > -32, q_proj v");
  EXPECT_EQ(str_cat(0.1, " ", 1e300, " ", 2.5f), "0.1 1e+300 2.5");
  EXPECT_EQ(str_cat(true, "/", false, "/", nullptr), "true/false/nullptr");
  EXPECT_EQ(str_cat(std::numeric_limits<std::uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(str_cat(c10::Device("cuda:1"), " ", c10::Device("cpu")), "cuda:1 cpu");
  EXPECT_EQ(str_cat(shape, " ", std::vector<int>{}), "[2, 3] []");
  EXPECT_EQ(str_cat(c10::IntArrayRef(shape)), "[2, 3]");
  EXPECT_EQ(str_cat(ErrorCode::io), "io error");
  EXPECT_EQ(str_cat(c10::ScalarType::BFloat16), "BFloat16");  // through operator<<
  EXPECT_EQ(str_cat(), "");
}

// --- fmt (opt-in) --------------------------------------------------------------------------------

TEST(FmtTest, FormatsErrorsAndCodes) {
  auto e = CoreError::shape_mismatch({2}, {3});
  e.with_context("ctx");
  EXPECT_EQ(fmt::format("{}", e), e.to_string());
  EXPECT_EQ(fmt::format("[{}]", ErrorCode::kernel_error), "[kernel error]");
  EXPECT_EQ(fmt::format("[{:>14}]", ErrorCode::io), "[      io error]");
  EXPECT_EQ(fmt::format("{:.5}", CoreError::kernel_error("x")), "kerne");
}

#if defined(__cpp_lib_format)
TEST(FmtTest, FormatsWithStdFormat) {
  EXPECT_EQ(std::format("{}", CoreError::kernel_error("x")), "kernel error: x");
  EXPECT_EQ(std::format("[{:>14}]", ErrorCode::io), "[      io error]");
}
#endif

// --- the matchers on errors ----------------------------------------------------------------------

TEST(MatchersTest, MatchErrorsDirectly) {
  const auto e = CoreError::device_not_available(c10::Device("cuda:7"));
  EXPECT_THAT(e, HasErrorCode(ErrorCode::device_not_available));
  EXPECT_THAT(e, ::testing::Not(HasErrorCode(ErrorCode::device_mismatch)));
  EXPECT_THAT(e, HasMessage("cuda:7"));
  EXPECT_THAT(e, ::testing::Not(HasMessage("cuda:6")));
}

}  // namespace
}  // namespace ai_core
