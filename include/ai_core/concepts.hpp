// SPDX-License-Identifier: MIT
// ai_core/concepts.hpp: the library's trait interfaces as C++20 concepts.
//
// `ValidatableConfig<C>`, `Quantize<T, Q>`, `Dequantize<T, Q>` and `GpuDispatchable<Op>` are the
// seed crate's traits with the same meaning and no runtime cost: they are checked at compile time,
// called through static dispatch, never through a virtual call or a type-erased wrapper. Next to
// each concept sits a `check_*<T>()` function whose `static_assert`s name the member a type is
// missing, so that a type that misses a requirement reads as one sentence instead of pages of
// template notes:
//
//   static_assert(ai_core::check_gpu_dispatchable<MyOp>());
//   // error: static assertion failed: ai_core::GpuDispatchable<Op>: missing member function
//   //        `Result<Output> dispatch_cpu(const Input&, c10::Device) const`
//
// `ai_core::validated(config)` and the `static create(config) -> Result<T>` pattern (below) make
// the "validate in the constructor" usage of the Rust crate rust-ai-core one line. The free function `ai_core::dispatch(op,
// input, device)` that routes a `GpuDispatchable` op to its GPU or CPU path lives in
// <ai_core/dispatch.hpp>.
//
// Note [thread safety of implementors]: the Rust crate requires every implementor to be
// `Send + Sync`.
// In C++ that means: every member function a concept names is `const` and may be called on the
// same object from several threads at once without external locking (no unsynchronised mutable
// state: a cache behind a `mutable` member needs a mutex or atomics), and an object may be created
// on one thread and used on another (no thread affinity: no thread-local handles, no "the thread
// that constructed me" state). `const` is checked by the concepts; the rest is a promise the
// implementor makes, tested for the library's own dispatch path in tests/dispatch_test.cpp.
#pragma once

#include <ai_core/detail/config.hpp>
#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>

#include <c10/core/Device.h>

#include <concepts>
#include <string_view>
#include <type_traits>
#include <utility>

// Note [forward-declared at::Tensor]: the concepts only name `at::Tensor` (as a parameter and
// inside `Result<at::Tensor>`), which needs no complete type. Forward-declaring it keeps this
// header as light as <c10/core/Device.h>, so a config that only models `ValidatableConfig` does
// not pay for <ATen/core/Tensor.h>; an implementor of `Quantize`/`Dequantize` includes that
// header itself to write its function bodies.
namespace at {
class Tensor;
}  // namespace at

