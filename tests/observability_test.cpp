// SPDX-License-Identifier: MIT
// Tests of the observability module on the CPU, in one binary to keep CI short:
//   <ai_core/seed.hpp>: the same seed gives the same tensors in one process and in a fresh
//     process (this binary re-executes itself), derived seeds are pinned values, a restored RNG
//     state replays exactly (directly and through bytes), and bad bytes are clear errors;
//   <ai_core/run_metadata.hpp>: the JSON parses with python3's json and holds the fields, the
//     environment is allow-listed with secrets redacted, any bytes stay valid JSON;
//   <ai_core/trace.hpp>: RUST_AI_TRACE parsing, the timeline as Chrome trace JSON with one event
//     per dispatched op (also from several threads), its capacity, and a Kineto profiler session
//     started from C++ that records the name of an op run through `dispatch`.
// The GPU side is tests/cuda/observability_cuda_test.cu.
#include <ai_core/dispatch.hpp>
#include <ai_core/run_metadata.hpp>
#include <ai_core/seed.hpp>
#include <ai_core/testing/matchers.hpp>
#include <ai_core/trace.hpp>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace test_observability {

using ai_core::CoreError;
using ai_core::ErrorCode;
using ai_core::Result;
using ai_core::testing::HasErrorCode;
using ai_core::testing::HasMessage;
using ai_core::testing::IsOk;
using ai_core::testing::IsOkAndHolds;
using ::testing::HasSubstr;

const c10::Device kCpu(c10::kCPU);

// --- helpers -------------------------------------------------------------------------------------

/// Returns the bytes of `tensor` as lower-case hex.
std::string hex(const at::Tensor& tensor) {
  const at::Tensor bytes = tensor.contiguous();
  const auto* data = static_cast<const unsigned char*>(bytes.const_data_ptr());
  std::string out;
  char digits[3];
  for (std::size_t i = 0; i < bytes.nbytes(); ++i) {
    std::snprintf(digits, sizeof digits, "%02x", data[i]);
    out += digits;
  }
  return out;
}

/// Draws from several of torch's CPU samplers, so a generator restored wrongly shows up in any.
std::string draw() {
  return hex(at::randn({16})) + hex(at::rand({8})) + hex(at::randint(0, 1000, {8})) +
         hex(at::randperm(10));
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "ai_core_observability_" + std::to_string(::getpid()) + "_" + name;
}

/// Writes `text` to a file and runs python3's json on it with `checks` (Python statements on
/// `d`, the parsed document); returns the exit status (0: parsed and every check held).
int python_json_check(const std::string& text, const std::string& checks) {
  const std::string data = temp_path("doc.json");
  const std::string script = temp_path("check.py");
  std::ofstream(data, std::ios::binary) << text;
  std::ofstream(script) << "import json, sys\nd = json.load(open(sys.argv[1], encoding='utf-8'))\n"
                        << checks << "\n";
  const std::string command = "timeout 60 python3 '" + script + "' '" + data + "'";
  const int status = std::system(command.c_str());
  std::remove(data.c_str());
  std::remove(script.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// y = x * 2 + 1 on either device (libtorch ops).
struct AffineOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  std::string_view name() const { return "test::Affine"; }
  Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device /*device*/) const {
    return x * 2 + 1;
  }
  Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device /*device*/) const {
    return x * 2 + 1;
  }
};

/// An op without `name()`: ranges take its type name.
struct UnnamedOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device /*device*/) const { return x; }
  Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device /*device*/) const { return x; }
};

/// Resets tracing around each test that uses it.
class TracingTest : public ::testing::Test {
 protected:
  void SetUp() override { ai_core::detail::reset_tracing_for_testing(); }
  void TearDown() override { ai_core::detail::reset_tracing_for_testing(); }
};

// --- seeds ---------------------------------------------------------------------------------------

TEST(SeedTest, SameSeedGivesSameTensorsAndAnotherSeedDoesNot) {
  ASSERT_THAT(ai_core::seed_everything(1234), IsOk());
  const std::string first = draw();
  ASSERT_THAT(ai_core::seed_everything(1234), IsOk());
  EXPECT_EQ(draw(), first);
  ASSERT_THAT(ai_core::seed_everything(1235), IsOk());
  EXPECT_NE(draw(), first);
  EXPECT_EQ(ai_core::determinism_settings().seed, std::optional<std::uint64_t>(1235));
}

