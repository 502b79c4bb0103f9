// SPDX-License-Identifier: MIT
// The c10d side of ai_core::distributed: the store rendezvous (`Store`, on c10d's TCPStore), the
// NCCL process group (`ProcessGroup`, on c10d's ProcessGroupNCCL) and its collectives. The only
// translation unit that includes c10d (and, through it, NCCL) headers.
//
// Note [bounded waits]
// ~~~~~~~~~~~~~~~~~~~~
// Nothing here waits without a deadline, so a missing or dead rank becomes an error, not a hang:
//   - Connecting: c10d's TCPStore client retries until the store timeout.
//   - The rendezvous and `Store::barrier`: every rank sets its own key ("<prefix>/<rank>") and
//     waits for all of them with the store timeout; on timeout the keys that are missing name the
//     ranks that never arrived.
//   - Collectives: each one's deadline is its launch time + `timeout`. Waiting for it (the
//     blocking collectives are `*_async` + `PendingCollective::wait`, the handle's destructor, or
//     `ProcessGroup::shutdown` for the ones still pending) polls the c10d `Work` until it completed
//     or the deadline passed; then the communicators are aborted (ncclCommAbort makes the stuck
//     kernels return), the other pending collectives fail at once and the group refuses further
//     collectives. Shutdown waits for the pending collectives first, because c10d's graceful
//     shutdown would not return under one that never finishes. c10d's watchdog would otherwise
//     end the process
//     (Note [process-group errors] in the header), so init_process_group selects its
//     "clean up only" mode unless told to keep the environment's.
//
// Note [store listen address]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
// c10d's TCPStore server binds every interface ("*:port"). The store has no authentication, so
// rank 0 binds the listening socket itself, on MASTER_ADDR (or `StoreOptions::listen_address`),
// and hands it to TCPStore (`masterListenFd`, which TCPStore then owns and closes). This also
// turns "port already in use" into our own error naming the address and port.
#include <ai_core/distributed.hpp>
#include <ai_core/interop.hpp>
#include <ai_core/log.hpp>
#include <ai_core/result_macros.hpp>

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#if AI_CORE_WITH_CUDA
#  include <c10/cuda/CUDAFunctions.h>
#  include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace ai_core {
namespace {

using Clock = std::chrono::steady_clock;

std::string seconds(std::chrono::milliseconds ms) {
  const auto count = ms.count();
  if (count % 1000 == 0) return std::to_string(count / 1000) + " s";
  return std::to_string(count) + " ms";
}

// The text of an exception from c10d, without c10's backtrace.
std::string describe_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const c10::Error& e) {
    std::string text = e.what_without_backtrace();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an unknown exception";
  }
}

CoreError communication(std::string message) {
  return CoreError::from_code(ErrorCode::communication, std::move(message));
}

Result<void> check_timeout(std::chrono::milliseconds timeout, std::string_view what) {
  if (timeout.count() <= 0) {
    return CoreError::invalid_config(std::string(what) + " is " + std::to_string(timeout.count()) +
                                     " ms: expected a positive duration");
  }
  return {};
}

