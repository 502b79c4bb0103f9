// SPDX-License-Identifier: MIT
// Tests of <ai_core/distributed.hpp> that need no GPU: the torchrun environment table, a real
// TCPStore rendezvous of several processes on 127.0.0.1 (this binary re-executes itself as the
// ranks: `distributed_test --worker <mode>`), a rank that never comes, a port already in use, and
// init_process_group failing cleanly without a GPU. Every process stops by itself: the workers
// arm alarm(), the parent kills what is left at its own deadline.
#include <ai_core/distributed.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/log.hpp>
#include <ai_core/testing/cuda_probe.hpp>
#include <ai_core/testing/matchers.hpp>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using ai_core::DistributedEnv;
using ai_core::ErrorCode;
using ai_core::testing::HasErrorCode;
using ai_core::testing::HasMessage;
using ai_core::testing::IsOk;
using ::testing::AllOf;
using ::testing::HasSubstr;

using Env = std::map<std::string, std::string>;

ai_core::EnvLookup lookup_in(const Env& env) {
  return [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

// A torchrun-like environment of rank `rank` in a single-node job of `world` processes.
Env torchrun_env(int rank, int world, int port) {
  return {{"RANK", std::to_string(rank)},
          {"WORLD_SIZE", std::to_string(world)},
          {"LOCAL_RANK", std::to_string(rank)},
          {"LOCAL_WORLD_SIZE", std::to_string(world)},
          {"GROUP_RANK", "0"},
          {"MASTER_ADDR", "127.0.0.1"},
          {"MASTER_PORT", std::to_string(port)},
          {"TORCHELASTIC_USE_AGENT_STORE", "False"},
          {"TORCHELASTIC_RUN_ID", "none"}};
}

// --- the environment table
// ------------------------------------------------------------------------

struct EnvCase {
  const char* name;
  Env env;
  std::optional<DistributedEnv> expected;  // Fields compared when the case succeeds.
  std::vector<std::string> message_parts;  // Substrings of the invalid_config message otherwise.
};

DistributedEnv make_env(int rank, int world, int local_rank, int local_world, int group,
                        std::string addr, int port, bool agent, std::string run_id) {
  DistributedEnv env;
  env.rank = rank;
  env.world_size = world;
  env.local_rank = local_rank;
  env.local_world_size = local_world;
  env.group_rank = group;
  env.master_addr = std::move(addr);
  env.master_port = port;
  env.use_agent_store = agent;
  env.run_id = std::move(run_id);
  env.launched = true;
  return env;
}

Env with(Env env, const std::string& name, std::optional<std::string> value) {
  if (value) {
    env[name] = *value;
  } else {
    env.erase(name);
  }
  return env;
}

TEST(DistributedEnvTest, ParsesEveryVariableStrictly) {
  const Env two = torchrun_env(1, 2, 29500);
  const std::vector<EnvCase> cases = {
      {"nothing set: a single process",
       {},
       [] {
         DistributedEnv env;
         return env;
       }(),
       {}},
      {"torchrun, rank 1 of 2",
       two,
       make_env(1, 2, 1, 2, 0, "127.0.0.1", 29500, false, "none"),
       {}},
      {"two nodes of two",
       {{"RANK", "3"},
        {"WORLD_SIZE", "4"},
        {"LOCAL_RANK", "1"},
        {"LOCAL_WORLD_SIZE", "2"},
        {"GROUP_RANK", "1"},
        {"MASTER_ADDR", "node0.cluster"},
        {"MASTER_PORT", "1"}},
       make_env(3, 4, 1, 2, 1, "node0.cluster", 1, false, ""),
       {}},
      {"agent store",
       with(two, "TORCHELASTIC_USE_AGENT_STORE", "True"),
       make_env(1, 2, 1, 2, 0, "127.0.0.1", 29500, true, "none"),
       {}},
      {"LOCAL_WORLD_SIZE defaults to WORLD_SIZE",
       with(two, "LOCAL_WORLD_SIZE", std::nullopt),
       make_env(1, 2, 1, 2, 0, "127.0.0.1", 29500, false, "none"),
       {}},
      {"CPU-only job: LOCAL_RANK=0 alone",
       {{"LOCAL_RANK", "0"}},
       [] {
         DistributedEnv env;
         env.launched = true;
         return env;
       }(),
       {}},
      {"port 65535",
       with(two, "MASTER_PORT", "65535"),
       make_env(1, 2, 1, 2, 0, "127.0.0.1", 65535, false, "none"),
       {}},
      // Malformed values.
      {"RANK not a number", with(two, "RANK", "one"), std::nullopt, {"RANK='one'", "a rank"}},
      {"RANK negative", with(two, "RANK", "-1"), std::nullopt, {"RANK='-1'"}},
      {"RANK with a space", with(two, "RANK", " 1"), std::nullopt, {"RANK=' 1'"}},
      {"RANK empty", with(two, "RANK", ""), std::nullopt, {"RANK=''"}},
      {"RANK overflows", with(two, "RANK", "99999999999"), std::nullopt, {"RANK='99999999999'"}},
      {"WORLD_SIZE hex", with(two, "WORLD_SIZE", "0x2"), std::nullopt, {"WORLD_SIZE='0x2'"}},
      {"WORLD_SIZE zero",
       with(two, "WORLD_SIZE", "0"),
       std::nullopt,
       {"WORLD_SIZE='0'", "at least 1"}},
      {"LOCAL_RANK malformed", with(two, "LOCAL_RANK", "1.0"), std::nullopt, {"LOCAL_RANK='1.0'"}},
      {"LOCAL_WORLD_SIZE zero",
       with(two, "LOCAL_WORLD_SIZE", "0"),
       std::nullopt,
       {"LOCAL_WORLD_SIZE='0'"}},
      {"GROUP_RANK malformed",
       with(two, "GROUP_RANK", "node1"),
       std::nullopt,
       {"GROUP_RANK='node1'"}},
      {"MASTER_PORT zero",
       with(two, "MASTER_PORT", "0"),
       std::nullopt,
       {"MASTER_PORT='0'", "outside 1-65535"}},
      {"MASTER_PORT too large",
       with(two, "MASTER_PORT", "65536"),
       std::nullopt,
       {"MASTER_PORT='65536'", "0 to 65535"}},
      {"MASTER_PORT a name",
       with(two, "MASTER_PORT", "http"),
       std::nullopt,
       {"MASTER_PORT='http'"}},
      {"MASTER_ADDR empty", with(two, "MASTER_ADDR", ""), std::nullopt, {"MASTER_ADDR=''"}},
      {"MASTER_ADDR with a space",
       with(two, "MASTER_ADDR", "node 0"),
       std::nullopt,
       {"MASTER_ADDR='node 0'"}},
      {"agent store flag malformed",
       with(two, "TORCHELASTIC_USE_AGENT_STORE", "maybe"),
       std::nullopt,
       {"TORCHELASTIC_USE_AGENT_STORE='maybe'", "not a boolean"}},
      // Inconsistent sets.
      {"RANK >= WORLD_SIZE",
       with(two, "RANK", "2"),
       std::nullopt,
       {"RANK=2", "WORLD_SIZE=2", "0 <= RANK < WORLD_SIZE"}},
      {"LOCAL_RANK >= LOCAL_WORLD_SIZE",
       with(with(two, "LOCAL_WORLD_SIZE", "1"), "LOCAL_RANK", "1"),
       std::nullopt,
       {"LOCAL_RANK=1", "LOCAL_WORLD_SIZE=1"}},
      {"LOCAL_WORLD_SIZE > WORLD_SIZE",
       with(two, "LOCAL_WORLD_SIZE", "3"),
       std::nullopt,
       {"LOCAL_WORLD_SIZE=3", "WORLD_SIZE=2"}},
      {"LOCAL_RANK > RANK",
       with(with(two, "RANK", "0"), "LOCAL_RANK", "1"),
       std::nullopt,
       {"LOCAL_RANK=1", "RANK=0"}},
      {"GROUP_RANK > RANK", with(two, "GROUP_RANK", "2"), std::nullopt, {"GROUP_RANK=2", "RANK=1"}},
      {"RANK without WORLD_SIZE",
       with(two, "WORLD_SIZE", std::nullopt),
       std::nullopt,
       {"RANK='1' is set but WORLD_SIZE is not"}},
      {"WORLD_SIZE without RANK",
       with(two, "RANK", std::nullopt),
       std::nullopt,
       {"WORLD_SIZE='2' is set but RANK is not"}},
      {"no LOCAL_RANK in a job of 2",
       with(two, "LOCAL_RANK", std::nullopt),
       std::nullopt,
       {"LOCAL_RANK is not set", "WORLD_SIZE=2"}},
      {"no MASTER_ADDR in a job of 2",
       with(two, "MASTER_ADDR", std::nullopt),
       std::nullopt,
       {"MASTER_ADDR is not set"}},
      {"no MASTER_PORT in a job of 2",
       with(two, "MASTER_PORT", std::nullopt),
       std::nullopt,
       {"MASTER_PORT is not set"}},
      {"agent store without a port",
       {{"TORCHELASTIC_USE_AGENT_STORE", "1"}},
       std::nullopt,
       {"TORCHELASTIC_USE_AGENT_STORE='1'", "MASTER_PORT is not set"}},
      {"LOCAL_RANK=1 alone", {{"LOCAL_RANK", "1"}}, std::nullopt, {"LOCAL_RANK=1"}},
  };
  for (const EnvCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto parsed = DistributedEnv::from_env(lookup_in(c.env));
    if (c.expected) {
      ASSERT_THAT(parsed, IsOk());
      EXPECT_EQ(parsed->rank, c.expected->rank);
      EXPECT_EQ(parsed->world_size, c.expected->world_size);
      EXPECT_EQ(parsed->local_rank, c.expected->local_rank);
      EXPECT_EQ(parsed->local_world_size, c.expected->local_world_size);
      EXPECT_EQ(parsed->group_rank, c.expected->group_rank);
      EXPECT_EQ(parsed->master_addr, c.expected->master_addr);
      EXPECT_EQ(parsed->master_port, c.expected->master_port);
      EXPECT_EQ(parsed->use_agent_store, c.expected->use_agent_store);
      EXPECT_EQ(parsed->run_id, c.expected->run_id);
      EXPECT_EQ(parsed->launched, c.expected->launched);
    } else {
      ASSERT_THAT(parsed, HasErrorCode(ErrorCode::invalid_config));
      for (const std::string& part : c.message_parts) {
        EXPECT_THAT(parsed.error().message(), HasSubstr(part));
      }
    }
  }
}

TEST(DistributedEnvTest, NullLookupIsAnError) {
  EXPECT_THAT(DistributedEnv::from_env(ai_core::EnvLookup{}),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("empty")));
}

TEST(DistributedEnvTest, ValidateChecksFieldsSetInCode) {
  DistributedEnv env;
  env.world_size = 4;
  env.rank = 4;
  EXPECT_THAT(env.validate(), HasErrorCode(ErrorCode::invalid_config));
  env.rank = 3;
  env.local_world_size = 4;
  env.local_rank = 3;
  env.master_port = 0;  // A job of 4 needs a real port.
  EXPECT_THAT(env.validate(),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("MASTER_PORT=0")));
  env.master_port = 29500;
  EXPECT_THAT(env.validate(), IsOk());
  EXPECT_EQ(env.device(), c10::Device(c10::DeviceType::CUDA, 3));
  EXPECT_TRUE(env.is_distributed());
  EXPECT_FALSE(env.is_main_process());
}

