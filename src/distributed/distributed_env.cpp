// SPDX-License-Identifier: MIT
// `DistributedEnv`: the variables torchrun sets, parsed with the same strict parsers as the device
// variables (src/env_parse.hpp), checked against each other, and described for `ai-core doctor`.
// No c10d, no CUDA: this translation unit only reads strings.
#include <ai_core/distributed.hpp>
#include <ai_core/result_macros.hpp>

#include "../env_parse.hpp"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ai_core {
namespace {

// Ranks and process counts: far beyond any job, small enough that parsing cannot overflow `int`.
constexpr int kMaxRanks = 1 << 24;
constexpr int kMaxPort = 65535;
constexpr std::size_t kMaxHostLength = 253;  // The longest DNS name.

// Reads the process environment; names are string literals, so `name.data()` is null-terminated.
std::optional<std::string> process_env(std::string_view name) {
  const char* value = std::getenv(name.data());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::string shown(std::string_view name, std::string_view value) {
  return std::string(name) + "=" + detail::quote(value);
}

Result<int> parse_count(std::string_view name, const std::optional<std::string>& value,
                        std::string_view what) {
  return detail::parse_env_decimal(name, *value, kMaxRanks, what);
}

Result<DistributedEnv> read_env(const EnvLookup& lookup) {
  DistributedEnv env;
  const auto rank = lookup("RANK");
  const auto world_size = lookup("WORLD_SIZE");
  const auto local_rank = lookup("LOCAL_RANK");
  const auto local_world_size = lookup("LOCAL_WORLD_SIZE");
  const auto group_rank = lookup("GROUP_RANK");
  const auto master_addr = lookup("MASTER_ADDR");
  const auto master_port = lookup("MASTER_PORT");
  const auto agent_store = lookup("TORCHELASTIC_USE_AGENT_STORE");
  const auto run_id = lookup("TORCHELASTIC_RUN_ID");
  env.launched = rank || world_size || local_rank || local_world_size || group_rank ||
                 master_addr || master_port || agent_store || run_id;

  if (rank.has_value() != world_size.has_value()) {
    const bool has_rank = rank.has_value();
    return CoreError::invalid_config(
        (has_rank ? shown("RANK", *rank) + " is set but WORLD_SIZE is not"
                  : shown("WORLD_SIZE", *world_size) + " is set but RANK is not") +
        ": expected both (torchrun sets both) or neither (a single process)");
  }
  if (rank) {
    AI_CORE_ASSIGN_OR_RETURN(env.rank, parse_count("RANK", rank, "a rank"));
    AI_CORE_ASSIGN_OR_RETURN(env.world_size,
                             parse_count("WORLD_SIZE", world_size, "a number of processes"));
    if (env.world_size < 1) {
      return CoreError::invalid_config(shown("WORLD_SIZE", *world_size) +
                                       " is not a number of processes: expected at least 1");
    }
  }
  if (local_world_size) {
    AI_CORE_ASSIGN_OR_RETURN(env.local_world_size, parse_count("LOCAL_WORLD_SIZE", local_world_size,
                                                               "a number of processes"));
    if (env.local_world_size < 1) {
      return CoreError::invalid_config(shown("LOCAL_WORLD_SIZE", *local_world_size) +
                                       " is not a number of processes: expected at least 1");
    }
  } else {
    env.local_world_size = env.world_size;  // One node unless told otherwise.
  }
  if (local_rank) {
    AI_CORE_ASSIGN_OR_RETURN(env.local_rank, parse_count("LOCAL_RANK", local_rank, "a local rank"));
  } else if (env.world_size > 1) {
    return CoreError::invalid_config(
        "LOCAL_RANK is not set in a job of WORLD_SIZE=" + std::to_string(env.world_size) +
        " processes: expected the rank on this node (torchrun sets it), which selects the GPU");
  }
  if (group_rank) {
    AI_CORE_ASSIGN_OR_RETURN(env.group_rank, parse_count("GROUP_RANK", group_rank, "a node index"));
  }
  if (master_addr) {
    env.master_addr = *master_addr;
  } else if (env.world_size > 1) {
    return CoreError::invalid_config(
        "MASTER_ADDR is not set in a job of WORLD_SIZE=" + std::to_string(env.world_size) +
        " processes: expected the address of rank 0's store (torchrun sets it)");
  }
  if (master_port) {
    AI_CORE_ASSIGN_OR_RETURN(env.master_port, detail::parse_env_decimal("MASTER_PORT", *master_port,
                                                                        kMaxPort, "a TCP port"));
    if (env.master_port == 0) {
      return CoreError::invalid_config(shown("MASTER_PORT", *master_port) +
                                       " is outside 1-65535: expected the store's TCP port");
    }
  } else if (env.world_size > 1) {
    return CoreError::invalid_config(
        "MASTER_PORT is not set in a job of WORLD_SIZE=" + std::to_string(env.world_size) +
        " processes: expected the TCP port of rank 0's store (torchrun sets it)");
  }
  if (agent_store) {
    AI_CORE_ASSIGN_OR_RETURN(env.use_agent_store,
                             detail::parse_env_bool("TORCHELASTIC_USE_AGENT_STORE", *agent_store));
    if (env.use_agent_store && !master_port) {
      return CoreError::invalid_config(
          "TORCHELASTIC_USE_AGENT_STORE=" + detail::quote(*agent_store) +
          " but MASTER_PORT is not set: expected the port of torchrun's agent store");
    }
  }
  if (run_id) env.run_id = *run_id;
  AI_CORE_TRY(env.validate());
  return env;
}

}  // namespace

Result<DistributedEnv> DistributedEnv::from_env() { return read_env(process_env); }

Result<DistributedEnv> DistributedEnv::from_env(const EnvLookup& lookup) {
  if (!lookup) {
    return CoreError::invalid_config(
        "DistributedEnv::from_env: the environment lookup function is empty: expected a callable");
  }
  return read_env(lookup);
}

Result<void> DistributedEnv::validate() const {
  const auto num = [](int v) { return std::to_string(v); };
  if (world_size < 1) {
    return CoreError::invalid_config("WORLD_SIZE=" + num(world_size) + ": expected at least 1");
  }
  if (rank < 0 || rank >= world_size) {
    return CoreError::invalid_config("RANK=" + num(rank) + " with WORLD_SIZE=" + num(world_size) +
                                     ": expected 0 <= RANK < WORLD_SIZE");
  }
  if (local_world_size < 1 || local_world_size > world_size) {
    return CoreError::invalid_config("LOCAL_WORLD_SIZE=" + num(local_world_size) +
                                     " with WORLD_SIZE=" + num(world_size) +
                                     ": expected 1 <= LOCAL_WORLD_SIZE <= WORLD_SIZE");
  }
  if (local_rank < 0 || local_rank >= local_world_size) {
    return CoreError::invalid_config("LOCAL_RANK=" + num(local_rank) +
                                     " with LOCAL_WORLD_SIZE=" + num(local_world_size) +
                                     ": expected 0 <= LOCAL_RANK < LOCAL_WORLD_SIZE");
  }
  if (local_rank > rank) {
    return CoreError::invalid_config("LOCAL_RANK=" + num(local_rank) + " with RANK=" + num(rank) +
                                     ": expected LOCAL_RANK <= RANK (the ranks of a node are a "
                                     "contiguous part of the job's ranks)");
  }
  if (group_rank < 0 || group_rank > rank) {
    return CoreError::invalid_config("GROUP_RANK=" + num(group_rank) + " with RANK=" + num(rank) +
                                     ": expected 0 <= GROUP_RANK <= RANK (every node runs at least "
                                     "one rank)");
  }
  if (master_addr.empty() || master_addr.size() > kMaxHostLength) {
    return CoreError::invalid_config(shown("MASTER_ADDR", master_addr) +
                                     ": expected a host name or IP address of 1 to 253 characters");
  }
  for (char c : master_addr) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) {
      return CoreError::invalid_config(
          shown("MASTER_ADDR", master_addr) +
          ": expected a host name or IP address (no spaces, control or non-ASCII characters)");
    }
  }
  if (master_port < 0 || master_port > kMaxPort || (master_port == 0 && world_size > 1)) {
    return CoreError::invalid_config(
        "MASTER_PORT=" + num(master_port) + " with WORLD_SIZE=" + num(world_size) +
        ": expected a TCP port in 1-65535 (0, any free port, only for a single process)");
  }
  if (use_agent_store && master_port == 0) {
    return CoreError::invalid_config(
        "TORCHELASTIC_USE_AGENT_STORE=1 with MASTER_PORT=0: expected the port of the agent store");
  }
  return {};
}

