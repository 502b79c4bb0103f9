// SPDX-License-Identifier: MIT
// Tests for <ai_core/device.hpp> on any machine: every branch of `get_device` through a fake CUDA
// probe, the environment table, the one-time CPU fallback warning (in-process through LogCapture,
// and on stderr of a fresh child process: this binary re-executes itself), and the device report.
#include <ai_core/concepts.hpp>
#include <ai_core/device.hpp>
#include <ai_core/log.hpp>
#include <ai_core/testing/cuda_probe.hpp>
#include <ai_core/testing/matchers.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace ai_core {
namespace {

using testing::FakeCudaProbe;
using testing::HasErrorCode;
using testing::HasMessage;
using ::testing::HasSubstr;
using testing::IsOkAndHolds;
using ::testing::Not;
using testing::ScopedCudaProbe;

constexpr const char* kWarningText = "is running on the CPU";

std::shared_ptr<FakeCudaProbe> fake(CudaProbeResult result) {
  return std::make_shared<FakeCudaProbe>(std::move(result));
}

std::shared_ptr<FakeCudaProbe> no_cuda() {
  return fake(FakeCudaProbe::unusable(CudaStatus::no_driver, "fake: no driver"));
}

// A probe that throws, as a broken driver binding might.
class ThrowingProbe : public CudaProbe {
 public:
  CudaProbeResult probe(const CudaProbeOptions&) override {
    throw std::runtime_error("cuInit exploded");
  }
};

// Sets (or unsets) a variable of the real environment for one test, restoring it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

using EnvMap = std::vector<std::pair<std::string, std::string>>;

EnvLookup lookup_in(EnvMap env) {
  return [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
    for (const auto& [key, value] : env) {
      if (key == name) return value;
    }
    return std::nullopt;
  };
}

std::size_t warnings(const LogCapture& capture) {
  return capture.count(kWarningText, LogLevel::warn);
}

// --- DeviceConfig -------------------------------------------------------------------------------

static_assert(ValidatableConfig<DeviceConfig>);
static_assert(std::is_nothrow_move_constructible_v<DeviceConfig>);

TEST(DeviceConfigTest, DefaultsAreCuda0WarnAndAiCore) {
  const DeviceConfig config;
  EXPECT_EQ(config.cuda_device(), 0);
  EXPECT_FALSE(config.force_cpu());
  EXPECT_EQ(config.fallback(), FallbackPolicy::warn);
  EXPECT_EQ(config.component(), "ai_core");
  EXPECT_TRUE(config.validate().has_value());
}

TEST(DeviceConfigTest, BuilderSetsEveryFieldOnLvaluesAndTemporaries) {
  const DeviceConfig chained = DeviceConfig{}
                                   .with_cuda_device(3)
                                   .with_force_cpu(true)
                                   .with_component("unsloth")
                                   .with_fallback(FallbackPolicy::error);
  EXPECT_EQ(chained.cuda_device(), 3);
  EXPECT_TRUE(chained.force_cpu());
  EXPECT_EQ(chained.component(), "unsloth");
  EXPECT_EQ(chained.fallback(), FallbackPolicy::error);

  DeviceConfig config;
  DeviceConfig& same = config.with_cuda_device(2).with_fallback(FallbackPolicy::allow);
  EXPECT_EQ(&same, &config);
  EXPECT_EQ(config.cuda_device(), 2);
  EXPECT_EQ(config.fallback(), FallbackPolicy::allow);
}

TEST(DeviceConfigTest, ValidateTable) {
  struct Case {
    const char* name;
    DeviceConfig config;
    const char* error;  // nullptr: valid; else a substring of the invalid_config message.
  };
  const Case cases[] = {
      {"default", DeviceConfig{}, nullptr},
      {"largest ordinal", DeviceConfig{}.with_cuda_device(kMaxCudaOrdinal), nullptr},
      {"negative ordinal", DeviceConfig{}.with_cuda_device(-1), "cuda_device is -1"},
      {"ordinal above int16", DeviceConfig{}.with_cuda_device(32768), "cuda_device is 32768"},
      {"empty component", DeviceConfig{}.with_component(""), "component is empty"},
      {"policy out of range", DeviceConfig{}.with_fallback(static_cast<FallbackPolicy>(7)),
       "fallback policy has the value 7"},
  };
  for (const Case& c : cases) {
    const Result<void> result = c.config.validate();
    if (c.error == nullptr) {
      EXPECT_TRUE(result.has_value()) << c.name << ": " << result.error().to_string();
    } else {
      EXPECT_THAT(result, HasErrorCode(ErrorCode::invalid_config)) << c.name;
      EXPECT_THAT(result, HasMessage(c.error)) << c.name;
    }
  }
}

TEST(DeviceConfigTest, FallbackPolicyNames) {
  EXPECT_EQ(to_string(FallbackPolicy::warn), "warn");
  EXPECT_EQ(to_string(FallbackPolicy::error), "error");
  EXPECT_EQ(to_string(FallbackPolicy::allow), "allow");
  EXPECT_EQ(to_string(CudaStatus::cpu_only_torch), "cpu_only_torch");
  EXPECT_EQ(to_string(CudaStatus::driver_error), "driver_error");
}

// --- the environment table
// -------------------------------------------------------------------------

struct EnvCase {
  const char* name;
  EnvMap env;
  bool force_cpu = false;
  int ordinal = 0;
  FallbackPolicy policy = FallbackPolicy::warn;
  const char* ordinal_source = "";         // Expected `cuda_device_source()`.
  const char* bad_variable = nullptr;      // Set: from_env must fail naming this variable...
  const char* bad_value_quoted = nullptr;  // ...and this value, as quoted in the message.
};

TEST(DeviceConfigTest, FromEnvTable) {
  const EnvCase cases[] = {
      // Valid values.
      {.name = "nothing set", .env = {}},
      {.name = "force 1", .env = {{"RUST_AI_FORCE_CPU", "1"}}, .force_cpu = true},
      {.name = "force TRUE", .env = {{"RUST_AI_FORCE_CPU", "TRUE"}}, .force_cpu = true},
      {.name = "force yes", .env = {{"RUST_AI_FORCE_CPU", "yes"}}, .force_cpu = true},
      {.name = "force On", .env = {{"RUST_AI_FORCE_CPU", "On"}}, .force_cpu = true},
      {.name = "force 0", .env = {{"RUST_AI_FORCE_CPU", "0"}}, .force_cpu = false},
      {.name = "force False", .env = {{"RUST_AI_FORCE_CPU", "False"}}, .force_cpu = false},
      {.name = "force NO", .env = {{"RUST_AI_FORCE_CPU", "NO"}}, .force_cpu = false},
      {.name = "force off", .env = {{"RUST_AI_FORCE_CPU", "off"}}, .force_cpu = false},
      {.name = "device 3",
       .env = {{"RUST_AI_CUDA_DEVICE", "3"}},
       .ordinal = 3,
       .ordinal_source = "RUST_AI_CUDA_DEVICE=3"},
      {.name = "device 007",
       .env = {{"RUST_AI_CUDA_DEVICE", "007"}},
       .ordinal = 7,
       .ordinal_source = "RUST_AI_CUDA_DEVICE=007"},
      {.name = "device 32767",
       .env = {{"RUST_AI_CUDA_DEVICE", "32767"}},
       .ordinal = 32767,
       .ordinal_source = "RUST_AI_CUDA_DEVICE=32767"},
      {.name = "fallback error",
       .env = {{"RUST_AI_CPU_FALLBACK", "error"}},
       .policy = FallbackPolicy::error},
      {.name = "fallback ALLOW",
       .env = {{"RUST_AI_CPU_FALLBACK", "ALLOW"}},
       .policy = FallbackPolicy::allow},
      {.name = "fallback Warn",
       .env = {{"RUST_AI_CPU_FALLBACK", "Warn"}},
       .policy = FallbackPolicy::warn},
      // Priority: the first variable that is set decides, even when it says 0.
      {.name = "current 0 beats legacy 1",
       .env = {{"RUST_AI_FORCE_CPU", "0"}, {"AXOLOTL_FORCE_CPU", "1"}},
       .force_cpu = false},
      {.name = "axolotl beats vsa",
       .env = {{"AXOLOTL_FORCE_CPU", "no"}, {"VSA_OPTIM_FORCE_CPU", "yes"}},
       .force_cpu = false},
      {.name = "current device beats legacy",
       .env = {{"RUST_AI_CUDA_DEVICE", "0"}, {"AXOLOTL_CUDA_DEVICE", "2"}},
       .ordinal = 0,
       .ordinal_source = "RUST_AI_CUDA_DEVICE=0"},
      {.name = "shadowed malformed legacy value is not consulted",
       .env = {{"RUST_AI_CUDA_DEVICE", "1"}, {"AXOLOTL_CUDA_DEVICE", "gpu"}},
       .ordinal = 1,
       .ordinal_source = "RUST_AI_CUDA_DEVICE=1"},
      // Legacy names alone.
      {.name = "legacy axolotl force", .env = {{"AXOLOTL_FORCE_CPU", "1"}}, .force_cpu = true},
      {.name = "legacy vsa force", .env = {{"VSA_OPTIM_FORCE_CPU", "true"}}, .force_cpu = true},
      {.name = "legacy axolotl device",
       .env = {{"AXOLOTL_CUDA_DEVICE", "2"}},
       .ordinal = 2,
       .ordinal_source = "AXOLOTL_CUDA_DEVICE=2"},
      {.name = "legacy vsa device",
       .env = {{"VSA_OPTIM_CUDA_DEVICE", "4"}},
       .ordinal = 4,
       .ordinal_source = "VSA_OPTIM_CUDA_DEVICE=4"},
      // LOCAL_RANK only when no ordinal variable is set.
      {.name = "LOCAL_RANK alone",
       .env = {{"LOCAL_RANK", "3"}},
       .ordinal = 3,
       .ordinal_source = "LOCAL_RANK=3"},
      {.name = "current device beats LOCAL_RANK",
       .env = {{"RUST_AI_CUDA_DEVICE", "1"}, {"LOCAL_RANK", "3"}},
       .ordinal = 1,
       .ordinal_source = "RUST_AI_CUDA_DEVICE=1"},
      {.name = "legacy device beats LOCAL_RANK",
       .env = {{"VSA_OPTIM_CUDA_DEVICE", "0"}, {"LOCAL_RANK", "5"}},
       .ordinal = 0,
       .ordinal_source = "VSA_OPTIM_CUDA_DEVICE=0"},
      // Malformed values: invalid_config naming the variable and the value.
      {.name = "force 2",
       .env = {{"RUST_AI_FORCE_CPU", "2"}},
       .bad_variable = "RUST_AI_FORCE_CPU",
       .bad_value_quoted = "'2'"},
      {.name = "force maybe",
       .env = {{"RUST_AI_FORCE_CPU", "maybe"}},
       .bad_variable = "RUST_AI_FORCE_CPU",
       .bad_value_quoted = "'maybe'"},
      {.name = "force leading space",
       .env = {{"RUST_AI_FORCE_CPU", " 1"}},
       .bad_variable = "RUST_AI_FORCE_CPU",
       .bad_value_quoted = "' 1'"},
      {.name = "force trailing newline",
       .env = {{"RUST_AI_FORCE_CPU", "1\n"}},
       .bad_variable = "RUST_AI_FORCE_CPU",
       .bad_value_quoted = "'1\\x0a'"},
      {.name = "force empty",
       .env = {{"RUST_AI_FORCE_CPU", ""}},
       .bad_variable = "RUST_AI_FORCE_CPU",
       .bad_value_quoted = "''"},
      {.name = "legacy force malformed",
       .env = {{"AXOLOTL_FORCE_CPU", "nope"}},
       .bad_variable = "AXOLOTL_FORCE_CPU",
       .bad_value_quoted = "'nope'"},
      {.name = "device negative",
       .env = {{"RUST_AI_CUDA_DEVICE", "-1"}},
       .bad_variable = "RUST_AI_CUDA_DEVICE",
       .bad_value_quoted = "'-1'"},
      {.name = "device plus sign",
       .env = {{"RUST_AI_CUDA_DEVICE", "+1"}},
       .bad_variable = "RUST_AI_CUDA_DEVICE",
       .bad_value_quoted = "'+1'"},
      {.name = "device not a number",
       .env = {{"RUST_AI_CUDA_DEVICE", "gpu0"}},
       .bad_variable = "RUST_AI_CUDA_DEVICE",
       .bad_value_quoted = "'gpu0'"},
      {.name = "device hex",
       .env = {{"RUST_AI_CUDA_DEVICE", "0x1"}},
       .bad_variable = "RUST_AI_CUDA_DEVICE",
       .bad_value_quoted = "'0x1'"},
      {.name = "device fraction",
       .env = {{"RUST_AI_CUDA_DEVICE", "1.0"}},
       .bad_variable = "RUST_AI_CUDA_DEVICE",
       .bad_value_quoted = "'1.0'"},
      {.name = "device 32768",
       .env = {{"RUST_AI_CUDA_DEVICE", "32768"}},
       .bad_variable = "RUST_AI_CUDA_DEVICE",
       .bad_value_quoted = "'32768'"},
      {.name = "device overflows int64",
       .env = {{"RUST_AI_CUDA_DEVICE", "99999999999999999999999"}},
       .bad_variable = "RUST_AI_CUDA_DEVICE",
       .bad_value_quoted = "'99999999999999999999999'"},
      {.name = "device empty",
       .env = {{"RUST_AI_CUDA_DEVICE", ""}},
       .bad_variable = "RUST_AI_CUDA_DEVICE",
       .bad_value_quoted = "''"},
      {.name = "device space",
       .env = {{"RUST_AI_CUDA_DEVICE", " 1"}},
       .bad_variable = "RUST_AI_CUDA_DEVICE",
       .bad_value_quoted = "' 1'"},
      {.name = "LOCAL_RANK malformed",
       .env = {{"LOCAL_RANK", "rank3"}},
       .bad_variable = "LOCAL_RANK",
       .bad_value_quoted = "'rank3'"},
      {.name = "fallback unknown",
       .env = {{"RUST_AI_CPU_FALLBACK", "strict"}},
       .bad_variable = "RUST_AI_CPU_FALLBACK",
       .bad_value_quoted = "'strict'"},
      {.name = "fallback empty",
       .env = {{"RUST_AI_CPU_FALLBACK", ""}},
       .bad_variable = "RUST_AI_CPU_FALLBACK",
       .bad_value_quoted = "''"},
      {.name = "valid force, malformed device",
       .env = {{"RUST_AI_FORCE_CPU", "1"}, {"RUST_AI_CUDA_DEVICE", "x"}},
       .bad_variable = "RUST_AI_CUDA_DEVICE",
       .bad_value_quoted = "'x'"},
  };
  for (const EnvCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Result<DeviceConfig> result = DeviceConfig::from_env(lookup_in(c.env));
    if (c.bad_variable != nullptr) {
      ASSERT_FALSE(result.has_value()) << c.name;
      EXPECT_EQ(result.error().code(), ErrorCode::invalid_config) << c.name;
      EXPECT_THAT(result.error().message(),
                  HasSubstr(std::string(c.bad_variable) + "=" + c.bad_value_quoted))
          << c.name;
      continue;
    }
    ASSERT_TRUE(result.has_value()) << c.name << ": " << result.error().to_string();
    EXPECT_EQ(result->force_cpu(), c.force_cpu) << c.name;
    EXPECT_EQ(result->cuda_device(), c.ordinal) << c.name;
    EXPECT_EQ(result->fallback(), c.policy) << c.name;
    EXPECT_EQ(result->cuda_device_source(), c.ordinal_source) << c.name;
    EXPECT_TRUE(result->validate().has_value()) << c.name;
  }
}

TEST(DeviceConfigTest, FromEnvRejectsAnEmptyLookup) {
  const Result<DeviceConfig> result = DeviceConfig::from_env(EnvLookup{});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::invalid_config);
  EXPECT_THAT(result.error().message(), HasSubstr("lookup"));
}