TEST(DistributedEnvTest, DescribeNamesTheStoreAndTheGpu) {
  auto env = DistributedEnv::from_env(lookup_in(torchrun_env(1, 2, 29511)));
  ASSERT_THAT(env, IsOk());
  const std::string text = ai_core::describe(*env);
  EXPECT_THAT(text, HasSubstr("rank 1 of 2"));
  EXPECT_THAT(text, HasSubstr("rank 0 serves it on 127.0.0.1:29511"));
  EXPECT_THAT(text, HasSubstr("no authentication"));
  EXPECT_THAT(text, HasSubstr("cuda:1 (LOCAL_RANK=1)"));
  const std::string single = ai_core::describe(DistributedEnv{});
  EXPECT_THAT(single, HasSubstr("single process"));
}

TEST(DistributedEnvTest, CheckPlacementSaysWhatTheEnvironmentImplies) {
  auto env = DistributedEnv::from_env(lookup_in(torchrun_env(1, 2, 29500)));
  ASSERT_THAT(env, IsOk());
  const auto two_gpus = ai_core::testing::FakeCudaProbe::with_devices(2);
  const auto one_gpu = ai_core::testing::FakeCudaProbe::with_devices(1);
  ai_core::CudaProbeResult no_gpu;
  no_gpu.status = ai_core::CudaStatus::no_driver;
  auto from_local_rank = ai_core::DeviceConfig::from_env(lookup_in(torchrun_env(1, 2, 29500)));
  ASSERT_THAT(from_local_rank, IsOk());

  auto findings = ai_core::check_placement(*env, *from_local_rank, two_gpus);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_THAT(findings[0], HasSubstr("ok: init_process_group binds cuda:1"));

  findings = ai_core::check_placement(*env, *from_local_rank, one_gpu);
  EXPECT_THAT(findings, ::testing::Contains(AllOf(HasSubstr("problem: LOCAL_RANK=1 selects cuda:1"),
                                                  HasSubstr("1 GPU(s) are visible"))));
  EXPECT_THAT(findings, ::testing::Contains(HasSubstr("LOCAL_WORLD_SIZE=2 ranks on this node")));

  findings = ai_core::check_placement(*env, *from_local_rank, no_gpu);
  EXPECT_THAT(findings, ::testing::Contains(AllOf(HasSubstr("problem"), HasSubstr("no_driver"),
                                                  HasSubstr("Gloo"))));

  auto overridden = ai_core::DeviceConfig::from_env(
      lookup_in(with(torchrun_env(1, 2, 29500), "RUST_AI_CUDA_DEVICE", "0")));
  ASSERT_THAT(overridden, IsOk());
  findings = ai_core::check_placement(*env, *overridden, two_gpus);
  EXPECT_THAT(findings, ::testing::Contains(AllOf(HasSubstr("get_device() picks cuda:0"),
                                                  HasSubstr("RUST_AI_CUDA_DEVICE=0"),
                                                  HasSubstr("binds cuda:1"))));
}

