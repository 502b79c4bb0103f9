// SPDX-License-Identifier: MIT
// The two-GPU check of ai_core::distributed, one process per rank (scripts/gpu/distributed.sh):
//   distributed_torchrun_check check        collectives with known values (run under torchrun)
//   distributed_torchrun_check dead-peer S  rank 1 kills itself after a barrier; rank 0's
//                                           all_reduce (timeout S seconds) must fail within S + 10
//   distributed_torchrun_check bench BYTES  bus bandwidth of an all_reduce of BYTES (f32)
// Prints one line per rank; exit 0 when the rank's check passed.
#include <ai_core/distributed.hpp>
#include <ai_core/interop.hpp>

#include <ATen/ATen.h>
#include <c10/cuda/CUDAFunctions.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int fail(int rank, const std::string& what) {
  std::printf("rank %d: FAIL %s\n", rank, what.c_str());
  std::fflush(stdout);
  return 1;
}

bool all_equal(const at::Tensor& t, double value) {
  return at::all(at::eq(t.to(at::kDouble), value)).item<bool>();
}

int check(ai_core::ProcessGroup& group) {
  const int rank = group.rank();
  const int world = group.world_size();
  const auto options = at::TensorOptions().device(group.device()).dtype(at::kFloat);
  const std::int64_t n = 1 << 20;

  at::Tensor sum = at::full({n}, static_cast<double>(rank + 1), options);
  if (auto r = group.all_reduce(sum); !r) return fail(rank, r.error().to_string());
  if (!all_equal(sum, world * (world + 1) / 2.0)) return fail(rank, "all_reduce sum value");

  at::Tensor maximum = at::full({n}, static_cast<double>(rank), options);
  if (auto r = group.all_reduce(maximum, ai_core::ReduceOp::max); !r) {
    return fail(rank, r.error().to_string());
  }
  if (!all_equal(maximum, world - 1)) return fail(rank, "all_reduce max value");

  const int root = world - 1;
  at::Tensor message = at::full({n}, rank == root ? 42.0 : -1.0, options);
  if (auto r = group.broadcast(message, root); !r) return fail(rank, r.error().to_string());
  if (!all_equal(message, 42.0)) return fail(rank, "broadcast value");

  at::Tensor mine = at::full({n}, static_cast<double>(rank), options);
  at::Tensor gathered = at::empty({world, n}, options);
  if (auto r = group.all_gather(mine, gathered); !r) return fail(rank, r.error().to_string());
  for (int r = 0; r < world; ++r) {
    if (!all_equal(gathered[r], r)) return fail(rank, "all_gather row " + std::to_string(r));
  }

  at::Tensor through_buffer = at::full({n}, 1.0, options);
  auto buffer = ai_core::as_cuda_buffer(through_buffer);
  if (!buffer) return fail(rank, buffer.error().to_string());
  if (auto r = group.all_reduce(*buffer); !r) return fail(rank, r.error().to_string());
  if (!all_equal(through_buffer, world)) return fail(rank, "buffer all_reduce value");

  if (auto r = group.barrier(); !r) return fail(rank, r.error().to_string());
  std::printf(
      "rank %d: check ok (all_reduce sum/max, broadcast, all_gather, buffer all_reduce, "
      "barrier on %s)\n",
      rank, group.device().str().c_str());
  return 0;
}

int dead_peer(ai_core::ProcessGroup& group, int timeout_s) {
  const int rank = group.rank();
  if (auto r = group.barrier(); !r) return fail(rank, r.error().to_string());
  if (rank == 1) {
    std::printf("rank 1: killing itself (SIGKILL)\n");
    std::fflush(stdout);
    ::raise(SIGKILL);
  }
  at::Tensor t = at::ones({1 << 20}, at::TensorOptions().device(group.device()));
  const auto start = std::chrono::steady_clock::now();
  auto r = group.all_reduce(t);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (r) return fail(rank, "all_reduce with a dead peer succeeded");
  std::printf("rank %d: error after %.1f s (timeout %d s): %s\n", rank, elapsed, timeout_s,
              r.error().to_string().c_str());
  if (r.error().code() != ai_core::ErrorCode::communication) return fail(rank, "wrong code");
  return elapsed <= timeout_s + 10 ? 0 : fail(rank, "error came too late");
}

int bench(ai_core::ProcessGroup& group, std::int64_t bytes) {
  const int rank = group.rank();
  const int world = group.world_size();
  at::Tensor t = at::ones({bytes / 4}, at::TensorOptions().device(group.device()));
  for (int i = 0; i < 5; ++i) {
    if (auto r = group.all_reduce(t); !r) return fail(rank, r.error().to_string());
  }
  // The best of three rounds of ten, as the Python side measures it.
  constexpr int kIterations = 10;
  double seconds = 1e30;
  for (int round = 0; round < 3; ++round) {
    c10::cuda::device_synchronize();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kIterations; ++i) {
      if (auto r = group.all_reduce(t); !r) return fail(rank, r.error().to_string());
    }
    c10::cuda::device_synchronize();
    seconds = std::min(
        seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                     kIterations);
  }
  const double algbw = static_cast<double>(bytes) / seconds / 1e9;
  const double busbw = algbw * 2.0 * (world - 1) / world;
  std::printf("rank %d: ai_core all_reduce %lld bytes: %.3f ms, busbw_GBps %.1f\n", rank,
              static_cast<long long>(bytes), seconds * 1e3, busbw);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::alarm(170);  // Stops by itself whatever happens.
  const std::string mode = argc > 1 ? argv[1] : "check";
  auto env = ai_core::DistributedEnv::from_env();
  if (!env) return fail(-1, env.error().to_string());
  ai_core::ProcessGroupOptions options;
  options.store.timeout = std::chrono::seconds(60);
  int timeout_s = 60;
  if (mode == "dead-peer" && argc > 2) timeout_s = std::atoi(argv[2]);
  options.timeout = std::chrono::seconds(timeout_s);
  auto group = ai_core::init_process_group(*env, options);
  if (!group) return fail(env->rank, group.error().to_string());
  if (mode == "check") return check(*group);
  if (mode == "dead-peer") return dead_peer(*group, timeout_s);
  if (mode == "bench") return bench(*group, argc > 2 ? std::atoll(argv[2]) : (1LL << 30));
  return fail(env->rank, "unknown mode " + mode);
}