TEST(DeviceConfigTest, FromEnvReadsTheProcessEnvironment) {
  const ScopedEnv force("RUST_AI_FORCE_CPU", std::nullopt);
  const ScopedEnv legacy("AXOLOTL_FORCE_CPU", "on");
  const ScopedEnv device("RUST_AI_CUDA_DEVICE", "2");
  const ScopedEnv policy("RUST_AI_CPU_FALLBACK", "error");
  const Result<DeviceConfig> result = DeviceConfig::from_env();
  ASSERT_TRUE(result.has_value()) << result.error().to_string();
  EXPECT_TRUE(result->force_cpu());
  EXPECT_EQ(result->force_cpu_source(), "AXOLOTL_FORCE_CPU=on");
  EXPECT_EQ(result->cuda_device(), 2);
  EXPECT_EQ(result->fallback(), FallbackPolicy::error);
  EXPECT_EQ(result->fallback_source(), "RUST_AI_CPU_FALLBACK=error");

  const ScopedEnv bad("RUST_AI_CUDA_DEVICE", "two");
  const Result<DeviceConfig> malformed = DeviceConfig::from_env();
  ASSERT_FALSE(malformed.has_value());
  EXPECT_THAT(malformed.error().message(), HasSubstr("RUST_AI_CUDA_DEVICE='two'"));
}