TEST(DistributedEnvTest, RankDeviceAgreesWithGetDevice) {
  ai_core::testing::ScopedCudaProbe probe(std::make_shared<ai_core::testing::FakeCudaProbe>(
      ai_core::testing::FakeCudaProbe::with_devices(2)));
  for (int rank = 0; rank < 2; ++rank) {
    SCOPED_TRACE(rank);
    const Env vars = torchrun_env(rank, 2, 29500);
    auto env = DistributedEnv::from_env(lookup_in(vars));
    auto config = ai_core::DeviceConfig::from_env(lookup_in(vars));
    ASSERT_THAT(env, IsOk());
    ASSERT_THAT(config, IsOk());
    EXPECT_THAT(ai_core::get_device(*config), ai_core::testing::IsOkAndHolds(env->device()));
  }
}

TEST(DistributedEnvTest, DoctorReportIsTextOrJson) {
  const auto probe = ai_core::testing::FakeCudaProbe::with_devices(2);
  auto text = ai_core::distributed_report(probe, false, lookup_in(torchrun_env(1, 2, 29500)));
  EXPECT_FALSE(text.error.has_value());
  EXPECT_THAT(text.text, HasSubstr("rank 1 of 2"));
  EXPECT_THAT(text.text, HasSubstr("ok: init_process_group binds cuda:1"));
  auto json = ai_core::distributed_report(probe, true, lookup_in(torchrun_env(1, 2, 29500)));
  EXPECT_THAT(json.text, HasSubstr("\"world_size\":2"));
  EXPECT_THAT(json.text, HasSubstr("\"findings\":[\"ok: "));
  auto bad = ai_core::distributed_report(
      probe, true, lookup_in(with(torchrun_env(1, 2, 29500), "RANK", "x\"y")));
  ASSERT_TRUE(bad.error.has_value());
  EXPECT_EQ(bad.error->code(), ErrorCode::invalid_config);
  EXPECT_THAT(bad.text, HasSubstr("{\"error\":\"invalid config: RANK='x\\\"y'"));
}

TEST(DistributedEnvTest, CommunicationErrorCodeIsNamed) {
  EXPECT_EQ(ai_core::to_string(ErrorCode::communication), "communication error");
  EXPECT_EQ(static_cast<int>(ErrorCode::communication), 11);
  EXPECT_EQ(ai_core::to_string(ai_core::ReduceOp::avg), "avg");
}

// --- processes --------------------------------------------------------------------------------

// Returns a port that was free a moment ago on 127.0.0.1.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string self_path() {
  char self[4096];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return {};
  self[length] = '\0';
  return self;
}

struct Rank {
  pid_t pid = -1;
  int out = -1;  // Read end of the child's stdout.
  std::string output;
  int status = -1;
};

