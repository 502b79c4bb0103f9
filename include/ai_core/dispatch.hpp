// SPDX-License-Identifier: MIT
// ai_core/dispatch.hpp: runs a `GpuDispatchable` op on the device it is given.
//
// `ai_core::dispatch(op, input, device)` is the Rust crate's `GpuDispatchable::dispatch` default
// method as a free function template, resolved at compile time (no virtual call, no type erasure):
//   - a CUDA device: enters that device on the calling thread (a cheap device guard, Note [cheap
//     device guard] in src/device_guard.cpp), checks that every tensor of the input lives there,
//     and runs `op.dispatch_gpu(input, device)`; the device is restored afterwards;
//   - a CPU device: checks the input the same way, calls `ai_core::warn_if_cpu(device, name)` (the
//     once-per-process CPU-fallback warning of the device layer) and runs `op.dispatch_cpu`;
//   - any other device type (meta, mps, xpu, ...): returns `device_not_available` naming it.
// An op with its own `dispatch` member keeps control: the free function just calls it.
//
// The device check goes through the customization point `ai_core::tensors_on_device(value,
// device)`, which understands `at::Tensor`, `std::optional`, tuples, pairs, arrays, ranges
// (`std::vector<at::Tensor>`, `at::TensorList`) and scalars, and any type that provides the hook
// `ai_core_tensors_on_device` next to it. A tensor on another device is `device_mismatch` naming
// both devices, instead of a kernel reading memory of the wrong device.
//
// Example:
//   struct Axpy {
//     using Input = std::tuple<at::Tensor, at::Tensor>;  // x, y
//     using Output = at::Tensor;
//     std::string_view name() const { return "my_lib::Axpy"; }
//     ai_core::Result<at::Tensor> dispatch_gpu(const Input& in, c10::Device device) const;
//     ai_core::Result<at::Tensor> dispatch_cpu(const Input& in, c10::Device device) const;
//   };
//   AI_CORE_ASSIGN_OR_RETURN(at::Tensor z, ai_core::dispatch(Axpy{}, {x, y}, device));
//
// Thread safety: `dispatch` may be called concurrently from any number of threads, on the same op
// or on different ones, provided the op meets Note [thread safety of implementors]
// (<ai_core/concepts.hpp>). The device scope is per thread; the CPU warning is issued once per
// process whichever thread gets there first.
#pragma once

#include <ai_core/concepts.hpp>
#include <ai_core/detail/device_scope.hpp>
#include <ai_core/device.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/memory.hpp>
#include <ai_core/torch_error.hpp>
#include <ai_core/trace.hpp>

#include <ATen/core/TensorBase.h>
#include <c10/core/Device.h>

#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

namespace ai_core {

// --- tensors_on_device: the device-check customization point -------------------------------------

/// Says that a type holds no tensor, so `tensors_on_device` accepts it without looking inside.
/// True for arithmetic and enum types, strings, `c10::Device`, `std::nullptr_t` and
/// `std::monostate`. Specialise it (to `std::true_type`) for a third-party type that holds no
/// tensor and cannot take an `ai_core_tensors_on_device` hook in its namespace.
template <class T>
struct holds_no_tensors
    : std::bool_constant<std::is_arithmetic_v<T> || std::is_enum_v<T> ||
                         std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view> ||
                         std::is_same_v<T, const char*> || std::is_same_v<T, c10::Device> ||
                         std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::monostate>> {};

namespace detail {

// Poison pill: unqualified lookup of the hook stops here, so only argument-dependent lookup finds
// a user's `ai_core_tensors_on_device` (the std::ranges customization-point technique).
void ai_core_tensors_on_device() = delete;

template <class T>
concept HasTensorsOnDeviceHook = requires(const T& value, c10::Device device) {
  { ai_core_tensors_on_device(value, device) } -> std::same_as<Result<void>>;
};

template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

template <class T>
inline constexpr bool is_reference_wrapper = false;
template <class T>
inline constexpr bool is_reference_wrapper<std::reference_wrapper<T>> = true;

template <class T>
concept TupleLike = requires {
  std::tuple_size<T>::value;
};

/// Returns whether a tensor on `actual` may be used where `expected` was asked for: same device
/// type, and the same index unless `expected` has none (or is the CPU, whose index is not used).
[[nodiscard]] inline bool device_matches(c10::Device actual, c10::Device expected) noexcept {
  return actual.type() == expected.type() &&
         (!expected.has_index() || expected.is_cpu() || actual.index() == expected.index());
}

/// Returns the error for a tensor of the input that is not on `expected` (cold path).
[[nodiscard]] inline CoreError tensor_device_error(const at::TensorBase& tensor,
                                                   c10::Device expected) {
  if (!tensor.defined()) {
    return CoreError::invalid_config(
        "undefined tensor in the input: expected a defined tensor on " + expected.str() +
        " (use std::optional<at::Tensor> for a tensor that may be absent)");
  }
  const c10::Device actual = tensor.device();
  return CoreError::device_mismatch(expected, actual,
                                    "a tensor of the input is on " + actual.str() +
                                        "; move it with .to(" + expected.str() + ") or run on " +
                                        actual.str());
}

struct TensorsOnDeviceFn {
  template <class T>
  [[nodiscard]] Result<void> operator()(const T& value, c10::Device device) const {
    if constexpr (HasTensorsOnDeviceHook<T>) {
      return ai_core_tensors_on_device(value, device);
    } else if constexpr (std::derived_from<T, at::TensorBase>) {
      if (value.defined() && device_matches(value.device(), device)) [[likely]]
        return {};
      return tensor_device_error(value, device);
    } else if constexpr (holds_no_tensors<T>::value) {
      return {};
    } else if constexpr (is_optional<T>) {
      if (!value.has_value()) return {};
      return (*this)(*value, device);
    } else if constexpr (is_reference_wrapper<T>) {
      return (*this)(value.get(), device);
    } else if constexpr (TupleLike<T>) {
      return check_elements(value, device, std::make_index_sequence<std::tuple_size_v<T>>{});
    } else if constexpr (std::ranges::input_range<const T>) {
      using Element = std::remove_cvref_t<std::ranges::range_reference_t<const T>>;
      if constexpr (holds_no_tensors<Element>::value) {
        return {};
      } else {
        std::size_t i = 0;
        for (const auto& element : value) {
          Result<void> status = (*this)(element, device);
          if (!status.has_value()) [[unlikely]] {
            return std::move(status).error().with_context("in item " + std::to_string(i) +
                                                          " of a range");
          }
          ++i;
        }
        return {};
      }
    } else {
      static_assert(dependent_false<T>,
                    "ai_core::tensors_on_device: cannot find the tensors inside this type; define "
                    "`ai_core::Result<void> ai_core_tensors_on_device(const T&, c10::Device)` in "
                    "T's namespace (found by argument-dependent lookup; check each tensor member "
                    "with ai_core::tensors_on_device), or specialise ai_core::holds_no_tensors<T> "
                    "when T holds no tensor");
      return {};
    }
  }

