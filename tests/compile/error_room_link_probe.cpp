// SPDX-License-Identifier: MIT
// Must NOT link (tests/compile/CMakeLists.txt, error_room_link_probe_fails_test): built like
// error_room_link_test, against the ai_core library alone, but it calls c10::Device::str(), which
// lives in libc10. Its link failure shows that error_room_link_test would fail if the error room
// needed a library of libtorch's.
#include <ai_core/error.hpp>

#include <cstdio>

int main() {
  const ai_core::CoreError error =
      ai_core::CoreError::device_not_available(c10::Device(c10::DeviceType::CUDA, 3));
  std::puts(error.device_info()->device.str().c_str());
  return 0;
}