// Starts this binary as `--worker mode` with `env` added to the environment.
Rank spawn(const std::string& mode, const Env& env) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return {};
  const std::string exe = self_path();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
    ::execl(exe.c_str(), exe.c_str(), "--worker", mode.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  return Rank{pid, pipe_fds[0], {}, -1};
}

// Waits for every rank until `limit`, then kills the rest (they count as failed: status -1).
void wait_all(std::vector<Rank>& ranks, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (Rank& rank : ranks) {
    while (rank.status == -1) {
      int status = 0;
      const pid_t done = ::waitpid(rank.pid, &status, WNOHANG);
      if (done == rank.pid) {
        rank.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(rank.pid, SIGKILL);
        ::waitpid(rank.pid, &status, 0);
        rank.status = 1000;  // Killed by the test: it would have hung.
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    char buffer[4096];
    ssize_t n = 0;
    while ((n = ::read(rank.out, buffer, sizeof buffer)) > 0) rank.output.append(buffer, n);
    ::close(rank.out);
  }
}

// The worker side. Exit codes: 0 success, 3 an error (printed), 4 the wrong value.
int run_worker(const std::string& mode) {
  ::alarm(60);  // Stops by itself whatever happens.
  auto env = DistributedEnv::from_env();
  if (!env) {
    std::printf("%s\n", env.error().to_string().c_str());
    return 3;
  }
  ai_core::StoreOptions options;
  if (const char* ms = std::getenv("AI_CORE_TEST_TIMEOUT_MS")) {
    options.timeout = std::chrono::milliseconds(std::atoi(ms));
  }
  options.listen_address = "127.0.0.1";
  auto store = ai_core::Store::connect(*env, options);
  if (!store) {
    std::printf("%s\n", store.error().to_string().c_str());
    return 3;
  }
  if (mode == "rendezvous") {
    if (env->rank == 0 && !store->set("greeting", "hello from rank 0")) return 3;
    auto value = store->get("greeting");
    if (!value) {
      std::printf("%s\n", value.error().to_string().c_str());
      return 3;
    }
    if (auto done = store->barrier("after-get"); !done) {
      std::printf("%s\n", done.error().to_string().c_str());
      return 3;
    }
    std::printf("rank %d of %d got '%s'\n", store->rank(), store->world_size(), value->c_str());
    // Rank 0 serves the store: it leaves last, once every other rank said it is done.
    if (env->rank == 0) {
      for (int r = 1; r < env->world_size; ++r) {
        if (!store->get("done/" + std::to_string(r))) return 3;
      }
    } else if (!store->set("done/" + std::to_string(env->rank), "1")) {
      return 3;
    }
    return *value == "hello from rank 0" ? 0 : 4;
  }
  return 3;
}

// Label `concurrency`: several processes race to the store.
TEST(StoreTest, RendezvousOfThreeProcessesOnLoopback) {
  const int port = free_port();
  std::vector<Rank> ranks;
  for (int r = 0; r < 3; ++r) {
    Env env = torchrun_env(r, 3, port);
    env["AI_CORE_TEST_TIMEOUT_MS"] = "20000";
    ranks.push_back(spawn("rendezvous", env));
  }
  wait_all(ranks, std::chrono::seconds(40));
  for (int r = 0; r < 3; ++r) {
    SCOPED_TRACE("rank " + std::to_string(r) + ": " + ranks[r].output);
    EXPECT_EQ(ranks[r].status, 0);
    EXPECT_THAT(ranks[r].output,
                HasSubstr("rank " + std::to_string(r) + " of 3 got 'hello from rank 0'"));
  }
}

TEST(StoreTest, RankThatNeverComesIsATimeoutNamingIt) {
  const int port = free_port();
  std::vector<Rank> ranks;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < 2; ++r) {  // Rank 2 of 3 never starts.
    Env env = torchrun_env(r, 3, port);
    env["AI_CORE_TEST_TIMEOUT_MS"] = "1500";
    ranks.push_back(spawn("rendezvous", env));
  }
  wait_all(ranks, std::chrono::seconds(30));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(30));  // Bounded: wait_all kills at 30 s.
  for (int r = 0; r < 2; ++r) {
    SCOPED_TRACE("rank " + std::to_string(r) + ": " + ranks[r].output);
    EXPECT_EQ(ranks[r].status, 3);
    EXPECT_THAT(ranks[r].output, HasSubstr("communication error"));
    EXPECT_THAT(ranks[r].output, HasSubstr("rank " + std::to_string(r)));
    EXPECT_THAT(ranks[r].output, HasSubstr("timed out after 1500 ms"));
    EXPECT_THAT(ranks[r].output, HasSubstr("never arrived (rank 2)"));
  }
}

TEST(StoreTest, PortAlreadyInUseIsAClearError) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  const int port = ntohs(addr.sin_port);

  auto env = DistributedEnv::from_env(lookup_in(torchrun_env(0, 2, port)));
  ASSERT_THAT(env, IsOk());
  ai_core::StoreOptions options;
  options.timeout = std::chrono::seconds(2);
  auto store = ai_core::Store::connect(*env, options);
  EXPECT_THAT(store,
              AllOf(HasErrorCode(ErrorCode::io), HasMessage("127.0.0.1:" + std::to_string(port)),
                    HasMessage("already in use")));
  ::close(fd);
}

