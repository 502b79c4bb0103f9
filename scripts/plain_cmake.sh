#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The plain CMake path, exactly as a user types it (README, "Using it"): a fresh build folder, torch
# found through CMAKE_PREFIX_PATH, no TORCH_CUDA_ARCH_LIST and no other variable; build everything
# the top-level project builds; install; run the installed tool. Fails if any step does.
#   scripts/plain_cmake.sh [folder]     (default build-plain/, removed first)
# ccache, when present, is used through CMake's CMAKE_<LANG>_COMPILER_LAUNCHER environment
# variables and CCACHE_BASEDIR: they change which compiler runs, not what it is asked to compile,
# and keep a repeated run (CI's) incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-plain}
rm -rf "$dir"
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
unset TORCH_CUDA_ARCH_LIST CUDAARCHS CMAKE_BUILD_TYPE CMAKE_GENERATOR
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_CUDA_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR="$(pwd)" CCACHE_NOHASHDIR=1
fi
# Parallel build steps (the default generator builds one at a time): no effect on what is built.
export CMAKE_BUILD_PARALLEL_LEVEL=${JOBS:-$(nproc)}
start=$SECONDS
cmake -S . -B "$dir/b" -DCMAKE_PREFIX_PATH="$torch_prefix"
cmake --build "$dir/b"
cmake --install "$dir/b" --prefix "$dir/p"
"$dir/p/bin/ai-core" doctor >/dev/null
echo "plain CMake path: configure, build, install and run took $((SECONDS - start)) s"
