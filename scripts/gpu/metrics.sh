#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GPU checks of the precision/memory/metrics module, in one go (< 3 minutes on an H100):
#   1. qlora_memory_cuda_test: Llama-3-8B-shaped blocks (4 of them) with NF4 weights and LoRA
#      adapters, two AdamW steps; estimate_qlora_memory against the caching allocator per
#      component (goals: weights, constants, adapters, gradients, optimizer state within 2%; the
#      step's allocated peak within 10%), plus memory_stats / reset_peak_memory_stats / the OOM
#      view on a real device;
#   2. precision_test, memory_test, metrics_test (also on this machine's real probe);
#   3. memory_benchmark (memory_stats on cuda:0 with and without the driver query, next to
#      torch's getDeviceStats; the tracker; log_metric);
#   4. the typed allocator view of a 1 TiB allocate_output_buffer failure (reliability_cuda_test)
#      and `ai-core estimate --fit cuda:0` (the largest llama3-8b batch for the card's free memory).
# Usage: scripts/gpu/metrics.sh BUILD_DIR   (a configured CUDA build, e.g. build-gpu)
# Logs go to ${OUT:-/tmp/out}; a short table is printed last.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:?usage: scripts/gpu/metrics.sh BUILD_DIR (a configured CUDA build folder)}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
status=0

cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target qlora_memory_cuda_test precision_test \
  memory_test metrics_test memory_benchmark ai_core_cli reliability_cuda_test \
  >"$OUT/metrics_build.log" 2>&1 ||
  { echo "build failed: $OUT/metrics_build.log"; tail -30 "$OUT/metrics_build.log"; exit 1; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$OUT/metrics_gpu.txt" 2>&1
timeout 300 "$BUILD_DIR/tests/qlora_memory_cuda_test" >"$OUT/qlora_memory.log" 2>&1 || status=1
for t in precision_test memory_test metrics_test; do
  timeout 120 "$BUILD_DIR/tests/$t" >"$OUT/$t.log" 2>&1 || { status=1; echo "$t FAILED ($OUT/$t.log)"; }
done
timeout 120 "$BUILD_DIR/benchmarks/memory_benchmark" --benchmark_min_time=0.2 \
  --benchmark_out="$OUT/memory_benchmark.json" --benchmark_out_format=json \
  >"$OUT/memory_benchmark.log" 2>&1 || status=1
"$BUILD_DIR/bin/ai-core" estimate --model llama3-8b >"$OUT/estimate.txt" 2>&1 || status=1
timeout 120 "$BUILD_DIR/tests/reliability_cuda_test" --gtest_filter='*OneTebibyteOutput*' \
  >"$OUT/oom_view.log" 2>&1 || status=1
"$BUILD_DIR/bin/ai-core" estimate --model llama3-8b --fit cuda:0 --seqs 512,2048 --json \
  >"$OUT/estimate_fit.json" 2>"$OUT/estimate_fit.log" || status=1
fit=$(python3 - "$OUT/estimate_fit.json" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = ["seq %s: batch %s" % (r["sequence_length"], r["max_batch"]) for r in d["fits"]]
print(" ".join(rows), "(%.1f GiB free)" % (d["budget_bytes"] / 2**30))
PY
) ||
  { status=1; fit="no JSON: $OUT/estimate_fit.log"; }

# The table last, at most 25 lines (gpu.sh shows the tail of each module's log).
echo "card: $(head -n1 "$OUT/metrics_gpu.txt"), $(date -u +%Y-%m-%d)"
for t in precision_test memory_test metrics_test; do
  printf '%-16s %s\n' "$t" "$(grep -E '^\[  (PASSED|FAILED) ' "$OUT/$t.log" | head -1)"
done
printf '%-16s %s; --fit cuda:0 llama3-8b %s\n' "oom view" \
  "$(grep -E '^\[  (PASSED|FAILED) ' "$OUT/oom_view.log" | head -1)" "$fit"
echo "--- benchmarks (wall, cpu) ---"
grep -E '^BM_(MemoryStats|TorchGetDeviceStats|MemoryTracker|MetricsLogger)' "$OUT/memory_benchmark.log" |
  awk '{printf "%-52s %9s %s %9s %s\n", $1, $2, $3, $4, $5}'
echo "--- estimate vs caching allocator (qlora_memory_cuda_test) ---"
grep -E '^(component|quantized|quantization|unquantized|adapter|optimizer|kept|step_peak)' \
  "$OUT/qlora_memory.log" || tail -12 "$OUT/qlora_memory.log"
grep -E '^\[  (PASSED|FAILED) ' "$OUT/qlora_memory.log"
exit $status
