// SPDX-License-Identifier: MIT
// A downstream program of ai_core::distributed: reads the torchrun variables (none here: a single
// process) without any c10d or NCCL header in its own translation unit.
#include <ai_core/distributed.hpp>

#include <cstdio>

int main() {
  auto env = ai_core::DistributedEnv::from_env();
  if (!env) {
    std::fprintf(stderr, "%s\n", env.error().to_string().c_str());
    return 1;
  }
  std::printf("%s", ai_core::describe(*env).c_str());
  return env->world_size >= 1 ? 0 : 1;
}
