#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# On the GPU machine: builds the Python package ai_core with CUDA (pip + scikit-build-core,
# build-python/, installed into build-python/site: nothing installed system-wide, no network),
# runs the pytest suite with the GPU visible (the CUDA variants run), then the NF4 dequantize
# benchmark against bitsandbytes (rows "skipped" when bitsandbytes is not importable; install its
# wheel with `pip install --target /tmp/site` and PYTHONPATH=/tmp/site first).
# Usage: scripts/gpu/python.sh [BUILD_DIR]   (a configured CUDA build: its compiler is reused)
# Logs and JSON go to ${OUT:-/tmp/out}; a short table last. About 2-3 minutes on an H100.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
export BUILD_DIR=${1:-${BUILD_DIR:-build-gpu}}
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
PY=${PYTHON:-python3}

start=$(date +%s)
scripts/python.sh -rs > "$OUT/python-pytest.log" 2>&1
pytest_status=$?
pytest_seconds=$(( $(date +%s) - start ))
summary=$(grep -E "passed|failed|error" "$OUT/python-pytest.log" | tail -1)

export PYTHONPATH="$(pwd)/build-python/site${PYTHONPATH:+:$PYTHONPATH}"
"$PY" python/benchmarks/nf4_dequantize_benchmark.py --json "$OUT/python-benchmark.json" \
  > "$OUT/python-benchmark.log" 2>&1
bench_status=$?

echo "== ai_core Python package on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
echo "pytest (build + tests, ${pytest_seconds} s, exit ${pytest_status}): ${summary}"
grep -E "SKIPPED" "$OUT/python-pytest.log" | head -5
tail -n 8 "$OUT/python-benchmark.log"
echo "benchmark exit ${bench_status}; logs in $OUT"
[ "$pytest_status" -eq 0 ] && [ "$bench_status" -eq 0 ]