TEST(StoreTest, UnreachableStoreFailsWithinTheTimeout) {
  auto env = DistributedEnv::from_env(lookup_in(torchrun_env(1, 2, free_port())));
  ASSERT_THAT(env, IsOk());
  ai_core::StoreOptions options;
  options.timeout = std::chrono::milliseconds(1500);
  const auto start = std::chrono::steady_clock::now();
  auto store = ai_core::Store::connect(*env, options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_THAT(store, AllOf(HasErrorCode(ErrorCode::communication), HasMessage("rank 1"),
                           HasMessage("MASTER_ADDR and MASTER_PORT")));
}

TEST(StoreTest, SingleProcessServesOnAFreePort) {
  DistributedEnv env;  // No variables: rank 0 of 1, port 0.
  ai_core::StoreOptions options;
  options.timeout = std::chrono::milliseconds(500);
  auto store = ai_core::Store::connect(env, options);
  ASSERT_THAT(store, IsOk());
  EXPECT_TRUE(store->is_server());
  EXPECT_GT(store->port(), 0);
  EXPECT_THAT(store->set("key", std::string("a\0b", 3)), IsOk());
  EXPECT_THAT(store->get("key"), ai_core::testing::IsOkAndHolds(std::string("a\0b", 3)));
  EXPECT_THAT(store->barrier("one"), IsOk());
  EXPECT_THAT(store->barrier("one"), IsOk());  // Barriers are reusable.
  EXPECT_THAT(store->get("never-set"),
              AllOf(HasErrorCode(ErrorCode::communication), HasMessage("never-set")));
  ai_core::Store moved = std::move(*store);
  EXPECT_THAT(store->set("key", "x"),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("moved-from Store")));
  EXPECT_THAT(moved.get("key"), ai_core::testing::IsOkAndHolds(std::string("a\0b", 3)));
}

TEST(StoreTest, BadOptionsAreRejected) {
  ai_core::StoreOptions options;
  options.timeout = std::chrono::milliseconds(0);
  EXPECT_THAT(ai_core::Store::connect(DistributedEnv{}, options),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("timeout")));
  DistributedEnv bad;
  bad.rank = 1;
  EXPECT_THAT(ai_core::Store::connect(bad), HasErrorCode(ErrorCode::invalid_config));
  DistributedEnv unresolvable;
  options.timeout = std::chrono::seconds(1);
  options.listen_address = "no-such-host.invalid";
  EXPECT_THAT(ai_core::Store::connect(unresolvable, options),
              AllOf(HasErrorCode(ErrorCode::io), HasMessage("no-such-host.invalid")));
}

// --- init_process_group without a GPU ---------------------------------------------------------

TEST(ProcessGroupTest, BadOptionsAreRejectedBeforeAnythingElse) {
  ai_core::ProcessGroupOptions options;
  options.timeout = std::chrono::milliseconds(-1);
  EXPECT_THAT(
      ai_core::init_process_group(DistributedEnv{}, options),
      AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("ProcessGroupOptions::timeout")));
  options = {};
  options.error_handling = static_cast<ai_core::NcclErrorHandling>(7);
#if AI_CORE_WITH_CUDA
  {
    ai_core::testing::ScopedCudaProbe probe(std::make_shared<ai_core::testing::FakeCudaProbe>(
        ai_core::testing::FakeCudaProbe::with_devices(1)));
    EXPECT_THAT(ai_core::init_process_group(DistributedEnv{}, options),
                AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("error_handling")));
  }
#endif
  options = {};
  options.device = c10::Device(c10::DeviceType::CPU);
  EXPECT_THAT(ai_core::init_process_group(DistributedEnv{}, options),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("cpu")));
}

TEST(ProcessGroupTest, FailsCleanlyWithoutAGpu) {
#if AI_CORE_WITH_CUDA
  ai_core::testing::ScopedCudaProbe probe(std::make_shared<ai_core::testing::FakeCudaProbe>([] {
    ai_core::CudaProbeResult none;
    none.status = ai_core::CudaStatus::no_driver;
    none.message = "fake: no driver";
    return none;
  }()));
  auto env = DistributedEnv::from_env(lookup_in(torchrun_env(0, 2, free_port())));
  ASSERT_THAT(env, IsOk());
  const auto group = ai_core::init_process_group(*env);
  EXPECT_THAT(group,
              AllOf(HasErrorCode(ErrorCode::device_not_available), HasMessage("LOCAL_RANK=0"),
                    HasMessage("no_driver"), HasMessage("Gloo")));
#else
  EXPECT_THAT(ai_core::init_process_group(DistributedEnv{}),
              AllOf(HasErrorCode(ErrorCode::not_implemented), HasMessage("CUDA")));
#endif
}

#if AI_CORE_WITH_CUDA
TEST(ProcessGroupTest, LocalRankPastTheVisibleGpusIsNamed) {
  ai_core::testing::ScopedCudaProbe probe(std::make_shared<ai_core::testing::FakeCudaProbe>(
      ai_core::testing::FakeCudaProbe::with_devices(2)));
  auto env = DistributedEnv::from_env(lookup_in(
      with(with(torchrun_env(3, 4, free_port()), "LOCAL_RANK", "3"), "LOCAL_WORLD_SIZE", "4")));
  ASSERT_THAT(env, IsOk());
  EXPECT_THAT(ai_core::init_process_group(*env),
              AllOf(HasErrorCode(ErrorCode::device_not_available), HasMessage("LOCAL_RANK=3"),
                    HasMessage("cuda:3"), HasMessage("2 CUDA device(s) are visible")));
}
#endif

// --- asynchronous collectives without a GPU ---------------------------------------------------
// A group whose peers never arrive (detail::make_unconnected_process_group) runs every argument
// check of a real one; a collective that passes them is queued and never runs, so it fails at
// its deadline exactly as when no other rank calls it.

using ai_core::LogCapture;
using ai_core::LogLevel;
using ai_core::PendingCollective;
using ai_core::ProcessGroup;
using ai_core::ReduceOp;

constexpr auto kDeadline = std::chrono::milliseconds(100);

ProcessGroup unconnected_group(c10::Device device = c10::Device(c10::DeviceType::CPU)) {
  return ai_core::detail::make_unconnected_process_group(0, 2, device, kDeadline);
}

