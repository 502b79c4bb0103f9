// SPDX-License-Identifier: MIT
// ai_core/torch_library.hpp: kernels written on ai_core as PyTorch operators.
//
// `ai_core::define_op<Kernel, MetaKernel>(library, schema)` defines one operator in a
// `TORCH_LIBRARY`/`TORCH_LIBRARY_FRAGMENT` block and registers
//   - `Kernel` for the CPU and CUDA dispatch keys. It returns `ai_core::Result<T>` and usually
//     builds a `GpuDispatchable` op and runs it with `ai_core::dispatch(op, input, x.device())`, so
//     the device check, the cheap device guard and the current stream are ai_core's;
//   - a fallthrough for the Autograd key (not differentiable: outputs never require grad) unless
//     `AutogradPolicy::registered_elsewhere` is passed;
//   - `MetaKernel` (optional) for the Meta key: a shape function that allocates empty outputs with
//     symbolic sizes (`at::empty_symint`), so fake tensors and `torch.compile` work. With it the
//     operator is tagged `pt2_compliant_tag`;
//   - the translation of errors: a `CoreError` crosses the dispatcher as a `c10::Error` (a
//     `c10::OutOfMemoryError` for `out_of_memory`) whose message starts with the stable line
//     prefix `ai_core::CoreError[<code>]: ` followed by `CoreError::to_string()` (the message and
//     every context line). The Python package maps it back to `ai_core.CoreError` with `.code`.
//
// What goes wrong when written by hand is checked when the operator is registered (a library that
// fails a check cannot be loaded: the `c10::Error` names the operator, the argument and the fix),
// and by `check_op<Kernel, MetaKernel>(schema)`, which returns the same error as a `Result` so a
// unit test can assert it without loading the library:
//   - every schema argument against the kernel's C++ parameter (count and type);
//   - `Tensor(a!)` (written in place) if and only if the C++ parameter is a non-const
//     `at::Tensor&`; an operator that writes an argument (an out variant, a `Result<void>`
//     kernel) returns nothing (`-> ()`): torch.compile cannot functionalize a custom operator
//     whose output aliases an input, which torch itself reports only when compiling;
//   - `SymInt`/`SymInt[]` arguments reach the Meta kernel as `c10::SymInt`/`c10::SymIntArrayRef`
//     (an `int64_t`/`IntArrayRef` Meta kernel breaks under dynamic shapes); CPU/CUDA kernels may
//     take them as concrete `int64_t`/`IntArrayRef`;
//   - functional outputs are new tensors (no alias annotation on a return).
// At compile time: the kernels are plain functions returning `ai_core::Result<T>`, and the Meta
// kernel has the kernel's arity.
//
// This is the classic registration API (`torch/library.h`), not the stable ABI of
// `torch/csrc/stable`: ai_core's headers use c10 and ATen types, which the stable ABI forbids, so
// an extension built on this header is tied to the libtorch it was compiled against. The header
// includes <torch/library.h> (the dispatcher, schema parser): it is heavier than the rest of
// ai_core and is not part of <ai_core/ai_core.hpp>; link `ai_core::torch_library`.
//
// Example:
//   ai_core::Result<at::Tensor> scale(const at::Tensor& x, double factor) {
//     return ai_core::dispatch(Scale{factor}, x, x.device());   // Scale: a GpuDispatchable op
//   }
//   ai_core::Result<at::Tensor> scale_meta(const at::Tensor& x, double) {
//     return at::empty_symint(x.sym_sizes(), x.options());
//   }
//   TORCH_LIBRARY_FRAGMENT(my_lib, m) {
//     ai_core::define_op<&scale, &scale_meta>(m, "scale(Tensor x, float factor) -> Tensor");
//   }
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>
#include <ai_core/result_macros.hpp>
#include <ai_core/str_cat.hpp>

#include <ATen/core/Tensor.h>
#include <c10/core/SymInt.h>
#include <c10/util/Exception.h>
#include <torch/library.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace ai_core {

/// The text every translated error message starts with; the code identifier and "]: " follow.
inline constexpr std::string_view kTorchErrorPrefix = "ai_core::CoreError[";

/// Returns the message `error` crosses the dispatcher with:
/// "ai_core::CoreError[<code identifier>]: " followed by `error.to_string()` (its message, then one
/// indented line per context entry).
[[nodiscard]] inline std::string torch_error_message(const CoreError& error) {
  std::string text(kTorchErrorPrefix);
  text += error_code_identifier(error.code());
  text += "]: ";
  text += error.to_string();
  return text;
}