TEST(DeviceConfigTest, BuilderClearsTheEnvironmentOrigin) {
  auto config = DeviceConfig::from_env(lookup_in({{"RUST_AI_CUDA_DEVICE", "1"}}));
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->cuda_device_source(), "RUST_AI_CUDA_DEVICE=1");
  config->with_cuda_device(0);
  EXPECT_EQ(config->cuda_device_source(), "");
}

// --- get_device through the fake probe ----------------------------------------------------------

TEST(GetDeviceTest, ForceCpuReturnsCpuWithoutProbingOrWarning) {
  auto probe = no_cuda();
  const ScopedCudaProbe scope(probe);
  LogCapture capture;
  const auto config = DeviceConfig{}.with_force_cpu(true).with_component("tokenizer");
  for (int i = 0; i < 3; ++i) {
    const Result<c10::Device> device = get_device(config);
    ASSERT_TRUE(device.has_value()) << device.error().to_string();
    EXPECT_TRUE(device->is_cpu());
  }
  EXPECT_EQ(probe->calls(), 0);
  EXPECT_EQ(warnings(capture), 0u);
  EXPECT_EQ(capture.count("tokenizer: using the CPU as asked", LogLevel::info), 1u);
}

TEST(GetDeviceTest, CudaPresentWithTwoDevicesSelectsTheOrdinalAndLogsOncePerOrdinal) {
  auto probe = fake(FakeCudaProbe::with_devices(2));
  const ScopedCudaProbe scope(probe);
  LogCapture capture;
  for (int round = 0; round < 3; ++round) {
    for (int ordinal : {0, 1}) {
      EXPECT_THAT(
          get_device(DeviceConfig{}.with_cuda_device(ordinal).with_component("attention")),
          IsOkAndHolds(c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(ordinal))));
    }
  }
  EXPECT_EQ(probe->calls(), 1);  // Probed once, cached afterwards.
  EXPECT_EQ(capture.count("attention: using cuda:0 (Fake GPU 0, sm_90", LogLevel::info), 1u);
  EXPECT_EQ(capture.count("attention: using cuda:1 (Fake GPU 1, sm_90", LogLevel::info), 1u);
  EXPECT_EQ(warnings(capture), 0u);
  EXPECT_TRUE(cuda_available());
  EXPECT_EQ(cuda_probe_result().device_count, 2);
  EXPECT_EQ(probe->calls(), 1);
}

