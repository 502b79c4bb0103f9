// SPDX-License-Identifier: MIT
// Misuse: Result<T&> (like std::expected, Expected holds objects; return a pointer instead).
#include <ai_core/expected.hpp>

int value = 0;
ai_core::Result<int&> ref() { return value; }
