#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GPU check of the observability module (seeds, run metadata, tracing) on an already-configured
# CUDA build directory: builds its tests and benchmark, runs the observability tests (the `cuda`
# ones included: CUDA generators seeded and restored, timeline GPU durations against CUDA events
# timed by hand), trace_benchmark, and, when nsys is installed, an Nsight Systems capture that
# must show the ops' NVTX ranges. Prints a table last. Logs go to ${OUT:-/tmp/out}.
#   Usage: scripts/gpu/trace.sh <cuda-build-dir>      Env: BENCH_MIN_TIME (0.2 seconds)
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:?usage: scripts/gpu/trace.sh <configured CUDA build dir>}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
declare -a ROWS=()
row() { ROWS+=("$(printf '| %-44s | %-44s |' "$1" "$2")"); }

{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"; } | head -n1 | tee "$OUT/trace-gpu.txt"
if ! timeout 150 cmake --build "$BUILD_DIR" --target observability_test observability_cuda_test \
    trace_benchmark >"$OUT/trace-build.log" 2>&1; then
  grep -E "error|FAILED" "$OUT/trace-build.log" | head -n 30
  echo "build FAILED (see $OUT/trace-build.log)"
  exit 1
fi

# Tests: CPU and GPU binaries (the GPU one prints a [ TIMING ] line per kernel length).
timeout 120 ctest --test-dir "$BUILD_DIR" -R '^observability(_cuda)?_test$' --output-on-failure \
  -V >"$OUT/trace-ctest.log" 2>&1
rc=$?
row "ctest observability_test + _cuda_test" "$(grep -E 'tests passed' "$OUT/trace-ctest.log" | tail -n1) (rc=$rc)"
grep -q 'observability_cuda_test .*Skipped' "$OUT/trace-ctest.log" && row "observability_cuda_test" "SKIPPED: no GPU visible"
while read -r line; do
  # "[ TIMING   ] spin 2.0 ms: timeline 2.0012 ms, by hand 2.0031 ms, ratio 0.9990"
  row "timeline/by-hand GPU time, $(echo "$line" | sed -E 's/.*(spin [0-9.]+ ms).*/\1/')" \
      "$(echo "$line" | sed -E 's/.*ratio ([0-9.]+).*/ratio \1 (goal 0.95..1.05)/')"
done < <(grep -oE '\[ TIMING   \].*' "$OUT/trace-ctest.log")

# Benchmarks.
bin="$BUILD_DIR/benchmarks/trace_benchmark"
timeout 150 "$bin" --benchmark_min_time="${BENCH_MIN_TIME:-0.2}" \
  --benchmark_out="$OUT/trace_benchmark.json" --benchmark_out_format=json \
  >"$OUT/trace_benchmark.txt" 2>&1
row "trace_benchmark" "rc=$? (figures in trace_benchmark.txt)"
if [ -s "$OUT/trace_benchmark.json" ]; then
  while IFS= read -r line; do ROWS+=("$line"); done < <(python3 - "$OUT/trace_benchmark.json" <<'PY'
import json, sys
b = {x["name"]: x for x in json.load(open(sys.argv[1]))["benchmarks"]}
def ns(name):
    x = b.get(name)
    return None if x is None else x["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6}[x["time_unit"]]
def out(label, value):
    print("| %-44s | %-44s |" % (label, value))
def pair(a, b2):
    xs = [v for v in (ns(a), ns(a + "_Again")) if v is not None]
    ys = [v for v in (ns(b2), ns(b2 + "_Again")) if v is not None]
    return (min(xs), min(ys)) if xs and ys else (None, None)
traced, untraced = pair("BM_Dispatch_Cpu_Numel", "BM_DispatchUntraced_Cpu_Numel")
if traced is not None:
    out("dispatch CPU: traced(off) - untraced", "%+.2f ns (%.2f vs %.2f; goal <= 2 ns)" % (traced - untraced, traced, untraced))
if ns("BM_TraceRange_Off") is not None:
    out("TraceRange, every sink off", "%.2f ns (goal <= 2 ns)" % ns("BM_TraceRange_Off"))
if ns("BM_TraceRange_Nvtx") is not None:
    raw = ns("BM_NvtxRange_Raw")
    out("TraceRange, NVTX on (no tool)", "%.1f ns (raw NVTX %s; goal <= 100 ns)" % (ns("BM_TraceRange_Nvtx"), "n/a" if raw is None else "%.1f ns" % raw))
if ns("BM_TraceRange_Profiler") is not None:
    out("TraceRange, profiler on (no session)", "%.1f ns (RECORD_USER_SCOPE %.1f ns)" % (ns("BM_TraceRange_Profiler"), ns("BM_RecordFunction_Torch")))
if ns("BM_TraceRange_Timeline_Cpu") is not None:
    out("TraceRange, timeline on (CPU)", "%.1f ns" % ns("BM_TraceRange_Timeline_Cpu"))
gpu, direct = pair("BM_Dispatch_Gpu_EmptyKernel", "BM_DirectGpu_EmptyKernel")
if gpu is not None:
    out("dispatch GPU (off) / direct, empty kernel", "%.4fx (%.0f vs %.0f ns; goal <= 1.02x)" % (gpu / direct, gpu, direct))
    for sink in ("Nvtx", "Timeline"):
        v = ns("BM_Dispatch_Gpu_EmptyKernel_" + sink)
        if v is not None:
            out("dispatch GPU, %s on" % sink, "%.0f ns (+%.0f ns over off)" % (v, v - gpu))
PY
)
fi

# Nsight Systems: the NVTX ranges of dispatched ops must appear (nsys sets NVTX_INJECTION64_PATH,
# which switches the nvtx sink on by itself).
if command -v nsys >/dev/null 2>&1; then
  rm -f "$OUT/trace-nsys.nsys-rep" "$OUT/trace-nsys.sqlite"
  timeout 120 nsys profile -t nvtx,cuda -o "$OUT/trace-nsys" --force-overwrite true \
    "$BUILD_DIR/tests/observability_cuda_test" --gtest_filter='CudaTimelineTest.EverySinkOnACudaOp' \
    >"$OUT/trace-nsys.log" 2>&1
  # The report is nvtx_sum in nsys 2023 and later, nvtxsum before.
  timeout 60 nsys stats --report nvtx_sum "$OUT/trace-nsys.nsys-rep" >"$OUT/trace-nsys-stats.txt" 2>&1 ||
    timeout 60 nsys stats --report nvtxsum "$OUT/trace-nsys.nsys-rep" >"$OUT/trace-nsys-stats.txt" 2>&1
  if grep -q 'test::Spin (cuda:0)' "$OUT/trace-nsys-stats.txt"; then
    row "nsys: NVTX range 'test::Spin (cuda:0)'" "found"
  else
    row "nsys: NVTX range 'test::Spin (cuda:0)'" "NOT FOUND (see trace-nsys-stats.txt)"
  fi
else
  row "nsys" "not installed: NVTX check skipped"
fi

echo
printf '| %-44s | %-44s |\n' "check (card: $(head -n1 "$OUT/trace-gpu.txt"))" "result"
printf '| %-44s | %-44s |\n' "---" "---"
printf '%s\n' "${ROWS[@]}"
