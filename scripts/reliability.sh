#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The reliability stage of CI (issue: sanitizers, fuzzing, bad-input suite), run by scripts/test.sh
# after the main suite. Each stage has its own build folder and builds incrementally:
#   asan    g++ -fsanitize=address,undefined: the CPU test suite (build-asan/)
#   tsan    g++ -fsanitize=thread: the tests labelled `concurrency` (build-tsan/)
#   fuzz    clang++ libFuzzer + ASan/UBSan: every fuzz target for FUZZ_SECONDS from its checked-in
#           seed corpus (build-fuzz/); a crash or sanitizer report fails the stage
# Usage: scripts/reliability.sh [asan] [tsan] [fuzz]     (no argument: all three)
# libtorch is not instrumented; the suppression files in tests/sanitizers/ say why each line exists.
set -euo pipefail
cd "$(dirname "$0")/.."
stages=("$@"); [ ${#stages[@]} -eq 0 ] && stages=(asan tsan fuzz)
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
JOBS=${JOBS:-$(nproc)}
supp="$(pwd)/tests/sanitizers"
common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAI_CORE_WITH_CUDA=OFF
        -DAI_CORE_BUILD_BENCHMARKS=OFF -DAI_CORE_BUILD_TOOLS=OFF -DAI_CORE_INSTALL=OFF)

configure() {  # configure <dir> <args...>
  local dir=$1; shift
  [ -f "$dir/CMakeCache.txt" ] || cmake -S . -B "$dir" "${common[@]}" "$@" >/dev/null
}

for stage in "${stages[@]}"; do
  case "$stage" in
    asan)
      echo "=== reliability: ASan + UBSan test suite ==="
      configure build-asan -DAI_CORE_SANITIZE="address;undefined"
      cmake --build build-asan --parallel "$JOBS"
      ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:abort_on_error=1:${ASAN_OPTIONS:-}" \
      LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0" \
      UBSAN_OPTIONS="suppressions=$supp/ubsan.supp:print_stacktrace=1:halt_on_error=1" \
        ctest --test-dir build-asan --output-on-failure --parallel "$JOBS" -LE "packaging|cuda"
      ;;
    tsan)
      echo "=== reliability: TSan concurrency tests ==="
      configure build-tsan -DAI_CORE_SANITIZE="thread"
      # Test names are target names (ai_core_add_test).
      mapfile -t targets < <(ctest --test-dir build-tsan -L concurrency --show-only=json-v1 |
        python3 -c 'import json,sys; [print(t["name"]) for t in json.load(sys.stdin)["tests"]]')
      cmake --build build-tsan --parallel "$JOBS" --target "${targets[@]}"
      TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1" \
        ctest --test-dir build-tsan --output-on-failure -L concurrency
      ;;
    fuzz)
      echo "=== reliability: libFuzzer targets ==="
      fuzzer_lib=$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)
      if [ ! -e "$fuzzer_lib" ]; then
        echo "SKIPPED fuzz stage: clang++ with libFuzzer not found (Debian: clang libclang-rt-14-dev)"
        continue
      fi
      configure build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DAI_CORE_BUILD_FUZZERS=ON \
        -DAI_CORE_BUILD_TESTS=OFF -DAI_CORE_BUILD_EXAMPLES=OFF -DAI_CORE_SANITIZE="address;undefined"
      cmake --build build-fuzz --parallel "$JOBS"
      ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:${ASAN_OPTIONS:-}" \
      LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0" \
      UBSAN_OPTIONS="suppressions=$supp/ubsan.supp:halt_on_error=1" \
        tests/fuzz/run_fuzzers.sh build-fuzz/tests/fuzz "${FUZZ_SECONDS:-30}"
      ;;
    *) echo "unknown stage: $stage" >&2; exit 2 ;;
  esac
done