/// Throws `error` as a `c10::Error` carrying `torch_error_message(error)` (a
/// `c10::OutOfMemoryError` for `out_of_memory`, so Python sees `torch.OutOfMemoryError`). The c10
/// source location is the error's.
[[noreturn]] inline void throw_as_torch_error(const CoreError& error) {
  const c10::SourceLocation where{error.location().function_name(), error.location().file_name(),
                                  error.location().line()};
  if (error.code() == ErrorCode::out_of_memory) {
    throw c10::OutOfMemoryError(where, torch_error_message(error));
  }
  throw c10::Error(where, torch_error_message(error));
}

/// What `define_op` registers for autograd.
enum class AutogradPolicy : std::uint8_t {
  /// A fallthrough for the Autograd key: the operator is not differentiable, its outputs never
  /// require grad (what quantization kernels want: frozen weights), and backward never runs
  /// through it silently (torch's fallback warns and is deprecated).
  not_differentiable = 0,
  /// Nothing: the caller registers a formula (torch.library.register_autograd in Python, or a
  /// kernel for the Autograd key).
  registered_elsewhere = 1,
};

/// Which dispatch key a kernel serves; the SymInt rule differs (see the file comment).
enum class KernelRole : std::uint8_t {
  backend = 0,  ///< CPU and CUDA: concrete sizes.
  meta = 1,     ///< Meta (fake tensors, torch.compile): sizes may be symbolic.
};

namespace detail {

template <class R>
struct KernelResult {
  static constexpr bool valid = false;
};
template <class T>
struct KernelResult<Result<T>> {
  static constexpr bool valid = true;
  using type = T;
};

template <auto Kernel>
struct KernelTraits {
  static constexpr bool is_function = false;
};

template <class R, class... Args, R (*Kernel)(Args...)>
struct KernelTraits<Kernel> {
  static constexpr bool is_function = true;
  static constexpr bool returns_result = KernelResult<R>::valid;
  static constexpr std::size_t arity = sizeof...(Args);
  using Value = typename KernelResult<R>::type;
  /// Which parameters are non-const `at::Tensor&` (written in place).
  static std::vector<bool> mutable_tensor_params() {
    return {std::is_same_v<Args, at::Tensor&>...};
  }
  /// The schema torch infers from the C++ signature (types only, no names or aliases).
  static c10::FunctionSchema inferred_schema() {
    return c10::inferFunctionSchemaFlattenedReturns<Value(Args...)>();
  }
};

template <auto Kernel>
consteval bool check_kernel_type() {
  using Traits = KernelTraits<Kernel>;
  static_assert(Traits::is_function,
                "ai_core::define_op: a kernel must be a pointer to a function (not a lambda or a "
                "member function): `ai_core::Result<T> kernel(const at::Tensor&, ...)`");
  if constexpr (Traits::is_function) {
    static_assert(Traits::returns_result,
                  "ai_core::define_op: a kernel must return ai_core::Result<T> (T: at::Tensor, a "
                  "std::tuple of tensors, a scalar, or void for an operator returning nothing, "
                  "such as an out variant)");
  }
  return true;
}

// "SymInt[]" -> "int[]" etc.; "" when `real` mentions no SymInt.
inline std::string concrete_of_symint(const std::string& real) {
  const std::size_t at = real.find("SymInt");
  if (at == std::string::npos) return {};
  return real.substr(0, at) + "int" + real.substr(at + 6);
}

inline std::string role_name(KernelRole role) {
  return role == KernelRole::meta ? "the Meta kernel" : "the CPU/CUDA kernel";
}

inline std::string quote(const c10::Argument& argument, std::size_t index) {
  return "argument " + std::to_string(index) + " '" + argument.name() + "'";
}

}  // namespace detail

