#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sets up (scripts/setup.sh), configures once and builds incrementally into build/ (or $BUILD_DIR).
# Extra arguments go to the CMake configure step on the first configure.
set -euo pipefail
cd "$(dirname "$0")/.."
"$(pwd)/scripts/setup.sh"
BUILD_DIR=${BUILD_DIR:-build}
# nvcc targets the H100/H200 (sm_90) unless told otherwise; without it, torch's CMake compiles for
# every architecture it knows on a machine with no GPU to detect.
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
# ccache, when present, with paths made relative to the checkout so that another clone of the same
# sources on this machine (CI's) reuses the objects.
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$(pwd)" CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} "${launcher[@]}" "$@"
fi
cmake --build "$BUILD_DIR" --parallel "${JOBS:-$(nproc)}"
