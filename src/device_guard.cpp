// SPDX-License-Identifier: MIT
// The device guard behind `ai_core::detail::DeviceScope` (<ai_core/detail/device_scope.hpp>), the
// scope `ai_core::dispatch` runs `dispatch_gpu` under. Compiled by the host compiler with the CUDA
// headers when AI_CORE_WITH_CUDA is 1; without CUDA every CUDA device is "not available".
//
// Note [cheap device guard]
// ~~~~~~~~~~~~~~~~~~~~~~~~~
// The budget: `dispatch(op, x, cuda)` may cost at most 2% over `op.dispatch_gpu(x, cuda)` for an
// empty-kernel launch, which costs 3.7-5.6 us of host time on the H100 machine: 75-110 ns in all.
// Measured there (../shared/anchors/RESULTS.md), `c10::cuda::OptionalCUDAGuard` on the already
// current device costs 263 ns and `c10::cuda::current_device()` (cudaGetDevice) 101 ns, so the
// usual guard alone breaks the budget, and so would asking the runtime for the current device.
//
// What decides where a runtime launch goes is the CUDA context current on the calling thread: the
// runtime uses the driver's current context when there is one (CUDA Programming Guide,
// "Interoperability between Runtime and Driver APIs"), and `cudaSetDevice(d)` is, since CUDA 12,
// "make d's primary context current". libtorch's tensors, caching allocator and streams all live
// in primary contexts. So the guard asks the driver one question, `cuCtxGetCurrent` (a read of the
// thread's context slot), and compares the answer with the target device's primary context,
// cached per device after the first use:
//   - equal: the device is current; nothing to do, nothing to undo (the common case);
//   - anything else (another device's primary context, no context at all on a fresh thread, or a
//     context the user created with the driver API): `cuCtxSetCurrent(primary)`, and on scope exit
//     `cuCtxSetCurrent(previous)`. Restoring the exact previous context (null included) is more
//     precise than c10's guard, which restores a device number with cudaSetDevice and so replaces
//     a user's own context by that device's primary context, or creates a primary context on
//     device 0 for a thread that never had one.
// The driver functions come from `cudaGetDriverEntryPointByVersion`, loaded once, so ai_core does
// not link libcuda (the runtime has loaded it already). The primary context of a device is taken
// with `cuDevicePrimaryCtxRetain` on the first dispatch to it and never released (the runtime holds
// it for the life of the process too). The CUDA device numbering of the runtime and the driver is
// the same one (both honour CUDA_VISIBLE_DEVICES; libtorch passes runtime indices to
// `cuDevicePrimaryCtxGetState` the same way).
// An index-less device ("cuda") means the thread's current device: the cached primary contexts
// are searched first (a few compares), then `cudaGetDevice` answers for a thread whose current
// context is not a primary one.
// Not supported, as in libtorch: `cudaDeviceReset` while ai_core is in use (the cached primary
// context handles would refer to a reset context).
// c10 keeps its own thread-local "target device" for devices without a primary context
// (c10::cuda::MaybeSetDevice); code run under the scope that needs the current stream should ask
// for it by index (`at::cuda::getCurrentCUDAStream(device.index())`, 28 ns against 105 ns).
// The benchmarks BM_Guard_OptionalCUDAGuard, BM_Guard_DeviceScope, BM_Guard_CudaGetDevice and
// BM_Guard_CurrentContext (benchmarks/dispatch_benchmark.cpp) compare the choices on the GPU host.
#include <ai_core/detail/device_scope.hpp>

#include <ai_core/error.hpp>

#include <string>

#if AI_CORE_WITH_CUDA
#  include <cuda.h>
#  include <cudaTypedefs.h>
#  include <cuda_runtime_api.h>
#  include <ai_core/cuda/error.hpp>

#  include <atomic>
#  include <cstring>
#  include <memory>
#  include <mutex>
#endif