TEST(GetDeviceTest, OrdinalOutOfRangeIsAnErrorListingTheVisibleDevices) {
  const ScopedCudaProbe scope(fake(FakeCudaProbe::with_devices(2)));
  LogCapture capture;
  const Result<c10::Device> device =
      get_device(DeviceConfig{}.with_cuda_device(2).with_component("nf4"));
  ASSERT_FALSE(device.has_value());
  EXPECT_EQ(device.error().code(), ErrorCode::device_not_available);
  const std::string& message = device.error().message();
  EXPECT_THAT(message, HasSubstr("cuda:2"));
  EXPECT_THAT(message, HasSubstr("nf4 asked for cuda:2"));
  EXPECT_THAT(message, HasSubstr("2 CUDA device(s) are visible"));
  EXPECT_THAT(message, HasSubstr("cuda:0 (Fake GPU 0, sm_90, 80.0 GiB)"));
  EXPECT_THAT(message, HasSubstr("cuda:1 (Fake GPU 1, sm_90, 80.0 GiB)"));
  EXPECT_NE(device.error().device_info(), nullptr);
  EXPECT_EQ(warnings(capture), 0u);  // Not a fallback.
}

TEST(GetDeviceTest, OrdinalBeyondDeviceIndexRangeIsAnErrorNotACrash) {
  const ScopedCudaProbe scope(fake(FakeCudaProbe::with_devices(1)));
  const Result<c10::Device> device = get_device(DeviceConfig{}.with_cuda_device(300));
  EXPECT_THAT(device, HasErrorCode(ErrorCode::device_not_available));
  EXPECT_THAT(device, HasMessage("cuda:300"));
}

TEST(GetDeviceTest, LocalRankOutOfRangeSuggestsTheFix) {
  const ScopedCudaProbe scope(fake(FakeCudaProbe::with_devices(1)));
  auto config = DeviceConfig::from_env(lookup_in({{"LOCAL_RANK", "3"}}));
  ASSERT_TRUE(config.has_value());
  const Result<c10::Device> device = get_device(*config);
  ASSERT_FALSE(device.has_value());
  EXPECT_THAT(device.error().message(), HasSubstr("(LOCAL_RANK=3)"));
  EXPECT_THAT(device.error().message(), HasSubstr("set RUST_AI_CUDA_DEVICE=0"));
}

TEST(GetDeviceTest, NoUsableCudaFallsBackToCpuWithOneWarningNamingTheReason) {
  struct Case {
    CudaStatus status;
    const char* reason;  // What the warning must say.
  };
  const Case cases[] = {
      {CudaStatus::no_driver, "no usable NVIDIA driver: fake: no_driver"},
      {CudaStatus::no_device, "the CUDA driver sees no device: fake: no_device"},
      {CudaStatus::cpu_only_torch, "libtorch has no CUDA support: fake: cpu_only_torch"},
      {CudaStatus::not_compiled, "ai_core was built without CUDA"},
      {CudaStatus::driver_error, "the CUDA driver reported an error: fake: driver_error"},
  };
  for (const Case& c : cases) {
    const std::string status(to_string(c.status));
    SCOPED_TRACE(status);
    auto probe = fake(FakeCudaProbe::unusable(c.status, "fake: " + status));
    const ScopedCudaProbe scope(probe);
    LogCapture capture;
    for (int i = 0; i < 5; ++i) {
      const Result<c10::Device> device = get_device(DeviceConfig{}.with_component("unsloth"));
      ASSERT_TRUE(device.has_value()) << device.error().to_string();
      EXPECT_TRUE(device->is_cpu());
    }
    EXPECT_EQ(probe->calls(), 1);
    ASSERT_EQ(warnings(capture), 1u) << status;
    const std::string warning = capture.records().back().message;
    EXPECT_THAT(warning, HasSubstr("unsloth is running on the CPU"));
    EXPECT_THAT(warning, HasSubstr(c.reason));
    EXPECT_THAT(warning, HasSubstr("10-100x slower"));
    EXPECT_THAT(warning, HasSubstr("RUST_AI_FORCE_CPU=1"));
    EXPECT_FALSE(cuda_available());
  }
}

