// SPDX-License-Identifier: MIT
// The two-GPU check of ai_core::distributed, one process per rank (scripts/gpu/distributed.sh):
//   distributed_torchrun_check check        collectives with known values, blocking and
//                                           asynchronous (run under torchrun)
//   distributed_torchrun_check dead-peer S  rank 1 kills itself after a barrier; rank 0's
//                                           all_reduce (timeout S seconds) must fail within S + 10
//   distributed_torchrun_check dead-peer-async S
//                                           the same with three all_reduce_async: the first wait()
//                                           fails within S + 10, the second at once (aborted), the
//                                           third, destroyed unwaited, logs its error
//   distributed_torchrun_check bench BYTES  bus bandwidth of an all_reduce of BYTES (f32):
//                                           pipelined (all_reduce_async) and blocking
// Prints one line per rank; exit 0 when the rank's check passed.
#include <ai_core/distributed.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/log.hpp>

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
#include <utility>
#include <vector>

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
  return 0;
}

// The asynchronous collectives and the lifetime rules of PendingCollective (Note [pending
// collectives] in the header). Ends with the group shut down.
int check_async(ai_core::ProcessGroup& group) {
  const int rank = group.rank();
  const int world = group.world_size();
  const auto options = at::TensorOptions().device(group.device()).dtype(at::kFloat);
  const std::int64_t n = 1 << 20;
  const int root = world - 1;

  // Three collectives in flight, waited in reverse order.
  at::Tensor sum = at::full({n}, static_cast<double>(rank + 1), options);
  at::Tensor message = at::full({n}, rank == root ? 7.0 : -1.0, options);
  at::Tensor mine = at::full({n}, static_cast<double>(rank), options);
  at::Tensor gathered = at::empty({world, n}, options);
  auto reduced = group.all_reduce_async(sum);
  if (!reduced) return fail(rank, reduced.error().to_string());
  auto broadcast = group.broadcast_async(message, root);
  if (!broadcast) return fail(rank, broadcast.error().to_string());
  auto all_gathered = group.all_gather_async(mine, gathered);
  if (!all_gathered) return fail(rank, all_gathered.error().to_string());
  if (auto r = all_gathered->wait(); !r) return fail(rank, r.error().to_string());
  if (auto r = broadcast->wait(); !r) return fail(rank, r.error().to_string());
  if (auto r = reduced->wait(); !r) return fail(rank, r.error().to_string());
  if (!all_equal(sum, world * (world + 1) / 2.0)) return fail(rank, "all_reduce_async value");
  if (!all_equal(message, 7.0)) return fail(rank, "broadcast_async value");
  for (int r = 0; r < world; ++r) {
    if (!all_equal(gathered[r], r)) return fail(rank, "all_gather_async row " + std::to_string(r));
  }
  if (auto r = reduced->wait(); !r) return fail(rank, "second wait: " + r.error().to_string());
  if (!reduced->is_completed()) return fail(rank, "is_completed after wait");

  // A buffer, and a handle destroyed without wait(): its destructor waits.
  at::Tensor through_buffer = at::full({n}, 1.0, options);
  auto buffer = ai_core::as_cuda_buffer(through_buffer);
  if (!buffer) return fail(rank, buffer.error().to_string());
  {
    auto dropped = group.all_reduce_async(*buffer);
    if (!dropped) return fail(rank, dropped.error().to_string());
  }
  if (!all_equal(through_buffer, world)) {
    return fail(rank, "unwaited buffer all_reduce_async value");
  }

  // Ten in flight at once.
  at::Tensor ones = at::ones({n}, options);
  std::vector<ai_core::PendingCollective> pending;
  for (int i = 0; i < 10; ++i) {
    auto p = group.all_reduce_async(ones);
    if (!p) return fail(rank, p.error().to_string());
    pending.push_back(std::move(*p));
  }
  for (auto& p : pending) {
    if (auto r = p.wait(); !r) return fail(rank, r.error().to_string());
  }
  double expected = 1.0;
  for (int i = 0; i < 10; ++i) expected *= world;
  if (!all_equal(ones, expected)) return fail(rank, "ten all_reduce_async value");

  // The group moved while a collective is pending, then shut down before the handle is waited.
  at::Tensor late = at::full({n}, 2.0, options);
  auto outliving = group.all_reduce_async(late);
  if (!outliving) return fail(rank, outliving.error().to_string());
  ai_core::ProcessGroup moved = std::move(group);
  if (auto r = moved.shutdown(); !r) return fail(rank, r.error().to_string());
  if (auto r = outliving->wait(); !r) {
    return fail(rank, "wait after shutdown: " + r.error().to_string());
  }
  if (!all_equal(late, 2.0 * world)) return fail(rank, "all_reduce_async value across shutdown");
  auto refused = moved.all_reduce_async(late);
  if (refused || refused.error().code() != ai_core::ErrorCode::communication) {
    return fail(rank, "all_reduce_async after shutdown was not a communication error");
  }
  std::printf(
      "rank %d: check ok (all_reduce sum/max, broadcast, all_gather, buffer all_reduce, barrier; "
      "async: 3 in flight, wait twice, unwaited handle, 10 in flight, handle across move and "
      "shutdown; on %s)\n",
      rank, moved.device().str().c_str());
  return 0;
}

// Both ranks meet at a barrier, then rank 1 SIGKILLs itself: the peer that dies. Returns
// nonzero (the exit code) when the barrier failed.
int rank_one_dies(ai_core::ProcessGroup& group) {
  if (auto r = group.barrier(); !r) return fail(group.rank(), r.error().to_string());
  if (group.rank() == 1) {
    std::printf("rank 1: killing itself (SIGKILL)\n");
    std::fflush(stdout);
    ::raise(SIGKILL);
  }
  return 0;
}

