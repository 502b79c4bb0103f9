// SPDX-License-Identifier: MIT
// ai_core/error.hpp: the error vocabulary every ai_core-based library speaks.
//
// `ErrorCode` is a stable, append-only list of what went wrong; `CoreError` carries the code, a
// human message that names the value seen and the value expected, a typed payload callers read
// without parsing text (shapes, devices, byte counts, the CUDA error, the std::error_code, the c10
// error kind), the `std::source_location` where it was made and the context lines added while it
// propagated. `Exception` carries a CoreError across boundaries that want exceptions.
// `ErrorCode` plugs into <system_error> (`error_category()`, `make_error_code`), so
// `std::error_code ec = ErrorCode::io;` works and compares.
//
// `Result<T>` lives in <ai_core/expected.hpp>, the propagation macros in
// <ai_core/result_macros.hpp>, the message builder `str_cat` in <ai_core/str_cat.hpp>; conversions
// from libtorch's exceptions and `capture()` in <ai_core/torch_error.hpp>; from `cudaError_t` in
// <ai_core/cuda/error.hpp>; fmt/std::format support in the opt-in <ai_core/fmt.hpp>. The guide is
// docs/errors.md.
//
// Example:
//   ai_core::CoreError err = ai_core::CoreError::shape_mismatch({2, 3}, {3, 2}, "tensor 'weight'");
//   err.with_context("loading adapter 'q_proj'");
//   err.to_string();   // "shape mismatch: expected [2, 3], got [3, 2] (tensor 'weight')\n"
//                      // "  loading adapter 'q_proj'"
//   err.shape_info()->actual;   // {3, 2}
#pragma once

#include <ai_core/export.hpp>

#include <c10/core/Device.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <ostream>
#include <source_location>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace ai_core {

/// What went wrong, as a stable number. Values never change and new codes are only appended, so
/// code that switches on an `ErrorCode` must have a `default:` branch for codes it does not know
/// (the enum is open on purpose: libraries built on ai_core keep compiling when a code is added).
/// `ErrorCode` converts to `std::error_code` (category
/// `ai_core::error_category()`).
enum class ErrorCode : std::int32_t {
  invalid_config = 1,      ///< A configuration value or argument is invalid (bad env value, null).
  shape_mismatch = 2,      ///< A tensor's shape differs from the one expected (payload: shapes).
  dimension_mismatch = 3,  ///< A rank or a single dimension is not the one expected.
  device_not_available = 4,  ///< A requested device is absent (payload: the device).
  device_mismatch = 5,       ///< A tensor lives on another device than expected (payload: both).
  out_of_memory = 6,         ///< An allocation failed (payload: requested/free bytes when known).
  kernel_error = 7,          ///< A kernel or CUDA call failed (payload: CUDA error number, name).
  not_implemented = 8,       ///< The feature or combination is not implemented.
  io = 9,                    ///< A file or OS operation failed (payload: the std::error_code).
  torch = 10,                ///< libtorch raised an error (payload: the c10 error kind, message).
  /// A rendezvous or collective failed: a rank did not arrive, a peer died or the timeout passed.
  communication = 11,
  unknown = 12,  ///< An exception with no closer code: not libtorch's, not an allocation, OS or
                 ///< argument error (the message names its type).
};

/// Returns the lower-case name of `code` ("invalid config", "shape mismatch", ...), or
/// "unrecognized error code" for a value that is not a known code.
[[nodiscard]] constexpr std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_config: return "invalid config";
    case ErrorCode::shape_mismatch: return "shape mismatch";
    case ErrorCode::dimension_mismatch: return "dimension mismatch";
    case ErrorCode::device_not_available: return "device not available";
    case ErrorCode::device_mismatch: return "device mismatch";
    case ErrorCode::out_of_memory: return "out of memory";
    case ErrorCode::kernel_error: return "kernel error";
    case ErrorCode::not_implemented: return "not implemented";
    case ErrorCode::io: return "io error";
    case ErrorCode::torch: return "torch error";
    case ErrorCode::communication: return "communication error";
    case ErrorCode::unknown: return "unknown error";
  }
  return "unrecognized error code";
}

