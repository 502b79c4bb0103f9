// SPDX-License-Identifier: MIT
// Tests for <ai_core/metrics.hpp>: the JSON Lines records (read back and checked), the human
// lines (through a LogCapture), bad input, writers on several threads (label `concurrency`), and
// ProgressBar on a fake clock.
#include <ai_core/log.hpp>
#include <ai_core/metrics.hpp>
#include <ai_core/testing/matchers.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

// The option and record structs are meant for designated initializers that name only the fields
// that matter; GCC 12 warns about every member left to its default (GCC bug 96868).
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif

namespace ai_core {
namespace {

using ::testing::AllOf;
using ::testing::EndsWith;
using testing::HasErrorCode;
using testing::HasMessage;
using ::testing::HasSubstr;
using testing::IsOk;
using ::testing::SizeIs;
using ::testing::StartsWith;

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    level_ = log_level();
    set_log_level(LogLevel::info);
    // mkdtemp and readdir rather than std::filesystem: libtorch.so exports its own copy of
    // std::filesystem symbols, and calls that bind to it crash.
    std::string pattern = "/tmp/ai_core_metrics_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    set_log_level(level_);
    if (DIR* dir = ::opendir(dir_.c_str())) {
      while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name != "." && name != "..") ::unlink((dir_ + "/" + name).c_str());
      }
      ::closedir(dir);
    }
    ::rmdir(dir_.c_str());
  }
  std::string path(const char* name) const { return dir_ + "/" + name; }
  static std::vector<std::string> lines(const std::string& file) {
    std::ifstream in(file);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  LogLevel level_ = LogLevel::info;
  std::string dir_;
};

TEST_F(MetricsTest, LogMetricWritesOneFlushedJsonObjectPerRecord) {
  AI_CORE_ASSERT_OK_AND_ASSIGN(MetricsLogger logger, MetricsLogger::open_jsonl(path("m.jsonl")));
  LogCapture capture;
  AI_CORE_ASSERT_OK(logger.log_metric("eval/accuracy", 0.8125, 10));
  // Readable before the logger is closed: each record is written through at once.
  auto written = lines(path("m.jsonl"));
  ASSERT_THAT(written, SizeIs(1u));
  EXPECT_TRUE(std::regex_match(
      written[0], std::regex(R"(\{"time":[0-9.e+]+,"kind":"metric","name":"eval/accuracy",)"
                             R"("step":10,"value":0\.8125\})")))
      << written[0];
  EXPECT_EQ(capture.count("step 10: eval/accuracy = 0.8125", LogLevel::info), 1u);
  EXPECT_EQ(logger.records_written(), 1u);
  EXPECT_EQ(logger.path(), path("m.jsonl"));
}

TEST_F(MetricsTest, TrainingStepKeepsNumbersAndOptionalFields) {
  AI_CORE_ASSERT_OK_AND_ASSIGN(MetricsLogger logger, MetricsLogger::open_jsonl(path("s.jsonl")));
  LogCapture capture;
  AI_CORE_ASSERT_OK(logger.log_training_step({.step = 3, .loss = 1.5, .learning_rate = 2e-4}));
  AI_CORE_ASSERT_OK(logger.log_training_step({.step = 4,
                                              .loss = 1.25,
                                              .learning_rate = 1e-4,
                                              .grad_norm = 0.5,
                                              .tokens_per_second = 5120.5,
                                              .memory_allocated_bytes = 1073741824,
                                              .memory_reserved_bytes = 2147483648}));
  const auto written = lines(path("s.jsonl"));
  ASSERT_THAT(written, SizeIs(2u));
  EXPECT_THAT(written[0], AllOf(HasSubstr(R"("kind":"training_step","step":3,"loss":1.5,)"),
                                HasSubstr(R"("learning_rate":2e-04})")));
  EXPECT_THAT(written[0], ::testing::Not(HasSubstr("grad_norm")));
  EXPECT_THAT(
      written[1],
      HasSubstr(R"("grad_norm":0.5,"tokens_per_second":5120.5,)"
                R"("memory_allocated_bytes":1073741824,"memory_reserved_bytes":2147483648})"));
  EXPECT_EQ(capture.count("step 4: loss 1.25, lr 0.0001, grad norm 0.5, 5120.5 tok/s, "
                          "1.00 GiB allocated, 2.00 GiB reserved"),
            1u);
}