TEST(SeedTest, DerivedSeedsArePinnedAndDistinct) {
  // Pinned values: a change of the derivation would silently change every user's streams.
  static_assert(ai_core::derive_seed(1234, "dropout") == 0x30564a13dabb9c62ULL);
  static_assert(ai_core::derive_seed(0, "") == 0x21fa69a58f3d62f5ULL);
  static_assert(ai_core::derive_seed(42, "data.shuffle") == 0x39465a72ab53973cULL);
  EXPECT_NE(ai_core::derive_seed(1234, "worker3"), ai_core::derive_seed(1234, "worker4"));
  EXPECT_NE(ai_core::derive_seed(1, "dropout"), ai_core::derive_seed(2, "dropout"));
  EXPECT_NE(ai_core::derive_seed(1234, "dropout"), 1234u);
}

TEST(SeedTest, DeterminismOptionsAreAppliedAndRead) {
  const ai_core::DeterminismSettings before = ai_core::determinism_settings();
  ASSERT_THAT(ai_core::seed_everything(7, ai_core::DeterminismOptions::reproducible()), IsOk());
  ai_core::DeterminismSettings now = ai_core::determinism_settings();
  EXPECT_TRUE(now.deterministic_algorithms);
  EXPECT_FALSE(now.deterministic_algorithms_warn_only);
  EXPECT_TRUE(now.cudnn_deterministic);
  EXPECT_FALSE(now.cudnn_benchmark);
  ai_core::DeterminismOptions warn;
  warn.algorithms = ai_core::DeterministicAlgorithms::warn_only;
  ASSERT_THAT(ai_core::seed_everything(7, warn), IsOk());
  now = ai_core::determinism_settings();
  EXPECT_TRUE(now.deterministic_algorithms);
  EXPECT_TRUE(now.deterministic_algorithms_warn_only);
  EXPECT_TRUE(now.cudnn_deterministic);  // Unchanged: the field was left empty.
  ai_core::DeterminismOptions restore;
  restore.algorithms =
      before.deterministic_algorithms
          ? (before.deterministic_algorithms_warn_only ? ai_core::DeterministicAlgorithms::warn_only
                                                       : ai_core::DeterministicAlgorithms::strict)
          : ai_core::DeterministicAlgorithms::off;
  restore.cudnn_deterministic = before.cudnn_deterministic;
  restore.cudnn_benchmark = before.cudnn_benchmark;
  ASSERT_THAT(ai_core::seed_everything(7, restore), IsOk());
  EXPECT_FALSE(ai_core::determinism_settings().deterministic_algorithms);
}

TEST(SeedTest, InvalidAlgorithmsValueIsAnError) {
  ai_core::DeterminismOptions options;
  options.algorithms = static_cast<ai_core::DeterministicAlgorithms>(9);
  const Result<void> result = ai_core::seed_everything(1, options);
  EXPECT_THAT(result, HasErrorCode(ErrorCode::invalid_config));
  EXPECT_THAT(result, HasMessage("DeterminismOptions::algorithms is 9: expected unchanged (0)"));
  EXPECT_EQ(ai_core::to_string(ai_core::DeterministicAlgorithms::warn_only), "warn_only");
}

// The child of SameSeedGivesSameTensorsInAFreshProcess: prints the draws for the seed in
// AI_CORE_TEST_SEED on stdout. Disabled, so it runs only when the parent asks for it.
TEST(SeedChildProcess, DISABLED_PrintDraws) {
  const char* seed = std::getenv("AI_CORE_TEST_SEED");
  ASSERT_NE(seed, nullptr);
  ASSERT_THAT(ai_core::seed_everything(std::strtoull(seed, nullptr, 10)), IsOk());
  std::printf("DRAWS=%s\n", draw().c_str());
}

std::string child_draws(std::uint64_t seed) {
  char self[4096];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return "readlink failed";
  self[length] = '\0';
  const std::string command = "timeout 120 env AI_CORE_TEST_SEED=" + std::to_string(seed) + " '" +
                              self +
                              "' --gtest_also_run_disabled_tests "
                              "--gtest_filter=SeedChildProcess.DISABLED_PrintDraws 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string output;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child failed:\n" + output;
  const std::size_t start = output.find("DRAWS=");
  if (start == std::string::npos) return "no DRAWS line:\n" + output;
  const std::size_t end = output.find('\n', start);
  return output.substr(start + 6, end - start - 6);
}

