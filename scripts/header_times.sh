#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measures the parse time of each public header (and of the umbrella header) the way libtorch's
# are measured in docs/benchmarks.md: `g++ -std=c++20 -O0 -fsyntax-only` of a
# translation unit with one include, median of 3, next to <torch/torch.h> and <ATen/core/Tensor.h>
# on the same machine. Goals: umbrella <= 2.5 s; error.hpp and concepts.hpp alone <= 1.0 s.
#   Usage: scripts/header_times.sh [build-dir]   (the build dir holds the generated headers)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-${BUILD_DIR:-build}}
CXX=${CXX:-g++}
tinc=$(python3 -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec("torch").origin), "include"))')
flags=(-std=c++20 -O0 -fsyntax-only -D_GLIBCXX_USE_CXX11_ABI=1 -DAI_CORE_WITH_CUDA=1
       -Iinclude -I"$BUILD_DIR/include" -isystem "$tinc" -isystem "$tinc/torch/csrc/api/include")
cuda_inc=$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")/../include
[ -d "$cuda_inc" ] && flags+=(-isystem "$cuda_inc")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

measure() {  # measure <include>  -> median seconds of 3
  echo "#include <$1>" >"$tmp/tu.cpp"
  local runs=()
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$CXX" "${flags[@]}" "$tmp/tu.cpp" || return 1; e=$(date +%s.%N)
    runs+=("$(awk -v a="$s" -v b="$e" 'BEGIN { print b - a }')")
  done
  printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p
}

printf '| header | seconds |\n| --- | --- |\n'
for h in torch/torch.h ATen/core/Tensor.h c10/core/Device.h; do
  printf '| <%s> (reference) | %.2f |\n' "$h" "$(measure "$h")"
done
for f in include/ai_core/ai_core.hpp $(ls include/ai_core/*.hpp | grep -v ai_core.hpp); do
  h=${f#include/}
  printf '| <%s> | %.2f |\n' "$h" "$(measure "$h")"
done