 private:
  template <class T, std::size_t... I>
  Result<void> check_elements(const T& value, c10::Device device,
                              std::index_sequence<I...> /*indices*/) const {
    using std::get;
    std::optional<CoreError> error;
    const auto check = [&]<std::size_t Index>(std::integral_constant<std::size_t, Index>) {
      Result<void> status = (*this)(get<Index>(value), device);
      if (status.has_value()) [[likely]]
        return true;
      (void)error.emplace(std::move(status).error().with_context(
          "in element " + std::to_string(Index) + " of a tuple"));
      return false;
    };
    (void)(check(std::integral_constant<std::size_t, I>{}) && ...);  // Stops at the first error.
    if (error.has_value()) [[unlikely]]
      return std::move(*error);
    return {};
  }
};

}  // namespace detail

/// Returns success when every tensor inside `value` lives on `device`, and otherwise
/// `device_mismatch` naming both devices (with a context line saying which element) or
/// `invalid_config` for an undefined tensor. An index-less `device` matches any index of its type.
///
/// It is a customization point object, called as `ai_core::tensors_on_device(value, device)`. It
/// understands, recursively: `at::Tensor` (and every type derived from `at::TensorBase`);
/// `std::optional` (an empty one holds no tensor); `std::reference_wrapper`; tuple-like types
/// (`std::tuple`, `std::pair`, `std::array`); ranges (`std::vector`, `at::TensorList`); and the
/// types of `ai_core::holds_no_tensors` (scalars, strings, devices). For a struct of one's own,
/// define the hook next to it:
///
///   struct AttentionInput { at::Tensor q, k, v; std::optional<at::Tensor> mask; };
///   ai_core::Result<void> ai_core_tensors_on_device(const AttentionInput& in, c10::Device d) {
///     AI_CORE_TRY(ai_core::tensors_on_device(std::tie(in.q, in.k, in.v), d));
///     return ai_core::tensors_on_device(in.mask, d);
///   }
///
/// A type it does not understand is a compile error that names the hook to write. The cost is a
/// few nanoseconds per tensor (the device of a tensor is a field read).
inline constexpr detail::TensorsOnDeviceFn tensors_on_device{};

// --- dispatch ------------------------------------------------------------------------------------

namespace detail {
/// Begins `range` named after `op`: `op.name()` when it has one, else its type's name. Called
/// only while tracing is on, so an expensive `name()` costs nothing otherwise; a `name()` that
/// returns a temporary string lives until the range has copied it.
template <class Op>
void begin_op_range(TraceRange& range, const Op& op, c10::Device device) {
  if constexpr (HasNameMember<Op>) {
    range.begin(op.name(), device);
  } else {
    range.begin(type_name<Op>(), device);
  }
}
}  // namespace detail

/// Runs `op` on `device`: `dispatch_gpu` for a CUDA device, `dispatch_cpu` (after the
/// once-per-process CPU-fallback warning) for the CPU, `device_not_available` for anything else.
///
/// Before running the op it checks `tensors_on_device(input, device)`, so a tensor on the wrong
/// device is an error naming both devices. For a CUDA device it first makes that device current
/// on the calling thread (restored when `dispatch` returns), so a kernel launched by
/// `dispatch_gpu` lands on it whatever device the thread had current; an index-less "cuda" means
/// the thread's current device, and `dispatch_gpu` receives the device with its index filled in.
/// An exception escaping the op (libtorch's `c10::Error`, `std::bad_alloc`, ...) becomes an error
/// through `ai_core::capture` (<ai_core/torch_error.hpp>): dispatch is a boundary.
/// A CUDA device that does not exist (no GPU, index out of range, ai_core built without CUDA) is
/// `device_not_available`. An op with a `Result<Output> dispatch(const Input&, c10::Device) const`
/// member keeps control: that member is called instead, with no check and no guard.
///
/// Each call is a `TraceRange` (<ai_core/trace.hpp>) named after the op (`op.name()`, else the type
/// name) on the device it runs on, so the op shows up in Nsight Systems, torch.profiler and the
/// execution timeline when those sinks are on.
///
/// Cost: on the CPU, a device comparison per tensor and the warn-once check; on CUDA, one read of
/// the thread's current CUDA context when the device is already current; with tracing off, one
/// relaxed load and a branch (benchmarks/dispatch_benchmark.cpp, benchmarks/trace_benchmark.cpp).
template <class Op>
requires GpuDispatchable<Op>
[[nodiscard]] Result<typename Op::Output> dispatch(const Op& op, const typename Op::Input& input,
                                                   c10::Device device) {
  [[maybe_unused]] constexpr bool valid = check_gpu_dispatchable<Op>();  // Optional members.
  if constexpr (detail::HasDispatchMember<Op>) {
    TraceRange range;
    if (detail::trace_active()) [[unlikely]]
      detail::begin_op_range(range, op, device);
    return capture([&] { return op.dispatch(input, device); });
  } else {
    switch (device.type()) {
      case c10::DeviceType::CUDA: {
        const detail::DeviceScope scope(device);
        if (!scope.ok()) [[unlikely]]
          return scope.error();
        const c10::Device current = scope.device();
        TraceRange range;  // Inside the scope: GPU timing lands on the op's device.
        if (detail::trace_active()) [[unlikely]]
          detail::begin_op_range(range, op, current);
        if (Result<void> status = tensors_on_device(input, current); !status.has_value())
            [[unlikely]] {
          return std::move(status).error();
        }
        auto result = capture([&] { return op.dispatch_gpu(input, current); });
        if (!result.has_value() && result.error().code() == ErrorCode::out_of_memory) [[unlikely]] {
          return with_allocator_view(std::move(result).error(), current);
        }
        return result;
      }
      case c10::DeviceType::CPU: {
        TraceRange range;
        if (detail::trace_active()) [[unlikely]]
          detail::begin_op_range(range, op, device);
        if (Result<void> status = tensors_on_device(input, device); !status.has_value())
            [[unlikely]] {
          return std::move(status).error();
        }
        if constexpr (detail::HasNameMember<Op>) {
          warn_if_cpu(device, op.name());
        } else {
          warn_if_cpu(device, detail::type_name<Op>());
        }
        return capture([&] { return op.dispatch_cpu(input, device); });
      }
      default:
        return CoreError::device_not_available(
            device, "ai_core::dispatch runs ops on cuda and cpu devices only");
    }
  }
}

namespace detail {
/// The return type of the misuse overload of `dispatch`: converts to anything, so that the only
/// errors a misuse produces are the `static_assert`s naming what is wrong. Never defined.
struct InvalidDispatch {
  template <class T>
  operator T() const;  // NOLINT(google-explicit-constructor)
};
}  // namespace detail

/// Reports, at compile time, why `dispatch(op, input, device)` cannot be called: the
/// `static_assert`s of `check_gpu_dispatchable<Op>()` name the member `Op` lacks, or the input is
/// not a `const Op::Input&`. Never callable successfully.
template <class Op, class Input>
requires(!(GpuDispatchable<Op> &&
           std::convertible_to<const Input&, const typename Op::Input&>)) detail::InvalidDispatch
    dispatch(const Op& /*op*/, const Input& /*input*/, c10::Device /*device*/) {
  [[maybe_unused]] constexpr bool valid = check_gpu_dispatchable<Op>();  // Fires its asserts.
  if constexpr (GpuDispatchable<Op>) {
    static_assert(detail::dependent_false<Input>,
                  "ai_core::dispatch(op, input, device): `input` does not convert to "
                  "`const Op::Input&`");
  }
  return {};
}

/// Returns whether `op` can run on a GPU: `op.gpu_available()` when the op provides it, otherwise
/// the device layer's cached probe `ai_core::cuda_available()`.
template <class Op>
requires GpuDispatchable<Op>
[[nodiscard]] bool gpu_available(const Op& op) {
  if constexpr (detail::HasGpuAvailableMember<Op>) {
    return op.gpu_available();
  } else {
    return cuda_available();
  }
}

}  // namespace ai_core