TEST_F(MetricsTest, NonFiniteValuesAreNullWithTheirNameAndAWarning) {
  AI_CORE_ASSERT_OK_AND_ASSIGN(MetricsLogger logger, MetricsLogger::open_jsonl(path("n.jsonl")));
  LogCapture capture;
  AI_CORE_ASSERT_OK(logger.log_training_step(
      {.step = 7, .loss = std::nan(""), .learning_rate = 1e-4, .grad_norm = -INFINITY}));
  AI_CORE_ASSERT_OK(logger.log_metric("ppl", INFINITY, 7));
  const auto written = lines(path("n.jsonl"));
  ASSERT_THAT(written, SizeIs(2u));
  EXPECT_THAT(written[0], HasSubstr(R"("loss":null,)"));
  EXPECT_THAT(written[0],
              HasSubstr(R"("grad_norm":null,"non_finite":{"loss":"nan","grad_norm":"-inf"}})"));
  EXPECT_THAT(written[1], EndsWith(R"("value":null,"non_finite":{"value":"inf"}})"));
  EXPECT_EQ(capture.count("step 7: loss nan", LogLevel::warn), 1u);
  EXPECT_EQ(capture.count("non-finite values recorded as null", LogLevel::warn), 1u);
  EXPECT_EQ(capture.count("step 7: ppl = inf", LogLevel::warn), 1u);
}

