// SPDX-License-Identifier: MIT
// ai_core/distributed.hpp: multi-GPU coordination on PyTorch's own communication layer (c10d's
// `TCPStore` and `ProcessGroupNCCL`, launched by `torchrun`), made as hard to misuse as device
// selection. Part of the separate library `ai_core::distributed`; code that never goes multi-GPU
// neither links it nor sees c10d or NCCL headers (this header includes neither: the c10d objects
// live behind pointers to implementation).
//
//   environment   `DistributedEnv::from_env()`: RANK, WORLD_SIZE, LOCAL_RANK, ... parsed strictly
//   rendezvous    `Store::connect`: rank 0 serves a TCPStore (unless torchrun's agent store is in
//                 use), every rank connects and waits until all ranks arrived
//   collectives   `init_process_group` -> `ProcessGroup`: NCCL bound to the rank's GPU, connected
//                 eagerly; `all_reduce`, `broadcast`, `all_gather`, `barrier` returning `Result`;
//                 `all_reduce_async`, ... returning a `PendingCollective` to `wait()` on
//
// Every wait is bounded: a rank that never arrives, a peer that dies or a collective that does not
// finish is a `communication` error naming the rank, the operation and the timeout. CPU
// collectives (Gloo) are not provided. The guide, with a torchrun example, is docs/distributed.md.
#pragma once

#include <ai_core/device.hpp>
#include <ai_core/distributed_export.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/interop.hpp>

#include <c10/core/Device.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Note [forward-declared at::Tensor] (interop.hpp): the collectives take `at::Tensor&`, which needs
// no definition here; callers already include <ATen/core/Tensor.h> or <torch/torch.h>.
namespace at {
class Tensor;
}  // namespace at

namespace ai_core {

/// The `MASTER_PORT` torchrun uses when none is given (c10d's default).
inline constexpr int kDefaultMasterPort = 29500;

/// Where this process sits in a distributed job: the variables `torchrun` sets, read strictly.
/// Without any of them the process is a job of one (rank 0, world size 1). Reading it never touches
/// CUDA: a CPU-only job with `LOCAL_RANK=0` parses fine; whether `cuda:LOCAL_RANK` exists is
/// checked where a GPU is bound (`init_process_group`).
///
/// Example:
///   AI_CORE_ASSIGN_OR_RETURN(auto env, ai_core::DistributedEnv::from_env());
///   if (env.is_main_process()) save_checkpoint();
struct DistributedEnv {
  int rank = 0;              ///< `RANK`: this process's rank in the job, 0 <= rank < world_size.
  int world_size = 1;        ///< `WORLD_SIZE`: the number of processes in the job, >= 1.
  int local_rank = 0;        ///< `LOCAL_RANK`: the rank on this node; selects `cuda:local_rank`.
  int local_world_size = 1;  ///< `LOCAL_WORLD_SIZE`: the processes on this node.
  int group_rank = 0;        ///< `GROUP_RANK`: the node's index among the nodes of the job.
  /// `MASTER_ADDR`: where rank 0's store listens (a host name or an IPv4/IPv6 address).
  std::string master_addr = "127.0.0.1";
  /// `MASTER_PORT`: the store's TCP port, 1-65535. 0 (only when `MASTER_PORT` is not set and the
  /// job has one process) means "any free port": rank 0 picks one.
  int master_port = 0;
  /// `TORCHELASTIC_USE_AGENT_STORE`: torchrun's agent already serves the store at
  /// `master_addr:master_port`, so every rank, rank 0 included, connects as a client.
  bool use_agent_store = false;
  std::string run_id;  ///< `TORCHELASTIC_RUN_ID`, empty when not set (informational).
  /// Whether any of the variables was set (the process was started by a launcher).
  bool launched = false;