/// Every `ErrorCode`, in enum order: the one list to extend when a code is appended.
inline constexpr ErrorCode kErrorCodes[] = {ErrorCode::invalid_config,
                                            ErrorCode::shape_mismatch,
                                            ErrorCode::dimension_mismatch,
                                            ErrorCode::device_not_available,
                                            ErrorCode::device_mismatch,
                                            ErrorCode::out_of_memory,
                                            ErrorCode::kernel_error,
                                            ErrorCode::not_implemented,
                                            ErrorCode::io,
                                            ErrorCode::torch,
                                            ErrorCode::communication,
                                            ErrorCode::unknown};

/// Returns the C++ identifier of `code` ("invalid_config", "out_of_memory", ...), the name the
/// Python package gives `CoreError.code`; "unrecognized" for a value that is not a known code.
[[nodiscard]] constexpr std::string_view error_code_identifier(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_config: return "invalid_config";
    case ErrorCode::shape_mismatch: return "shape_mismatch";
    case ErrorCode::dimension_mismatch: return "dimension_mismatch";
    case ErrorCode::device_not_available: return "device_not_available";
    case ErrorCode::device_mismatch: return "device_mismatch";
    case ErrorCode::out_of_memory: return "out_of_memory";
    case ErrorCode::kernel_error: return "kernel_error";
    case ErrorCode::not_implemented: return "not_implemented";
    case ErrorCode::io: return "io";
    case ErrorCode::torch: return "torch";
    case ErrorCode::communication: return "communication";
    case ErrorCode::unknown: return "unknown";
  }
  return "unrecognized";
}

/// Writes `to_string(code)` to `os`.
AI_CORE_API std::ostream& operator<<(std::ostream& os, ErrorCode code);

/// Returns the `std::error_category` of `ErrorCode` (name "ai_core"). One instance per process
/// (it lives in the compiled library), so categories compare equal across shared libraries. Its
/// `default_error_condition` maps `out_of_memory` to `std::errc::not_enough_memory`,
/// `invalid_config` to `std::errc::invalid_argument` and `not_implemented` to
/// `std::errc::function_not_supported`.
[[nodiscard]] AI_CORE_API const std::error_category& error_category() noexcept;

/// Returns `code` as a `std::error_code` of `error_category()` (found by ADL, which makes
/// `std::error_code ec = ErrorCode::io;` work).
[[nodiscard]] inline std::error_code make_error_code(ErrorCode code) noexcept {
  return {static_cast<int>(code), error_category()};
}

// --- payloads ------------------------------------------------------------------------------------

/// Payload of `shape_mismatch`: the shape that was expected and the one found.
struct ShapeInfo {
  std::vector<std::int64_t> expected;  ///< The shape the callee needed.
  std::vector<std::int64_t> actual;    ///< The shape it was given.
  friend bool operator==(const ShapeInfo&, const ShapeInfo&) = default;
};

/// Payload of `device_not_available` and `device_mismatch`.
struct DeviceInfo {
  /// The device in question: the unavailable one, or the device actually found in a mismatch.
  c10::Device device{c10::DeviceType::CPU};
  /// The device that was expected (`device_mismatch` only).
  std::optional<c10::Device> expected;
  friend bool operator==(const DeviceInfo&, const DeviceInfo&) = default;
};

/// Payload of `out_of_memory` (also reachable through a `TorchInfo` for c10::OutOfMemoryError and
/// a `CudaInfo` for cudaErrorMemoryAllocation). `CoreError::out_of_memory` fills the first two
/// fields; `with_allocator_view` (<ai_core/memory.hpp>) adds the allocator's view and the advice,
/// so a caller can act on the figures without parsing the context lines. Every field is optional:
/// empty means unknown (the CPU has no caching allocator, a driver query may fail). The fields
/// after the first two have default initializers, so `MemoryInfo{requested, free}` stays valid
/// (no -Wmissing-field-initializers).
struct MemoryInfo {
  std::optional<std::uint64_t> requested_bytes;  ///< The size of the failed allocation, if known.
  std::optional<std::uint64_t> free_bytes;       ///< The free memory at the time, if known.
  /// Bytes in live tensors on the device (torch's caching allocator, `allocated_bytes.current`).
  std::optional<std::uint64_t> allocated_bytes = std::nullopt;
  /// Bytes the caching allocator holds from the driver (`reserved_bytes.current`): allocated plus
  /// cached blocks. A large `reserved_bytes - allocated_bytes` next to a failed request means
  /// fragmentation (the request fit in no cached block).
  std::optional<std::uint64_t> reserved_bytes = std::nullopt;
  /// The device's memory (the driver's total).
  std::optional<std::uint64_t> total_bytes = std::nullopt;
  /// The device the figures are of.
  std::optional<c10::Device> device = std::nullopt;
  /// What to try, most likely first ("a smaller batch size ...", "PYTORCH_CUDA_ALLOC_CONF=..."),
  /// one sentence each; empty until `with_allocator_view` fills it.
  std::vector<std::string> advice = {};
  friend bool operator==(const MemoryInfo&, const MemoryInfo&) = default;
};