TEST(GetDeviceTest, ProbeThatThrowsIsADriverErrorAndFallsBack) {
  const ScopedCudaProbe scope(std::make_shared<ThrowingProbe>());
  LogCapture capture;
  const Result<c10::Device> device = get_device(DeviceConfig{});
  ASSERT_TRUE(device.has_value()) << device.error().to_string();
  EXPECT_TRUE(device->is_cpu());
  EXPECT_EQ(cuda_probe_result().status, CudaStatus::driver_error);
  EXPECT_THAT(cuda_probe_result().message, HasSubstr("cuInit exploded"));
  EXPECT_EQ(warnings(capture), 1u);
  EXPECT_EQ(capture.count("cuInit exploded", LogLevel::warn), 1u);
}

TEST(GetDeviceTest, OkWithZeroDevicesCountsAsNoDevice) {
  CudaProbeResult result = FakeCudaProbe::with_devices(0);
  const ScopedCudaProbe scope(fake(result));
  EXPECT_FALSE(cuda_available());
  EXPECT_EQ(cuda_probe_result().status, CudaStatus::no_device);
}

TEST(GetDeviceTest, FallbackErrorPolicyIsDeviceNotAvailableWithTheReason) {
  const ScopedCudaProbe scope(fake(FakeCudaProbe::unusable(CudaStatus::no_device, "fake: hidden")));
  LogCapture capture;
  const Result<c10::Device> device =
      get_device(DeviceConfig{}.with_fallback(FallbackPolicy::error).with_component("trainer"));
  ASSERT_FALSE(device.has_value());
  EXPECT_EQ(device.error().code(), ErrorCode::device_not_available);
  EXPECT_THAT(device.error().message(), HasSubstr("trainer needs a CUDA device"));
  EXPECT_THAT(device.error().message(), HasSubstr("FallbackPolicy::error"));
  EXPECT_THAT(device.error().message(), HasSubstr("fake: hidden"));
  EXPECT_EQ(warnings(capture), 0u);
}

TEST(GetDeviceTest, FallbackErrorPolicyFromTheEnvironmentNamesTheVariable) {
  const ScopedCudaProbe scope(no_cuda());
  auto config = DeviceConfig::from_env(lookup_in({{"RUST_AI_CPU_FALLBACK", "error"}}));
  ASSERT_TRUE(config.has_value());
  const Result<c10::Device> device = get_device(*config);
  ASSERT_FALSE(device.has_value());
  EXPECT_THAT(device.error().message(), HasSubstr("RUST_AI_CPU_FALLBACK=error"));
}

TEST(GetDeviceTest, FallbackAllowPolicyReturnsCpuLoggedAtInfoWithoutWarning) {
  const ScopedCudaProbe scope(no_cuda());
  LogCapture capture;
  for (int i = 0; i < 3; ++i) {
    const Result<c10::Device> device =
        get_device(DeviceConfig{}.with_fallback(FallbackPolicy::allow).with_component("eval"));
    ASSERT_TRUE(device.has_value());
    EXPECT_TRUE(device->is_cpu());
  }
  EXPECT_EQ(warnings(capture), 0u);
  EXPECT_EQ(capture.count("eval: using the CPU: no usable NVIDIA driver", LogLevel::info), 1u);
}

TEST(GetDeviceTest, InvalidConfigIsAnErrorBeforeAnyProbe) {
  auto probe = fake(FakeCudaProbe::with_devices(1));
  const ScopedCudaProbe scope(probe);
  const DeviceConfig invalid[] = {
      DeviceConfig{}.with_cuda_device(-1),
      DeviceConfig{}.with_cuda_device(40000),
      DeviceConfig{}.with_component(""),
      DeviceConfig{}.with_fallback(static_cast<FallbackPolicy>(3)),
      DeviceConfig{}.with_force_cpu(true).with_cuda_device(-5),
  };
  for (const DeviceConfig& config : invalid) {
    EXPECT_THAT(get_device(config), HasErrorCode(ErrorCode::invalid_config));
  }
  EXPECT_EQ(probe->calls(), 0);
}

TEST(GetDeviceTest, SystemProbeAnswersConsistently) {
  const ScopedCudaProbe scope(nullptr);  // The real probe, fresh cache.
  const CudaProbeResult result = make_system_cuda_probe()->probe(CudaProbeOptions{});
#if !AI_CORE_WITH_CUDA
  EXPECT_EQ(result.status, CudaStatus::not_compiled);
#endif
  if (result.status == CudaStatus::ok) {
    EXPECT_GT(result.device_count, 0);
    ASSERT_EQ(result.devices.size(), static_cast<std::size_t>(result.device_count));
    for (const auto& device : result.devices) {
      EXPECT_FALSE(device.name.empty());
      EXPECT_GT(device.capability_major, 0);
      EXPECT_GT(device.total_memory_bytes, 0u);
      EXPECT_FALSE(device.free_memory_bytes.has_value());  // Not asked for.
    }
  } else {
    EXPECT_EQ(result.device_count, 0);
    EXPECT_FALSE(result.message.empty());
  }
  EXPECT_EQ(cuda_available(), result.status == CudaStatus::ok);
  const Result<c10::Device> device =
      get_device(DeviceConfig{}.with_fallback(FallbackPolicy::allow));
  ASSERT_TRUE(device.has_value()) << device.error().to_string();
  EXPECT_EQ(device->is_cuda(), result.status == CudaStatus::ok);
}

// --- warn_if_cpu --------------------------------------------------------------------------------

TEST(WarnIfCpuTest, NonCpuDevicesNeverWarn) {
  const ScopedCudaProbe scope(no_cuda());
  LogCapture capture;
  warn_if_cpu(c10::Device(c10::DeviceType::CUDA, 0), "kernels");
  warn_if_cpu(c10::Device(c10::DeviceType::Meta), "kernels");
  EXPECT_TRUE(capture.records().empty());
  warn_if_cpu(c10::Device(c10::DeviceType::CPU), "kernels");  // The warning is still unspent.
  EXPECT_EQ(warnings(capture), 1u);
}

