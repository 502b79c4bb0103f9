// SPDX-License-Identifier: MIT
// The compiled part of <ai_core/torch_error.hpp>: what libtorch's errors and other C++ exceptions
// become at ai_core's boundary. The error room (src/error.cpp) knows nothing of c10; the c10
// classes and the messages of libtorch's allocators are read here.
#include <ai_core/error.hpp>
#include <ai_core/str_cat.hpp>
#include <ai_core/torch_error.hpp>

#include <charconv>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <typeinfo>

#if __has_include(<cxxabi.h>)
#  include <cxxabi.h>
#  define AI_CORE_INTERNAL_HAS_CXXABI 1
#else
#  define AI_CORE_INTERNAL_HAS_CXXABI 0
#endif

namespace ai_core {
namespace {

// Reads N from "... allocate N bytes ..." (c10's CPU allocator states the exact size); returns
// nothing for other phrasings (the CUDA caching allocator rounds to "20.00 GiB", which is not a
// byte count we could report exactly).
std::optional<std::uint64_t> exact_bytes_in(const std::string& message) {
  static constexpr std::string_view kPrefix = "allocate ";
  for (std::size_t at = message.find(kPrefix); at != std::string::npos;
       at = message.find(kPrefix, at + 1)) {
    const char* first = message.data() + at + kPrefix.size();
    const char* last = message.data() + message.size();
    std::uint64_t bytes = 0;
    const auto [ptr, ec] = std::from_chars(first, last, bytes);
    if (ec == std::errc() &&
        std::string_view(ptr, static_cast<std::size_t>(last - ptr)).starts_with(" bytes")) {
      return bytes;
    }
  }
  return std::nullopt;
}

// Note [CPU allocation failures]
// libtorch 2.11's CPU allocator reports a failed allocation with a plain c10::Error ("[enforce
// fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to
// allocate N bytes. Error code 12 (Cannot allocate memory)"), not with c10::OutOfMemoryError as
// the CUDA allocator does. It is recognized by the allocator's message, so both become
// out_of_memory; the c10 kind stays in torch_info().
bool is_allocation_failure(std::string_view kind, std::string_view message) {
  return kind == "c10::OutOfMemoryError" ||
         message.find("DefaultCPUAllocator: can't allocate memory") != std::string_view::npos ||
         message.find("DefaultCPUAllocator: not enough memory") != std::string_view::npos;
}

}  // namespace

CoreError from_c10_error(std::string kind, std::string message,
                         std::optional<std::int32_t> accelerator_error,
                         std::source_location location) {
  const bool allocation_failure = is_allocation_failure(kind, message);
  CoreError error =
      CoreError::torch(std::move(kind), std::move(message), accelerator_error, location);
  if (!allocation_failure) return error;
  TorchInfo info = *error.torch_info();
  if (auto bytes = exact_bytes_in(info.message)) info.memory = MemoryInfo{bytes, std::nullopt};
  return CoreError::from_code(ErrorCode::out_of_memory, error.message(), std::move(info), location);
}

namespace detail {

std::string exception_type_name(const std::exception& error) {
  const char* mangled = typeid(error).name();
#if AI_CORE_INTERNAL_HAS_CXXABI
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  if (status == 0 && demangled) return demangled.get();
#endif
  return mangled;
}

CoreError from_std_exception(const std::exception& error, std::source_location location) {
  if (dynamic_cast<const std::bad_alloc*>(&error) != nullptr) {
    return CoreError::out_of_memory(str_cat("allocation failed (", error.what(), ")"), {}, {},
                                    location);
  }
  if (const auto* system = dynamic_cast<const std::system_error*>(&error)) {
    return CoreError::from_system_error(*system, location);
  }
  // A logic_error (invalid_argument, out_of_range, domain_error, length_error) reports an
  // argument outside what the callee accepts: the closest code is invalid_config. Anything else
  // (runtime_error, a library's own exception) says nothing ai_core could classify.
  const ErrorCode code = dynamic_cast<const std::logic_error*>(&error) != nullptr
                             ? ErrorCode::invalid_config
                             : ErrorCode::unknown;
  return CoreError::from_code(code, str_cat(exception_type_name(error), ": ", error.what()),
                              location);
}

CoreError from_unknown_exception(std::source_location location) {
  return CoreError::from_code(ErrorCode::unknown,
                              "an exception not derived from std::exception was thrown", location);
}

}  // namespace detail
}  // namespace ai_core