/// Checks that `Kernel`'s C++ signature implements `schema` for `role` (the rules of the file
/// comment). Returns an `invalid_config` error naming the operator, the argument, what the schema
/// says, what the C++ kernel takes and the fix.
template <auto Kernel>
[[nodiscard]] Result<void> check_kernel_signature(const c10::FunctionSchema& schema,
                                                  KernelRole role) {
  [[maybe_unused]] constexpr bool valid = detail::check_kernel_type<Kernel>();
  using Traits = detail::KernelTraits<Kernel>;
  const std::string op = "operator '" + schema.operator_name().name +
                         (schema.overload_name().empty() ? "" : "." + schema.overload_name()) +
                         "', " + detail::role_name(role);
  const auto fail = [&](const std::string& what) -> Result<void> {
    return CoreError::invalid_config(op + ": " + what);
  };
  const c10::FunctionSchema inferred = Traits::inferred_schema();
  const std::vector<bool> mutable_params = Traits::mutable_tensor_params();
  const auto& wanted = schema.arguments();
  const auto& got = inferred.arguments();
  if (wanted.size() != got.size()) {
    return fail(str_cat("the schema has ", wanted.size(), " arguments, the C++ kernel takes ",
                        got.size(),
                        " parameters; expected one parameter per schema argument, in "
                        "order (keyword-only ones included)"));
  }
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const c10::Argument& s = wanted[i];
    const std::string s_real = s.real_type()->str();
    const std::string k_real = got[i].real_type()->str();
    if (s_real != k_real) {
      const std::string concrete = detail::concrete_of_symint(s_real);
      if (!concrete.empty() && concrete == k_real) {
        if (role == KernelRole::meta) {
          return fail(detail::quote(s, i) + " is " + s_real +
                      " in the schema but the Meta kernel "
                      "takes " +
                      k_real +
                      "; under dynamic shapes (torch.compile, fake tensors) "
                      "its value is symbolic: take c10::SymInt / c10::SymIntArrayRef");
        }
      } else {
        return fail(detail::quote(s, i) + " is " + s_real +
                    " in the schema but the C++ kernel "
                    "takes a parameter torch reads as " +
                    k_real + "; expected the C++ type of " + s_real);
      }
    }
    const c10::AliasInfo* alias = s.alias_info();
    const bool written = alias != nullptr && alias->isWrite();
    if (alias != nullptr && !written) {
      return fail(detail::quote(s, i) + " has a read-only alias annotation (" + s.type()->str() +
                  "(a)): views are not supported by ai_core::define_op; return a new tensor");
    }
    if (written && !mutable_params[i]) {
      return fail(detail::quote(s, i) +
                  " is written in place (Tensor(a!)) in the schema but the "
                  "C++ kernel takes it as a const reference or a value; take at::Tensor&");
    }
    if (!written && mutable_params[i]) {
      return fail(detail::quote(s, i) +
                  " is a non-const at::Tensor& in the C++ kernel but the "
                  "schema does not mark it written in place; write `Tensor(a!) " +
                  s.name() + "` (an out variant) or take const at::Tensor&");
    }
  }
  const auto& returns = schema.returns();
  for (std::size_t i = 0; i < returns.size(); ++i) {
    if (returns[i].alias_info() != nullptr) {
      return fail(str_cat("return ", i, " aliases an argument (", returns[i].type()->str(),
                          "(a!)); torch.compile cannot functionalize a custom operator whose "
                          "output aliases an input: return nothing (`-> ()`) from an operator "
                          "that writes its `Tensor(a!)` arguments, and a Result<void> kernel"));
    }
  }
  const auto& inferred_returns = inferred.returns();
  if (returns.size() != inferred_returns.size()) {
    return fail(str_cat("the schema returns ", returns.size(), " values, the C++ kernel ",
                        inferred_returns.size(),
                        " (a std::tuple returns one value per element, Result<void> none)"));
  }
  for (std::size_t i = 0; i < returns.size(); ++i) {
    const std::string s_real = returns[i].real_type()->str();
    const std::string k_real = inferred_returns[i].real_type()->str();
    if (s_real != k_real && detail::concrete_of_symint(s_real) != k_real) {
      return fail(str_cat("return ", i, " is ", s_real,
                          " in the schema but the C++ kernel "
                          "returns ",
                          k_real));
    }
  }
  return {};
}

/// Parses `schema` and checks `Kernel` (CPU/CUDA) and `MetaKernel` (when not `nullptr`) against
/// it, as `define_op` does at registration. A schema that does not parse is an `invalid_config`
/// error with the parser's message.
template <auto Kernel, auto MetaKernel = nullptr>
[[nodiscard]] Result<c10::FunctionSchema> check_op(std::string_view schema) {
  std::optional<c10::FunctionSchema> parsed;
  try {
    parsed.emplace(torch::schema(std::string(schema).c_str()));
  } catch (const c10::Error& error) {
    return CoreError::invalid_config(
        str_cat("operator schema '", schema, "' does not parse: ", error.what_without_backtrace()));
  } catch (const std::exception& error) {  // The schema parser's torch::jit::ErrorReport.
    return CoreError::invalid_config(
        str_cat("operator schema '", schema, "' does not parse: ", error.what()));
  }
  AI_CORE_TRY(check_kernel_signature<Kernel>(*parsed, KernelRole::backend));
  if constexpr (!std::is_null_pointer_v<decltype(MetaKernel)>) {
    static_assert(detail::check_kernel_type<MetaKernel>());
    static_assert(detail::KernelTraits<MetaKernel>::arity == detail::KernelTraits<Kernel>::arity,
                  "ai_core::define_op: the Meta kernel must take the same parameters as the "
                  "kernel (SymInt/SymInt[] as c10::SymInt/c10::SymIntArrayRef)");
    AI_CORE_TRY(check_kernel_signature<MetaKernel>(*parsed, KernelRole::meta));
  }
  return std::move(*parsed);
}

