#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The one script a GPU user runs: configures and builds ai_core with CUDA, runs the whole test
# suite (the `cuda` tests included), the `cuda` tests again under compute-sanitizer (memcheck and
# racecheck), the benchmarks, and `ai-core doctor` / `ai-core demo`; prints a summary table last.
# Logs and benchmark JSON go to $OUT (default /tmp/ai-core-gpu).
#
# It assumes the machine already has the toolchain, libtorch (python3's torch), spdlog, fmt,
# GoogleTest, Google Benchmark and CLI11 (see docs/gpu.md); it installs nothing.
#   Env: BUILD_DIR (build-gpu), TORCH_CUDA_ARCH_LIST (9.0), SKIP_SANITIZER=1, SKIP_BENCH=1,
#        SANITIZER_TIMEOUT (240 s per binary and tool),
#        BENCH_FILTER (a --benchmark_filter regex), BENCH_MIN_TIME (0.2 seconds),
#        RACECHECK_SKIP (regex of binaries racecheck leaves out), SKIP_TESTS=1, SKIP_MODULES=1, MODULES (names of scripts/gpu/*.sh to run; default all), MODULE_TIMEOUT (300 s).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/ai-core-gpu}
mkdir -p "$OUT"
BUILD_DIR=${BUILD_DIR:-build-gpu}
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
declare -a SUMMARY=()
note() { SUMMARY+=("$(printf '%-44s %s' "$1" "$2")"); }
step() { echo; echo "=== $* ==="; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee "$OUT/gpu.txt"
card=$(head -n1 "$OUT/gpu.txt")

step configure + build
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
t0=$(date +%s)
if ! cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAI_CORE_WITH_CUDA=ON \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_HOST_COMPILER="$(command -v g++)" \
      >"$OUT/configure.log" 2>&1; then
  tail -n 60 "$OUT/configure.log"; echo "configure FAILED"; exit 1
fi
# -k 0: build everything that can be built, so one broken target still leaves the others' results.
if cmake --build "$BUILD_DIR" --parallel "$(nproc)" -- -k 0 >"$OUT/build.log" 2>&1; then
  note "build (CUDA on)" "ok in $(( $(date +%s) - t0 )) s"
else
  grep -E "error|FAILED" "$OUT/build.log" | head -n 40
  note "build (CUDA on)" "FAILED (see build.log); testing what was built"
  build_failed=1
fi

if [ -z "${SKIP_TESTS:-}" ]; then
step ctest: the whole suite
ctest --test-dir "$BUILD_DIR" --output-on-failure --parallel 8 --timeout 900 >"$OUT/ctest.log" 2>&1
rc=$?
grep -E "tests passed|tests failed|Not Run|Failed|\(Skipped\)" "$OUT/ctest.log" | tail -n 20
note "ctest, all tests" "$(grep -E 'tests passed' "$OUT/ctest.log" | tail -n1) (rc=$rc)"
ctest --test-dir "$BUILD_DIR" -L cuda --output-on-failure >"$OUT/ctest-cuda.log" 2>&1
note "ctest -L cuda" "$(grep -E 'tests passed' "$OUT/ctest-cuda.log" | tail -n1)"
fi

if [ -z "${SKIP_SANITIZER:-}" ]; then
  step compute-sanitizer on the cuda tests
  mapfile -t cuda_tests < <(ctest --test-dir "$BUILD_DIR" -L cuda --show-only=json-v1 | python3 -c '
import json, sys
for t in json.load(sys.stdin)["tests"]:
    cmd = t.get("command") or []
    # GoogleTest binaries only (not the ai-core tool runs or the Python script), one per binary.
    if cmd and cmd[0].endswith("_test") and len(cmd) == 1:
        print(cmd[0])' | sort -u)
  for tool in memcheck racecheck; do
    clean=0; dirty=0
    for exe in "${cuda_tests[@]}"; do
      # racecheck follows every shared-memory access of every kernel: on a whole training step of
      # cuBLAS and torch kernels (qlora_memory_cuda_test) it outlasts any bound; memcheck covers it.
      if [ "$tool" = racecheck ] && grep -qE "${RACECHECK_SKIP:-qlora_memory_cuda_test}" <<<"$exe"; then
        continue
      fi
      log="$OUT/sanitizer.log"
      # application-only: a test's deliberately faulting child process (reliability_cuda_test)
      # is not the code under test; --report-api-errors no: tests provoke CUDA API errors on purpose
      # (out of memory, invalid launches) and assert them.
      if timeout "${SANITIZER_TIMEOUT:-240}" compute-sanitizer --tool "$tool" --error-exitcode 99 --print-limit 20 \
           --target-processes application-only --report-api-errors no "$exe" >>"$log" 2>&1; then
        clean=$((clean + 1))
      else
        dirty=$((dirty + 1)); echo "compute-sanitizer $tool: $(basename "$exe") NOT clean"
      fi
    done
    note "compute-sanitizer $tool" "$clean clean, $dirty not clean (${#cuda_tests[@]} binaries)"
  done
fi

step ai-core doctor / demo
"$BUILD_DIR/bin/ai-core" doctor 2>&1 | tee "$OUT/doctor.txt"
note "ai-core doctor" "rc=${PIPESTATUS[0]}"
if "$BUILD_DIR/bin/ai-core" demo --help >/dev/null 2>&1; then
  "$BUILD_DIR/bin/ai-core" demo 2>&1 | tee "$OUT/demo.txt"
  note "ai-core demo" "rc=${PIPESTATUS[0]}"
fi

if [ -z "${SKIP_BENCH:-}" ]; then
  step benchmarks
  for exe in $(find "$BUILD_DIR" -type f -perm -u+x -name '*_benchmark' | sort); do
    name=$(basename "$exe")
    "$exe" --benchmark_min_time="${BENCH_MIN_TIME:-0.2}" --benchmark_repetitions=3 \
           --benchmark_report_aggregates_only=true ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"} \
           --benchmark_out="$OUT/$name.json" --benchmark_out_format=json 2>&1 | tee -a "$OUT/bench.txt" |
      grep -E "_median|^BM_" | grep -v -E "_mean|_stddev|_cv" || true
    note "benchmark $name" "rc=${PIPESTATUS[0]}"
  done
fi

# Module scripts: scripts/gpu/<module>.sh "$BUILD_DIR" checks what one module needs a GPU for
# (several cards, a carried wheel, a measurement) and prints its own short table last.
if [ -z "${SKIP_MODULES:-}" ]; then
  for script in scripts/gpu/*.sh; do
    [ -e "$script" ] || continue
    name=$(basename "$script" .sh)
    [ -n "${MODULES:-}" ] && ! grep -qw "$name" <<<"$MODULES" && continue
    step "module $name"
    timeout "${MODULE_TIMEOUT:-300}" bash "$script" "$BUILD_DIR" >"$OUT/module-$name.log" 2>&1
    rc=$?
    tail -n "${MODULE_TAIL:-25}" "$OUT/module-$name.log"
    note "module $name" "rc=$rc"
  done
fi

echo
echo "=== summary ($card) ==="
printf '%s\n' "${SUMMARY[@]}"
[ -z "${build_failed:-}" ]