  /// Reads the variables from the process environment. Absent variables take the single-process
  /// defaults; a malformed value (not a decimal integer, a port outside 1-65535, a boolean that is
  /// not 1/0/true/false/yes/no/on/off) or an inconsistent set (`RANK >= WORLD_SIZE`, `LOCAL_RANK
  /// >= LOCAL_WORLD_SIZE`, `RANK` without `WORLD_SIZE`, a multi-process job without
  /// `MASTER_ADDR`/`MASTER_PORT`, ...) is an `invalid_config` error naming the variables and their
  /// values (`validate()`).
  [[nodiscard]] AI_CORE_DISTRIBUTED_API static Result<DistributedEnv> from_env();

  /// Reads the variables like `from_env()`, asking `lookup` instead of the process environment.
  /// A null `lookup` is an `invalid_config` error.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API static Result<DistributedEnv> from_env(
      const EnvLookup& lookup);

  /// Checks the fields against each other: 0 <= rank < world_size, 0 <= local_rank <
  /// local_world_size <= world_size, local_rank <= rank, 0 <= group_rank <= rank, a non-empty
  /// master_addr without spaces or control characters, master_port in 1-65535 (0 only for a job of
  /// one). The error names the fields (by their variable names) and values.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> validate() const;

  /// Returns whether the job has more than one process.
  [[nodiscard]] bool is_distributed() const noexcept { return world_size > 1; }
  /// Returns whether this is rank 0 (the one that logs, saves and serves the store).
  [[nodiscard]] bool is_main_process() const noexcept { return rank == 0; }
  /// Returns the device this rank binds for NCCL: `cuda:local_rank` (what `get_device` picks from
  /// `LOCAL_RANK` when no `RUST_AI_CUDA_DEVICE`-style variable overrides it).
  [[nodiscard]] c10::Device device() const noexcept {
    return {c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(local_rank)};
  }
};

/// Describes `env` in a few lines for logs and `ai-core doctor`: the ranks, the store (who serves
/// it, where, and who can reach it) and the GPU the rank binds.
[[nodiscard]] AI_CORE_DISTRIBUTED_API std::string describe(const DistributedEnv& env);

/// Returns what `env` implies on this machine, one finding per entry, for `ai-core doctor`: the GPU
/// the rank would bind and whether `probe` sees it, whether the node's ranks fit its GPUs, and
/// whether `get_device(device_config)` picks the same GPU as the process group (a
/// `RUST_AI_CUDA_DEVICE`-style variable or forced CPU does not). Reads nothing itself.
[[nodiscard]] AI_CORE_DISTRIBUTED_API std::vector<std::string> check_placement(
    const DistributedEnv& env, const DeviceConfig& device_config, const CudaProbeResult& probe);

/// Formats `env` and `findings` (from `check_placement`) as one JSON object (`ai-core doctor
/// --json`): the fields by their C++ names, and "findings" as an array of strings.
[[nodiscard]] AI_CORE_DISTRIBUTED_API std::string to_json(const DistributedEnv& env,
                                                          const std::vector<std::string>& findings);

/// The "Distributed" section of `ai-core doctor`.
struct DistributedReport {
  std::string text;                ///< `describe` and the findings, or one JSON object.
  std::optional<CoreError> error;  ///< The `invalid_config` of a malformed variable, if any.
};

/// Reads the torchrun variables (from `lookup`; empty: the process environment) and the device
/// settings, and returns `describe` plus `check_placement` against `probe` as text, or with `json`
/// as one JSON object (`{"error": "..."}` for a malformed variable). Never fails itself.
[[nodiscard]] AI_CORE_DISTRIBUTED_API DistributedReport
distributed_report(const CudaProbeResult& probe, bool json, const EnvLookup& lookup = {});

/// Options of the store rendezvous.
struct StoreOptions {
  /// How long a rank waits for the store (connecting, and for every other rank to arrive) and
  /// for each store operation; c10d's default, 300 s. Must be positive.
  std::chrono::milliseconds timeout = std::chrono::seconds(300);
  /// The local address rank 0's store listens on; empty: `master_addr` (resolved). The store has
  /// no authentication: keep this on a private network (docs/distributed.md, "Exposure"). "0.0.0.0"
  /// listens on every IPv4 interface, c10d's own behaviour, only when asked for.
  std::string listen_address;
  /// Whether `Store::connect` returns only after every rank has connected (a rendezvous). With
  /// `false`, it returns once this rank is connected.
  bool wait_for_all_ranks = true;
};