TEST(WarnIfCpuTest, OncePerProcessNamingTheFirstComponentThenDebugForEachOther) {
  const ScopedCudaProbe scope(no_cuda());
  LogCapture capture;
  const c10::Device cpu(c10::DeviceType::CPU);
  warn_if_cpu(cpu, "unsloth");
  warn_if_cpu(cpu, "nf4");
  warn_if_cpu(cpu, "nf4");
  warn_if_cpu(cpu, "unsloth");
  warn_if_cpu(cpu, "vsa");
  ASSERT_EQ(warnings(capture), 1u);
  EXPECT_EQ(capture.count("unsloth is running on the CPU", LogLevel::warn), 1u);
  EXPECT_EQ(capture.count("nf4 also runs on the CPU", LogLevel::debug), 1u);
  EXPECT_EQ(capture.count("vsa also runs on the CPU", LogLevel::debug), 1u);
  EXPECT_EQ(capture.count("on the CPU"), 3u);  // Nothing for repeated components.
}

// What the handler test's handler received.
std::vector<std::string>& handled_warnings() {
  static std::vector<std::string> messages;
  return messages;
}

TEST(WarnIfCpuTest, AnInstalledHandlerGetsTheWarningOnceInPlaceOfStderr) {
  handled_warnings().clear();
  const CpuWarningHandler before = set_cpu_warning_handler(
      [](std::string_view message) noexcept { handled_warnings().emplace_back(message); });
  EXPECT_EQ(before, nullptr);
  {
    const ScopedCudaProbe scope(no_cuda());
    LogCapture capture;
    ::testing::internal::CaptureStderr();
    warn_if_cpu(c10::Device(c10::DeviceType::CPU), "handled");
    warn_if_cpu(c10::Device(c10::DeviceType::CPU), "handled");
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_THAT(err, Not(HasSubstr(kWarningText)));
    EXPECT_EQ(capture.count("handled is running on the CPU"), 1u);  // Still recorded.
  }
  const CpuWarningHandler mine = set_cpu_warning_handler(before);
  EXPECT_NE(mine, nullptr);
  ASSERT_EQ(handled_warnings().size(), 1u);
  EXPECT_THAT(handled_warnings()[0],
              HasSubstr("handled is running on the CPU: no usable NVIDIA driver: fake: no driver"));
}

TEST(WarnIfCpuTest, TheTestGuardMakesTheWarningRepeatable) {
  LogCapture capture;
  for (int i = 0; i < 2; ++i) {
    const ScopedCudaProbe scope(no_cuda());
    warn_if_cpu(c10::Device(c10::DeviceType::CPU), "repeat");
  }
  EXPECT_EQ(warnings(capture), 2u);
}

TEST(WarnIfCpuTest, CudaUsableButHandedACpuDeviceSaysSo) {
  const ScopedCudaProbe scope(fake(FakeCudaProbe::with_devices(1)));
  LogCapture capture;
  warn_if_cpu(c10::Device(c10::DeviceType::CPU), "loader");
  ASSERT_EQ(warnings(capture), 1u);
  EXPECT_THAT(capture.records().back().message,
              HasSubstr("CUDA is usable (1 device(s) visible) but it was handed a CPU device"));
}

