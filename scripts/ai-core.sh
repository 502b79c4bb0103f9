#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's main-job command: sets up, builds, then runs the ai-core tool. With no arguments it
# runs `ai-core doctor` then `ai-core demo`; otherwise it passes its arguments to the tool.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >&2
tool="${BUILD_DIR:-build}/bin/ai-core"
if [ $# -gt 0 ]; then exec "$tool" "$@"; fi
"$tool" doctor
if "$tool" demo --help >/dev/null 2>&1; then "$tool" demo; fi
