// SPDX-License-Identifier: MIT
// Tests for <ai_core/log.hpp>. This TU includes torch headers on purpose: it proves that logging
// through ai_core works from code that sees torch's bundled fmt (Note [fmt versions]).
#include <ai_core/log.hpp>

#include <ATen/core/Tensor.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ai_core {
namespace {

TEST(LogTest, CaptureSeesMessagesFromTorchTranslationUnit) {
  LogCapture capture;
  at::Tensor undefined;  // A real use of torch's headers in this TU.
  log(LogLevel::warn, std::string("tensor defined: ") + (undefined.defined() ? "yes" : "no"));
  ASSERT_EQ(capture.records().size(), 1u);
  EXPECT_EQ(capture.records()[0].level, LogLevel::warn);
  EXPECT_EQ(capture.records()[0].message, "tensor defined: no");
}

TEST(LogTest, CaptureRecordsBelowTheLoggerLevel) {
  const LogLevel before = log_level();
  set_log_level(LogLevel::error);
  LogCapture capture;
  log(LogLevel::debug, "quiet detail");
  EXPECT_EQ(capture.count("quiet detail", LogLevel::debug), 1u);
  EXPECT_FALSE(should_log(LogLevel::debug));
  EXPECT_TRUE(should_log(LogLevel::error));
  set_log_level(before);
}

TEST(LogTest, CaptureStopsWhenDestroyed) {
  auto capture = std::make_unique<LogCapture>();
  LogCapture outer;
  log(LogLevel::info, "one");
  capture.reset();
  log(LogLevel::info, "two");
  EXPECT_EQ(outer.count("one"), 1u);
  EXPECT_EQ(outer.count("two"), 1u);
}

TEST(LogTest, SetLoggerTwiceIsNotAnError) {
  auto original = logger();
  ASSERT_NE(original, nullptr);
  set_logger(original);
  set_logger(original);
  EXPECT_EQ(logger(), original);
  set_logger(nullptr);  // Back to a default logger.
  EXPECT_NE(logger(), nullptr);
}

TEST(LogTest, ReachesStderrOnlyThroughTheDefaultLoggerAtItsLevel) {
  set_logger(nullptr);  // ai_core's own stderr logger
  const LogLevel before = log_level();
  set_log_level(LogLevel::info);
  EXPECT_TRUE(logger_reaches_stderr(LogLevel::warn));
  EXPECT_FALSE(logger_reaches_stderr(LogLevel::debug));
  set_log_level(LogLevel::error);  // a host raised the level: warnings no longer reach stderr
  EXPECT_FALSE(logger_reaches_stderr(LogLevel::warn));
  set_log_level(LogLevel::info);
  set_logger(logger());  // any logger the host hands in is the host's: ai_core cannot see its sinks
  EXPECT_FALSE(logger_reaches_stderr(LogLevel::warn));
  set_logger(nullptr);
  EXPECT_TRUE(logger_reaches_stderr(LogLevel::warn));
  set_log_level(before);
}

TEST(LogTest, LevelNames) {
  EXPECT_EQ(to_string(LogLevel::trace), "trace");
  EXPECT_EQ(to_string(LogLevel::warn), "warn");
  EXPECT_EQ(to_string(LogLevel::off), "off");
}

TEST(LogTest, ConcurrentLoggingAndLoggerReplacement) {
  LogCapture capture;
  std::atomic<bool> stop{false};
  std::thread replacer([&] {
    while (!stop.load()) set_logger(nullptr);
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([] {
      for (int i = 0; i < 200; ++i) log(LogLevel::trace, "concurrent message");
    });
  }
  for (auto& w : writers) w.join();
  stop = true;
  replacer.join();
  EXPECT_EQ(capture.count("concurrent message"), 8u * 200u);
}

}  // namespace
}  // namespace ai_core
