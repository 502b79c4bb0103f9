#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The reliability stage of CI (sanitizers, fuzzing, the bad-input suite), run by scripts/test.sh
# after the main suite. Each stage has its own build folder and builds incrementally:
#   asan    g++ -fsanitize=address,undefined: the CPU test suite (build-asan/)
#   tsan    g++ -fsanitize=thread: the tests labelled `concurrency` (build-tsan/)
#   fuzz    clang++ libFuzzer + ASan/UBSan: every fuzz target for FUZZ_SECONDS from its checked-in
#           seed corpus (build-fuzz/); a crash or sanitizer report fails the stage
# Usage: scripts/reliability.sh [asan] [tsan] [fuzz]     (no argument: all three)
# libtorch is not instrumented; the suppression files in tests/sanitizers/ say why each line exists.
# Note [reliability scope]: the stage must keep CI (main suite + this) well under 30 minutes on the
# 2-core machine, so it builds only what it runs; docs/reliability.md has the measured times.
set -euo pipefail
cd "$(dirname "$0")/.."
stages=("$@"); [ ${#stages[@]} -eq 0 ] && stages=(asan tsan fuzz)
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
JOBS=${JOBS:-$(nproc)}
supp="$(pwd)/tests/sanitizers"
common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAI_CORE_WITH_CUDA=OFF
        -DAI_CORE_BUILD_BENCHMARKS=OFF -DAI_CORE_BUILD_TOOLS=OFF -DAI_CORE_INSTALL=OFF)
# ccache, as in scripts/build.sh: another clone on this machine (CI's) reuses the objects.
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$(pwd)" CCACHE_NOHASHDIR=1
  common+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# g++ 12 with -fsanitize=address at -O2 reports -Wmaybe-uninitialized false positives (GCC PR
# 105562; here: a std::unique_ptr moved through std::tuple in Expected), which -Werror turns into
# build failures; the main build keeps the warning.
san_flags=(-DCMAKE_CXX_FLAGS=-Wno-maybe-uninitialized)

# Prints the build targets that the tests selected by `ctest <args>` in <dir> run: the file name
# of each test's executable (from the generated CTestTestfile.cmake files, which know it before it
# is built), when it is a target of the build (not cmake, sh, python3).
test_targets() {  # test_targets <dir> <ctest args...>
  local dir=$1; shift
  ctest --test-dir "$dir" "$@" --show-only=json-v1 |
    python3 -c '
import json, os, re, sys
dir, names = sys.argv[1], [t["name"] for t in json.load(sys.stdin)["tests"]]
exe = {}
for root, _, files in os.walk(dir):
    if "CTestTestfile.cmake" in files:
        for m in re.finditer(r"add_test\(\[=\[(.+?)\]=\] \"([^\"]+)\"", open(os.path.join(root, "CTestTestfile.cmake")).read()):
            exe[m.group(1)] = os.path.basename(m.group(2))
print("\n".join(sorted({exe[n] for n in names if n in exe})))' "$dir" |
    grep -Fxf <(ninja -C "$dir" -t targets all | sed -n 's/^\([A-Za-z0-9_.-]*\): .*/\1/p') || true
}

configure() {  # configure <dir> <args...>   (re-run on an existing folder: picks up new options)
  local dir=$1; shift
  cmake -S . -B "$dir" "${common[@]}" "$@" >/dev/null
}

for stage in "${stages[@]}"; do
  case "$stage" in
    asan)
      echo "=== reliability: ASan + UBSan test suite ==="
      configure build-asan -DAI_CORE_SANITIZE="address;undefined" "${san_flags[@]}"
      # Scope (CI time, Note [reliability scope]): the test executables only. The header
      # self-containment objects (tests/compile, `hygiene`), the compile-fail tests and the
      # packaging tests check compilation and installation, not run-time behaviour; the main
      # suite runs them. Test names are target names (ai_core_add_test).
      asan_skip="packaging|cuda|compile_fail|hygiene"
      mapfile -t targets < <(test_targets build-asan -LE "$asan_skip")
      cmake --build build-asan --parallel "$JOBS" --target "${targets[@]}"
      # allocator_may_return_null: the out-of-memory rows of the bad-input suite ask for more than
      # ASan's allocator serves; they must see a failed allocation (an error), not an ASan abort.
      ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:abort_on_error=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}" \
      LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0" \
      UBSAN_OPTIONS="suppressions=$supp/ubsan.supp:print_stacktrace=1:halt_on_error=1" \
        ctest --test-dir build-asan --output-on-failure --parallel "$JOBS" -LE "$asan_skip"
      ;;
    tsan)
      echo "=== reliability: TSan concurrency tests ==="
      configure build-tsan -DAI_CORE_SANITIZE="thread" "${san_flags[@]}"
      # Test names are target names (ai_core_add_test).
      mapfile -t targets < <(test_targets build-tsan -L concurrency)
      cmake --build build-tsan --parallel "$JOBS" --target "${targets[@]}"
      TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1" \
        ctest --test-dir build-tsan --output-on-failure -L concurrency
      ;;
    fuzz)
      echo "=== reliability: libFuzzer targets ==="
      # Note [fuzzing compiler]: the error layer uses std::source_location, which libstdc++ 12
      # provides only to compilers with __builtin_source_location: clang >= 15. Debian 12's
      # default clang is 14, so the stage takes FUZZ_CXX, else the newest clang++-N found
      # (Debian: apt-get install clang-16 libclang-rt-16-dev), and checks both requirements.
      fuzz_cxx=${FUZZ_CXX:-}
      if [ -z "$fuzz_cxx" ]; then
        for candidate in clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++; do
          command -v "$candidate" >/dev/null 2>&1 || continue
          echo '#include <source_location>
int main() { return static_cast<int>(std::source_location::current().line()) > 0 ? 0 : 1; }' |
            "$candidate" -std=c++20 -x c++ - -fsyntax-only >/dev/null 2>&1 || continue
          fuzz_cxx=$candidate; break
        done
      fi
      fuzzer_lib=$([ -n "$fuzz_cxx" ] && "$fuzz_cxx" -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)
      if [ -z "$fuzz_cxx" ] || [ ! -e "$fuzzer_lib" ]; then
        echo "SKIPPED fuzz stage: no clang++ >= 15 with libFuzzer (Debian 12: apt-get install clang-16 libclang-rt-16-dev)"
        continue
      fi
      echo "fuzzing with $fuzz_cxx"
      configure build-fuzz -DCMAKE_CXX_COMPILER="$fuzz_cxx" -DAI_CORE_BUILD_FUZZERS=ON \
        -DAI_CORE_BUILD_TESTS=OFF -DAI_CORE_BUILD_EXAMPLES=OFF -DAI_CORE_SANITIZE="address;undefined"
      cmake --build build-fuzz --parallel "$JOBS"
      ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:${ASAN_OPTIONS:-}" \
      LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0" \
      UBSAN_OPTIONS="suppressions=$supp/ubsan.supp:halt_on_error=1" \
        tests/fuzz/run_fuzzers.sh build-fuzz/tests/fuzz "${FUZZ_SECONDS:-20}"
      ;;
    *) echo "unknown stage: $stage" >&2; exit 2 ;;
  esac
done