namespace ai_core::detail {

#if AI_CORE_WITH_CUDA
namespace {

// The CUDA version whose ABI of each driver function the PFN_*_v* typedefs below describe.
constexpr unsigned int kDriverApiVersion = 12000;

struct CudaGuardState {
  PFN_cuCtxGetCurrent_v4000 ctx_get_current = nullptr;
  PFN_cuCtxSetCurrent_v4000 ctx_set_current = nullptr;
  PFN_cuDeviceGet_v2000 device_get = nullptr;
  PFN_cuDevicePrimaryCtxRetain_v7000 primary_ctx_retain = nullptr;
  PFN_cuGetErrorName_v6000 get_error_name = nullptr;
  int device_count = 0;
  // `unchanged` when the guard is usable; otherwise why every CUDA device is unavailable.
  DeviceScopeState failure = DeviceScopeState::unchanged;
  std::int32_t failure_code = 0;
  std::unique_ptr<std::atomic<CUcontext>[]> primary;  // One per device; null until retained.
  std::mutex retain_mutex;                            // Serialises first retains.
};

template <class Fn>
bool load_driver_function(const char* symbol, Fn& fn, CudaGuardState& state) {
  void* address = nullptr;
  cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
  const cudaError_t err = cudaGetDriverEntryPointByVersion(symbol, &address, kDriverApiVersion,
                                                           cudaEnableDefault, &found);
  if (err != cudaSuccess || found != cudaDriverEntryPointSuccess || address == nullptr) {
    state.failure = DeviceScopeState::runtime_error;
    state.failure_code = err != cudaSuccess ? static_cast<std::int32_t>(err)
                                            : static_cast<std::int32_t>(cudaErrorSymbolNotFound);
    (void)cudaGetLastError();  // Leave no error behind for the caller's own error checks.
    return false;
  }
  static_assert(sizeof(fn) == sizeof(address));
  std::memcpy(&fn, &address, sizeof(fn));  // An object pointer to a function pointer, portably.
  return true;
}

CudaGuardState* make_state() {
  auto* state = new CudaGuardState();
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count <= 0) {
    state->failure = DeviceScopeState::no_device;
    state->failure_code = static_cast<std::int32_t>(err != cudaSuccess ? err : cudaErrorNoDevice);
    (void)cudaGetLastError();
    return state;
  }
  if (!load_driver_function("cuCtxGetCurrent", state->ctx_get_current, *state) ||
      !load_driver_function("cuCtxSetCurrent", state->ctx_set_current, *state) ||
      !load_driver_function("cuDeviceGet", state->device_get, *state) ||
      !load_driver_function("cuDevicePrimaryCtxRetain", state->primary_ctx_retain, *state)) {
    return state;
  }
  // Only used for messages: a missing cuGetErrorName is not a failure.
  if (!load_driver_function("cuGetErrorName", state->get_error_name, *state)) {
    state->failure = DeviceScopeState::unchanged;
    state->failure_code = 0;
    state->get_error_name = nullptr;
  }
  state->device_count = count;
  state->primary = std::make_unique<std::atomic<CUcontext>[]>(static_cast<std::size_t>(count));
  return state;
}

CudaGuardState& guard_state() {
  // Leaked on purpose: usable from other static destructors; the driver outlives nothing anyway.
  static CudaGuardState* state = make_state();
  return *state;
}

// Returns the primary context of `index`, retaining it on first use.
CUresult primary_context(CudaGuardState& state, c10::DeviceIndex index, CUcontext* out) {
  CUcontext cached = state.primary[index].load(std::memory_order_acquire);
  if (cached != nullptr) {
    *out = cached;
    return CUDA_SUCCESS;
  }
  std::lock_guard lock(state.retain_mutex);
  cached = state.primary[index].load(std::memory_order_acquire);
  if (cached == nullptr) {
    CUdevice device = 0;
    if (const CUresult r = state.device_get(&device, index); r != CUDA_SUCCESS) return r;
    if (const CUresult r = state.primary_ctx_retain(&cached, device); r != CUDA_SUCCESS) return r;
    state.primary[index].store(cached, std::memory_order_release);
  }
  *out = cached;
  return CUDA_SUCCESS;
}

std::string driver_error_name(const CudaGuardState& state, std::int32_t code) {
  const char* name = nullptr;
  if (state.get_error_name != nullptr &&
      state.get_error_name(static_cast<CUresult>(code), &name) == CUDA_SUCCESS && name != nullptr) {
    return name;
  }
  return "CUresult " + std::to_string(code);
}

}  // namespace

