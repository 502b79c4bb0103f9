#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command: sets up, builds, and runs the whole CTest suite. GPU tests (label
# `cuda`) skip with a message on a machine without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "${JOBS:-$(nproc)}" "$@"