// A listening socket that closes itself unless released to TCPStore.
class ListenSocket {
 public:
  ListenSocket() = default;
  explicit ListenSocket(int fd) noexcept : fd_(fd) {}
  ListenSocket(ListenSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ListenSocket& operator=(ListenSocket&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~ListenSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// Binds and listens on `address`:`port` (port 0: any free port). Returns the socket and the port.
Result<std::pair<ListenSocket, int>> listen_on(const std::string& address, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(address.c_str(), service.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return CoreError::io(std::make_error_code(std::errc::address_not_available),
                         "rank 0 cannot serve the store: the listen address '" + address +
                             "' does not resolve (" + ::gai_strerror(rc) +
                             "): expected MASTER_ADDR (or StoreOptions::listen_address) to name "
                             "an address of this machine");
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
  int last_errno = 0;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    ListenSocket socket(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (socket.get() < 0) {
      last_errno = errno;
      continue;
    }
    const int yes = 1;
    // SO_REUSEADDR lets a new store reuse a port in TIME_WAIT; a live listener still gets
    // EADDRINUSE on Linux.
    ::setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(socket.get(), ai->ai_addr, ai->ai_addrlen) != 0 ||
        ::listen(socket.get(), SOMAXCONN) != 0) {
      last_errno = errno;
      continue;
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
      last_errno = errno;
      continue;
    }
    const int actual = bound.ss_family == AF_INET6
                           ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                           : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return std::pair<ListenSocket, int>(std::move(socket), actual);
  }
  std::string message = "rank 0 cannot serve the store on " + address + ":" + service;
  if (last_errno == EADDRINUSE) {
    message +=
        ": the port is already in use (another job, or an earlier run still alive): "
        "expected a free MASTER_PORT";
  } else if (last_errno == EADDRNOTAVAIL) {
    message +=
        ": the address is not one of this machine's: expected MASTER_ADDR (or "
        "StoreOptions::listen_address) to be an address of rank 0's machine";
  }
  return CoreError::from_errno(last_errno, std::move(message));
}

CoreError moved_from(std::string_view type, std::string_view op) {
  return CoreError::invalid_config(std::string(type) + "::" + std::string(op) +
                                   " on a moved-from " + std::string(type) +
                                   ": expected one made by Store::connect or init_process_group");
}

}  // namespace

// --- Store -------------------------------------------------------------------------------------

struct Store::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  int rank = 0;
  int world_size = 1;
  int port = 0;
  bool server = false;
  std::chrono::milliseconds timeout{0};
  std::string prefix;                   // Keys of ai_core's rendezvous and barriers.
  std::map<std::string, int> barriers;  // Generation of each named barrier.

  // Every rank sets "<key>/<rank>" and waits for all ranks' keys (Note [bounded waits]).
  Result<void> arrive(const std::string& key, std::string_view what) {
    std::vector<std::string> keys;
    keys.reserve(static_cast<std::size_t>(world_size));
    for (int r = 0; r < world_size; ++r) keys.push_back(key + "/" + std::to_string(r));
    try {
      store->set(keys[static_cast<std::size_t>(rank)], std::vector<std::uint8_t>{1});
    } catch (...) {
      return communication(
          "rank " + std::to_string(rank) + ": " + std::string(what) +
          ": the store is unreachable: " + describe_exception(std::current_exception()));
    }
    // Waits in slices, recording after each timed-out slice which ranks are still missing, so
    // the error can name them even when rank 0 gave up first and took the store with it.
    const auto deadline = Clock::now() + timeout;
    std::vector<int> missing;
    std::string cause;
    bool store_gone = false;
    while (true) {
      const auto now = Clock::now();
      if (now >= deadline) break;
      const auto slice = std::min<std::chrono::milliseconds>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
              std::chrono::milliseconds(1),
          std::chrono::milliseconds(250));
      try {
        store->wait(keys, slice);
        return {};
      } catch (...) {
        cause = describe_exception(std::current_exception());
      }
      try {
        std::vector<int> still_missing;
        for (int r = 0; r < world_size; ++r) {
          if (!store->check({keys[static_cast<std::size_t>(r)]})) still_missing.push_back(r);
        }
        if (still_missing.empty()) return {};
        missing = std::move(still_missing);
      } catch (...) {
        store_gone = true;
        break;
      }
    }
    std::string message = "rank " + std::to_string(rank) + ": " + std::string(what) +
                          " timed out after " + seconds(timeout) + ": ";
    if (!missing.empty()) {
      std::string list;
      for (std::size_t i = 0; i < missing.size() && i < 16; ++i) {
        list += (i == 0 ? "" : ", ") + std::to_string(missing[i]);
      }
      if (missing.size() > 16) list += ", ...";
      message += std::to_string(missing.size()) + " of " + std::to_string(world_size) +
                 " ranks never arrived (rank" + (missing.size() > 1 ? "s " : " ") + list + ")";
      if (store_gone) message += "; then the store closed (rank 0 gave up or died)";
    } else {
      message += "the store stopped answering (" + cause + ")";
    }
    return communication(std::move(message));
  }
};