namespace detail {

// Returns the error for a Meta kernel handed a tensor that is not on the meta device: the
// dispatcher routes a mix of meta and real tensors to the Meta kernel, which would return an
// uninitialised tensor on the real device.
template <class... Args>
Result<void> check_all_meta(const Args&... args) {
  std::size_t index = 0;
  std::optional<CoreError> error;
  const auto check = [&](const auto& arg) {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(arg)>, at::Tensor>) {
      if (!error.has_value() && arg.defined() && !arg.is_meta()) {
        error.emplace(CoreError::device_mismatch(
            c10::Device(c10::DeviceType::Meta), arg.device(),
            str_cat("argument ", index, " is on ", arg.device().str(),
                    " while others are on meta; expected every tensor on one device")));
      }
    }
    ++index;
  };
  (check(args), ...);
  if (error.has_value()) return std::move(*error);
  return {};
}

}  // namespace detail

/// The function torch calls for `Kernel`: runs it and returns its value, or throws its error with
/// `throw_as_torch_error`. For `KernelRole::meta` it first checks that every tensor argument is on
/// the meta device (`device_mismatch` otherwise). Exceptions the kernel lets escape (torch's own,
/// symbolic-shape guards in a Meta kernel) pass through unchanged.
template <auto Kernel, KernelRole Role = KernelRole::backend>
struct TorchKernel;

template <class T, class... Args, Result<T> (*Kernel)(Args...), KernelRole Role>
struct TorchKernel<Kernel, Role> {
  static T call(Args... args) {
    if constexpr (Role == KernelRole::meta) {
      Result<void> on_meta = detail::check_all_meta(args...);
      if (!on_meta.has_value()) [[unlikely]]
        throw_as_torch_error(on_meta.error());
    }
    Result<T> result = Kernel(std::forward<Args>(args)...);
    if (!result.has_value()) [[unlikely]]
      throw_as_torch_error(result.error());
    if constexpr (!std::is_void_v<T>) return std::move(result).value();
  }
};

/// Defines `schema` in `library` (a `TORCH_LIBRARY` or `TORCH_LIBRARY_FRAGMENT` block) and
/// registers `Kernel` for CPU and CUDA, `MetaKernel` (when given) for Meta, and for autograd what
/// `Autograd` says, after `check_op<Kernel, MetaKernel>(schema)`. A failed check throws a
/// `c10::Error` (the message of `torch_error_message`) while the library loads, naming the operator
/// and the fix. Returns `library`.
template <auto Kernel, auto MetaKernel = nullptr,
          AutogradPolicy Autograd = AutogradPolicy::not_differentiable>
torch::Library& define_op(torch::Library& library, std::string_view schema) {
  Result<c10::FunctionSchema> parsed = check_op<Kernel, MetaKernel>(schema);
  if (!parsed.has_value()) throw_as_torch_error(parsed.error());
  const std::string name = parsed->operator_name().name +
                           (parsed->overload_name().empty() ? "" : "." + parsed->overload_name());
  constexpr bool has_meta = !std::is_null_pointer_v<decltype(MetaKernel)>;
  const std::vector<at::Tag> tags =
      has_meta ? std::vector<at::Tag>{at::Tag::pt2_compliant_tag} : std::vector<at::Tag>{};
  c10::FunctionSchema definition = std::move(*parsed);
  library.def(std::move(definition), tags);
  library.impl(name.c_str(),
               torch::dispatch(c10::DispatchKey::CPU, TORCH_FN(TorchKernel<Kernel>::call)));
  library.impl(name.c_str(),
               torch::dispatch(c10::DispatchKey::CUDA, TORCH_FN(TorchKernel<Kernel>::call)));
  if constexpr (Autograd == AutogradPolicy::not_differentiable) {
    library.impl(name.c_str(), torch::dispatch(c10::DispatchKey::Autograd,
                                               torch::CppFunction::makeFallthrough()));
  }
  if constexpr (has_meta) {
    library.impl(name.c_str(),
                 torch::dispatch(c10::DispatchKey::Meta,
                                 TORCH_FN((TorchKernel<MetaKernel, KernelRole::meta>::call))));
  }
  return library;
}

/// Defines `schema` in `library` with `Kernel` for every dispatch key (a catch-all kernel), after
/// `check_op<Kernel>(schema)`: for operators with no tensor argument (device selection, reports),
/// which the dispatcher cannot route by device. Failures as for `define_op`. Returns `library`.
template <auto Kernel>
torch::Library& define_function(torch::Library& library, std::string_view schema) {
  Result<c10::FunctionSchema> parsed = check_op<Kernel>(schema);
  if (!parsed.has_value()) throw_as_torch_error(parsed.error());
  c10::FunctionSchema definition = std::move(*parsed);
  library.def(std::move(definition), TORCH_FN(TorchKernel<Kernel>::call));
  return library;
}

}  // namespace ai_core