/// Payload of errors made from a `cudaError_t` (`kernel_error`, or `out_of_memory` for
/// `cudaErrorMemoryAllocation`).
struct CudaInfo {
  int code = 0;      ///< The `cudaError_t` value (700 for cudaErrorIllegalAddress).
  std::string name;  ///< Its name as `cudaGetErrorName` gives it ("cudaErrorIllegalAddress").
  /// For `out_of_memory`: the allocator's view, once `with_allocator_view` added it.
  std::optional<MemoryInfo> memory = std::nullopt;
  friend bool operator==(const CudaInfo&, const CudaInfo&) = default;
};

/// Payload of `io`: the operating-system or library error code.
struct IoInfo {
  std::error_code error;  ///< E.g. `std::error_code(ENOENT, std::generic_category())`.
  friend bool operator==(const IoInfo&, const IoInfo&) = default;
};

/// Payload of errors converted from a c10::Error (`torch`, or `out_of_memory` for
/// c10::OutOfMemoryError).
struct TorchInfo {
  std::string kind;     ///< The exception class: "c10::Error", "c10::IndexError", ...
  std::string message;  ///< The original message (`what_without_backtrace()`).
  std::optional<std::int32_t> accelerator_error;  ///< c10::AcceleratorError's code, if any.
  std::optional<MemoryInfo> memory;  ///< For c10::OutOfMemoryError: the bytes, when the message
                                     ///< states them exactly.
  friend bool operator==(const TorchInfo&, const TorchInfo&) = default;
};

/// The typed payload of a CoreError: at most one of the structs above.
using ErrorPayload =
    std::variant<std::monostate, ShapeInfo, DeviceInfo, MemoryInfo, CudaInfo, IoInfo, TorchInfo>;

namespace detail {

/// The heap representation of a CoreError (no stability promise).
struct ErrorRep {
  ErrorCode code = ErrorCode::invalid_config;
  std::string message;
  std::source_location location;
  std::vector<std::string> context;
  ErrorPayload payload;
};

/// Returns the representation a moved-from CoreError reads (lives in the compiled library).
[[nodiscard]] AI_CORE_API const ErrorRep& moved_from_error_rep() noexcept;

}  // namespace detail

// --- CoreError -----------------------------------------------------------------------------------

/// An error: a code, a message naming what was wrong (the value seen and the value expected), a
/// typed payload, the source location where it was made and the context lines added while it
/// propagated.
///
/// A CoreError is one pointer (to a heap representation), so `Result<int>` stays small and the
/// success path cheap. Copies are deep; moves steal the pointer. A moved-from CoreError is valid:
/// it reads as `invalid_config` with the message "CoreError used after it was moved from".
/// Thread-compatible (const members may be used from several threads).
///
/// Example:
///   return ai_core::CoreError::device_mismatch(weight.device(), input.device(), "tensor 'input'");
class AI_CORE_API CoreError {
 public:
  using Location = std::source_location;

  /// Makes an `invalid_config` error. `message` names the value seen and the value expected.
  [[nodiscard]] static CoreError invalid_config(std::string message,
                                                Location location = Location::current());

  /// Makes a `shape_mismatch` error: "expected [2, 3], got [3, 2]", then ` (detail)` if given.
  [[nodiscard]] static CoreError shape_mismatch(std::vector<std::int64_t> expected,
                                                std::vector<std::int64_t> actual,
                                                std::string detail = {},
                                                Location location = Location::current());

  /// Makes a `dimension_mismatch` error.
  [[nodiscard]] static CoreError dimension_mismatch(std::string message,
                                                    Location location = Location::current());

  /// Makes a `device_not_available` error for `device`: "cuda:1" then ` (detail)` if given.
  [[nodiscard]] static CoreError device_not_available(c10::Device device, std::string detail = {},
                                                      Location location = Location::current());

  /// Makes a `device_not_available` error without a device payload (no `c10::Device` to name,
  /// e.g. "no CUDA device present").
  [[nodiscard]] static CoreError device_not_available(std::string description,
                                                      Location location = Location::current());