Store::Store(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

int Store::rank() const noexcept { return impl_ ? impl_->rank : -1; }
int Store::world_size() const noexcept { return impl_ ? impl_->world_size : 0; }
int Store::port() const noexcept { return impl_ ? impl_->port : 0; }
bool Store::is_server() const noexcept { return impl_ && impl_->server; }

Result<Store> Store::connect(const DistributedEnv& env, const StoreOptions& options) {
  AI_CORE_TRY(env.validate());
  AI_CORE_TRY(check_timeout(options.timeout, "StoreOptions::timeout"));
  auto impl = std::make_unique<Impl>();
  impl->rank = env.rank;
  impl->world_size = env.world_size;
  impl->timeout = options.timeout;
  impl->server = env.rank == 0 && !env.use_agent_store;
  // Keys are unique per run, restart and connection: torchrun's agent store outlives a process
  // group, and every rank connects the same number of times in the same order.
  static std::atomic<int> connections{0};
  const char* restart = std::getenv("TORCHELASTIC_RESTART_COUNT");
  impl->prefix = "ai_core/" + env.run_id + "/" + (restart != nullptr ? restart : "0") + "/" +
                 std::to_string(connections.fetch_add(1));

  c10d::TCPStoreOptions tcp;
  tcp.isServer = impl->server;
  tcp.waitWorkers = false;  // ai_core's own rendezvous names the missing ranks.
  tcp.numWorkers = std::nullopt;
  tcp.timeout = options.timeout;
  tcp.useLibUV = true;
  std::string host = env.master_addr;
  ListenSocket socket;
  int port = env.master_port;
  if (impl->server) {
    const std::string address =
        options.listen_address.empty() ? env.master_addr : options.listen_address;
    AI_CORE_ASSIGN_OR_RETURN(auto listening, listen_on(address, env.master_port),
                             "connecting rank 0 to the store");
    socket = std::move(listening.first);
    port = listening.second;
    tcp.masterListenFd = socket.get();
    if (address == "0.0.0.0" || address == "::") host = "127.0.0.1";
  }
  tcp.port = static_cast<std::uint16_t>(port);
  impl->port = port;
  try {
    impl->store = c10::make_intrusive<c10d::TCPStore>(host, tcp);
    socket.release();  // TCPStore owns the listening socket now.
  } catch (...) {
    // If TCPStore threw after taking the socket, closing it again could close a descriptor another
    // thread just opened; a socket leaked on this error path is the lesser harm.
    if (impl->server) socket.release();
    return communication(
        "rank " + std::to_string(env.rank) + ": " +
        (impl->server ? "serving the store on " : "connecting to the store at ") + host + ":" +
        std::to_string(port) + " failed within " + seconds(options.timeout) + ": " +
        describe_exception(std::current_exception()) +
        (impl->server ? std::string()
                      : std::string(" (is rank 0 running, and are MASTER_ADDR and MASTER_PORT the "
                                    "same on every rank?)")));
  }
  if (options.wait_for_all_ranks) {
    AI_CORE_TRY(impl->arrive(impl->prefix + "/rendezvous", "the store rendezvous"));
  }
  return Store(std::move(impl));
}

Result<void> Store::set(std::string_view key, std::string_view value) {
  if (!impl_) return moved_from("Store", "set");
  try {
    impl_->store->set(std::string(key), std::vector<std::uint8_t>(value.begin(), value.end()));
    return {};
  } catch (...) {
    return communication("rank " + std::to_string(impl_->rank) + ": store set of key '" +
                         std::string(key) +
                         "' failed: " + describe_exception(std::current_exception()));
  }
}

Result<std::string> Store::get(std::string_view key) {
  if (!impl_) return moved_from("Store", "get");
  try {
    const std::vector<std::uint8_t> value = impl_->store->get(std::string(key));
    return std::string(value.begin(), value.end());
  } catch (...) {
    return communication("rank " + std::to_string(impl_->rank) + ": store get of key '" +
                         std::string(key) + "' failed or was not set within " +
                         seconds(impl_->timeout) + ": " +
                         describe_exception(std::current_exception()));
  }
}

Result<void> Store::barrier(std::string_view name) {
  if (!impl_) return moved_from("Store", "barrier");
  const int generation = impl_->barriers[std::string(name)]++;
  return impl_->arrive(
      impl_->prefix + "/barrier/" + std::string(name) + "/" + std::to_string(generation),
      "store barrier '" + std::string(name) + "'");
}

// --- ProcessGroup ------------------------------------------------------------------------------

// The state a group shares with its pending collectives (Note [pending collectives] in the
// header): a handle keeps it alive, so it never points into a moved or destroyed ProcessGroup.
struct ProcessGroupShared {
  int rank = 0;
  int world_size = 1;
  c10::Device device{c10::DeviceType::CUDA, 0};
  std::chrono::milliseconds timeout{0};
  bool shut_down = false;
  std::string aborted;  // Why the group was aborted ("" while usable).
  // The collectives launched and not resolved yet; shutdown() resolves them first.
  std::vector<std::weak_ptr<PendingCollective::Impl>> pending;
#if AI_CORE_WITH_CUDA
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> backend;
#endif

  std::string who(std::string_view op) const {
    return "rank " + std::to_string(rank) + " of " + std::to_string(world_size) + ": " +
           std::string(op);
  }

  Result<void> usable(std::string_view op) const {
    if (shut_down) return communication(who(op) + ": the process group was shut down");
    if (!aborted.empty()) {
      return communication(who(op) + ": the process group was aborted earlier (" + aborted + ")");
    }
    return {};
  }

  Result<void> check_tensor(const at::Tensor& tensor, std::string_view op,
                            std::string_view name) const {
    if (!tensor.defined()) {
      return CoreError::invalid_config(who(op) + ": tensor '" + std::string(name) +
                                       "' is undefined: expected a tensor on " + device.str());
    }
    if (tensor.device() != device) {
      return CoreError::device_mismatch(device, tensor.device(),
                                        who(op) + ", tensor '" + std::string(name) + "'");
    }
    if (!tensor.is_contiguous()) {
      return CoreError::invalid_config(who(op) + ": tensor '" + std::string(name) +
                                       "' is not contiguous: expected a contiguous tensor");
    }
    return {};
  }

  // Aborts the communicators (ncclCommAbort makes stuck kernels return), once; keeps the first
  // reason. Defined after PendingCollective::Impl.
  void abort(std::string reason) noexcept;
};

struct PendingCollective::Impl {
  std::shared_ptr<ProcessGroupShared> group;
  std::string_view op;  // A string literal.
  Clock::time_point deadline;
  std::vector<at::Tensor> tensors;  // Alive until resolved (c10d's Work stashes them as well).
#if AI_CORE_WITH_CUDA
  c10::intrusive_ptr<c10d::Work> work;
#endif
  std::optional<Result<void>> outcome;  // Set once resolved.
  bool observed = false;                // Whether wait() returned the outcome to the caller.
  bool cut_by_abort = false;            // Unfinished when the group was aborted: a failure.
};

// Note [collectives cut by an abort]: an aborted communicator ends the kernels of the collectives
// still queued early, and c10d then no longer checks their communicator for errors, so their Work
// reads as completed without an exception. Whether each pending collective had finished is
// therefore recorded before aborting; the unfinished ones fail when resolved.
void ProcessGroupShared::abort(std::string reason) noexcept {
  const bool first = aborted.empty();
  if (first) aborted = std::move(reason);
#if AI_CORE_WITH_CUDA
  for (const auto& entry : pending) {
    const auto collective = entry.lock();
    if (!collective || collective->outcome || !collective->work) continue;
    bool finished = false;
    try {
      finished = collective->work->isCompleted() && !collective->work->exception();
    } catch (...) {
    }
    if (!finished) collective->cut_by_abort = true;
  }
  if (!first) return;
  try {
    if (backend) backend->abort();
  } catch (...) {
  }
#endif
}

namespace {

#if AI_CORE_WITH_CUDA
std::string watchdog_error(c10d::ErrorType type) {
  switch (type) {
    case c10d::ErrorType::SUCCESS: return "none";
    case c10d::ErrorType::TIMEOUT: return "a collective timed out";
    case c10d::ErrorType::COMM_ERROR: return "a NCCL error";
    case c10d::ErrorType::REMOTE_ERROR: return "an error on another rank";
  }
  return "error type " + std::to_string(static_cast<int>(type));
}

// Polls `pending` until the GPU finished it or its deadline passed (Note [bounded waits]).
Result<void> poll(PendingCollective::Impl& pending) {
  ProcessGroupShared& group = *pending.group;
  const std::string op(pending.op);
  const auto start = Clock::now();
  auto pause = std::chrono::microseconds(0);
  const auto cut = [&] {
    return communication(group.who(op) + " did not complete: the process group was aborted (" +
                         group.aborted + ")");
  };
  if (pending.cut_by_abort) return cut();  // Note [collectives cut by an abort].
  try {
    while (!pending.work->isCompleted()) {
      if (!group.aborted.empty()) return cut();
      if (Clock::now() >= pending.deadline) {
        group.abort(op + " timed out");
        return communication(group.who(op) + " did not complete within " + seconds(group.timeout) +
                             " (a peer died, never called " + op +
                             ", or called another collective); the process group is aborted");
      }
      // Spin (yielding) through the first milliseconds of the wait, so that the caller goes on
      // as soon as the collective finished (a sleep would add its wake-up latency); then poll
      // every 50 us.
      if (pause.count() == 0) {
        std::this_thread::yield();
        if (Clock::now() - start > std::chrono::milliseconds(50)) {
          pause = std::chrono::microseconds(50);
        }
      } else {
        std::this_thread::sleep_for(pause);
      }
    }
    if (auto error = pending.work->exception()) std::rethrow_exception(error);
    // c10d's watchdog may have found an error and aborted the communicators itself, which makes
    // the Work read as completed (Note [collectives cut by an abort]).
    if (const auto state = group.backend ? group.backend->getError() : c10d::ErrorType::SUCCESS;
        state != c10d::ErrorType::SUCCESS) {
      group.abort(op + " failed");
      return communication(group.who(op) + " failed: c10d's NCCL watchdog reported an error (" +
                           watchdog_error(state) + "); the process group is aborted");
    }
    pending.work->wait();  // Completed: orders the current stream after it, rethrows a late error.
    return {};
  } catch (...) {
    group.abort(op + " failed");
    return communication(group.who(op) +
                         " failed: " + describe_exception(std::current_exception()) +
                         "; the process group is aborted");
  }
}
#endif

// Resolves `pending` once: polls it, keeps the result, releases the work and the tensors.
Result<void> resolve(PendingCollective::Impl& pending) {
  if (pending.outcome) return *pending.outcome;
#if AI_CORE_WITH_CUDA
  Result<void> result = poll(pending);
  pending.work.reset();
#else
  Result<void> result =
      CoreError::not_implemented(std::string(pending.op) + ": ai_core was built without CUDA");
#endif
  pending.tensors.clear();
  pending.outcome = result;
  auto& list = pending.group->pending;
  std::erase_if(list, [&](const std::weak_ptr<PendingCollective::Impl>& entry) {
    const auto locked = entry.lock();
    return locked == nullptr || locked.get() == &pending;
  });
  return result;
}

#if AI_CORE_WITH_CUDA
// Launches one collective (`start` returns c10d's Work) and registers it with the group.
template <class Start>
Result<std::shared_ptr<PendingCollective::Impl>> launch(
    const std::shared_ptr<ProcessGroupShared>& group, std::string_view op,
    std::vector<at::Tensor> tensors, Start&& start) {
  AI_CORE_TRY(group->usable(op));
  auto pending = std::make_shared<PendingCollective::Impl>();
  pending->group = group;
  pending->op = op;
  pending->deadline = Clock::now() + group->timeout;
  pending->tensors = std::move(tensors);
  try {
    // Without a communicator (detail::make_unconnected_process_group) the collective never runs,
    // as if no peer ever arrived: a c10d Work that never completes.
    pending->work = group->backend ? start() : c10::make_intrusive<c10d::Work>();
  } catch (...) {
    return communication(group->who(op) +
                         " failed to start: " + describe_exception(std::current_exception()));
  }
  group->pending.push_back(pending);
  return pending;
}

c10d::ReduceOp to_c10d(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return c10d::ReduceOp(c10d::ReduceOp::SUM);
    case ReduceOp::product: return c10d::ReduceOp(c10d::ReduceOp::PRODUCT);
    case ReduceOp::min: return c10d::ReduceOp(c10d::ReduceOp::MIN);
    case ReduceOp::max: return c10d::ReduceOp(c10d::ReduceOp::MAX);
    case ReduceOp::avg: return c10d::ReduceOp(c10d::ReduceOp::AVG);
  }
  return c10d::ReduceOp(c10d::ReduceOp::SUM);
}
#endif

Result<void> check_op(ReduceOp op) {
  if (static_cast<std::uint8_t>(op) > static_cast<std::uint8_t>(ReduceOp::avg)) {
    return CoreError::invalid_config("ReduceOp has the value " +
                                     std::to_string(static_cast<int>(op)) +
                                     ": expected sum, product, min, max or avg");
  }
  return {};
}

Result<at::Tensor> buffer_tensor(const TensorBufferView& buffer, std::string_view op) {
  if (!buffer.is_contiguous()) {
    return CoreError::invalid_config(
        std::string(op) + ": the buffer is not contiguous: expected a contiguous buffer");
  }
  return to_tensor(buffer, BufferOwner::unowned());
}

}  // namespace