TEST(SeedTest, SameSeedGivesSameTensorsInAFreshProcess) {
  ASSERT_THAT(ai_core::seed_everything(20261127), IsOk());
  const std::string here = draw();
  EXPECT_EQ(child_draws(20261127), here);
  EXPECT_NE(child_draws(20261128), here);
}

TEST(RngStateTest, RestoredStateReplaysExactly) {
  ASSERT_THAT(ai_core::seed_everything(99), IsOk());
  (void)draw();  // Move the streams away from the seed's start.
  Result<ai_core::RngState> state = ai_core::capture_rng_state();
  ASSERT_THAT(state, IsOk());
  EXPECT_FALSE(state->cpu().empty());
  const std::string expected = draw();
  (void)draw();
  ASSERT_THAT(ai_core::restore_rng_state(*state), IsOk());
  EXPECT_EQ(draw(), expected);

  // Through the byte format, as a checkpoint would keep it.
  const std::vector<std::uint8_t> bytes = state->to_bytes();
  Result<ai_core::RngState> loaded = ai_core::RngState::from_bytes(bytes);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(*loaded, *state);
  (void)draw();
  ASSERT_THAT(ai_core::restore_rng_state(*loaded), IsOk());
  EXPECT_EQ(draw(), expected);
}

TEST(RngStateTest, BadBytesAreClearErrors) {
  Result<ai_core::RngState> state = ai_core::capture_rng_state();
  ASSERT_THAT(state, IsOk());
  const std::vector<std::uint8_t> good = state->to_bytes();

  // Every truncation is an error (none reads past the end).
  for (std::size_t size = 0; size < good.size(); ++size) {
    const std::vector<std::uint8_t> cut(good.begin(), good.begin() + static_cast<long>(size));
    EXPECT_THAT(ai_core::RngState::from_bytes(cut), HasErrorCode(ErrorCode::invalid_config))
        << "size " << size;
  }
  EXPECT_THAT(
      ai_core::RngState::from_bytes(std::vector<std::uint8_t>(good.begin(), good.end() - 3)),
      HasMessage("truncated: reading the checksum"));

  struct Case {
    const char* name;
    std::vector<std::uint8_t> bytes;
    const char* message;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", {}, "not an ai_core RNG state"});
  std::vector<std::uint8_t> foreign = {'P', 'K', 3, 4, 0, 0, 0, 0, 1, 0, 0, 0};
  cases.push_back({"foreign bytes", foreign, "expected the bytes to start with the magic"});
  std::vector<std::uint8_t> version = good;
  version[8] = 2;
  cases.push_back({"another version", version, "format version 2 is not supported"});
  std::vector<std::uint8_t> trailing = good;
  trailing.push_back(0);
  cases.push_back({"trailing byte", trailing, "1 trailing bytes after the checksum"});
  std::vector<std::uint8_t> flipped = good;
  flipped[40] ^= 0x01;
  cases.push_back({"flipped bit", flipped, "checksum mismatch"});
  std::vector<std::uint8_t> huge = good;
  for (int i = 12; i < 20; ++i) huge[static_cast<std::size_t>(i)] = 0xFF;  // CPU state size.
  cases.push_back({"absurd length", huge, "truncated: reading the CPU generator state"});
  for (const Case& c : cases) {
    const Result<ai_core::RngState> result = ai_core::RngState::from_bytes(c.bytes);
    EXPECT_THAT(result, HasErrorCode(ErrorCode::invalid_config)) << c.name;
    EXPECT_THAT(result, HasMessage(c.message)) << c.name;
  }
}

TEST(RngStateTest, ForeignStateIsRejectedAndChangesNothing) {
  ASSERT_THAT(ai_core::seed_everything(5), IsOk());
  Result<ai_core::RngState> state = ai_core::capture_rng_state();
  ASSERT_THAT(state, IsOk());
  const std::string expected = draw();
  ASSERT_THAT(ai_core::restore_rng_state(*state), IsOk());

  // A CPU state of the wrong size: torch rejects it, and the streams go on untouched.
  const ai_core::RngState wrong_size({1, 2, 3}, state->cuda());
  const Result<void> rejected = ai_core::restore_rng_state(wrong_size);
  EXPECT_THAT(rejected, HasErrorCode(ErrorCode::invalid_config));
  EXPECT_THAT(rejected, HasMessage("libtorch rejected the RNG state"));
  EXPECT_EQ(draw(), expected);

  // Another number of CUDA generators than this process sees.
  std::vector<std::vector<std::uint8_t>> cuda = state->cuda();
  cuda.push_back({0});
  const Result<void> count = ai_core::restore_rng_state(ai_core::RngState(state->cpu(), cuda));
  EXPECT_THAT(count, HasErrorCode(ErrorCode::invalid_config));
  EXPECT_THAT(count, HasMessage("RNG state holds " + std::to_string(cuda.size()) +
                                " CUDA generator states but this process sees " +
                                std::to_string(state->cuda().size()) + " CUDA devices"));
}

// --- run metadata
// ----------------------------------------------------------------------------------

struct TrainConfig {
  int steps = 100;
  std::string name = "run";
  Result<void> validate() const {
    if (steps <= 0) {
      return CoreError::invalid_config("TrainConfig::steps is " + std::to_string(steps) +
                                       ": expected a positive number of steps");
    }
    return {};
  }
  ai_core::ConfigDescription describe() const {
    return {{"steps", std::to_string(steps)}, {"name", name}};
  }
};

struct PlainConfig {
  Result<void> validate() const { return {}; }
};

static_assert(ai_core::DescribableConfig<TrainConfig>);
static_assert(ai_core::ValidatableConfig<PlainConfig>);
static_assert(!ai_core::DescribableConfig<PlainConfig>);

/// Sets environment variables for the life of the guard.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::initializer_list<std::pair<std::string, std::string>> values)
      : values_(values) {
    for (const auto& [name, value] : values_) ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : values_) ::unsetenv(name.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

TEST(RunMetadataTest, JsonParsesAndHoldsTheFields) {
  const ScopedEnv env({{"RUST_AI_TEST_SETTING", "on"},
                       {"RUST_AI_API_KEY", "do-not-print-me"},
                       {"AXOLOTL_HUB_TOKEN", "do-not-print-me"},
                       {"CUBLAS_WORKSPACE_CONFIG", ":4096:8"},
                       {"AI_CORE_TEST_UNLISTED", "do-not-print-me"}});
  ASSERT_THAT(ai_core::seed_everything(31337), IsOk());
  TrainConfig config;
  config.steps = 250;
  Result<ai_core::RunMetadata> metadata = ai_core::RunMetadata::collect(config);
  ASSERT_THAT(metadata, IsOk());
  EXPECT_EQ(metadata->determinism.seed, std::optional<std::uint64_t>(31337));
  EXPECT_FALSE(metadata->torch_version.empty());
  const std::string json = metadata->to_json();
  EXPECT_THAT(json, ::testing::Not(HasSubstr("do-not-print-me")));
  EXPECT_EQ(python_json_check(json, R"(

assert d['ai_core_version'] and d['torch_version'], d
assert isinstance(d['cuda_compiled'], bool) and d['cuda_status']
assert isinstance(d['gpus'], list)
for key in ('cuda_runtime_version', 'cuda_driver_version', 'cudnn_version', 'nccl_version'):
    assert key in d, key
env = d['environment']
assert env['RUST_AI_TEST_SETTING'] == 'on', env
assert env['RUST_AI_API_KEY'] == '<redacted>', env
assert env['AXOLOTL_HUB_TOKEN'] == '<redacted>', env
assert env['CUBLAS_WORKSPACE_CONFIG'] == ':4096:8', env
assert 'AI_CORE_TEST_UNLISTED' not in env and 'PATH' not in env and 'HOME' not in env, env
assert d['determinism']['seed'] == '31337', d['determinism']
assert isinstance(d['determinism']['deterministic_algorithms'], bool)
assert d['host'] and d['process_id'] > 0
assert d['collected_at'].endswith('Z')
assert d['config_type'].endswith('TrainConfig'), d['config_type']
assert d['config'] == {'steps': '250', 'name': 'run'}, d['config']
)"),
            0)
      << json;
}

TEST(RunMetadataTest, AnyBytesGiveValidJson) {
  TrainConfig config;
  // Quotes, backslashes, control characters, U+2028, valid multi-byte text and invalid UTF-8:
  // a stray continuation byte, an overlong '/', a surrogate, a truncated sequence at the end.
  config.name = std::string("q\"b\\n\n\t\x01\x7f \xe2\x80\xa8 caf\xc3\xa9 \xf0\x9f\x9a\x80 ") +
                "\x80 \xc0\xaf \xed\xa0\x80 \xe2\x82";
  Result<ai_core::RunMetadata> metadata = ai_core::RunMetadata::collect(config);
  ASSERT_THAT(metadata, IsOk());
  EXPECT_EQ(python_json_check(metadata->to_json(), R"(
name = d['config']['name']
expected = 'q"b\\n\n\t\x01\x7f \u2028 caf\u00e9 \U0001F680 ' + '\ufffd \ufffd\ufffd \ufffd\ufffd\ufffd \ufffd\ufffd'
assert name == expected, (ascii(name), ascii(expected))
)"),
            0);
}

TEST(RunMetadataTest, InvalidConfigIsItsError) {
  TrainConfig config;
  config.steps = 0;
  const Result<ai_core::RunMetadata> metadata = ai_core::RunMetadata::collect(config);
  EXPECT_THAT(metadata, HasErrorCode(ErrorCode::invalid_config));
  EXPECT_THAT(metadata, HasMessage("TrainConfig::steps is 0"));
}

TEST(RunMetadataTest, AllowListIsExplicit) {
  const auto names = ai_core::run_metadata_environment_allow_list();
  EXPECT_THAT(std::vector<std::string_view>(names.begin(), names.end()),
              ::testing::IsSupersetOf({std::string_view("CUBLAS_WORKSPACE_CONFIG"),
                                       std::string_view("CUDA_VISIBLE_DEVICES"),
                                       std::string_view("LOCAL_RANK")}));
  const auto prefixes = ai_core::run_metadata_environment_prefixes();
  EXPECT_THAT(std::vector<std::string_view>(prefixes.begin(), prefixes.end()),
              ::testing::ElementsAre("RUST_AI_", "AXOLOTL_", "VSA_OPTIM_"));
}

// --- tracing
// ---------------------------------------------------------------------------------------

TEST(TraceSinksTest, ParsesTheVariable) {
  using ai_core::TraceSink;
  struct Case {
    const char* text;
    TraceSink expected;
  };
  const Case cases[] = {
      {"", TraceSink::none},
      {"0", TraceSink::none},
      {"off", TraceSink::none},
      {"1", TraceSink::all},
      {"all", TraceSink::all},
      {"nvtx", TraceSink::nvtx},
      {"torch", TraceSink::profiler},
      {"timeline, nvtx", TraceSink::timeline | TraceSink::nvtx},
      {"profiler,timeline", TraceSink::profiler | TraceSink::timeline},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ai_core::parse_trace_sinks(c.text), IsOkAndHolds(c.expected)) << c.text;
  }
  for (const char* bad : {"yes", "nvtx,", "timeline,gpu", "NVTX"}) {
    const Result<ai_core::TraceSink> result = ai_core::parse_trace_sinks(bad);
    EXPECT_THAT(result, HasErrorCode(ErrorCode::invalid_config)) << bad;
    EXPECT_THAT(result, HasMessage("RUST_AI_TRACE='" + std::string(bad) + "'")) << bad;
  }
}

TEST_F(TracingTest, EnvironmentDecidesAtTheFirstRange) {
  {
    const ScopedEnv env({{"RUST_AI_TRACE", "timeline"}});
    EXPECT_EQ(ai_core::trace_sinks(), ai_core::TraceSink::timeline);
  }
  ai_core::detail::reset_tracing_for_testing();
  {
    const ScopedEnv env({{"RUST_AI_TRACE", "sometimes"}});
    EXPECT_THAT(ai_core::configure_tracing_from_env(), HasMessage("RUST_AI_TRACE='sometimes'"));
    // A malformed value at the first range: tracing stays off (and a warning is logged).
    const ai_core::TraceRange range("x");
    EXPECT_FALSE(range.open());
    EXPECT_EQ(ai_core::trace_sinks(), ai_core::TraceSink::none);
  }
}

TEST_F(TracingTest, TimelineHasOneEventPerDispatchedOp) {
  ai_core::set_trace_sinks(ai_core::TraceSink::timeline);
  const at::Tensor x = at::ones({4});
  constexpr int kOps = 25;
  for (int i = 0; i < kOps; ++i) {
    ASSERT_THAT(ai_core::dispatch(AffineOp{}, x, kCpu), IsOk());
  }
  ASSERT_THAT(ai_core::dispatch(UnnamedOp{}, x, kCpu), IsOk());
  {
    const ai_core::TraceRange outer("step", kCpu);
    ASSERT_THAT(ai_core::dispatch(AffineOp{}, x, kCpu), IsOk());
  }
  const std::string path = temp_path("timeline.json");
  ASSERT_THAT(ai_core::write_chrome_trace(path), IsOk());
  std::ifstream file(path);
  const std::string json((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  EXPECT_EQ(python_json_check(json, R"(
events = [e for e in d['traceEvents'] if e['ph'] == 'X']
affine = [e for e in events if e['name'] == 'test::Affine']
assert len(affine) == 26, len(affine)
assert len([e for e in events if e['name'].endswith('UnnamedOp')]) == 1, events
assert len([e for e in events if e['name'] == 'step']) == 1
assert len(events) == 28, len(events)
for e in events:
    assert e['cat'] == 'ai_core' and e['args']['device'] == 'cpu', e
    assert e['dur'] >= 0 and e['ts'] >= 0 and e['pid'] == 1, e
step = [e for e in events if e['name'] == 'step'][0]
inner = affine[-1]
assert step['ts'] <= inner['ts'] and inner['ts'] + inner['dur'] <= step['ts'] + step['dur'] + 0.001
)"),
            0)
      << json;
  // Taking the timeline empties it.
  Result<std::vector<ai_core::TimelineEvent>> rest = ai_core::take_timeline_events();
  ASSERT_THAT(rest, IsOk());
  EXPECT_TRUE(rest->empty());
}

TEST_F(TracingTest, NothingIsRecordedWithTracingOff) {
  ai_core::set_trace_sinks(ai_core::TraceSink::none);
  ASSERT_THAT(ai_core::dispatch(AffineOp{}, at::ones({2}), kCpu), IsOk());
  const ai_core::TraceRange range("x");
  EXPECT_FALSE(range.open());
  Result<std::vector<ai_core::TimelineEvent>> events = ai_core::take_timeline_events();
  ASSERT_THAT(events, IsOk());
  EXPECT_TRUE(events->empty());
}

TEST_F(TracingTest, RangesNestAndFailedDispatchesAreRecorded) {
  ai_core::set_trace_sinks(ai_core::TraceSink::timeline);
  {
    const ai_core::TraceRange outer("outer");
    const ai_core::TraceRange inner("inner");
    // The wrong device: an error, and still one range.
    EXPECT_THAT(ai_core::dispatch(AffineOp{}, at::ones({2}).to(at::kMeta), kCpu),
                HasErrorCode(ErrorCode::device_mismatch));
  }
  Result<std::vector<ai_core::TimelineEvent>> events = ai_core::take_timeline_events();
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].name, "outer");
  EXPECT_EQ((*events)[0].depth, 0u);
  EXPECT_EQ((*events)[1].name, "inner");
  EXPECT_EQ((*events)[1].depth, 1u);
  EXPECT_EQ((*events)[2].name, "test::Affine");
  EXPECT_EQ((*events)[2].depth, 2u);
  EXPECT_FALSE((*events)[2].gpu_duration_ns.has_value());
}

/// An op that keeps control with its own `dispatch` member.
struct SelfDispatchingOp {
  using Input = at::Tensor;
  using Output = at::Tensor;
  std::string_view name() const { return "test::SelfDispatching"; }
  Result<at::Tensor> dispatch(const at::Tensor& x, c10::Device /*device*/) const { return x; }
  Result<at::Tensor> dispatch_gpu(const at::Tensor& x, c10::Device /*device*/) const { return x; }
  Result<at::Tensor> dispatch_cpu(const at::Tensor& x, c10::Device /*device*/) const { return x; }
};

TEST_F(TracingTest, OpsWithTheirOwnDispatchAndCudaRangesAreRecorded) {
  ai_core::set_trace_sinks(ai_core::TraceSink::timeline);
  ASSERT_THAT(ai_core::dispatch(SelfDispatchingOp{}, at::ones({2}), kCpu), IsOk());
  const c10::Device cuda0(c10::kCUDA, 0);
  { const ai_core::TraceRange range("on_cuda", cuda0); }
  Result<std::vector<ai_core::TimelineEvent>> events = ai_core::take_timeline_events();
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].name, "test::SelfDispatching");
  EXPECT_EQ((*events)[1].name, "on_cuda");
  EXPECT_EQ((*events)[1].device, cuda0);
  // GPU time exactly when there is a GPU to time (without one, the host span alone).
  EXPECT_EQ((*events)[1].gpu_duration_ns.has_value(), ai_core::cuda_available());
}