// What a collective whose arguments passed the checks gives on an unconnected group.
void expect_queued_then_timed_out(ai_core::Result<PendingCollective> result,
                                  const std::string& op) {
#if AI_CORE_WITH_CUDA
  ASSERT_THAT(result, IsOk()) << op;
  EXPECT_TRUE(result->valid());
  EXPECT_EQ(result->operation(), op);
  EXPECT_THAT(result->wait(),
              AllOf(HasErrorCode(ErrorCode::communication),
                    HasMessage("rank 0 of 2: " + op + " did not complete within 100 ms"),
                    HasMessage("the process group is aborted")));
#else
  EXPECT_THAT(result, AllOf(HasErrorCode(ErrorCode::not_implemented), HasMessage(op),
                            HasMessage("without CUDA")));
#endif
}

TEST(PendingCollectiveTest, EmptyHandleIsAnErrorNotACrash) {
  PendingCollective empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_FALSE(empty.is_completed());
  EXPECT_EQ(empty.operation(), "");
  const auto expected = AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("empty handle"),
                              HasMessage("default-constructed or moved-from"));
  EXPECT_THAT(empty.wait(), expected);
  EXPECT_THAT(empty.wait(), expected);  // Waiting again: the same answer.
  PendingCollective moved_to(std::move(empty));
  EXPECT_FALSE(moved_to.valid());
  EXPECT_THAT(moved_to.wait(), expected);
  PendingCollective assigned;
  assigned = std::move(moved_to);  // Resolving an empty handle on assignment does nothing.
  EXPECT_THAT(assigned.wait(), expected);
}

TEST(ProcessGroupTest, MovedFromGroupRefusesAsyncCollectives) {
  ProcessGroup group = unconnected_group();
  ProcessGroup other = std::move(group);
  EXPECT_EQ(other.rank(), 0);
  EXPECT_EQ(other.world_size(), 2);
  // NOLINTBEGIN(bugprone-use-after-move): the moved-from state is what is tested.
  EXPECT_EQ(group.rank(), -1);
  EXPECT_EQ(group.world_size(), 0);
  at::Tensor t = at::ones({4});
  at::Tensor out = at::empty({8});
  const auto moved_from = [](const std::string& op) {
    return AllOf(HasErrorCode(ErrorCode::invalid_config),
                 HasMessage("ProcessGroup::" + op + " on a moved-from ProcessGroup"));
  };
  EXPECT_THAT(group.all_reduce_async(t), moved_from("all_reduce_async"));
  EXPECT_THAT(group.broadcast_async(t), moved_from("broadcast_async"));
  EXPECT_THAT(group.all_gather_async(t, out), moved_from("all_gather_async"));
  EXPECT_THAT(group.all_reduce(t), moved_from("all_reduce"));
  EXPECT_THAT(group.broadcast(t), moved_from("broadcast"));
  EXPECT_THAT(group.all_gather(t, out), moved_from("all_gather"));
  EXPECT_THAT(group.barrier(), moved_from("barrier"));
  auto buffer = ai_core::as_host_buffer(t);
  auto out_buffer = ai_core::as_host_buffer(out);
  ASSERT_THAT(buffer, IsOk());
  ASSERT_THAT(out_buffer, IsOk());
  EXPECT_THAT(group.all_reduce_async(*buffer), moved_from("all_reduce_async"));
  EXPECT_THAT(group.broadcast_async(*buffer), moved_from("broadcast_async"));
  EXPECT_THAT(group.all_gather_async(*buffer, *out_buffer), moved_from("all_gather_async"));
  EXPECT_THAT(group.shutdown(), IsOk());  // Nothing to shut down.
  // NOLINTEND(bugprone-use-after-move)
}