  /// Makes a `device_mismatch` error: "expected cuda:0, got cpu", then ` (detail)` if given.
  [[nodiscard]] static CoreError device_mismatch(c10::Device expected, c10::Device actual,
                                                 std::string detail = {},
                                                 Location location = Location::current());

  /// Makes an `out_of_memory` error; the byte counts, when given, are appended to the message.
  [[nodiscard]] static CoreError out_of_memory(std::string message,
                                               std::optional<std::uint64_t> requested_bytes = {},
                                               std::optional<std::uint64_t> free_bytes = {},
                                               Location location = Location::current());

  /// Makes a `kernel_error` error without a CUDA payload.
  [[nodiscard]] static CoreError kernel_error(std::string message,
                                              Location location = Location::current());

  /// Makes an error from a CUDA runtime error: `out_of_memory` for code 2
  /// (cudaErrorMemoryAllocation), else `kernel_error`; the message ends with
  /// "(cudaErrorIllegalAddress = 700)". See <ai_core/cuda/error.hpp> for `cudaError_t`.
  [[nodiscard]] static CoreError cuda(int cuda_error_code, std::string cuda_error_name,
                                      std::string message, Location location = Location::current());

  /// Makes a `not_implemented` error naming the missing `feature`.
  [[nodiscard]] static CoreError not_implemented(std::string feature,
                                                 Location location = Location::current());

  /// Makes an `io` error: "`message`: No such file or directory (generic:2)".
  [[nodiscard]] static CoreError io(std::error_code error, std::string message = {},
                                    Location location = Location::current());

  /// Makes an `io` error from an `errno` value (generic category).
  [[nodiscard]] static CoreError from_errno(int errno_value, std::string message = {},
                                            Location location = Location::current());

  /// Makes an `io` error from a `std::system_error` (its code, and its message without the
  /// repeated description of the code).
  [[nodiscard]] static CoreError from_system_error(const std::system_error& error,
                                                   Location location = Location::current());

  /// Makes a `torch` error from a libtorch exception of class `kind` ("c10::IndexError") with
  /// message `message` (trailing newlines dropped): "c10::IndexError: index 5 is out of bounds".
  /// It does not read the message: `from_c10_error` in <ai_core/torch_error.hpp> recognizes
  /// libtorch's allocation failures and makes them `out_of_memory`.
  [[nodiscard]] static CoreError torch(std::string kind, std::string message,
                                       std::optional<std::int32_t> accelerator_error = {},
                                       Location location = Location::current());

  /// Makes an error with any `code` and no payload (what `AI_CORE_CHECK` uses).
  [[nodiscard]] static CoreError from_code(ErrorCode code, std::string message,
                                           Location location = Location::current());

  /// Makes an error with any `code` and `payload`, for layers that classify another library's
  /// errors (<ai_core/torch_error.hpp> makes libtorch's allocation failures `out_of_memory` with a
  /// `TorchInfo`). Prefer the named factories: they format the message from the payload.
  [[nodiscard]] static CoreError from_code(ErrorCode code, std::string message,
                                           ErrorPayload payload,
                                           Location location = Location::current());

  CoreError(const CoreError& other)
      : rep_(other.rep_ ? new detail::ErrorRep(*other.rep_) : nullptr) {}
  CoreError(CoreError&& other) noexcept = default;
  CoreError& operator=(const CoreError& other) {
    if (this != &other) rep_.reset(other.rep_ ? new detail::ErrorRep(*other.rep_) : nullptr);
    return *this;
  }
  CoreError& operator=(CoreError&& other) noexcept = default;
  ~CoreError() = default;

  /// Returns the error code.
  [[nodiscard]] ErrorCode code() const noexcept { return rep().code; }
  /// Returns the message (without the code name and without the context lines).
  [[nodiscard]] const std::string& message() const noexcept { return rep().message; }
  /// Returns where the error was made (the caller of the factory, or of `AI_CORE_CHECK`).
  [[nodiscard]] const std::source_location& location() const noexcept { return rep().location; }
  /// Returns the context lines, in the order they were added (innermost first).
  [[nodiscard]] const std::vector<std::string>& context() const noexcept { return rep().context; }
  /// Returns the payload variant.
  [[nodiscard]] const ErrorPayload& payload() const noexcept { return rep().payload; }
  /// Returns the code as a `std::error_code` of `error_category()`.
  [[nodiscard]] std::error_code error_code() const noexcept { return make_error_code(code()); }