TEST_F(MetricsTest, BadNamesAreInvalidConfigAndWriteNothing) {
  AI_CORE_ASSERT_OK_AND_ASSIGN(MetricsLogger logger, MetricsLogger::open_jsonl(path("b.jsonl")));
  EXPECT_THAT(logger.log_metric("", 1.0, 0),
              HasMessage("metric name has 0 bytes; expected 1 to 256"));
  EXPECT_THAT(logger.log_metric(std::string(257, 'x'), 1.0, 0),
              HasErrorCode(ErrorCode::invalid_config));
  EXPECT_EQ(logger.records_written(), 0u);
  // Quotes, backslashes and control bytes are escaped; UTF-8 passes through.
  AI_CORE_ASSERT_OK(logger.log_metric("a\"b\\c\n\x01\xC3\xA9", 1.0, 0));
  EXPECT_THAT(lines(path("b.jsonl"))[0], HasSubstr(R"("name":"a\"b\\c\n\u0001é")"));
  // A byte that is not UTF-8 becomes U+FFFD, so the line stays valid JSON for every reader.
  AI_CORE_ASSERT_OK(logger.log_metric("loss\xFF\xC3", 2.0, 1));
  EXPECT_THAT(lines(path("b.jsonl"))[1], HasSubstr(R"("name":"loss\ufffd\ufffd")"));
}

TEST_F(MetricsTest, UnwritablePathsAreIoErrors) {
  auto missing = MetricsLogger::open_jsonl(path("no/such/dir/m.jsonl"));
  EXPECT_THAT(missing, HasErrorCode(ErrorCode::io));
  EXPECT_THAT(missing, HasMessage("cannot open metrics file '"));
  ASSERT_NE(missing.error().io_info(), nullptr);
  EXPECT_EQ(missing.error().io_info()->error, std::errc::no_such_file_or_directory);
  EXPECT_THAT(MetricsLogger::open_jsonl(dir_),
              HasErrorCode(ErrorCode::io));  // a directory
  EXPECT_THAT(MetricsLogger::open_jsonl(""), HasErrorCode(ErrorCode::invalid_config));
}

TEST_F(MetricsTest, AppendsByDefaultTruncatesOnRequest) {
  for (int i = 0; i < 2; ++i) {
    AI_CORE_ASSERT_OK_AND_ASSIGN(MetricsLogger logger, MetricsLogger::open_jsonl(path("a.jsonl")));
    AI_CORE_ASSERT_OK(logger.log_metric("x", i, i));
  }
  EXPECT_THAT(lines(path("a.jsonl")), SizeIs(2u));
  AI_CORE_ASSERT_OK_AND_ASSIGN(MetricsLogger logger,
                               MetricsLogger::open_jsonl(path("a.jsonl"), {.truncate = true}));
  AI_CORE_ASSERT_OK(logger.log_metric("x", 9, 9));
  EXPECT_THAT(lines(path("a.jsonl")), SizeIs(1u));
}

TEST_F(MetricsTest, TwoWritersOfOneFileNeverOverwriteEachOther) {
  // Two loggers of one file (as two ranks of a job would open it), the first one truncating: every
  // record lands whole at the end, none over another's.
  const MetricsOptions quiet{.human_level = LogLevel::off};
  MetricsOptions truncating = quiet;
  truncating.truncate = true;
  AI_CORE_ASSERT_OK_AND_ASSIGN(MetricsLogger first,
                               MetricsLogger::open_jsonl(path("shared.jsonl"), truncating));
  AI_CORE_ASSERT_OK_AND_ASSIGN(MetricsLogger second,
                               MetricsLogger::open_jsonl(path("shared.jsonl"), quiet));
  AI_CORE_ASSERT_OK(first.log_metric("a", 1.0, 1));
  AI_CORE_ASSERT_OK(second.log_metric("b", 2.0, 1));
  AI_CORE_ASSERT_OK(first.log_metric("a", 3.0, 2));
  const auto written = lines(path("shared.jsonl"));
  ASSERT_THAT(written, SizeIs(3u));
  EXPECT_THAT(written[0], HasSubstr(R"("name":"a","step":1,"value":1})"));
  EXPECT_THAT(written[1], HasSubstr(R"("name":"b","step":1,"value":2})"));
  EXPECT_THAT(written[2], HasSubstr(R"("name":"a","step":2,"value":3})"));
}

TEST_F(MetricsTest, HumanOnlyAndSilentLoggers) {
  LogCapture capture;
  MetricsLogger human = MetricsLogger::human_only();
  AI_CORE_ASSERT_OK(human.log_metric("loss", 2.0, 1));
  EXPECT_EQ(capture.count("step 1: loss = 2"), 1u);
  EXPECT_EQ(human.records_written(), 0u);
  EXPECT_EQ(human.path(), "");
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      MetricsLogger quiet,
      MetricsLogger::open_jsonl(path("q.jsonl"), {.human_level = LogLevel::off}));
  AI_CORE_ASSERT_OK(quiet.log_metric("loss", 3.0, 2));
  EXPECT_EQ(capture.count("loss = 3"), 0u);
  EXPECT_THAT(lines(path("q.jsonl")), SizeIs(1u));
  MetricsLogger moved = std::move(quiet);
  EXPECT_THAT(quiet.log_metric("loss", 1.0, 1),  // NOLINT(bugprone-use-after-move)
              HasMessage("moved from"));
  AI_CORE_EXPECT_OK(moved.log_metric("loss", 1.0, 3));
}

TEST_F(MetricsTest, MemoryUsageRecordOnTheCpu) {
  AI_CORE_ASSERT_OK_AND_ASSIGN(MetricsLogger logger, MetricsLogger::open_jsonl(path("mem.jsonl")));
  AI_CORE_ASSERT_OK(logger.log_memory_usage(c10::Device(c10::DeviceType::CPU)));
  const auto written = lines(path("mem.jsonl"));
  ASSERT_THAT(written, SizeIs(1u));
  EXPECT_THAT(written[0], AllOf(HasSubstr(R"("kind":"memory","device":"cpu",)"),
                                HasSubstr(R"("free_bytes":)"), HasSubstr(R"("total_bytes":)"),
                                HasSubstr(R"("process_peak_resident_bytes":)")));
  EXPECT_THAT(logger.log_memory_usage(c10::Device(c10::DeviceType::CUDA, 120)),
              HasErrorCode(ErrorCode::device_not_available));
  EXPECT_EQ(logger.records_written(), 1u);
}

