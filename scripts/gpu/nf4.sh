#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# NF4 on the GPU (examples/nf4): the CUDA tests (double quantization included), the CUDA
# benchmarks (the fused double-quant dequantize against libtorch ops and a copy), and the
# comparison with bitsandbytes in one process (examples/nf4/python/compare_bitsandbytes.py:
# codes/absmax/values equality, import and export, then the timing table, printed last).
#   $1: an already-configured CUDA build directory (default build-gpu).
#   bitsandbytes must be importable (e.g. PYTHONPATH=/tmp/site after
#   `pip install --target /tmp/site bitsandbytes-0.50.2-*.whl`); without it that step is skipped.
#   Logs go to ${OUT:-/tmp/out}. Takes about 1-2 minutes on an H100 after the build.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build-gpu}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
rc=0

cmake --build "$BUILD" --target ai_core_nf4 nf4_quantizer_cuda_test nf4_quantizer_test \
  nf4_benchmark ai_core_nf4_capi -- -j"$(nproc)" >"$OUT/nf4-build.log" 2>&1 ||
  { tail -n 40 "$OUT/nf4-build.log"; echo "nf4 build FAILED"; exit 1; }

"$BUILD/examples/nf4/nf4_quantizer_cuda_test" >"$OUT/nf4-cuda-test.log" 2>&1 || rc=1
"$BUILD/examples/nf4/nf4_quantizer_test" >"$OUT/nf4-cpu-test.log" 2>&1 || rc=1
tail -n 3 "$OUT/nf4-cuda-test.log" "$OUT/nf4-cpu-test.log"

timeout 120 "$BUILD/examples/nf4/nf4_benchmark" --benchmark_filter='cuda|threads:16' \
  --benchmark_min_time=0.1 >"$OUT/nf4-bench.log" 2>&1 || rc=1
grep -E "^BM_" "$OUT/nf4-bench.log"

if python3 -c 'import bitsandbytes' >/dev/null 2>&1; then
  timeout 150 python3 examples/nf4/python/compare_bitsandbytes.py \
    "$BUILD/examples/nf4/libai_core_nf4_capi.so" --device cuda 2>&1 |
    grep -v "kernels-community\|triton not found" | tee "$OUT/nf4-bnb.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
else
  echo "bitsandbytes not importable: comparison skipped (set PYTHONPATH to the wheel's site dir)"
  rc=1
fi
exit $rc
