#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command: sets up, builds, and runs the whole CTest suite (GPU tests, label
# `cuda`, skip with a message on a machine without a GPU); then the Python package
# (scripts/python.sh: built with pip/scikit-build-core, reusing the objects above through ccache,
# then its pytest suite); then the plain CMake path (scripts/plain_cmake.sh: a fresh folder, no
# TORCH_CUDA_ARCH_LIST, no other variable, then install); then the reliability stage
# (scripts/reliability.sh: ASan+UBSan suite, TSan concurrency tests, bounded fuzzing).
# Arguments go to ctest and run the main suite only. AI_CORE_SKIP_PYTHON=1,
# AI_CORE_SKIP_PLAIN_CMAKE=1 and AI_CORE_SKIP_RELIABILITY=1 skip a stage.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "${JOBS:-$(nproc)}" "$@"
[ $# -eq 0 ] || exit 0
if [ -z "${AI_CORE_SKIP_PYTHON:-}" ]; then
  scripts/python.sh
fi
if [ -z "${AI_CORE_SKIP_PLAIN_CMAKE:-}" ]; then
  scripts/plain_cmake.sh
fi
if [ -z "${AI_CORE_SKIP_RELIABILITY:-}" ]; then
  scripts/reliability.sh
fi