TEST_F(MetricsTest, WritersOnEightThreadsNeverInterleave) {
  constexpr int kThreads = 8;
  constexpr int kRecords = 200;
  AI_CORE_ASSERT_OK_AND_ASSIGN(
      MetricsLogger logger,
      MetricsLogger::open_jsonl(path("t.jsonl"), {.human_level = LogLevel::debug}));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRecords; ++i) {
        if (i % 2 == 0) {
          EXPECT_THAT(logger.log_metric("thread/" + std::to_string(t), i, i), IsOk());
        } else {
          EXPECT_THAT(
              logger.log_training_step({.step = static_cast<std::uint64_t>(i), .loss = 1.0 * t}),
              IsOk());
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto written = lines(path("t.jsonl"));
  ASSERT_THAT(written, SizeIs(kThreads * kRecords));
  const std::regex record(R"(\{"time":[^{}]*\})");
  for (const std::string& line : written) ASSERT_TRUE(std::regex_match(line, record)) << line;
  EXPECT_EQ(logger.records_written(), static_cast<std::uint64_t>(kThreads * kRecords));
}

// --- ProgressBar
// ----------------------------------------------------------------------------------

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  void advance(double seconds) {
    now += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds));
  }
};

TEST_F(MetricsTest, ProgressLogsEveryIntervalWhenNotATerminal) {
  FakeClock clock;
  LogCapture capture;
  {
    ProgressBar bar(
        "quantize", 100,
        {.log_interval_seconds = 10.0, .terminal = false, .clock = [&] { return clock.now; }});
    clock.advance(1.0);
    bar.advance(10);  // 1 s after the start: too early
    EXPECT_EQ(capture.count("quantize"), 0u);
    clock.advance(9.0);
    bar.advance(40);  // 10 s: 50 of 100 at 5 it/s, 10 s left
    EXPECT_EQ(capture.count("quantize [##########----------] 50/100  50%  5 it/s  ETA 00:10",
                            LogLevel::info),
              1u);
    clock.advance(1.0);
    bar.advance(10);
    EXPECT_EQ(capture.count("quantize"), 1u);
    EXPECT_EQ(bar.done(), 60u);
  }
  // The destructor's finish logs the last state.
  EXPECT_EQ(capture.count("quantize"), 2u);
  EXPECT_THAT(capture.records().back().message, HasSubstr("60/100  60%"));
}

TEST_F(MetricsTest, ProgressDrawsInPlaceOnATerminal) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  FakeClock clock;
  {
    ProgressBar bar("load", 4,
                    {.redraw_interval_seconds = 0.0, .stream = out, .terminal = true, .clock = [&] {
                       return clock.now;
                     }});
    for (int i = 0; i < 4; ++i) {
      clock.advance(0.5);
      bar.advance();
    }
    bar.finish();
    bar.finish();  // idempotent
  }
  std::rewind(out);
  std::string text;
  for (int c; (c = std::fgetc(out)) != EOF;) text += static_cast<char>(c);
  std::fclose(out);
  EXPECT_THAT(text, StartsWith("\rload [--------------------] 0/4   0%"));
  EXPECT_THAT(text, HasSubstr("\rload [##########----------] 2/4  50%  2 it/s  ETA 00:01"));
  EXPECT_THAT(text, EndsWith("4/4 100%  2 it/s  2.0 s\033[K\n"));
}

TEST_F(MetricsTest, ProgressWithUnknownTotalAndFromSeveralThreads) {
  ProgressBar bar("tokens", 0, {.log_interval_seconds = 1e9, .terminal = false});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) bar.advance();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(bar.done(), 8000u);
  EXPECT_THAT(bar.render(), StartsWith("tokens 8000  "));
  EXPECT_THAT(bar.render(), ::testing::Not(HasSubstr("ETA")));
}

}  // namespace
}  // namespace ai_core