TEST_F(TracingTest, TimelineCapacityDropsAndCounts) {
  ai_core::set_trace_sinks(ai_core::TraceSink::timeline);
  ai_core::set_timeline_capacity(3);
  for (int i = 0; i < 5; ++i)
    ASSERT_THAT(ai_core::dispatch(AffineOp{}, at::ones({1}), kCpu), IsOk());
  Result<std::vector<ai_core::TimelineEvent>> events = ai_core::take_timeline_events();
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ(events->size(), 3u);
  EXPECT_EQ(ai_core::timeline_dropped_events(), 2u);
}

TEST_F(TracingTest, ThreadsEachGetTheirEvents) {
  ai_core::set_trace_sinks(ai_core::TraceSink::timeline);
  constexpr int kThreads = 8;
  constexpr int kOps = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([] {
      const at::Tensor x = at::ones({2});
      for (int i = 0; i < kOps; ++i) {
        const ai_core::TraceRange range("outer");
        EXPECT_TRUE(ai_core::dispatch(AffineOp{}, x, kCpu).has_value());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  Result<std::vector<ai_core::TimelineEvent>> events = ai_core::take_timeline_events();
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ(events->size(), 2u * kThreads * kOps);
  std::map<std::uint32_t, int> per_thread;
  for (const auto& event : *events) {
    if (event.name == "test::Affine") {
      EXPECT_EQ(event.depth, 1u);
      ++per_thread[event.thread];
    }
  }
  EXPECT_EQ(per_thread.size(), static_cast<std::size_t>(kThreads));
  for (const auto& [thread, count] : per_thread) EXPECT_EQ(count, kOps) << thread;
}

TEST_F(TracingTest, KinetoProfilerRecordsTheOpName) {
  namespace profiler = torch::autograd::profiler;
  ai_core::set_trace_sinks(ai_core::TraceSink::profiler);
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO,
                                                     /*report_input_shapes=*/true);
  const std::set<torch::profiler::impl::ActivityType> activities = {
      torch::profiler::impl::ActivityType::CPU};
  profiler::prepareProfiler(config, activities);
  profiler::enableProfiler(config, activities);
  const Result<at::Tensor> result = ai_core::dispatch(AffineOp{}, at::ones({3}), kCpu);
  const std::unique_ptr<profiler::ProfilerResult> profile = profiler::disableProfiler();
  ASSERT_THAT(result, IsOk());
  ASSERT_NE(profile, nullptr);
  std::vector<std::string> names;
  for (const auto& event : profile->events()) names.push_back(event.name());
  EXPECT_THAT(names, ::testing::Contains("test::Affine"));
  EXPECT_THAT(names, ::testing::Contains("aten::mul"));  // The op's own work, nested inside.

  // With the profiler sink off, the op is not in a profile.
  ai_core::set_trace_sinks(ai_core::TraceSink::none);
  profiler::prepareProfiler(config, activities);
  profiler::enableProfiler(config, activities);
  ASSERT_THAT(ai_core::dispatch(AffineOp{}, at::ones({3}), kCpu), IsOk());
  const std::unique_ptr<profiler::ProfilerResult> quiet = profiler::disableProfiler();
  ASSERT_NE(quiet, nullptr);
  names.clear();
  for (const auto& event : quiet->events()) names.push_back(event.name());
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("test::Affine")));
}

}  // namespace test_observability