std::string describe(const DistributedEnv& env) {
  const auto num = [](int v) { return std::to_string(v); };
  std::string text;
  if (!env.launched) {
    text += "single process (no torchrun variable is set): rank 0 of 1\n";
  } else {
    text += "rank " + num(env.rank) + " of " + num(env.world_size) + " (local rank " +
            num(env.local_rank) + " of " + num(env.local_world_size) + " on node " +
            num(env.group_rank) + ")";
    if (!env.run_id.empty()) text += ", run id " + detail::quote(env.run_id);
    text += "\n";
  }
  const std::string where = env.master_port == 0 ? env.master_addr + " (a free port)"
                                                 : env.master_addr + ":" + num(env.master_port);
  if (env.use_agent_store) {
    text += "store: served by torchrun's agent at " + where + "; every rank connects as a client\n";
  } else {
    text += "store: rank 0 serves it on " + where + " (listening on that address only); " +
            (env.is_distributed()
                 ? (env.world_size == 2 ? std::string("rank 1 connects")
                                        : "ranks 1-" + num(env.world_size - 1) + " connect")
                 : std::string("no other rank connects")) +
            "\n";
  }
  text +=
      "exposure: the store has no authentication; whoever reaches that port can join or disturb "
      "the rendezvous: keep MASTER_ADDR on a private network\n";
  text += "GPU: init_process_group binds cuda:" + num(env.local_rank) +
          " (LOCAL_RANK=" + num(env.local_rank) + ") and connects NCCL on it eagerly\n";
  return text;
}