int dead_peer(ai_core::ProcessGroup& group, int timeout_s) {
  const int rank = group.rank();
  if (int rc = rank_one_dies(group); rc != 0) return rc;
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

int dead_peer_async(ai_core::ProcessGroup& group, int timeout_s) {
  const int rank = group.rank();
  if (int rc = rank_one_dies(group); rc != 0) return rc;
  const auto options = at::TensorOptions().device(group.device());
  at::Tensor first = at::ones({1 << 20}, options);
  at::Tensor second = at::ones({1 << 20}, options);
  const auto start = std::chrono::steady_clock::now();
  auto p1 = group.all_reduce_async(first);
  if (!p1) return fail(rank, "launch: " + p1.error().to_string());
  auto p2 = group.all_reduce_async(second);
  if (!p2) return fail(rank, "launch: " + p2.error().to_string());
  at::Tensor third = at::ones({1 << 20}, options);
  auto p3 = group.all_reduce_async(third);
  if (!p3) return fail(rank, "launch: " + p3.error().to_string());
  auto r = p1->wait();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (r) return fail(rank, "all_reduce_async with a dead peer succeeded");
  auto r2 = p2->wait();
  const double elapsed2 =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("rank %d: async error after %.1f s (timeout %d s): %s\n", rank, elapsed, timeout_s,
              r.error().to_string().c_str());
  std::printf("rank %d: second async wait after %.1f s: %s\n", rank, elapsed2,
              r2 ? "ok" : r2.error().to_string().c_str());
  if (r.error().code() != ai_core::ErrorCode::communication) return fail(rank, "wrong code");
  if (r2 || r2.error().code() != ai_core::ErrorCode::communication) {
    return fail(rank, "second pending all_reduce_async did not fail with a communication error");
  }
  if (elapsed2 > elapsed + 5) return fail(rank, "second pending wait did not fail at once");
  // A pending collective destroyed without wait() reports its failure through the logger.
  {
    ai_core::LogCapture capture;
    { auto dropped = std::move(*p3); }
    if (capture.count("destroyed without wait() failed", ai_core::LogLevel::error) != 1) {
      return fail(rank, "an unwaited failed PendingCollective logged no error");
    }
  }
  return elapsed <= timeout_s + 10 ? 0 : fail(rank, "error came too late");
}

void report(int rank, int world, const char* form, std::int64_t bytes, double seconds) {
  const double algbw = static_cast<double>(bytes) / seconds / 1e9;
  const double busbw = algbw * 2.0 * (world - 1) / world;
  std::printf("rank %d: ai_core %s all_reduce %lld bytes: %.3f ms, busbw_GBps %.1f\n", rank, form,
              static_cast<long long>(bytes), seconds * 1e3, busbw);
}

// The best of three rounds of ten, as the Python side measures it: pipelined (ten
// all_reduce_async, then wait for all; what torch.distributed.all_reduce from Python does, since
// it returns once queued) and blocking (each all_reduce waited before the next).
int bench(ai_core::ProcessGroup& group, std::int64_t bytes) {
  const int rank = group.rank();
  const int world = group.world_size();
  at::Tensor t = at::ones({bytes / 4}, at::TensorOptions().device(group.device()));
  for (int i = 0; i < 5; ++i) {
    if (auto r = group.all_reduce(t); !r) return fail(rank, r.error().to_string());
  }
  constexpr int kIterations = 10;
  using Clock = std::chrono::steady_clock;
  double pipelined = 1e30;
  std::vector<ai_core::PendingCollective> pending;
  pending.reserve(kIterations);
  for (int round = 0; round < 3; ++round) {
    pending.clear();
    c10::cuda::device_synchronize();
    const auto start = Clock::now();
    for (int i = 0; i < kIterations; ++i) {
      auto p = group.all_reduce_async(t);
      if (!p) return fail(rank, p.error().to_string());
      pending.push_back(std::move(*p));
    }
    for (auto& p : pending) {
      if (auto r = p.wait(); !r) return fail(rank, r.error().to_string());
    }
    c10::cuda::device_synchronize();
    pipelined = std::min(pipelined,
                         std::chrono::duration<double>(Clock::now() - start).count() / kIterations);
  }
  double blocking = 1e30;
  for (int round = 0; round < 3; ++round) {
    c10::cuda::device_synchronize();
    const auto start = Clock::now();
    for (int i = 0; i < kIterations; ++i) {
      if (auto r = group.all_reduce(t); !r) return fail(rank, r.error().to_string());
    }
    c10::cuda::device_synchronize();
    blocking = std::min(blocking,
                        std::chrono::duration<double>(Clock::now() - start).count() / kIterations);
  }
  report(rank, world, "pipelined", bytes, pipelined);
  report(rank, world, "blocking", bytes, blocking);
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
  if ((mode == "dead-peer" || mode == "dead-peer-async") && argc > 2)
    timeout_s = std::atoi(argv[2]);
  options.timeout = std::chrono::seconds(timeout_s);
  auto group = ai_core::init_process_group(*env, options);
  if (!group) return fail(env->rank, group.error().to_string());
  if (mode == "check") {
    if (const int rc = check(*group); rc != 0) return rc;
    return check_async(*group);
  }
  if (mode == "dead-peer") return dead_peer(*group, timeout_s);
  if (mode == "dead-peer-async") return dead_peer_async(*group, timeout_s);
  if (mode == "bench") return bench(*group, argc > 2 ? std::atoll(argv[2]) : (1LL << 30));
  return fail(env->rank, "unknown mode " + mode);
}