// --- PendingCollective -------------------------------------------------------------------------

PendingCollective::PendingCollective() noexcept = default;
PendingCollective::PendingCollective(std::shared_ptr<Impl> impl) noexcept
    : impl_(std::move(impl)) {}
PendingCollective::PendingCollective(PendingCollective&&) noexcept = default;
PendingCollective& PendingCollective::operator=(PendingCollective&& other) noexcept {
  if (this != &other) {
    finish();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
PendingCollective::~PendingCollective() { finish(); }

void PendingCollective::finish() noexcept {
  if (!impl_ || impl_->observed) return;
  impl_->observed = true;
  try {
    const Result<void> result = resolve(*impl_);
    if (!result) {
      log(LogLevel::error, "ai_core: a PendingCollective destroyed without wait() failed: " +
                               result.error().to_string());
    }
  } catch (...) {
    log(LogLevel::error, "ai_core: resolving a PendingCollective destroyed without wait() threw");
  }
}

Result<void> PendingCollective::wait() {
  if (!impl_) {
    return CoreError::invalid_config(
        "PendingCollective::wait on an empty handle (default-constructed or moved-from): "
        "expected one returned by a ProcessGroup *_async collective");
  }
  impl_->observed = true;
  return resolve(*impl_);
}

bool PendingCollective::is_completed() {
  if (!impl_) return false;
  if (impl_->outcome || !impl_->group->aborted.empty() || Clock::now() >= impl_->deadline) {
    return true;
  }
#if AI_CORE_WITH_CUDA
  try {
    return impl_->work->isCompleted();
  } catch (...) {
    return true;  // wait() reports the error.
  }
#else
  return true;
#endif
}

std::string_view PendingCollective::operation() const noexcept {
  return impl_ ? impl_->op : std::string_view();
}

// --- ProcessGroup ------------------------------------------------------------------------------

struct ProcessGroup::Impl {
  std::optional<Store> store;  // Empty only in make_unconnected_process_group's groups.
  std::shared_ptr<ProcessGroupShared> state = std::make_shared<ProcessGroupShared>();
};

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
ProcessGroup::ProcessGroup(ProcessGroup&&) noexcept = default;
ProcessGroup& ProcessGroup::operator=(ProcessGroup&& other) noexcept {
  if (this != &other) {
    (void)shutdown();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
ProcessGroup::~ProcessGroup() { (void)shutdown(); }

int ProcessGroup::rank() const noexcept { return impl_ ? impl_->state->rank : -1; }
int ProcessGroup::world_size() const noexcept { return impl_ ? impl_->state->world_size : 0; }
c10::Device ProcessGroup::device() const noexcept {
  return impl_ ? impl_->state->device : c10::Device(c10::DeviceType::CPU);
}
Store& ProcessGroup::store() noexcept { return *impl_->store; }

Result<void> ProcessGroup::shutdown() {
  if (!impl_) return {};
  ProcessGroupShared& state = *impl_->state;
  if (state.shut_down) return {};
  // Collectives still pending first, each within its deadline (their handles keep the results):
  // shutting c10d's group down under a collective that never finishes would not return.
  // Iterates a copy: resolving erases from the list, and an abort marks what is still in it.
  const auto pending = state.pending;
  for (const auto& entry : pending) {
    if (const auto locked = entry.lock()) (void)resolve(*locked);
  }
  state.pending.clear();
  state.shut_down = true;
#if AI_CORE_WITH_CUDA
  if (state.backend && state.aborted.empty()) {
    try {
      state.backend->shutdown();
    } catch (...) {
      state.backend.reset();
      return communication(state.who("shutdown") +
                           " failed: " + describe_exception(std::current_exception()));
    }
  }
  state.backend.reset();
#endif
  return {};
}

Result<PendingCollective> ProcessGroup::all_reduce_async(at::Tensor& tensor, ReduceOp op) {
  if (!impl_) return moved_from("ProcessGroup", "all_reduce_async");
  AI_CORE_TRY(check_op(op));
  AI_CORE_TRY(impl_->state->check_tensor(tensor, "all_reduce", "tensor"));
#if AI_CORE_WITH_CUDA
  AI_CORE_ASSIGN_OR_RETURN(auto pending, launch(impl_->state, "all_reduce", {tensor}, [&] {
                             std::vector<at::Tensor> tensors{tensor};
                             c10d::AllreduceOptions options;
                             options.reduceOp = to_c10d(op);
                             return impl_->state->backend->allreduce(tensors, options);
                           }));
  return PendingCollective(std::move(pending));
#else
  return CoreError::not_implemented("all_reduce: ai_core was built without CUDA");
#endif
}

Result<PendingCollective> ProcessGroup::all_reduce_async(const TensorBufferView& buffer,
                                                         ReduceOp op) {
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor tensor, buffer_tensor(buffer, "all_reduce"));
  return all_reduce_async(tensor, op);
}

Result<void> ProcessGroup::all_reduce(at::Tensor& tensor, ReduceOp op) {
  if (!impl_) return moved_from("ProcessGroup", "all_reduce");
  AI_CORE_ASSIGN_OR_RETURN(PendingCollective pending, all_reduce_async(tensor, op));
  return pending.wait();
}

Result<void> ProcessGroup::all_reduce(const TensorBufferView& buffer, ReduceOp op) {
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor tensor, buffer_tensor(buffer, "all_reduce"));
  return all_reduce(tensor, op);
}

Result<PendingCollective> ProcessGroup::broadcast_async(at::Tensor& tensor, int root) {
  if (!impl_) return moved_from("ProcessGroup", "broadcast_async");
  const ProcessGroupShared& state = *impl_->state;
  if (root < 0 || root >= state.world_size) {
    return CoreError::invalid_config(state.who("broadcast") + ": root " + std::to_string(root) +
                                     " is not a rank: expected 0 <= root < " +
                                     std::to_string(state.world_size));
  }
  AI_CORE_TRY(state.check_tensor(tensor, "broadcast", "tensor"));
#if AI_CORE_WITH_CUDA
  AI_CORE_ASSIGN_OR_RETURN(auto pending, launch(impl_->state, "broadcast", {tensor}, [&] {
                             std::vector<at::Tensor> tensors{tensor};
                             c10d::BroadcastOptions options;
                             options.rootRank = root;
                             return impl_->state->backend->broadcast(tensors, options);
                           }));
  return PendingCollective(std::move(pending));
#else
  return CoreError::not_implemented("broadcast: ai_core was built without CUDA");
#endif
}

Result<PendingCollective> ProcessGroup::broadcast_async(const TensorBufferView& buffer, int root) {
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor tensor, buffer_tensor(buffer, "broadcast"));
  return broadcast_async(tensor, root);
}

Result<void> ProcessGroup::broadcast(at::Tensor& tensor, int root) {
  if (!impl_) return moved_from("ProcessGroup", "broadcast");
  AI_CORE_ASSIGN_OR_RETURN(PendingCollective pending, broadcast_async(tensor, root));
  return pending.wait();
}

Result<void> ProcessGroup::broadcast(const TensorBufferView& buffer, int root) {
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor tensor, buffer_tensor(buffer, "broadcast"));
  return broadcast(tensor, root);
}