DeviceScopeEntry enter_cuda_device(c10::DeviceIndex index) noexcept {
  CudaGuardState& state = guard_state();
  if (state.failure != DeviceScopeState::unchanged) [[unlikely]] {
    return {nullptr, state.failure_code, index, state.failure};
  }
  if (index < -1 || index >= state.device_count) [[unlikely]] {
    return {nullptr, state.device_count, index, DeviceScopeState::out_of_range};
  }
  CUcontext current = nullptr;
  if (const CUresult r = state.ctx_get_current(&current); r != CUDA_SUCCESS) [[unlikely]] {
    return {nullptr, static_cast<std::int32_t>(r), index, DeviceScopeState::driver_error};
  }
  if (index == -1) {
    // "cuda" without an index: the thread's current device.
    for (int i = 0; i < state.device_count && index == -1; ++i) {
      const CUcontext primary = state.primary[i].load(std::memory_order_acquire);
      if (current != nullptr && primary == current) index = static_cast<c10::DeviceIndex>(i);
    }
    if (index == -1) {
      int device = 0;
      if (const cudaError_t err = cudaGetDevice(&device); err != cudaSuccess) {
        (void)cudaGetLastError();
        return {nullptr, static_cast<std::int32_t>(err), -1, DeviceScopeState::runtime_error};
      }
      index = static_cast<c10::DeviceIndex>(device);
    }
  }
  CUcontext target = nullptr;
  if (const CUresult r = primary_context(state, index, &target); r != CUDA_SUCCESS) [[unlikely]] {
    return {nullptr, static_cast<std::int32_t>(r), index, DeviceScopeState::driver_error};
  }
  if (current == target) [[likely]] {
    return {nullptr, 0, index, DeviceScopeState::unchanged};
  }
  if (const CUresult r = state.ctx_set_current(target); r != CUDA_SUCCESS) [[unlikely]] {
    return {nullptr, static_cast<std::int32_t>(r), index, DeviceScopeState::driver_error};
  }
  return {current, 0, index, DeviceScopeState::switched};
}

void leave_cuda_device(void* previous_context) noexcept {
  // Only reached after a successful enter, so the functions are loaded. A failure here (the
  // driver shutting down at process exit) leaves nothing to restore to.
  (void)guard_state().ctx_set_current(static_cast<CUcontext>(previous_context));
}

void* current_cuda_context() noexcept {
  CudaGuardState& state = guard_state();
  if (state.failure != DeviceScopeState::unchanged) return nullptr;
  CUcontext current = nullptr;
  if (state.ctx_get_current(&current) != CUDA_SUCCESS) return nullptr;
  return current;
}

void* cuda_primary_context(c10::DeviceIndex index) noexcept {
  CudaGuardState& state = guard_state();
  if (state.failure != DeviceScopeState::unchanged || index < 0 || index >= state.device_count) {
    return nullptr;
  }
  CUcontext context = nullptr;
  if (primary_context(state, index, &context) != CUDA_SUCCESS) return nullptr;
  return context;
}

CoreError device_scope_error(const DeviceScopeEntry& entry, c10::DeviceIndex requested) {
  const c10::Device device(c10::DeviceType::CUDA,
                           requested < -1 ? c10::DeviceIndex{-1} : requested);
  const auto runtime_error = [&entry] {
    return from_cuda_error(static_cast<cudaError_t>(entry.error)).message();
  };
  switch (entry.state) {
    case DeviceScopeState::no_cuda_build: break;  // Not produced by a CUDA build.
    case DeviceScopeState::no_device:
      return CoreError::device_not_available(
          device, "no usable CUDA device: cudaGetDeviceCount reported " + runtime_error());
    case DeviceScopeState::out_of_range:
      return CoreError::device_not_available(
          device, "expected a device index in [0, " + std::to_string(entry.error) +
                      "), the CUDA devices visible to this process (CUDA_VISIBLE_DEVICES applies)");
    case DeviceScopeState::runtime_error:
      return from_cuda_error(static_cast<cudaError_t>(entry.error),
                             "making " + device.str() + " current failed");
    case DeviceScopeState::driver_error:
      return CoreError::cuda(
          entry.error, driver_error_name(guard_state(), entry.error),
          "making the primary context of cuda:" + std::to_string(entry.index) + " current failed");
    case DeviceScopeState::unchanged:
    case DeviceScopeState::switched: break;
  }
  return CoreError::kernel_error("internal error: device_scope_error called for " + device.str() +
                                 " whose scope was entered");
}

#else  // AI_CORE_WITH_CUDA

DeviceScopeEntry enter_cuda_device(c10::DeviceIndex index) noexcept {
  return {nullptr, 0, index, DeviceScopeState::no_cuda_build};
}

void leave_cuda_device(void* /*previous_context*/) noexcept {}

void* current_cuda_context() noexcept { return nullptr; }

void* cuda_primary_context(c10::DeviceIndex /*index*/) noexcept { return nullptr; }

CoreError device_scope_error(const DeviceScopeEntry& entry, c10::DeviceIndex requested) {
  const c10::Device device(c10::DeviceType::CUDA,
                           requested < -1 ? c10::DeviceIndex{-1} : requested);
  if (entry.state == DeviceScopeState::no_cuda_build) {
    return CoreError::device_not_available(
        device, "ai_core was built without CUDA support (AI_CORE_WITH_CUDA=0)");
  }
  return CoreError::kernel_error("internal error: device_scope_error called for " + device.str() +
                                 " whose scope was entered");
}

#endif  // AI_CORE_WITH_CUDA

}  // namespace ai_core::detail