std::vector<std::string> check_placement(const DistributedEnv& env,
                                         const DeviceConfig& device_config,
                                         const CudaProbeResult& probe) {
  const auto num = [](int v) { return std::to_string(v); };
  const std::string gpu = "cuda:" + num(env.local_rank);
  std::vector<std::string> findings;
  const bool usable = probe.status == CudaStatus::ok && probe.device_count > 0;
  if (!usable) {
    findings.push_back(
        std::string(env.is_distributed() ? "problem" : "note") + ": CUDA is not usable here (" +
        std::string(to_string(probe.status)) +
        "): init_process_group needs a GPU per rank (NCCL) and fails; CPU collectives (Gloo) are "
        "not provided");
  } else if (env.local_rank >= probe.device_count) {
    findings.push_back("problem: LOCAL_RANK=" + num(env.local_rank) + " selects " + gpu + " but " +
                       num(probe.device_count) +
                       " GPU(s) are visible: init_process_group fails with device_not_available");
  } else {
    std::string name;
    for (const CudaDeviceInfo& device : probe.devices) {
      if (device.index == env.local_rank) name = " (" + device.name + ")";
    }
    findings.push_back("ok: init_process_group binds " + gpu + name + " for NCCL");
  }
  if (usable && env.launched && env.local_world_size > probe.device_count) {
    findings.push_back("problem: LOCAL_WORLD_SIZE=" + num(env.local_world_size) +
                       " ranks on this node share " + num(probe.device_count) +
                       " visible GPU(s): NCCL needs one GPU per rank");
  }
  if (device_config.force_cpu()) {
    if (env.is_distributed()) {
      findings.push_back("problem: " + device_config.force_cpu_source() +
                         " makes get_device() return the CPU, but the collectives need tensors "
                         "on " +
                         gpu);
    }
  } else if (device_config.cuda_device() != env.local_rank) {
    const std::string source = device_config.cuda_device_source().empty()
                                   ? std::string("the default")
                                   : device_config.cuda_device_source();
    findings.push_back(std::string(env.is_distributed() ? "problem" : "note") +
                       ": get_device() picks cuda:" + num(device_config.cuda_device()) + " (" +
                       source + ") but init_process_group binds " + gpu +
                       " (LOCAL_RANK): unset that variable or pass ProcessGroupOptions::device");
  }
  return findings;
}

namespace {

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7f) {  // Valid JSON even for bytes that are not UTF-8.
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(byte));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string to_json(const DistributedEnv& env, const std::vector<std::string>& findings) {
  const auto num = [](int v) { return std::to_string(v); };
  std::string out = "{\"launched\":" + std::string(env.launched ? "true" : "false");
  out += ",\"rank\":" + num(env.rank) + ",\"world_size\":" + num(env.world_size);
  out += ",\"local_rank\":" + num(env.local_rank) +
         ",\"local_world_size\":" + num(env.local_world_size);
  out +=
      ",\"group_rank\":" + num(env.group_rank) + ",\"master_addr\":" + json_string(env.master_addr);
  out += ",\"master_port\":" + num(env.master_port) +
         ",\"use_agent_store\":" + (env.use_agent_store ? "true" : "false");
  out += ",\"run_id\":" + json_string(env.run_id) + ",\"findings\":[";
  for (std::size_t i = 0; i < findings.size(); ++i) {
    if (i != 0) out += ',';
    out += json_string(findings[i]);
  }
  return out + "]}";
}

DistributedReport distributed_report(const CudaProbeResult& probe, bool json,
                                     const EnvLookup& lookup) {
  DistributedReport report;
  auto env = lookup ? DistributedEnv::from_env(lookup) : DistributedEnv::from_env();
  if (!env) {
    report.error = env.error();
    report.text = json ? "{\"error\":" + json_string(env.error().to_string()) + "}"
                       : "invalid: " + env.error().to_string() + "\n";
    return report;
  }
  const auto config = lookup ? DeviceConfig::from_env(lookup) : DeviceConfig::from_env();
  const std::vector<std::string> findings =
      check_placement(*env, config ? *config : DeviceConfig{}, probe);
  if (json) {
    report.text = to_json(*env, findings);
    return report;
  }
  report.text = describe(*env);
  for (const std::string& finding : findings) report.text += finding + "\n";
  return report;
}

std::string_view to_string(ReduceOp op) noexcept {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::product: return "product";
    case ReduceOp::min: return "min";
    case ReduceOp::max: return "max";
    case ReduceOp::avg: return "avg";
  }
  return "unknown";
}

}  // namespace ai_core
