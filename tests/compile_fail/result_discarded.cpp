// SPDX-License-Identifier: MIT
// Misuse: discarding a Result (Expected is [[nodiscard]]) must not compile where warnings are
// errors; the diagnostic is made an error here so the test does not depend on the flags.
#pragma GCC diagnostic error "-Wunused-result"
#include <ai_core/expected.hpp>

ai_core::Result<int> parse(int x) { return x; }

void caller() { parse(1); }