TEST(ProcessGroupTest, AsyncCollectivesCheckTheirArguments) {
  ProcessGroup group = unconnected_group();
  at::Tensor undefined;
  at::Tensor strided = at::ones({4, 4}).t();
  at::Tensor t = at::ones({4});
  at::Tensor out = at::empty({8});

  EXPECT_THAT(group.all_reduce_async(undefined),
              AllOf(HasErrorCode(ErrorCode::invalid_config),
                    HasMessage("rank 0 of 2: all_reduce: tensor 'tensor' is undefined")));
  EXPECT_THAT(group.all_reduce_async(strided),
              AllOf(HasErrorCode(ErrorCode::invalid_config),
                    HasMessage("tensor 'tensor' is not contiguous: expected a contiguous tensor")));
  EXPECT_THAT(group.all_reduce_async(t, static_cast<ReduceOp>(9)),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("ReduceOp has the value 9"),
                    HasMessage("expected sum, product, min, max or avg")));
  EXPECT_THAT(group.broadcast_async(undefined),
              AllOf(HasErrorCode(ErrorCode::invalid_config),
                    HasMessage("rank 0 of 2: broadcast: tensor 'tensor' is undefined")));
  EXPECT_THAT(group.broadcast_async(strided),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("not contiguous")));
  for (const int root : {-1, 2}) {
    EXPECT_THAT(group.broadcast_async(t, root),
                AllOf(HasErrorCode(ErrorCode::invalid_config),
                      HasMessage("root " + std::to_string(root) + " is not a rank"),
                      HasMessage("expected 0 <= root < 2")));
  }
  EXPECT_THAT(group.all_gather_async(undefined, out),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("tensor 'input'")));
  EXPECT_THAT(group.all_gather_async(t, undefined),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("tensor 'output'")));
  EXPECT_THAT(group.all_gather_async(strided, out),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("not contiguous")));
  at::Tensor wrong_dtype = at::empty({8}, at::kDouble);
  EXPECT_THAT(group.all_gather_async(t, wrong_dtype),
              AllOf(HasErrorCode(ErrorCode::invalid_config),
                    HasMessage("output dtype Double differs from input dtype Float")));
  at::Tensor wrong_size = at::empty({6});
  EXPECT_THAT(group.all_gather_async(t, wrong_size),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("output has 6 elements"),
                    HasMessage("world_size * input.numel() = 8")));

  // The blocking collectives run the same checks (one code path).
  EXPECT_THAT(group.all_reduce(strided),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("not contiguous")));
  EXPECT_THAT(group.all_reduce(t, static_cast<ReduceOp>(200)),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("value 200")));
  EXPECT_THAT(group.broadcast(t, 5),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("root 5 is not a rank")));
  EXPECT_THAT(group.all_gather(t, wrong_size),
              AllOf(HasErrorCode(ErrorCode::invalid_config), HasMessage("output has 6 elements")));

  // Buffers: a strided view is refused before anything else.
  auto strided_buffer = ai_core::as_host_buffer(strided, {.contiguity = ai_core::Contiguity::any});
  ASSERT_THAT(strided_buffer, IsOk());
  EXPECT_THAT(group.all_reduce_async(*strided_buffer),
              AllOf(HasErrorCode(ErrorCode::invalid_config),
                    HasMessage("all_reduce: the buffer is not contiguous")));
  EXPECT_THAT(group.broadcast_async(*strided_buffer),
              AllOf(HasErrorCode(ErrorCode::invalid_config),
                    HasMessage("broadcast: the buffer is not contiguous")));
  auto out_buffer = ai_core::as_host_buffer(out);
  ASSERT_THAT(out_buffer, IsOk());
  EXPECT_THAT(group.all_gather_async(*strided_buffer, *out_buffer),
              AllOf(HasErrorCode(ErrorCode::invalid_config),
                    HasMessage("all_gather (input): the buffer is not contiguous")));

  // Arguments that pass every check are queued (each on a fresh group: a timeout aborts one).
  auto buffer = ai_core::as_host_buffer(t);
  ASSERT_THAT(buffer, IsOk());
  expect_queued_then_timed_out(unconnected_group().all_reduce_async(t, ReduceOp::max),
                               "all_reduce");
  expect_queued_then_timed_out(unconnected_group().broadcast_async(t, 1), "broadcast");
  expect_queued_then_timed_out(unconnected_group().all_gather_async(t, out), "all_gather");
  expect_queued_then_timed_out(unconnected_group().all_reduce_async(*buffer), "all_reduce");
  expect_queued_then_timed_out(unconnected_group().broadcast_async(*buffer), "broadcast");
  expect_queued_then_timed_out(unconnected_group().all_gather_async(*buffer, *out_buffer),
                               "all_gather");
}

TEST(ProcessGroupTest, TensorOnAnotherDeviceIsADeviceMismatch) {
  // Bound to cuda:0 (nothing touches CUDA); a CPU tensor is on the wrong device.
  ProcessGroup group = unconnected_group(c10::Device(c10::DeviceType::CUDA, 0));
  at::Tensor t = at::ones({4});
  at::Tensor out = at::empty({8});
  EXPECT_THAT(group.all_reduce_async(t), AllOf(HasErrorCode(ErrorCode::device_mismatch),
                                               HasMessage("all_reduce, tensor 'tensor'")));
  EXPECT_THAT(group.broadcast_async(t), HasErrorCode(ErrorCode::device_mismatch));
  EXPECT_THAT(group.all_gather_async(t, out), AllOf(HasErrorCode(ErrorCode::device_mismatch),
                                                    HasMessage("all_gather, tensor 'input'")));
}

TEST(ProcessGroupTest, ShutDownGroupRefusesAsyncCollectives) {
  ProcessGroup group = unconnected_group();
  at::Tensor t = at::ones({4});
  at::Tensor out = at::empty({8});
  ASSERT_THAT(group.shutdown(), IsOk());
  EXPECT_THAT(group.shutdown(), IsOk());  // Again: nothing to do.
  const auto shut_down = [](const std::string& op) {
    return AllOf(HasErrorCode(ErrorCode::communication),
                 HasMessage("rank 0 of 2: " + op + ": the process group was shut down"));
  };
#if AI_CORE_WITH_CUDA
  EXPECT_THAT(group.all_reduce_async(t), shut_down("all_reduce"));
  EXPECT_THAT(group.broadcast_async(t), shut_down("broadcast"));
  EXPECT_THAT(group.all_gather_async(t, out), shut_down("all_gather"));
  EXPECT_THAT(group.all_reduce(t), shut_down("all_reduce"));
  EXPECT_THAT(group.barrier(), shut_down("barrier"));
#else
  EXPECT_THAT(group.all_reduce_async(t), HasErrorCode(ErrorCode::not_implemented));
  EXPECT_THAT(group.barrier(), shut_down("barrier"));
#endif
  // Bad arguments are still named first.
  EXPECT_THAT(group.all_reduce_async(t, static_cast<ReduceOp>(9)),
              HasErrorCode(ErrorCode::invalid_config));
  // Moving a shut-down group over another shuts the other one down, and keeps refusing.
  ProcessGroup other = unconnected_group();
  other = std::move(group);
#if AI_CORE_WITH_CUDA
  EXPECT_THAT(other.all_reduce_async(t), shut_down("all_reduce"));
#endif
}

#if AI_CORE_WITH_CUDA
// The lifetime rules of Note [pending collectives], on collectives that never complete.