TEST(WarnIfCpuTest, ForceCpuInTheEnvironmentReallySilencesIt) {
  struct Case {
    const char* name;
    EnvMap env;
    bool warns;
  };
  const Case cases[] = {
      {"RUST_AI_FORCE_CPU=1", {{"RUST_AI_FORCE_CPU", "1"}}, false},
      {"legacy AXOLOTL_FORCE_CPU=yes", {{"AXOLOTL_FORCE_CPU", "yes"}}, false},
      {"RUST_AI_FORCE_CPU=0 beats AXOLOTL_FORCE_CPU=1",
       {{"RUST_AI_FORCE_CPU", "0"}, {"AXOLOTL_FORCE_CPU", "1"}},
       true},
      {"malformed RUST_AI_FORCE_CPU=maybe does not silence",
       {{"RUST_AI_FORCE_CPU", "maybe"}},
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::unique_ptr<ScopedEnv>> env;
    for (const char* name : {"RUST_AI_FORCE_CPU", "AXOLOTL_FORCE_CPU", "VSA_OPTIM_FORCE_CPU"}) {
      env.push_back(std::make_unique<ScopedEnv>(name, std::nullopt));
    }
    for (const auto& [name, value] : c.env) {
      env.push_back(std::make_unique<ScopedEnv>(name.c_str(), value));
    }
    const ScopedCudaProbe scope(no_cuda());
    LogCapture capture;
    warn_if_cpu(c10::Device(c10::DeviceType::CPU), "silenced");
    EXPECT_EQ(warnings(capture), c.warns ? 1u : 0u) << c.name;
    if (!c.warns) {
      EXPECT_EQ(capture.count("declared intended", LogLevel::debug), 1u) << c.name;
    }
    while (!env.empty()) env.pop_back();  // Restore in reverse order.
  }
}

TEST(WarnIfCpuTest, SixtyFourThreadsRacingGetDeviceProduceExactlyOneWarning) {
  auto probe = no_cuda();
  const ScopedCudaProbe scope(probe);
  LogCapture capture;
  constexpr int kThreads = 64;
  std::latch start(kThreads);
  std::atomic<int> cpu_results{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = 0; i < 100; ++i) {
        const Result<c10::Device> device = get_device(DeviceConfig{}.with_component("racer"));
        if (device.has_value() && device->is_cpu()) cpu_results.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(cpu_results.load(), kThreads * 100);
  EXPECT_EQ(warnings(capture), 1u);
  EXPECT_EQ(probe->calls(), 1);
}

TEST(WarnIfCpuTest, SixtyFourComponentsRacingProduceOneWarningAndOneDebugLineEach) {
  const ScopedCudaProbe scope(no_cuda());
  LogCapture capture;
  constexpr int kThreads = 64;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string component = "component-" + std::to_string(t) + "-";
      start.arrive_and_wait();
      for (int i = 0; i < 50; ++i) warn_if_cpu(c10::Device(c10::DeviceType::CPU), component);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(warnings(capture), 1u);
  EXPECT_EQ(capture.count("also runs on the CPU", LogLevel::debug), kThreads - 1u);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(capture.count("component-" + std::to_string(t) + "-"), 1u) << t;
  }
}

// --- the warning on stderr of a fresh process ---------------------------------------------------
// The parent re-executes this binary running only the disabled (so normally not run) test
// DeviceChildProcess.DISABLED_RaceThenWarnDirectly, and counts the warning on the child's stderr.

TEST(DeviceChildProcess, DISABLED_RaceThenWarnDirectly) {
  const ScopedCudaProbe scope(no_cuda());
  LogCapture capture;
  auto config = DeviceConfig::from_env();
  ASSERT_TRUE(config.has_value()) << config.error().to_string();
  config->with_component("child");
  std::latch start(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 64; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = 0; i < 20; ++i) {
        const Result<c10::Device> device = get_device(*config);
        EXPECT_TRUE(device.has_value() && device->is_cpu());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  warn_if_cpu(c10::Device(c10::DeviceType::CPU), "direct");
  const std::size_t expected = config->force_cpu() ? 0u : 1u;
  EXPECT_EQ(warnings(capture), expected);
}

struct ChildRun {
  int exit_code = -1;
  std::string stderr_text;
};

ChildRun run_child(const std::string& environment) {
  ChildRun run;
  char self[4096];  // This test binary; `/proc/self/exe` inside the command would name `env`.
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return run;
  self[length] = '\0';
  const std::string command =
      "env -u RUST_AI_FORCE_CPU -u AXOLOTL_FORCE_CPU -u VSA_OPTIM_FORCE_CPU -u SPDLOG_LEVEL "
      "-u RUST_AI_CPU_FALLBACK " +
      environment + " '" + self +
      "' --gtest_also_run_disabled_tests "
      "--gtest_filter=DeviceChildProcess.DISABLED_RaceThenWarnDirectly 2>&1 >/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.stderr_text.append(buffer, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++count;
  }
  return count;
}

TEST(DeviceSubprocessTest, StderrShowsTheWarningExactlyOnce) {
  struct Case {
    const char* name;
    const char* environment;
    std::size_t expected;
  };
  const Case cases[] = {
      {"default logger (stderr)", "", 1},
      {"logging silenced by the host", "SPDLOG_LEVEL=off", 1},
      {"logger level above warn", "SPDLOG_LEVEL=error", 1},
      {"CPU declared intended", "RUST_AI_FORCE_CPU=1", 0},
      {"CPU declared through a legacy name", "VSA_OPTIM_FORCE_CPU=true", 0},
  };
  for (const Case& c : cases) {
    const ChildRun run = run_child(c.environment);
    EXPECT_EQ(run.exit_code, 0) << c.name << "\n" << run.stderr_text;
    EXPECT_EQ(occurrences(run.stderr_text, kWarningText), c.expected) << c.name << "\n"
                                                                      << run.stderr_text;
    if (c.expected == 1) {
      EXPECT_THAT(run.stderr_text, HasSubstr("child is running on the CPU")) << c.name;
      EXPECT_THAT(run.stderr_text, Not(HasSubstr("direct is running"))) << c.name;
    }
  }
}

// --- device_report ------------------------------------------------------------------------------

const EnvVariableReport* find_variable(const DeviceReport& report, std::string_view name) {
  for (const auto& variable : report.environment) {
    if (variable.name == name) return &variable;
  }
  return nullptr;
}

TEST(DeviceReportTest, ReportsVersionsDevicesEnvironmentAndTheChoice) {
  auto probe = fake(FakeCudaProbe::with_devices(2));
  const ScopedCudaProbe scope(probe);
  LogCapture capture;
  DeviceReportOptions options;
  options.env = lookup_in(
      {{"RUST_AI_CUDA_DEVICE", "1"}, {"LOCAL_RANK", "0"}, {"CUDA_VISIBLE_DEVICES", "2,3"}});
  const DeviceReport report = device_report(options);
  EXPECT_FALSE(report.library_version.empty());
  EXPECT_THAT(report.torch_version, HasSubstr("2."));
  EXPECT_EQ(report.cuda_compiled, AI_CORE_WITH_CUDA != 0);
  EXPECT_EQ(report.cuda.status, CudaStatus::ok);
  ASSERT_EQ(report.cuda.devices.size(), 2u);
  EXPECT_TRUE(report.cuda.devices[1].free_memory_bytes.has_value());  // Asked for by default.
  ASSERT_TRUE(report.device.has_value());
  EXPECT_EQ(*report.device, c10::Device(c10::DeviceType::CUDA, 1));
  EXPECT_THAT(report.reason, HasSubstr("RUST_AI_CUDA_DEVICE=1"));
  EXPECT_FALSE(report.error.has_value());

  // Every variable read, in priority order, with its effect.
  std::vector<std::string> names;
  for (const auto& variable : report.environment) names.push_back(variable.name);
  EXPECT_THAT(
      names, ::testing::ElementsAre("RUST_AI_FORCE_CPU", "AXOLOTL_FORCE_CPU", "VSA_OPTIM_FORCE_CPU",
                                    "RUST_AI_CUDA_DEVICE", "AXOLOTL_CUDA_DEVICE",
                                    "VSA_OPTIM_CUDA_DEVICE", "LOCAL_RANK", "RUST_AI_CPU_FALLBACK",
                                    "CUDA_VISIBLE_DEVICES", "SPDLOG_LEVEL"));
  EXPECT_THAT(find_variable(report, "RUST_AI_CUDA_DEVICE")->effect, HasSubstr("cuda:1"));
  EXPECT_THAT(find_variable(report, "LOCAL_RANK")->effect,
              HasSubstr("ignored: RUST_AI_CUDA_DEVICE is set"));
  EXPECT_EQ(find_variable(report, "RUST_AI_FORCE_CPU")->value, std::nullopt);
  EXPECT_EQ(find_variable(report, "CUDA_VISIBLE_DEVICES")->value, "2,3");

  const std::string table = to_string(report);
  EXPECT_THAT(table, HasSubstr("Fake GPU 1"));
  EXPECT_THAT(table, HasSubstr("79.0 GiB"));
  EXPECT_THAT(table, HasSubstr("RUST_AI_CUDA_DEVICE"));
  EXPECT_THAT(table, HasSubstr("cuda:1: CUDA is usable"));
  const std::string json = to_json(report);
  EXPECT_THAT(json, HasSubstr("\"selected_device\":\"cuda:1\""));
  EXPECT_THAT(json, HasSubstr("\"status\":\"ok\""));
  EXPECT_THAT(json, HasSubstr("\"free_memory_bytes\":84825604096"));
  EXPECT_THAT(json, HasSubstr("\"error\":null"));
  // Diagnostics only: no log message, no probe cached by the report.
  EXPECT_TRUE(capture.records().empty());
  EXPECT_EQ(probe->calls(), 1);
}

TEST(DeviceReportTest, MalformedEnvironmentIsTheErrorAndEveryVariableIsStillListed) {
  const ScopedCudaProbe scope(no_cuda());
  DeviceReportOptions options;
  options.env = lookup_in(
      {{"RUST_AI_FORCE_CPU", "maybe"}, {"AXOLOTL_FORCE_CPU", "1"}, {"RUST_AI_CUDA_DEVICE", "-2"}});
  const DeviceReport report = device_report(options);
  ASSERT_TRUE(report.error.has_value());
  EXPECT_EQ(report.error->code(), ErrorCode::invalid_config);
  EXPECT_THAT(report.error->message(), HasSubstr("RUST_AI_FORCE_CPU='maybe'"));
  EXPECT_FALSE(report.device.has_value());
  EXPECT_THAT(find_variable(report, "RUST_AI_FORCE_CPU")->effect, HasSubstr("invalid"));
  EXPECT_THAT(find_variable(report, "AXOLOTL_FORCE_CPU")->effect, HasSubstr("ignored"));
  EXPECT_THAT(find_variable(report, "RUST_AI_CUDA_DEVICE")->effect, HasSubstr("invalid"));
  EXPECT_THAT(to_string(report), HasSubstr("error: the environment is malformed: invalid config"));
  EXPECT_THAT(to_json(report), HasSubstr("\"code\":\"invalid config\""));
}

TEST(DeviceReportTest, NoCudaShowsTheFallbackWithoutWarning) {
  const ScopedCudaProbe scope(fake(FakeCudaProbe::unusable(CudaStatus::no_device, "fake: none")));
  LogCapture capture;
  DeviceReportOptions options;
  options.env = lookup_in({{"CUDA_VISIBLE_DEVICES", ""}});
  const DeviceReport report = device_report(options);
  ASSERT_TRUE(report.device.has_value());
  EXPECT_TRUE(report.device->is_cpu());
  EXPECT_THAT(report.reason, HasSubstr("no usable CUDA: the CUDA driver sees no device"));
  EXPECT_THAT(report.reason, HasSubstr("one-time warning"));
  EXPECT_THAT(find_variable(report, "CUDA_VISIBLE_DEVICES")->effect, HasSubstr("hides every"));
  EXPECT_TRUE(capture.records().empty());
  EXPECT_THAT(to_string(report), HasSubstr("none"));
}

TEST(DeviceReportTest, FallbackErrorAndForceCpuAndOutOfRange) {
  const ScopedCudaProbe scope(fake(FakeCudaProbe::with_devices(1)));
  DeviceReportOptions options;
  options.env = lookup_in({{"RUST_AI_CUDA_DEVICE", "4"}});
  DeviceReport report = device_report(options);
  ASSERT_TRUE(report.error.has_value());
  EXPECT_EQ(report.error->code(), ErrorCode::device_not_available);
  EXPECT_THAT(report.error->message(), HasSubstr("cuda:0 (Fake GPU 0"));

  options.env = lookup_in({{"VSA_OPTIM_FORCE_CPU", "1"}});
  report = device_report(options);
  ASSERT_TRUE(report.device.has_value());
  EXPECT_TRUE(report.device->is_cpu());
  EXPECT_THAT(report.reason, HasSubstr("VSA_OPTIM_FORCE_CPU=1"));

  const ScopedCudaProbe none(no_cuda());
  options.env = lookup_in({{"RUST_AI_CPU_FALLBACK", "error"}});
  options.query_free_memory = false;
  report = device_report(options);
  ASSERT_TRUE(report.error.has_value());
  EXPECT_EQ(report.error->code(), ErrorCode::device_not_available);
  EXPECT_THAT(report.error->message(), HasSubstr("RUST_AI_CPU_FALLBACK=error"));
}

TEST(DeviceReportTest, JsonEscapesWhatTheEnvironmentHolds) {
  const ScopedCudaProbe scope(no_cuda());
  DeviceReportOptions options;
  options.env = lookup_in({{"RUST_AI_FORCE_CPU", "a\"b\\c\n\x01"}});
  const std::string json = to_json(device_report(options));
  EXPECT_THAT(json, HasSubstr("\"value\":\"a\\\"b\\\\c\\n\\u0001\""));
}

TEST(DeviceReportTest, FreeMemoryNotAskedForIsShownAsNotQueried) {
  const ScopedCudaProbe scope(fake(FakeCudaProbe::with_devices(1)));
  DeviceReportOptions options;
  options.env = lookup_in({});
  options.query_free_memory = false;
  const DeviceReport report = device_report(options);
  ASSERT_EQ(report.cuda.devices.size(), 1u);
  EXPECT_FALSE(report.cuda.devices[0].free_memory_bytes.has_value());
  EXPECT_THAT(to_string(report), HasSubstr("not queried"));
  EXPECT_THAT(to_json(report), HasSubstr("\"free_memory_bytes\":null"));
}

}  // namespace
}  // namespace ai_core
