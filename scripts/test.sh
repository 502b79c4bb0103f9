#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command: sets up, builds, and runs the whole CTest suite (GPU tests, label
# `cuda`, skip with a message on a machine without a GPU); then the plain CMake path
# (scripts/plain_cmake.sh); then the reliability stage
# (scripts/reliability.sh: ASan+UBSan suite, TSan concurrency tests, bounded fuzzing).
# AI_CORE_SKIP_RELIABILITY=1 runs the main suite only.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "${JOBS:-$(nproc)}" "$@"
# The plain CMake path (fresh folder, no TORCH_CUDA_ARCH_LIST, no other variable), then install.
if [ $# -eq 0 ]; then
  scripts/plain_cmake.sh
fi
if [ -z "${AI_CORE_SKIP_RELIABILITY:-}" ] && [ $# -eq 0 ]; then
  scripts/reliability.sh
fi