TEST(PendingCollectiveTest, MissingPeerIsAnErrorAtTheDeadlineAndAbortsTheGroup) {
  ProcessGroup group = unconnected_group();
  at::Tensor t = at::ones({4});
  auto pending = group.all_reduce_async(t);
  ASSERT_THAT(pending, IsOk());
  EXPECT_EQ(pending->operation(), "all_reduce");
  const auto timed_out = AllOf(
      HasErrorCode(ErrorCode::communication),
      HasMessage("rank 0 of 2: all_reduce did not complete within 100 ms (a peer died, never "
                 "called all_reduce, or called another collective); the process group is aborted"));
  EXPECT_THAT(pending->wait(), timed_out);
  EXPECT_TRUE(pending->is_completed());
  EXPECT_THAT(pending->wait(), timed_out);  // Waiting again: the first result, at once.
  EXPECT_THAT(group.all_reduce_async(t),
              AllOf(HasErrorCode(ErrorCode::communication),
                    HasMessage("the process group was aborted earlier (all_reduce timed out)")));
  EXPECT_THAT(group.barrier(), AllOf(HasErrorCode(ErrorCode::communication),
                                     HasMessage("rank 0 of 2: barrier: the process group was "
                                                "aborted earlier (all_reduce timed out)")));
}

TEST(PendingCollectiveTest, BlockingCollectivesAreAsyncPlusWait) {
  at::Tensor t = at::ones({4});
  at::Tensor out = at::empty({8});
  const auto timed_out = [](const std::string& op) {
    return AllOf(HasErrorCode(ErrorCode::communication),
                 HasMessage("rank 0 of 2: " + op + " did not complete within 100 ms"));
  };
  EXPECT_THAT(unconnected_group().all_reduce(t), timed_out("all_reduce"));
  EXPECT_THAT(unconnected_group().broadcast(t), timed_out("broadcast"));
  EXPECT_THAT(unconnected_group().all_gather(t, out), timed_out("all_gather"));
  EXPECT_THAT(unconnected_group().barrier(), timed_out("barrier"));
}

TEST(PendingCollectiveTest, AbortFailsTheOtherPendingCollectivesAtOnce) {
  ProcessGroup group = unconnected_group();
  at::Tensor t = at::ones({4});
  at::Tensor out = at::empty({8});
  auto first = group.all_reduce_async(t);
  auto second = group.broadcast_async(t);
  auto third = group.all_gather_async(t, out);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  ASSERT_THAT(third, IsOk());
  // Waited out of order: the broadcast's deadline aborts the group ...
  EXPECT_THAT(second->wait(), AllOf(HasErrorCode(ErrorCode::communication),
                                    HasMessage("broadcast did not complete within 100 ms")));
  // ... and the others, unfinished then, fail naming why.
  EXPECT_TRUE(first->is_completed());
  EXPECT_THAT(first->wait(),
              AllOf(HasErrorCode(ErrorCode::communication),
                    HasMessage("rank 0 of 2: all_reduce did not complete: the process group was "
                               "aborted (broadcast timed out)")));
  EXPECT_THAT(third->wait(), AllOf(HasErrorCode(ErrorCode::communication),
                                   HasMessage("all_gather did not complete: the process group "
                                              "was aborted (broadcast timed out)")));
}

TEST(PendingCollectiveTest, HandleDestroyedUnwaitedLogsItsFailure) {
  ProcessGroup group = unconnected_group();
  at::Tensor t = at::ones({4});
  LogCapture capture;
  {
    auto dropped = group.all_reduce_async(t);
    ASSERT_THAT(dropped, IsOk());
  }  // The destructor waits (to the deadline) and logs.
  EXPECT_EQ(capture.count("a PendingCollective destroyed without wait() failed: communication "
                          "error: rank 0 of 2: all_reduce did not complete within 100 ms",
                          LogLevel::error),
            1U);
  // A handle whose result was returned by wait() logs nothing when destroyed.
  ProcessGroup second_group = unconnected_group();
  {
    auto waited = second_group.broadcast_async(t);
    ASSERT_THAT(waited, IsOk());
    EXPECT_THAT(waited->wait(), HasErrorCode(ErrorCode::communication));
  }
  EXPECT_EQ(capture.count("destroyed without wait()"), 1U);
  // Move-assigning over a pending handle resolves the one it held, as destroying it would.
  ProcessGroup third_group = unconnected_group();
  auto held = third_group.all_reduce_async(t);
  ASSERT_THAT(held, IsOk());
  *held = PendingCollective();
  EXPECT_FALSE(held->valid());
  EXPECT_EQ(capture.count("destroyed without wait() failed", LogLevel::error), 2U);
}

TEST(PendingCollectiveTest, HandleOutlivesItsMovedAndShutDownGroup) {
  at::Tensor t = at::ones({4});
  std::optional<PendingCollective> outliving;
  {
    ProcessGroup group = unconnected_group();
    auto pending = group.all_reduce_async(t);
    ASSERT_THAT(pending, IsOk());
    outliving.emplace(std::move(*pending));
    ProcessGroup moved = std::move(group);  // The handle does not point into the group object.
    EXPECT_FALSE(outliving->is_completed());
    // Shutting down waits for the pending collective (to its deadline) and keeps its result.
    EXPECT_THAT(moved.shutdown(), IsOk());
    EXPECT_TRUE(outliving->is_completed());
  }  // The group is gone; the handle still answers.
  EXPECT_THAT(outliving->wait(), AllOf(HasErrorCode(ErrorCode::communication),
                                       HasMessage("all_reduce did not complete within 100 ms")));
  // A group destroyed with a collective pending resolves it the same way.
  std::optional<PendingCollective> orphan;
  {
    ProcessGroup group = unconnected_group();
    auto pending = group.broadcast_async(t);
    ASSERT_THAT(pending, IsOk());
    orphan.emplace(std::move(*pending));
  }
  EXPECT_TRUE(orphan->is_completed());
  EXPECT_THAT(orphan->wait(), AllOf(HasErrorCode(ErrorCode::communication),
                                    HasMessage("broadcast did not complete within 100 ms")));
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--worker") == 0) return run_worker(argv[2]);
  ::testing::InitGoogleMock(&argc, argv);
  return RUN_ALL_TESTS();
}