Result<PendingCollective> ProcessGroup::all_gather_async(const at::Tensor& input,
                                                         at::Tensor& output) {
  if (!impl_) return moved_from("ProcessGroup", "all_gather_async");
  const ProcessGroupShared& state = *impl_->state;
  AI_CORE_TRY(state.check_tensor(input, "all_gather", "input"));
  AI_CORE_TRY(state.check_tensor(output, "all_gather", "output"));
  if (output.scalar_type() != input.scalar_type()) {
    return CoreError::invalid_config(state.who("all_gather") + ": output dtype " +
                                     std::string(c10::toString(output.scalar_type())) +
                                     " differs from input dtype " +
                                     std::string(c10::toString(input.scalar_type())));
  }
  if (output.numel() != input.numel() * state.world_size) {
    return CoreError::invalid_config(state.who("all_gather") + ": output has " +
                                     std::to_string(output.numel()) +
                                     " elements: expected world_size * input.numel() = " +
                                     std::to_string(input.numel() * state.world_size));
  }
#if AI_CORE_WITH_CUDA
  AI_CORE_ASSIGN_OR_RETURN(auto pending, launch(impl_->state, "all_gather", {input, output}, [&] {
                             at::Tensor in = input;
                             at::Tensor out = output;
                             return impl_->state->backend->_allgather_base(
                                 out, in, c10d::AllgatherOptions{});
                           }));
  return PendingCollective(std::move(pending));
#else
  return CoreError::not_implemented("all_gather: ai_core was built without CUDA");
#endif
}

