// SPDX-License-Identifier: MIT
// ai_core/torch_error.hpp: libtorch's exceptions at ai_core's boundary.
//
// libtorch reports errors by throwing `c10::Error` (TORCH_CHECK) and its subclasses.
// `from_c10_error` turns one into a CoreError that keeps the c10 kind ("c10::IndexError") and the
// original message (`torch_info()`); a `c10::OutOfMemoryError`, and the CPU allocator's failure
// (a plain c10::Error in libtorch 2.11), become `out_of_memory`.
// `capture(callable)` runs code that may throw and returns a `Result`: the seam where libtorch's
// exceptions (and any other) become ai_core's errors. This header includes <c10/util/Exception.h>
// for the c10 exception classes; error.hpp does not include it itself (it arrives there only
// through <c10/core/Device.h>).
//
// Example:
//   ai_core::Result<at::Tensor> product = ai_core::capture([&] { return at::matmul(a, b); });
//   // a shape error becomes: "torch error: c10::Error: mat1 and mat2 shapes cannot be multiplied"
#pragma once

#include <ai_core/error.hpp>
#include <ai_core/expected.hpp>

#include <c10/util/Exception.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <source_location>
#include <string>
#include <type_traits>
#include <utility>

#if defined(__GLIBCXX__)
#  include <cxxabi.h>  // abi::__forced_unwind
#endif

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

/// Returns a libtorch error of class `kind` ("c10::IndexError") with message `message` as a
/// CoreError: `out_of_memory` for "c10::OutOfMemoryError" and for the CPU allocator's failure (a
/// plain c10::Error, recognized by its message: Note [CPU allocation failures] in
/// src/torch_error.cpp), with the requested bytes when the message states them exactly; otherwise
/// `CoreError::torch`. `torch_info()` holds the kind, the message and `accelerator_error`.
[[nodiscard]] AI_CORE_API CoreError
from_c10_error(std::string kind, std::string message,
               std::optional<std::int32_t> accelerator_error = std::nullopt,
               std::source_location location = std::source_location::current());

/// Returns `error` as a CoreError: code `torch` (or `out_of_memory` for c10::OutOfMemoryError and
/// allocation failures, as above), `torch_info()` holding the kind and the message without the
/// C++ backtrace, and for c10::AcceleratorError its error code. `location` is where the
/// conversion happened (c10 keeps the throw site in the message).
[[nodiscard]] inline CoreError from_c10_error(
    const c10::Error& error, std::source_location location = std::source_location::current()) {
  std::optional<std::int32_t> accelerator_error;
  if (const auto* accelerator = dynamic_cast<const c10::AcceleratorError*>(&error)) {
    accelerator_error = accelerator->get_error_code();
  }
  return from_c10_error(c10_error_kind(error), error.what_without_backtrace(), accelerator_error,
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
[[nodiscard]] AI_CORE_API std::string exception_type_name(const std::exception& error);

// Returns what `capture` makes of a std::exception that is neither an ai_core::Exception nor a
// c10::Error (the list in `capture`'s comment). Out of line: cold code, kept out of every caller.
[[nodiscard]] AI_CORE_API CoreError from_std_exception(const std::exception& error,
                                                       std::source_location location);

// Returns what `capture` makes of an exception not derived from std::exception.
[[nodiscard]] AI_CORE_API CoreError from_unknown_exception(std::source_location location);
}  // namespace detail

/// Runs `f()` and returns its outcome as a `Result`: a value `T` (references decay to copies)
/// becomes `Result<T>`, `void` becomes `Result<void>`, a `Result<T>` is passed through. Exceptions
/// become errors:
///   - `ai_core::Exception`   -> its CoreError;
///   - `c10::Error` and its subclasses -> `from_c10_error` (`torch`, or `out_of_memory`);
///   - `std::bad_alloc`       -> `out_of_memory`;
///   - `std::system_error`    -> `io` with its `std::error_code`;
///   - `std::logic_error` (`std::invalid_argument`, `std::out_of_range`, ...) -> `invalid_config`;
///   - any other exception    -> `unknown`.
/// The messages start with the exception's type name ("std::out_of_range: slot 9 of 4"). No
/// exception leaves `capture`, except the forced unwinding of a cancelled thread, which must not
/// be stopped. The errors record the location of the `capture` call.
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
  } catch (const std::exception& error) {
    return Unexpected(detail::from_std_exception(error, location));
  }
#if defined(__GLIBCXX__)
  catch (const abi::__forced_unwind&) {
    throw;  // A cancelled thread unwinds with it; swallowing it aborts the process.
  }
#endif
  catch (...) {
    return Unexpected(detail::from_unknown_exception(location));
  }
}

}  // namespace ai_core