/// A connection to the job's key-value store (c10d's `TCPStore`): served by rank 0 (or torchrun's
/// agent), used for the rendezvous and for small metadata. Move-only; closing it (destruction)
/// stops the server on rank 0, so rank 0 keeps it alive until the other ranks are done with it.
/// Thread-compatible: one thread at a time.
class Store {
 public:
  /// Connects this rank to the store of `env`: rank 0 binds `options.listen_address` (default
  /// `env.master_addr`) at `env.master_port` and serves, unless `env.use_agent_store`; every other
  /// rank connects, retrying until `options.timeout`. With `wait_for_all_ranks`, then waits until
  /// all `env.world_size` ranks have connected. Errors: `invalid_config` for a bad `env` or
  /// options; `io` for an address that does not resolve or a port already in use (naming address
  /// and port); `communication` for a store that cannot be reached or ranks that did not arrive in
  /// time (naming the missing ranks).
  [[nodiscard]] AI_CORE_DISTRIBUTED_API static Result<Store> connect(
      const DistributedEnv& env, const StoreOptions& options = {});

  /// Sets `key` to `value` (any bytes). Errors: `communication` when the store is unreachable.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> set(std::string_view key,
                                                         std::string_view value);
  /// Returns the value of `key`, waiting up to the store timeout for another rank to set it.
  /// Errors: `communication` naming the key when it was not set in time or the store is gone.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<std::string> get(std::string_view key);
  /// Waits until every rank has called `barrier` with the same `name` (a store-based barrier, no
  /// GPU). Errors: `communication` naming the ranks that did not arrive within the timeout.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> barrier(std::string_view name);

  /// Returns this rank.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API int rank() const noexcept;
  /// Returns the number of ranks.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API int world_size() const noexcept;
  /// Returns the port of the store (the one picked when `master_port` was 0).
  [[nodiscard]] AI_CORE_DISTRIBUTED_API int port() const noexcept;
  /// Returns whether this process serves the store.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API bool is_server() const noexcept;

  AI_CORE_DISTRIBUTED_API Store(Store&&) noexcept;
  AI_CORE_DISTRIBUTED_API Store& operator=(Store&&) noexcept;
  AI_CORE_DISTRIBUTED_API ~Store();

  struct Impl;  // src/distributed/: holds the c10d store.
  /// Returns the implementation (opaque outside the library); not on a moved-from store.
  [[nodiscard]] Impl& impl() noexcept { return *impl_; }

 private:
  explicit Store(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

/// The reduction of `all_reduce`.
enum class ReduceOp : std::uint8_t {
  sum = 0,      ///< Element-wise sum.
  product = 1,  ///< Element-wise product.
  min = 2,      ///< Element-wise minimum.
  max = 3,      ///< Element-wise maximum.
  avg = 4,      ///< Element-wise mean over the ranks (floating-point dtypes).
};

/// Returns the lower-case name of `op` ("sum", ...).
[[nodiscard]] AI_CORE_DISTRIBUTED_API std::string_view to_string(ReduceOp op) noexcept;

/// What c10d's NCCL watchdog does when a collective fails or times out (Note [process-group
/// errors]).
enum class NcclErrorHandling : std::uint8_t {
  /// Abort the communicators and keep the process, so the collective returns a `communication`
  /// error: sets TORCH_NCCL_ASYNC_ERROR_HANDLING=2 for the group.
  report = 0,
  /// Leave TORCH_NCCL_ASYNC_ERROR_HANDLING as the environment has it. torchrun sets 1 (unless it
  /// was set before): the watchdog ends the process and torchrun stops or restarts the job.
  keep_environment = 1,
};

/// Options of `init_process_group`.
struct ProcessGroupOptions {
  StoreOptions store;  ///< The rendezvous (timeout 300 s, listen address `master_addr`).
  /// How long one collective may take, from the call until the GPU finished it, before it is
  /// reported as a `communication` error and the group is aborted; 600 s (c10d's NCCL default).
  /// Must be positive. Also bounds connecting the NCCL communicator.
  std::chrono::milliseconds timeout = std::chrono::seconds(600);
  /// The GPU of this rank; empty: `env.device()` (`cuda:LOCAL_RANK`). Must be a CUDA device.
  std::optional<c10::Device> device;
  /// Whether NCCL runs on a high-priority CUDA stream.
  bool high_priority_stream = false;
  /// Whether errors come back as `Result`s (the default) or end the process as under plain c10d.
  NcclErrorHandling error_handling = NcclErrorHandling::report;
};

class ProcessGroup;

namespace detail {
/// For tests without a GPU only (no stability promise): a `ProcessGroup` of rank `rank` of
/// `world_size` bound to `device` (any device, CPU included) whose peers never arrive: no store and
/// no NCCL communicator. Every member checks its arguments as on a real group; a collective that
/// passes the checks is queued and never runs, so its `wait()` fails at the deadline (`timeout`
/// after the launch) exactly as when no other rank calls the collective, and the group is aborted.
/// Without CUDA the collectives are `not_implemented`. `store()` must not be called on it.
[[nodiscard]] AI_CORE_DISTRIBUTED_API ProcessGroup make_unconnected_process_group(
    int rank, int world_size, c10::Device device, std::chrono::milliseconds timeout);
}  // namespace detail

/// A collective launched by `ProcessGroup::all_reduce_async` (or `broadcast_async`,
/// `all_gather_async`) that this rank has not waited for yet: c10d's `Work` plus the deadline
/// (launch time + `ProcessGroupOptions::timeout`). Move-only.
///
/// Note [pending collectives]:
///   - `wait()` polls until the GPU finished the collective or its deadline passed, with the
///     errors of the blocking collectives (which are `*_async` + `wait()`): a `communication`
///     error naming the rank and the operation, and the group aborted: later collectives fail at
///     once, and so do the pending ones that had not finished on the GPU when it was aborted
///     (their results are undefined), instead of running into their deadlines; the ones that
///     had finished still succeed.
///   - Waiting again returns the first wait's result without waiting.
///   - A default-constructed or moved-from handle is empty: `wait()` is `invalid_config`.
///   - The handle shares the group's state, never points into the `ProcessGroup` object: moving
///     the group is harmless, and shutting it down (`shutdown()`, its destructor, a move
///     assignment) first waits for the collectives still pending, each within its deadline, and
///     keeps their results for their handles' `wait()`.
///   - Destroying a handle that was never waited waits for it like `wait()` (bounded by the
///     deadline) and logs a failure through ai_core's logger at error level, since a destructor
///     cannot return it: an error is never dropped silently, and the caller's stream is ordered
///     after the collective either way. Call `wait()` to get the error as a `Result`.
///   - The tensors stay alive until the collective is resolved: the handle holds references to
///     them (c10d's `Work` stashes them too). A `TensorBufferView` does not own its memory: keep
///     the buffer alive until `wait()` returned.
///   - Until `wait()` returned, the tensors belong to NCCL: reading or writing them on a stream is
///     not ordered after the collective. After a successful `wait()` the device's current stream
///     (of the waiting thread) is ordered after the collective, as with c10d's `Work::wait()`.
///   - Thread-compatible together with its group: a group and its handles are used from one thread
///     at a time.
///
/// Example:
///   std::vector<ai_core::PendingCollective> pending;
///   for (at::Tensor& grad : grads) {
///     AI_CORE_ASSIGN_OR_RETURN(auto p, group.all_reduce_async(grad));  // queued, not waited
///     pending.push_back(std::move(p));
///   }
///   for (auto& p : pending) AI_CORE_TRY(p.wait());  // each within its deadline
class PendingCollective {
 public:
  /// Makes an empty handle (nothing to wait for).
  AI_CORE_DISTRIBUTED_API PendingCollective() noexcept;

  /// Waits until the GPU finished the collective or its deadline passed (Note [pending
  /// collectives]). Errors: `communication` naming the rank and the operation (a peer died, never
  /// joined or called another collective; the deadline passed; the group was aborted or failed
  /// earlier); `invalid_config` on an empty handle. A second call returns the first result.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> wait();

  /// Returns whether `wait()` would return without polling: the collective finished or failed,
  /// its deadline passed, the group was aborted, or it was waited already. Never blocks; false on
  /// an empty handle.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API bool is_completed();

  /// Returns whether the handle holds a collective (launched, waited or not); false when empty.
  [[nodiscard]] bool valid() const noexcept { return impl_ != nullptr; }
  /// Returns the operation ("all_reduce", "broadcast", "all_gather"); empty on an empty handle.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API std::string_view operation() const noexcept;

  AI_CORE_DISTRIBUTED_API PendingCollective(PendingCollective&&) noexcept;
  /// Resolves the collective this handle held (as the destructor does), then takes `other`'s.
  AI_CORE_DISTRIBUTED_API PendingCollective& operator=(PendingCollective&& other) noexcept;
  AI_CORE_DISTRIBUTED_API ~PendingCollective();

  struct Impl;  // src/distributed/: the c10d work, its deadline and the group's shared state.

 private:
  explicit PendingCollective(std::shared_ptr<Impl> impl) noexcept;
  friend class ProcessGroup;
  void finish() noexcept;  // The destructor's bounded wait.
  std::shared_ptr<Impl> impl_;
};

/// Starts the NCCL process group of this rank: checks `env` and `options`, checks the GPU
/// (`options.device`, default `cuda:LOCAL_RANK`) exists, connects the store (`Store::connect`,
/// every rank arrives), creates `ProcessGroupNCCL` bound to that GPU and connects its communicator
/// eagerly, so NCCL never guesses the GPU. Errors: `invalid_config` (bad env or options);
/// `not_implemented` when ai_core was built without CUDA; `device_not_available` when CUDA is not
/// usable or the GPU is not visible (naming `LOCAL_RANK` and the visible count); the errors of
/// `Store::connect`; `communication` when NCCL fails to connect (bounded by the store timeout for
/// the id exchange and by NCCL's own bootstrap timeouts after that).
///
/// Note [process-group errors]: c10d's NCCL watchdog ends the whole process on a NCCL error or
/// timeout by default (TORCH_NCCL_ASYNC_ERROR_HANDLING=3; torchrun gives its workers 1, which also
/// does). c10d reads only that variable, when the group is created. So that errors come back as
/// `Result`s, `NcclErrorHandling::report` (the default) sets it to 2 (abort the communicators,
/// keep the process) just before creating the group, logging the value it replaced; this touches
/// the process environment, so do not call `init_process_group` while another thread reads or
/// writes it. `NcclErrorHandling::keep_environment` leaves it alone.
[[nodiscard]] AI_CORE_DISTRIBUTED_API Result<ProcessGroup> init_process_group(
    const DistributedEnv& env, const ProcessGroupOptions& options = {});

/// A NCCL process group bound to one GPU: the collectives of the kernel libraries. Move-only; the
/// destructor shuts the group down (after waiting, each within its deadline, for the collectives
/// still pending). Every collective is ordered after the work already queued on the device's
/// current stream. The blocking ones (`all_reduce`, ...) return when the GPU finished (so a dead
/// peer surfaces as an error from the call that waits for it, never as a later hang); the
/// `*_async` ones return once it is queued, with a `PendingCollective` to `wait()` on, so that
/// consecutive collectives run back to back on the GPU. Tensors must be defined, contiguous, on
/// `device()`, of the same dtype and size on every rank. Thread-compatible (with its pending
/// collectives).
///
/// Example:
///   AI_CORE_ASSIGN_OR_RETURN(auto env, ai_core::DistributedEnv::from_env());
///   AI_CORE_ASSIGN_OR_RETURN(auto group, ai_core::init_process_group(env));
///   AI_CORE_TRY(group.all_reduce(grad));               // sum over the ranks, in place
class ProcessGroup {
 public:
  /// Queues the all-reduce of `all_reduce(tensor, op)` and returns without waiting for it. The
  /// arguments are checked as by `all_reduce` (errors come back here, nothing is queued); a
  /// failure of the collective itself comes back from the handle's `wait()`.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<PendingCollective> all_reduce_async(
      at::Tensor& tensor, ReduceOp op = ReduceOp::sum);
  /// `all_reduce_async` of the memory of `buffer` (keep the buffer alive until `wait()`).
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<PendingCollective> all_reduce_async(
      const TensorBufferView& buffer, ReduceOp op = ReduceOp::sum);
  /// Queues `broadcast(tensor, root)` and returns without waiting for it.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<PendingCollective> broadcast_async(
      at::Tensor& tensor, int root = 0);
  /// `broadcast_async` of the memory of `buffer` (keep the buffer alive until `wait()`).
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<PendingCollective> broadcast_async(
      const TensorBufferView& buffer, int root = 0);
  /// Queues `all_gather(input, output)` and returns without waiting for it.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<PendingCollective> all_gather_async(
      const at::Tensor& input, at::Tensor& output);
  /// `all_gather_async` of buffers (keep both alive until `wait()`).
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<PendingCollective> all_gather_async(
      const TensorBufferView& input, const TensorBufferView& output);

  /// Sums (or `op`) `tensor` over the ranks, in place.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> all_reduce(at::Tensor& tensor,
                                                                ReduceOp op = ReduceOp::sum);
  /// Sums (or `op`) the memory of `buffer` over the ranks, in place (zero copy; the buffer must
  /// be contiguous, writable and on `device()`).
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> all_reduce(const TensorBufferView& buffer,
                                                                ReduceOp op = ReduceOp::sum);
  /// Copies `tensor` of rank `root` into `tensor` of every other rank.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> broadcast(at::Tensor& tensor, int root = 0);
  /// Copies `buffer` of rank `root` into `buffer` of every other rank.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> broadcast(const TensorBufferView& buffer,
                                                               int root = 0);
  /// Concatenates every rank's `input` into `output` along a new leading dimension, in rank order:
  /// `output` has `world_size() * input.numel()` elements of `input`'s dtype.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> all_gather(const at::Tensor& input,
                                                                at::Tensor& output);
  /// `all_gather` on buffers (`output` has `world_size()` times `input`'s bytes; both must be
  /// writable views, as `to_tensor` requires).
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> all_gather(const TensorBufferView& input,
                                                                const TensorBufferView& output);
  /// Waits until every rank reached the barrier (a NCCL collective on `device()`).
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> barrier();

  /// Shuts the group down now (the destructor does it otherwise): first waits for the collectives
  /// still pending (each within its deadline; their results stay with their handles), then
  /// shuts c10d's group down, or leaves it aborted if one of them failed. Later collectives fail.
  /// Shutting down again does nothing.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Result<void> shutdown();

  /// Returns this rank.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API int rank() const noexcept;
  /// Returns the number of ranks.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API int world_size() const noexcept;
  /// Returns the GPU the group is bound to.
  [[nodiscard]] AI_CORE_DISTRIBUTED_API c10::Device device() const noexcept;
  /// Returns the store the group was made with (for small metadata between ranks). Not on a
  /// moved-from group (every other member reports a moved-from group as `invalid_config`).
  [[nodiscard]] AI_CORE_DISTRIBUTED_API Store& store() noexcept;

  AI_CORE_DISTRIBUTED_API ProcessGroup(ProcessGroup&&) noexcept;
  AI_CORE_DISTRIBUTED_API ProcessGroup& operator=(ProcessGroup&&) noexcept;
  AI_CORE_DISTRIBUTED_API ~ProcessGroup();

  struct Impl;  // src/distributed/: holds the store and the state shared with pending collectives.

 private:
  explicit ProcessGroup(std::unique_ptr<Impl> impl) noexcept;
  friend Result<ProcessGroup> init_process_group(const DistributedEnv& env,
                                                 const ProcessGroupOptions& options);
  friend ProcessGroup detail::make_unconnected_process_group(int rank, int world_size,
                                                             c10::Device device,
                                                             std::chrono::milliseconds timeout);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ai_core
