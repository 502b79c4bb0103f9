// SPDX-License-Identifier: MIT
// The compiled part of <ai_core/error.hpp> and <ai_core/str_cat.hpp>: the factories (message
// formatting stays out of every caller's code and out of the header), printing, the error
// category (one per process) and the Exception's key function. Like its headers it knows nothing
// of libtorch's exception classes or messages (src/torch_error.cpp does).
#include <ai_core/error.hpp>
#include <ai_core/str_cat.hpp>

#include <charconv>
#include <sstream>

namespace ai_core {
namespace {

std::string with_detail(std::string text, const std::string& detail) {
  if (!detail.empty()) {
    text += " (";
    text += detail;
    text += ')';
  }
  return text;
}

class ErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ai_core"; }
  std::string message(int value) const override {
    return std::string(ai_core::to_string(static_cast<ErrorCode>(value)));
  }
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<ErrorCode>(value)) {
      case ErrorCode::out_of_memory: return std::errc::not_enough_memory;
      case ErrorCode::invalid_config: return std::errc::invalid_argument;
      case ErrorCode::not_implemented: return std::errc::function_not_supported;
      default: return {value, *this};
    }
  }
};

}  // namespace

std::ostream& operator<<(std::ostream& os, ErrorCode code) { return os << to_string(code); }

const std::error_category& error_category() noexcept {
  static const ErrorCategory category;
  return category;
}

namespace detail {

const ErrorRep& moved_from_error_rep() noexcept {
  static const ErrorRep rep{ErrorCode::invalid_config,
                            "CoreError used after it was moved from",
                            std::source_location(),
                            {},
                            {}};
  return rep;
}

namespace {
template <class T>
void append_number(std::string& out, T value) {
  char buffer[64];
  const auto end = std::to_chars(buffer, buffer + sizeof(buffer), value).ptr;
  out.append(buffer, static_cast<std::size_t>(end - buffer));
}
}  // namespace

void append_signed(std::string& out, long long value) { append_number(out, value); }
void append_unsigned(std::string& out, unsigned long long value) { append_number(out, value); }
void append_float(std::string& out, float value) { append_number(out, value); }
void append_double(std::string& out, double value) { append_number(out, value); }

std::string stream_to_string(void (*write)(std::ostream&, const void*), const void* value) {
  std::ostringstream os;
  write(os, value);
  return std::move(os).str();
}

}  // namespace detail

CoreError CoreError::build(ErrorCode code, std::string message, ErrorPayload payload,
                           Location location) {
  return CoreError(
      new detail::ErrorRep{code, std::move(message), location, {}, std::move(payload)});
}

CoreError CoreError::from_code(ErrorCode code, std::string message, Location location) {
  return build(code, std::move(message), std::monostate{}, location);
}

CoreError CoreError::from_code(ErrorCode code, std::string message, ErrorPayload payload,
                               Location location) {
  return build(code, std::move(message), std::move(payload), location);
}

CoreError CoreError::invalid_config(std::string message, Location location) {
  return build(ErrorCode::invalid_config, std::move(message), std::monostate{}, location);
}

CoreError CoreError::shape_mismatch(std::vector<std::int64_t> expected,
                                    std::vector<std::int64_t> actual, std::string detail,
                                    Location location) {
  std::string message = with_detail(str_cat("expected ", expected, ", got ", actual), detail);
  return build(ErrorCode::shape_mismatch, std::move(message),
               ShapeInfo{std::move(expected), std::move(actual)}, location);
}

CoreError CoreError::dimension_mismatch(std::string message, Location location) {
  return build(ErrorCode::dimension_mismatch, std::move(message), std::monostate{}, location);
}

CoreError CoreError::device_not_available(c10::Device device, std::string detail,
                                          Location location) {
  return build(ErrorCode::device_not_available, with_detail(device.str(), detail),
               DeviceInfo{device, std::nullopt}, location);
}

CoreError CoreError::device_not_available(std::string description, Location location) {
  return build(ErrorCode::device_not_available, std::move(description), std::monostate{}, location);
}

CoreError CoreError::device_mismatch(c10::Device expected, c10::Device actual, std::string detail,
                                     Location location) {
  return build(ErrorCode::device_mismatch,
               with_detail(str_cat("expected ", expected, ", got ", actual), detail),
               DeviceInfo{actual, expected}, location);
}

