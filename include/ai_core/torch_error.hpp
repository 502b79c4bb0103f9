// SPDX-License-Identifier: MIT
// ai_core/torch_error.hpp: libtorch's exceptions at ai_core's boundary.
//
// libtorch reports errors by throwing `c10::Error` (TORCH_CHECK) and its subclasses.
// `from_c10_error` turns one into a CoreError that keeps the c10 kind ("c10::IndexError") and the
// original message (`torch_info()`); a `c10::OutOfMemoryError`, and the CPU allocator's failure
// (a plain c10::Error in libtorch 2.11), become `out_of_memory`.
// `capture(callable)` runs code that may throw and returns a `Result`: the seam where libtorch's
// exceptions become ai_core's errors. This header includes <c10/util/Exception.h> for the c10
// exception classes; error.hpp does not include it itself (it arrives there only through
// <c10/core/Device.h>).
//
// Example:
//   ai_core::Result<at::Tensor> product = ai_core::capture([&] { return at::matmul(a, b); });
//   // a shape error becomes: "torch error: c10::Error: mat1 and mat2 shapes cannot be multiplied"
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>

#include <c10/util/Exception.h>

#include <exception>
#include <functional>
#include <new>
#include <source_location>
#include <string>
#include <system_error>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace ai_core {

/// Returns the c10 class name of `error`, most derived first ("c10::OutOfMemoryError",
/// "c10::IndexError", ... "c10::Error").
[[nodiscard]] inline const char* c10_error_kind(const c10::Error& error) noexcept {
  // Most derived classes first (DistQueueEmptyError derives from DistStoreError, which derives
  // from DistError).
  if (dynamic_cast<const c10::OutOfMemoryError*>(&error)) return "c10::OutOfMemoryError";
  if (dynamic_cast<const c10::IndexError*>(&error)) return "c10::IndexError";
  if (dynamic_cast<const c10::ValueError*>(&error)) return "c10::ValueError";
  if (dynamic_cast<const c10::TypeError*>(&error)) return "c10::TypeError";
  if (dynamic_cast<const c10::NotImplementedError*>(&error)) return "c10::NotImplementedError";
  if (dynamic_cast<const c10::LinAlgError*>(&error)) return "c10::LinAlgError";
  if (dynamic_cast<const c10::BufferError*>(&error)) return "c10::BufferError";
  if (dynamic_cast<const c10::EnforceFiniteError*>(&error)) return "c10::EnforceFiniteError";
  if (dynamic_cast<const c10::SyntaxError*>(&error)) return "c10::SyntaxError";
  if (dynamic_cast<const c10::AcceleratorError*>(&error)) return "c10::AcceleratorError";
  if (dynamic_cast<const c10::OnnxfiBackendSystemError*>(&error)) {
    return "c10::OnnxfiBackendSystemError";
  }
  if (dynamic_cast<const c10::DistQueueEmptyError*>(&error)) return "c10::DistQueueEmptyError";
  if (dynamic_cast<const c10::DistNetworkError*>(&error)) return "c10::DistNetworkError";
  if (dynamic_cast<const c10::DistStoreError*>(&error)) return "c10::DistStoreError";
  if (dynamic_cast<const c10::DistBackendError*>(&error)) return "c10::DistBackendError";
  if (dynamic_cast<const c10::DistError*>(&error)) return "c10::DistError";
  if (dynamic_cast<const c10::ErrorAlwaysShowCppStacktrace*>(&error)) {
    return "c10::ErrorAlwaysShowCppStacktrace";
  }
  return "c10::Error";
}

/// Returns `error` as a CoreError: code `torch` (or `out_of_memory` for c10::OutOfMemoryError and
/// allocation failures, Note [CPU allocation failures] in src/error.cpp),
/// `torch_info()` holding the kind and the message without the C++ backtrace, and for
/// c10::AcceleratorError its error code. `location` is where the conversion happened (c10 keeps
/// the throw site in the message).
[[nodiscard]] inline CoreError from_c10_error(
    const c10::Error& error, std::source_location location = std::source_location::current()) {
  std::optional<std::int32_t> accelerator_error;
  if (const auto* accelerator = dynamic_cast<const c10::AcceleratorError*>(&error)) {
    accelerator_error = accelerator->get_error_code();
  }
  return CoreError::torch(c10_error_kind(error), error.what_without_backtrace(), accelerator_error,
                          location);
}

namespace detail {
template <class R>
struct CaptureResult {
  using type = Result<std::remove_cvref_t<R>>;
};
template <>
struct CaptureResult<void> {
  using type = Result<void>;
};
template <class T>
struct CaptureResult<Expected<T, CoreError>> {
  using type = Expected<T, CoreError>;
};
template <class R>
using capture_result_t = typename CaptureResult<std::remove_cvref_t<R>>::type;

// Returns the type name of the dynamic type of `error` (mangled where demangling is unavailable).
AI_CORE_API std::string exception_type_name(const std::exception& error);
}  // namespace detail

/// Runs `f()` and returns its outcome as a `Result`: a value `T` (references decay to copies)
/// becomes `Result<T>`, `void` becomes `Result<void>`, a `Result<T>` is passed through. Exceptions
/// become errors:
///   - `ai_core::Exception`   -> its CoreError;
///   - `c10::Error` and its subclasses -> `from_c10_error` (`torch`, or `out_of_memory`);
///   - `std::bad_alloc`       -> `out_of_memory`;
///   - `std::system_error`    -> `io` with its `std::error_code`;
///   - other `std::exception` -> `torch` with `torch_info()->kind` the exception's type name.
/// Exceptions not derived from std::exception propagate. The errors record the location of the
/// `capture` call.
template <class F>
[[nodiscard]] auto capture(F&& f, std::source_location location = std::source_location::current())
    -> detail::capture_result_t<std::invoke_result_t<F&&>> {
  using R = std::invoke_result_t<F&&>;
  try {
    if constexpr (std::is_void_v<R>) {
      std::invoke(std::forward<F>(f));
      return {};
    } else {
      return std::invoke(std::forward<F>(f));
    }
  } catch (const Exception& error) {
    return Unexpected(error.error());
  } catch (const c10::Error& error) {
    return Unexpected(from_c10_error(error, location));
  } catch (const std::bad_alloc& error) {
    return Unexpected(
        CoreError::oom(str_cat("allocation failed (", error.what(), ")"), {}, {}, location));
  } catch (const std::system_error& error) {
    return Unexpected(CoreError::from_system_error(error, location));
  } catch (const std::exception& error) {
    return Unexpected(
        CoreError::torch(detail::exception_type_name(error), error.what(), {}, location));
  }
}

}  // namespace ai_core