  /// Returns the shape payload, or nullptr.
  [[nodiscard]] const ShapeInfo* shape_info() const noexcept {
    return std::get_if<ShapeInfo>(&payload());
  }
  /// Returns the device payload, or nullptr.
  [[nodiscard]] const DeviceInfo* device_info() const noexcept {
    return std::get_if<DeviceInfo>(&payload());
  }
  /// Returns the memory payload (also the one inside a `TorchInfo` or a `CudaInfo`), or nullptr.
  [[nodiscard]] const MemoryInfo* memory_info() const noexcept {
    if (const auto* memory = std::get_if<MemoryInfo>(&payload())) return memory;
    if (const auto* cuda = cuda_info(); cuda != nullptr && cuda->memory) return &*cuda->memory;
    const auto* torch = torch_info();
    return torch != nullptr && torch->memory ? &*torch->memory : nullptr;
  }
  /// Returns the CUDA payload, or nullptr.
  [[nodiscard]] const CudaInfo* cuda_info() const noexcept {
    return std::get_if<CudaInfo>(&payload());
  }
  /// Returns the io payload, or nullptr.
  [[nodiscard]] const IoInfo* io_info() const noexcept { return std::get_if<IoInfo>(&payload()); }
  /// Returns the libtorch payload, or nullptr.
  [[nodiscard]] const TorchInfo* torch_info() const noexcept {
    return std::get_if<TorchInfo>(&payload());
  }

  /// Appends a context line ("loading adapter 'q_proj'") and returns `*this`.
  CoreError& with_context(std::string line) & {
    mutable_rep().context.push_back(std::move(line));
    return *this;
  }
  /// Appends a context line and returns the error, for `return std::move(err).with_context(...)`.
  [[nodiscard]] CoreError&& with_context(std::string line) && {
    mutable_rep().context.push_back(std::move(line));
    return std::move(*this);
  }

  /// Returns "<code name>: <message>", then one line per context entry, indented by two spaces.
  [[nodiscard]] std::string to_string() const;

  /// Returns `to_string()` with " [at file:line in function]" appended to its first line.
  [[nodiscard]] std::string to_string_with_location() const;

  /// Returns whether two errors have the same code, message, payload and context (the source
  /// locations are not compared).
  friend bool operator==(const CoreError& a, const CoreError& b) {
    const auto& x = a.rep();
    const auto& y = b.rep();
    return x.code == y.code && x.message == y.message && x.payload == y.payload &&
           x.context == y.context;
  }

  /// Writes `error.to_string()` to `os`.
  friend AI_CORE_API std::ostream& operator<<(std::ostream& os, const CoreError& error);

 private:
  explicit CoreError(detail::ErrorRep* rep) noexcept : rep_(rep) {}
  [[nodiscard]] const detail::ErrorRep& rep() const noexcept {
    return rep_ ? *rep_ : detail::moved_from_error_rep();
  }
  detail::ErrorRep& mutable_rep() {
    if (!rep_) rep_.reset(new detail::ErrorRep(detail::moved_from_error_rep()));
    return *rep_;
  }
  static CoreError build(ErrorCode code, std::string message, ErrorPayload payload,
                         Location location);

  std::unique_ptr<detail::ErrorRep> rep_;
};

/// Returns `error.to_string()`.
[[nodiscard]] inline std::string to_string(const CoreError& error) { return error.to_string(); }

// --- Exception -----------------------------------------------------------------------------------

/// An exception carrying a CoreError, for boundaries that want exceptions (`Result::value()` on
/// an error throws it; `capture()` turns it back into the CoreError). `what()` is
/// `error().to_string()`. Copying never throws (the state is shared).
class AI_CORE_API Exception : public std::exception {
 public:
  /// Wraps `error`.
  explicit Exception(CoreError error);
  ~Exception() override;
  Exception(const Exception&) noexcept = default;
  Exception& operator=(const Exception&) noexcept = default;

  /// Returns the carried error.
  [[nodiscard]] const CoreError& error() const noexcept;
  /// Returns the carried error's `to_string()`.
  [[nodiscard]] const char* what() const noexcept override;

 private:
  struct State;
  std::shared_ptr<const State> state_;
};

}  // namespace ai_core

namespace std {
/// Lets `ErrorCode` convert implicitly to `std::error_code`.
template <>
struct is_error_code_enum<ai_core::ErrorCode> : true_type {};
}  // namespace std