CoreError CoreError::out_of_memory(std::string message,
                                   std::optional<std::uint64_t> requested_bytes,
                                   std::optional<std::uint64_t> free_bytes, Location location) {
  if (requested_bytes || free_bytes) {
    std::string bytes;
    if (requested_bytes) bytes = str_cat("requested ", *requested_bytes, " bytes");
    if (free_bytes) bytes += str_cat(bytes.empty() ? "" : ", ", *free_bytes, " bytes free");
    message = with_detail(std::move(message), bytes);
  }
  return build(ErrorCode::out_of_memory, std::move(message),
               MemoryInfo{requested_bytes, free_bytes}, location);
}

CoreError CoreError::kernel_error(std::string message, Location location) {
  return build(ErrorCode::kernel_error, std::move(message), std::monostate{}, location);
}

CoreError CoreError::cuda(int cuda_error_code, std::string cuda_error_name, std::string message,
                          Location location) {
  constexpr int kCudaErrorMemoryAllocation = 2;
  const ErrorCode code = cuda_error_code == kCudaErrorMemoryAllocation ? ErrorCode::out_of_memory
                                                                       : ErrorCode::kernel_error;
  message = with_detail(std::move(message), str_cat(cuda_error_name, " = ", cuda_error_code));
  return build(code, std::move(message), CudaInfo{cuda_error_code, std::move(cuda_error_name)},
               location);
}

CoreError CoreError::not_implemented(std::string feature, Location location) {
  return build(ErrorCode::not_implemented, std::move(feature), std::monostate{}, location);
}

CoreError CoreError::io(std::error_code error, std::string message, Location location) {
  std::string text = std::move(message);
  if (!text.empty()) text += ": ";
  text += str_cat(error.message(), " (", error.category().name(), ":", error.value(), ")");
  return build(ErrorCode::io, std::move(text), IoInfo{error}, location);
}

CoreError CoreError::from_errno(int errno_value, std::string message, Location location) {
  return io(std::error_code(errno_value, std::generic_category()), std::move(message), location);
}

CoreError CoreError::from_system_error(const std::system_error& error, Location location) {
  // std::system_error's what() is "<what_arg>: <code.message()>"; keep only the what_arg.
  std::string what = error.what();
  const std::string suffix = error.code().message();
  if (what.size() >= suffix.size() && what.ends_with(suffix)) {
    what.resize(what.size() - suffix.size());
    while (!what.empty() && (what.back() == ' ' || what.back() == ':')) what.pop_back();
  }
  return io(error.code(), std::move(what), location);
}

CoreError CoreError::torch(std::string kind, std::string message,
                           std::optional<std::int32_t> accelerator_error, Location location) {
  // c10 messages often end with a newline; keep the first line tidy.
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  std::string text = str_cat(kind, ": ", message);
  return build(ErrorCode::torch, std::move(text),
               TorchInfo{std::move(kind), std::move(message), accelerator_error, std::nullopt},
               location);
}

std::string CoreError::to_string() const {
  const auto& r = rep();
  std::string text = str_cat(ai_core::to_string(r.code), ": ", r.message);
  for (const auto& line : r.context) {
    text += "\n  ";
    text += line;
  }
  return text;
}

std::string CoreError::to_string_with_location() const {
  const auto& r = rep();
  std::string text = str_cat(ai_core::to_string(r.code), ": ", r.message);
  if (r.location.line() != 0) {
    text += str_cat(" [at ", r.location.file_name(), ":", r.location.line(), " in ",
                    r.location.function_name(), "]");
  }
  for (const auto& line : r.context) {
    text += "\n  ";
    text += line;
  }
  return text;
}

std::ostream& operator<<(std::ostream& os, const CoreError& error) {
  return os << error.to_string();
}

struct Exception::State {
  CoreError error;
  std::string what;
};

Exception::Exception(CoreError error) {
  std::string what = error.to_string();
  state_ = std::make_shared<const State>(State{std::move(error), std::move(what)});
}

Exception::~Exception() = default;

const CoreError& Exception::error() const noexcept { return state_->error; }

const char* Exception::what() const noexcept { return state_->what.c_str(); }

}  // namespace ai_core
