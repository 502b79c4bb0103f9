#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The plain CMake path, exactly as a user types it (README, "Using it"): a fresh build folder, torch
# found through CMAKE_PREFIX_PATH, no TORCH_CUDA_ARCH_LIST and no other variable; build everything
# the top-level project builds; install; run the installed tool. Fails if any step does.
#   scripts/plain_cmake.sh [folder]     (default build-plain/, removed first; prefix: <folder>-prefix/)
# Two environment variables change how the build is driven, never what is compiled, so that CI can
# afford this stage: ccache through CMake's CMAKE_<LANG>_COMPILER_LAUNCHER variables (with
# CCACHE_BASEDIR), and Ninja through CMAKE_GENERATOR when it is installed. With the folder at the
# same depth as scripts/build.sh's build/, the compile commands of every C++ file are the same as
# there, so ccache serves them; the CUDA files are compiled for this path's own architectures.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-plain}
prefix="$dir-prefix"
rm -rf "$dir" "$prefix"
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
unset TORCH_CUDA_ARCH_LIST CUDAARCHS CMAKE_BUILD_TYPE CMAKE_GENERATOR
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_CUDA_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR="$(pwd)" CCACHE_NOHASHDIR=1
fi
command -v ninja >/dev/null 2>&1 && export CMAKE_GENERATOR=Ninja
export CMAKE_BUILD_PARALLEL_LEVEL=${JOBS:-$(nproc)}
start=$SECONDS
cmake -S . -B "$dir" -DCMAKE_PREFIX_PATH="$torch_prefix"
cmake --build "$dir"
cmake --install "$dir" --prefix "$prefix"
"$prefix/bin/ai-core" doctor >/dev/null
echo "plain CMake path: configure, build, install and run took $((SECONDS - start)) s"