Result<PendingCollective> ProcessGroup::all_gather_async(const TensorBufferView& input,
                                                         const TensorBufferView& output) {
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor in, buffer_tensor(input, "all_gather (input)"));
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor out, buffer_tensor(output, "all_gather (output)"));
  return all_gather_async(in, out);
}

Result<void> ProcessGroup::all_gather(const at::Tensor& input, at::Tensor& output) {
  if (!impl_) return moved_from("ProcessGroup", "all_gather");
  AI_CORE_ASSIGN_OR_RETURN(PendingCollective pending, all_gather_async(input, output));
  return pending.wait();
}

Result<void> ProcessGroup::all_gather(const TensorBufferView& input,
                                      const TensorBufferView& output) {
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor in, buffer_tensor(input, "all_gather (input)"));
  AI_CORE_ASSIGN_OR_RETURN(at::Tensor out, buffer_tensor(output, "all_gather (output)"));
  return all_gather(in, out);
}

Result<void> ProcessGroup::barrier() {
  if (!impl_) return moved_from("ProcessGroup", "barrier");
#if AI_CORE_WITH_CUDA
  AI_CORE_ASSIGN_OR_RETURN(auto pending, launch(impl_->state, "barrier", {}, [&] {
                             c10d::BarrierOptions options;
                             options.device = impl_->state->device;
                             return impl_->state->backend->barrier(options);
                           }));
  return PendingCollective(std::move(pending)).wait();
#else
  AI_CORE_TRY(impl_->state->usable("barrier"));
  return CoreError::not_implemented("barrier: ai_core was built without CUDA");
#endif
}

