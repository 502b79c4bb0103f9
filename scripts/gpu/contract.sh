#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GPU checks of the zero-copy contract and the device-index rule, and the interop benchmark goals
# measured robustly. Usage: scripts/gpu/contract.sh <configured CUDA build dir>; logs in
# ${OUT:-/tmp/out}; prints a table last. Under 3 minutes on an H100.
#   - interop/dlpack/device tests with the GPU present (the DeviceIndexTest rows drive torch's
#     device guard and allocator with ordinals the driver does not have: no exception may escape);
#   - interop_cuda_test and device_cuda_test;
#   - the borrowing and owning benchmarks, read-only and writable, 10 repetitions in random
#     interleaving (each repetition of each benchmark in a random order, so drift of the host's
#     clock or a neighbour's load hits both sides of a ratio alike); medians and minimums.
set -uo pipefail
BUILD=${1:?usage: scripts/gpu/contract.sh <configured CUDA build dir>}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
cmake --build "$BUILD" --target interop_test dlpack_test device_test interop_cuda_test \
  device_cuda_test bad_input_test interop_benchmark -- -j"$(nproc)" >"$OUT/contract_build.log" 2>&1 \
  || { tail -n 40 "$OUT/contract_build.log"; echo "build FAILED"; exit 1; }
declare -a rows=()
for t in interop_test dlpack_test device_test bad_input_test interop_cuda_test device_cuda_test; do
  timeout 120 "$BUILD/tests/$t" >"$OUT/$t.log" 2>&1
  case $? in
    0) rows+=("$t ok") ;;
    77) rows+=("$t skipped: no GPU") ;;
    *) rows+=("$t FAILED ($OUT/$t.log)") ;;
  esac
done
timeout 120 "$BUILD/benchmarks/interop_benchmark" \
  --benchmark_filter='BM_Borrow_|BM_Own_' --benchmark_min_time=0.05 \
  --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true \
  --benchmark_format=json --benchmark_out="$OUT/interop_benchmark.json" \
  --benchmark_out_format=json >"$OUT/interop_benchmark.log" 2>&1 || rows+=("interop_benchmark FAILED")
python3 - "$OUT/interop_benchmark.json" <<'PY' >"$OUT/interop_ratios.txt" 2>&1
import json, statistics, sys
runs = [b for b in json.load(open(sys.argv[1]))["benchmarks"]
        if b.get("run_type") == "iteration" and not b.get("error_occurred")]
by = {}
for b in runs:
    by.setdefault(b["run_name"], []).append(b["cpu_time"])
med = {k: statistics.median(v) for k, v in by.items()}
low = {k: min(v) for k, v in by.items()}
def ratio(a, b):
    if a in med and b in med and med[b] > 0 and low[b] > 0:
        print(f"{a} / {b}: median {med[a]:.1f}/{med[b]:.1f} ns = {med[a]/med[b]:.2f}x, "
              f"min {low[a]:.1f}/{low[b]:.1f} ns = {low[a]/low[b]:.2f}x")
hand = "BM_Borrow_HandMadeViewWithStream_Cuda"
ratio("BM_Borrow_AsCudaBufferReadOnly_Cuda", hand)   # goal <= 0.5x
ratio("BM_Borrow_AsCudaBuffer_Cuda", hand)           # writable: + version bump
ratio("BM_Own_MakeCudaBufferReadOnly_Cuda", "BM_Own_ToDLPackAndDelete_Cuda")  # goal <= 1.0x
ratio("BM_Own_MakeCudaBuffer_Cuda", "BM_Own_ToDLPackAndDelete_Cuda")
ratio("BM_Borrow_AsHostBufferReadOnly_Cpu", "BM_Borrow_HandMadeView_Cpu")
ratio("BM_Own_MakeHostBufferReadOnly_Cpu", "BM_Own_ToDLPackAndDelete_Cpu")
ratio("BM_Own_MakeHostBuffer_Cpu", "BM_Own_ToDLPackAndDelete_Cpu")
PY
echo; echo "=== contract (GPU) ==="
nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1
for r in "${rows[@]}"; do echo "  $r"; done
sed 's/^/  /' "$OUT/interop_ratios.txt"
