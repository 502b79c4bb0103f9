#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command: sets up, builds, and runs the whole CTest suite (GPU tests, label
# `cuda`, skip with a message on a machine without a GPU); then the reliability stage
# (scripts/reliability.sh: ASan+UBSan suite, TSan concurrency tests, bounded fuzzing).
# AI_CORE_SKIP_RELIABILITY=1 runs the main suite only.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "${JOBS:-$(nproc)}" "$@"
# Between the two, the Python package (scripts/python.sh): built with pip/scikit-build-core, reusing
# the objects above through ccache, then its pytest suite. AI_CORE_SKIP_PYTHON=1 skips it.
if [ -z "${AI_CORE_SKIP_PYTHON:-}" ] && [ $# -eq 0 ]; then
  scripts/python.sh
fi
if [ -z "${AI_CORE_SKIP_RELIABILITY:-}" ] && [ $# -eq 0 ]; then
  scripts/reliability.sh
fi