ProcessGroup detail::make_unconnected_process_group(int rank, int world_size, c10::Device device,
                                                    std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<ProcessGroup::Impl>();
  impl->state->rank = rank;
  impl->state->world_size = world_size;
  impl->state->device = device;
  impl->state->timeout = timeout;
  return ProcessGroup(std::move(impl));
}

// --- init_process_group ------------------------------------------------------------------------

Result<ProcessGroup> init_process_group(const DistributedEnv& env,
                                        const ProcessGroupOptions& options) {
  AI_CORE_TRY(env.validate(), "init_process_group");
  AI_CORE_TRY(check_timeout(options.timeout, "ProcessGroupOptions::timeout"));
  AI_CORE_TRY(check_timeout(options.store.timeout, "ProcessGroupOptions::store.timeout"));
  const c10::Device device = options.device.value_or(env.device());
  if (!device.is_cuda() || !device.has_index()) {
    return CoreError::invalid_config("init_process_group: ProcessGroupOptions::device is " +
                                     device.str() +
                                     ": expected a CUDA device with an index (NCCL runs on GPUs)");
  }
#if !AI_CORE_WITH_CUDA
  return CoreError::not_implemented(
      "init_process_group: ai_core was built without CUDA (AI_CORE_WITH_CUDA=OFF): NCCL process "
      "groups need a CUDA build of ai_core and libtorch; CPU collectives (Gloo) are not provided");
#else
  const std::string origin = options.device ? std::string("ProcessGroupOptions::device")
                                            : "LOCAL_RANK=" + std::to_string(env.local_rank);
  const CudaProbeResult& probe = cuda_probe_result();
  if (probe.status != CudaStatus::ok || probe.device_count <= 0) {
    return CoreError::device_not_available(
        device, "init_process_group: rank " + std::to_string(env.rank) + " (" + origin +
                    ") needs a GPU for NCCL, but CUDA is not usable here (" +
                    std::string(to_string(probe.status)) +
                    (probe.message.empty() ? std::string() : ": " + probe.message) +
                    "); CPU collectives (Gloo) are not provided by ai_core::distributed");
  }
  if (device.index() >= probe.device_count) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    return CoreError::device_not_available(
        device, "init_process_group: rank " + std::to_string(env.rank) + " (" + origin +
                    ") selects " + device.str() + " but " + std::to_string(probe.device_count) +
                    " CUDA device(s) are visible" +
                    (visible != nullptr ? std::string(" (CUDA_VISIBLE_DEVICES='") + visible + "')"
                                        : std::string()) +
                    ": expected at most one rank per visible GPU on each node");
  }
  // Note [process-group errors] (header): errors come back as Results, not a torn-down process.
  if (options.error_handling == NcclErrorHandling::report) {
    for (const char* name : {"TORCH_NCCL_ASYNC_ERROR_HANDLING", "NCCL_ASYNC_ERROR_HANDLING"}) {
      const char* mode = std::getenv(name);
      if (mode != nullptr && std::string_view(mode) != "2") {
        log(LogLevel::info, std::string("ai_core: init_process_group replaces ") + name + "=" +
                                mode +
                                " by 2, so NCCL errors come back as CoreErrors instead of ending "
                                "the process (ProcessGroupOptions::error_handling)");
      }
    }
    ::setenv("TORCH_NCCL_ASYNC_ERROR_HANDLING", "2", 1);  // c10d prefers it to the legacy name.
  } else if (options.error_handling != NcclErrorHandling::keep_environment) {
    return CoreError::invalid_config(
        "init_process_group: ProcessGroupOptions::error_handling has the value " +
        std::to_string(static_cast<int>(options.error_handling)) +
        ": expected report (0) or keep_environment (1)");
  }
  try {
    c10::cuda::set_device(device.index());
  } catch (...) {
    return CoreError::device_not_available(
        device,
        "init_process_group: selecting it failed: " + describe_exception(std::current_exception()));
  }

  AI_CORE_ASSIGN_OR_RETURN(Store store, Store::connect(env, options.store), "init_process_group");
  auto impl = std::make_unique<ProcessGroup::Impl>();
  impl->store.emplace(std::move(store));
  ProcessGroupShared& state = *impl->state;
  state.rank = env.rank;
  state.world_size = env.world_size;
  state.device = device;
  state.timeout = options.timeout;
  try {
    auto nccl_options = c10d::ProcessGroupNCCL::Options::create(options.high_priority_stream);
    // The watchdog's deadline a little after ai_core's, so the caller normally gets ai_core's
    // message (naming the collective); either way the collective fails with `communication`.
    nccl_options->timeout = options.timeout + std::max<std::chrono::milliseconds>(
                                                  std::chrono::seconds(1), options.timeout / 10);
    nccl_options->group_name = "ai_core";
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>(impl->store->impl().prefix + "/nccl/",
                                                           impl->store->impl().store);
    state.backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, env.rank, env.world_size,
                                                                nccl_options);
    state.backend->setBoundDeviceId(device);
    state.backend->eagerConnectSingleDevice(device);
  } catch (...) {
    return communication("init_process_group: rank " + std::to_string(env.rank) +
                         " could not connect NCCL on " + device.str() + ": " +
                         describe_exception(std::current_exception()));
  }
  return ProcessGroup(std::move(impl));
#endif
}

}  // namespace ai_core