namespace ai_core {

namespace detail {

template <class C>
concept HasValidateMember = requires(const C& config) {
  config.validate();
};

template <class C>
concept HasNonConstValidateMember = requires(C& config) {
  config.validate();
};

template <class T, class Q>
concept HasQuantizeMember = requires(const T& t, const at::Tensor& tensor, c10::Device device) {
  t.quantize(tensor, device);
};

template <class T, class Q>
concept HasNonConstQuantizeMember = requires(T& t, const at::Tensor& tensor, c10::Device device) {
  t.quantize(tensor, device);
};

template <class T, class Q>
concept HasDequantizeMember = requires(const T& t, const Q& quantized, c10::Device device) {
  t.dequantize(quantized, device);
};

template <class T, class Q>
concept HasNonConstDequantizeMember = requires(T& t, const Q& quantized, c10::Device device) {
  t.dequantize(quantized, device);
};

template <class Op>
concept HasInputType = requires {
  typename Op::Input;
};

template <class Op>
concept HasOutputType = requires {
  typename Op::Output;
};

template <class Op>
concept HasDispatchGpuMember = requires(const Op& op, const typename Op::Input& input,
                                        c10::Device device) {
  op.dispatch_gpu(input, device);
};

template <class Op>
concept HasNonConstDispatchGpuMember = requires(Op& op, const typename Op::Input& input,
                                                c10::Device device) {
  op.dispatch_gpu(input, device);
};

template <class Op>
concept HasDispatchCpuMember = requires(const Op& op, const typename Op::Input& input,
                                        c10::Device device) {
  op.dispatch_cpu(input, device);
};

template <class Op>
concept HasNonConstDispatchCpuMember = requires(Op& op, const typename Op::Input& input,
                                                c10::Device device) {
  op.dispatch_cpu(input, device);
};

/// Holds when `Op` declares something named `dispatch` (a single, non-template member function
/// or data member). Used to reject a `dispatch` member with the wrong signature rather than
/// silently ignore it.
template <class Op>
concept NamesDispatchMember = requires {
  &Op::dispatch;
};

/// Holds when `op.dispatch(input, device)` is a valid call returning `Result<Output>`.
template <class Op>
concept HasDispatchMember = requires(const Op& op, const typename Op::Input& input,
                                     c10::Device device) {
  { op.dispatch(input, device) } -> std::same_as<Result<typename Op::Output>>;
};

template <class Op>
concept NamesNameMember = requires {
  &Op::name;
};

/// Holds when `op.name()` gives something a `std::string_view` can be made from.
template <class Op>
concept HasNameMember = requires(const Op& op) {
  { op.name() } -> std::convertible_to<std::string_view>;
};

template <class Op>
concept NamesGpuAvailableMember = requires {
  &Op::gpu_available;
};

/// Holds when `op.gpu_available()` returns exactly `bool`.
template <class Op>
concept HasGpuAvailableMember = requires(const Op& op) {
  { op.gpu_available() } -> std::same_as<bool>;
};

/// Returns the name of `T` as the compiler spells it ("my_ns::MyOp"), at compile time.
/// It is meant for messages (the CPU-fallback warning of an op without `name()`); the spelling is
/// the compiler's and may differ between compilers.
template <class T>
[[nodiscard]] constexpr std::string_view type_name() noexcept {
#if defined(__clang__) || defined(__GNUC__)
  // g++:   "constexpr std::string_view ai_core::detail::type_name() [with T = ns::Op; ...]"
  // clang: "std::string_view ai_core::detail::type_name() [T = ns::Op]"
  constexpr std::string_view function = __PRETTY_FUNCTION__;
  constexpr std::string_view marker = "T = ";
  constexpr auto start = function.find(marker) + marker.size();
  constexpr auto end = function.find_first_of(";]", start);
  return function.substr(start, end - start);
#elif defined(_MSC_VER)
  // "class std::basic_string_view<...> __cdecl ai_core::detail::type_name<struct ns::Op>(void)"
  constexpr std::string_view function = __FUNCSIG__;
  constexpr std::string_view marker = "type_name<";
  constexpr auto start = function.find(marker) + marker.size();
  constexpr auto end = function.rfind(">(void)");
  return function.substr(start, end - start);
#else
  return "an op";
#endif
}

}  // namespace detail

// --- ValidatableConfig ---------------------------------------------------------------------------

/// A configuration that can check itself: copyable, with `Result<void> validate() const`.
///
/// Semantic requirements the compiler cannot check: `validate()` has no side effects, gives the
/// same answer every time for the same value, and its error (`ErrorCode::invalid_config` in the
/// usual case) says which field was wrong, the value seen and the values allowed. Thread safety:
/// Note [thread safety of implementors]. Configs are usually plain aggregates; the test config of
/// tests/concepts_test.cpp (`OptimizerConfig`: ranges and cross-field rules) models it.
///
/// Example:
///   struct LoraConfig {
///     int rank = 8;
///     ai_core::Result<void> validate() const {
///       AI_CORE_CHECK(rank >= 1 && rank <= 1024, ai_core::ErrorCode::invalid_config,
///                     "lora rank must be in [1, 1024], got ", rank);
///       return {};
///     }
///   };
///   static_assert(ai_core::ValidatableConfig<LoraConfig>);
template <class C>
concept ValidatableConfig = std::copyable<C> && requires(const C& config) {
  { config.validate() } -> std::same_as<Result<void>>;
};

/// Returns `config` (copied from an lvalue, moved from an rvalue) when `config.validate()`
/// succeeds, and the error `validate()` returned otherwise.
///
/// The "validate in the constructor" pattern: give the type a private constructor that takes the
/// config, and a static factory that validates before constructing, so that no object with an
/// invalid config ever exists:
///
///   class LoraLayer {
///    public:
///     static ai_core::Result<LoraLayer> create(LoraConfig config) {
///       AI_CORE_TRY(config.validate());
///       return LoraLayer(std::move(config));
///     }
///    private:
///     explicit LoraLayer(LoraConfig config) : config_(std::move(config)) {}
///     LoraConfig config_;
///   };
///
/// or, where the validated config itself is what is wanted:
///   AI_CORE_ASSIGN_OR_RETURN(LoraConfig config, ai_core::validated(load_config(path)));
template <class C>
requires ValidatableConfig<std::remove_cvref_t<C>>
[[nodiscard]] Result<std::remove_cvref_t<C>> validated(C&& config) {
  Result<void> status = std::as_const(config).validate();
  if (!status.has_value()) return std::move(status).error();
  return std::forward<C>(config);
}

/// Returns `true` when `C` models `ValidatableConfig`; otherwise fails to compile with a
/// `static_assert` naming the missing requirement. Use it as `static_assert(check_*<C>())`.
template <class C>
consteval bool check_validatable_config() {
  static_assert(std::copyable<C>,
                "ai_core::ValidatableConfig<C>: the config type must be copyable (copy "
                "constructor and copy assignment)");
  static_assert(detail::HasValidateMember<C> || detail::HasNonConstValidateMember<C>,
                "ai_core::ValidatableConfig<C>: missing member function "
                "`ai_core::Result<void> validate() const`");
  static_assert(detail::HasValidateMember<C> || !detail::HasNonConstValidateMember<C>,
                "ai_core::ValidatableConfig<C>: `validate()` must be a const member function: "
                "`ai_core::Result<void> validate() const`");
  if constexpr (detail::HasValidateMember<C>) {
    static_assert(std::same_as<decltype(std::declval<const C&>().validate()), Result<void>>,
                  "ai_core::ValidatableConfig<C>: `validate() const` must return "
                  "`ai_core::Result<void>`");
  }
  return ValidatableConfig<C>;
}

// --- Quantize / Dequantize -----------------------------------------------------------------------

/// A quantization scheme that turns a tensor into its quantized form `Q`:
/// `Result<Q> quantize(const at::Tensor& tensor, c10::Device device) const`.
///
/// Semantic requirements: `device` is where the result must live; a scheme that cannot produce it
/// there (or that would need a copy of `tensor` the caller did not ask for) returns an error
/// instead of copying behind the caller's back. Unsupported inputs (undefined tensor, a dtype the
/// scheme does not take) are errors that name the value seen and the values accepted. Thread
/// safety: Note [thread safety of implementors]. A scheme that can also undo the quantization
/// models `Dequantize` as well; a one-way compressor models only this concept. Modelled in
/// tests/concepts_test.cpp by `AbsmaxInt8Quantizer` (Q = `Int8Tensor`) and `SignQuantizer` (one
/// way).
template <class T, class Q>
concept Quantize = requires(const T& t, const at::Tensor& tensor, c10::Device device) {
  { t.quantize(tensor, device) } -> std::same_as<Result<Q>>;
};

/// A quantization scheme that turns its quantized form `Q` back into a tensor:
/// `Result<at::Tensor> dequantize(const Q& quantized, c10::Device device) const`.
///
/// Semantic requirements: the result lives on `device` and has the shape (and, unless the scheme
/// documents otherwise, the dtype) of the tensor that was quantized; the difference from that
/// tensor stays within the error bound the scheme documents. Thread safety: Note [thread safety
/// of implementors]. Modelled by `AbsmaxInt8Quantizer` in tests/concepts_test.cpp.
template <class T, class Q>
concept Dequantize = requires(const T& t, const Q& quantized, c10::Device device) {
  { t.dequantize(quantized, device) } -> std::same_as<Result<at::Tensor>>;
};

/// Returns `true` when `T` models `Quantize<T, Q>`; otherwise fails to compile with a
/// `static_assert` naming the missing requirement.
template <class T, class Q>
consteval bool check_quantize() {
  static_assert(detail::HasQuantizeMember<T, Q> || detail::HasNonConstQuantizeMember<T, Q>,
                "ai_core::Quantize<T, Q>: missing member function "
                "`ai_core::Result<Q> quantize(const at::Tensor&, c10::Device) const`");
  static_assert(detail::HasQuantizeMember<T, Q> || !detail::HasNonConstQuantizeMember<T, Q>,
                "ai_core::Quantize<T, Q>: `quantize` must be a const member function "
                "(implementors are shared between threads)");
  if constexpr (detail::HasQuantizeMember<T, Q>) {
    static_assert(Quantize<T, Q>,
                  "ai_core::Quantize<T, Q>: `quantize(const at::Tensor&, c10::Device) const` must "
                  "return `ai_core::Result<Q>`");
  }
  return Quantize<T, Q>;
}

/// Returns `true` when `T` models `Dequantize<T, Q>`; otherwise fails to compile with a
/// `static_assert` naming the missing requirement.
template <class T, class Q>
consteval bool check_dequantize() {
  static_assert(detail::HasDequantizeMember<T, Q> || detail::HasNonConstDequantizeMember<T, Q>,
                "ai_core::Dequantize<T, Q>: missing member function "
                "`ai_core::Result<at::Tensor> dequantize(const Q&, c10::Device) const`");
  static_assert(detail::HasDequantizeMember<T, Q> || !detail::HasNonConstDequantizeMember<T, Q>,
                "ai_core::Dequantize<T, Q>: `dequantize` must be a const member function "
                "(implementors are shared between threads)");
  if constexpr (detail::HasDequantizeMember<T, Q>) {
    static_assert(Dequantize<T, Q>,
                  "ai_core::Dequantize<T, Q>: `dequantize(const Q&, c10::Device) const` must "
                  "return `ai_core::Result<at::Tensor>`");
  }
  return Dequantize<T, Q>;
}

// --- GpuDispatchable -----------------------------------------------------------------------------

/// An operation with a GPU and a CPU implementation: member types `Input` and `Output`, and
///   `Result<Output> dispatch_gpu(const Input& input, c10::Device device) const`
///   `Result<Output> dispatch_cpu(const Input& input, c10::Device device) const`.
/// Optional members, used by <ai_core/dispatch.hpp> when present:
///   `std::string_view name() const` (anything convertible): the op's name in the CPU-fallback
///       warning (otherwise the type's name);
///   `bool gpu_available() const`: answers `ai_core::gpu_available(op)` (otherwise the device
///       layer's cached probe);
///   `Result<Output> dispatch(const Input&, c10::Device) const`: takes over the routing of
///       `ai_core::dispatch` completely (device checks included).
/// An optional member with the wrong signature is a compile error (`check_gpu_dispatchable`), not
/// silently ignored.
///
/// Semantic requirements: `dispatch_gpu` is called with a CUDA device that has an index and is
/// current on the calling thread (ai_core::dispatch enters it), with every tensor of the input on
/// that device; it launches its work on that device's current stream
/// (`at::cuda::getCurrentCUDAStream(device.index())`) and does not synchronise unless it
/// documents so. `dispatch_cpu` is called with a CPU device and the input on the CPU; it must not
/// warn about the fallback itself (dispatch does, once per process). Both return errors, never
/// throw for bad input. Thread safety: Note [thread safety of implementors]. Modelled by
/// `ScaleBiasOp` in tests/dispatch_test.cpp and the CUDA op of tests/cuda/dispatch_cuda_test.cu.
template <class Op>
concept GpuDispatchable = detail::HasInputType<Op> && detail::HasOutputType<Op> &&
    requires(const Op& op, const typename Op::Input& input, c10::Device device) {
  { op.dispatch_gpu(input, device) } -> std::same_as<Result<typename Op::Output>>;
  { op.dispatch_cpu(input, device) } -> std::same_as<Result<typename Op::Output>>;
};

/// Returns `true` when `Op` models `GpuDispatchable` and its optional members (`dispatch`,
/// `name`, `gpu_available`) have the right signatures; otherwise fails to compile with a
/// `static_assert` naming the missing or malformed member. `ai_core::dispatch` runs it.
template <class Op>
consteval bool check_gpu_dispatchable() {
  static_assert(detail::HasInputType<Op>,
                "ai_core::GpuDispatchable<Op>: missing member type `Op::Input` (the type "
                "dispatch_gpu/dispatch_cpu take, e.g. `using Input = at::Tensor;`)");
  static_assert(detail::HasOutputType<Op>,
                "ai_core::GpuDispatchable<Op>: missing member type `Op::Output` (the type "
                "dispatch_gpu/dispatch_cpu return inside ai_core::Result)");
  if constexpr (detail::HasInputType<Op> && detail::HasOutputType<Op>) {
    static_assert(detail::HasDispatchGpuMember<Op> || detail::HasNonConstDispatchGpuMember<Op>,
                  "ai_core::GpuDispatchable<Op>: missing member function "
                  "`Result<Output> dispatch_gpu(const Input&, c10::Device) const`");
    static_assert(detail::HasDispatchGpuMember<Op> || !detail::HasNonConstDispatchGpuMember<Op>,
                  "ai_core::GpuDispatchable<Op>: `dispatch_gpu` must be a const member function "
                  "(implementors are shared between threads)");
    static_assert(detail::HasDispatchCpuMember<Op> || detail::HasNonConstDispatchCpuMember<Op>,
                  "ai_core::GpuDispatchable<Op>: missing member function "
                  "`Result<Output> dispatch_cpu(const Input&, c10::Device) const`");
    static_assert(detail::HasDispatchCpuMember<Op> || !detail::HasNonConstDispatchCpuMember<Op>,
                  "ai_core::GpuDispatchable<Op>: `dispatch_cpu` must be a const member function "
                  "(implementors are shared between threads)");
    if constexpr (detail::HasDispatchGpuMember<Op>) {
      static_assert(
          std::same_as<decltype(std::declval<const Op&>().dispatch_gpu(
                           std::declval<const typename Op::Input&>(), std::declval<c10::Device>())),
                       Result<typename Op::Output>>,
          "ai_core::GpuDispatchable<Op>: `dispatch_gpu(const Input&, c10::Device) "
          "const` must return `ai_core::Result<Output>`");
    }
    if constexpr (detail::HasDispatchCpuMember<Op>) {
      static_assert(
          std::same_as<decltype(std::declval<const Op&>().dispatch_cpu(
                           std::declval<const typename Op::Input&>(), std::declval<c10::Device>())),
                       Result<typename Op::Output>>,
          "ai_core::GpuDispatchable<Op>: `dispatch_cpu(const Input&, c10::Device) "
          "const` must return `ai_core::Result<Output>`");
    }
    static_assert(!detail::NamesDispatchMember<Op> || detail::HasDispatchMember<Op>,
                  "ai_core::GpuDispatchable<Op>: the op declares a member `dispatch`, but it is "
                  "not `Result<Output> dispatch(const Input&, c10::Device) const`; fix its "
                  "signature or rename it (ai_core::dispatch would call it)");
  }
  static_assert(!detail::NamesNameMember<Op> || detail::HasNameMember<Op>,
                "ai_core::GpuDispatchable<Op>: the op declares a member `name`, but it is not "
                "`std::string_view name() const` (or convertible to std::string_view)");
  static_assert(!detail::NamesGpuAvailableMember<Op> || detail::HasGpuAvailableMember<Op>,
                "ai_core::GpuDispatchable<Op>: the op declares a member `gpu_available`, but it "
                "is not `bool gpu_available() const`");
  return GpuDispatchable<Op>;
}

}  // namespace ai_core
