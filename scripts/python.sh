#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Python stage of the README's test command: builds the package `ai_core` with pip through
# scikit-build-core (the library and the operator library only: no C++ tests, benchmarks or tools;
# build-python/, incremental; ccache reuses the objects scripts/build.sh compiled), installs it into
# build-python/site (not into the interpreter's site-packages) and runs its pytest suite there.
# Extra arguments go to pytest. PYTHON picks the interpreter (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
SITE=${AI_CORE_PYTHON_SITE:-$(pwd)/build-python/site}
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
export CMAKE_BUILD_PARALLEL_LEVEL=${JOBS:-$(nproc)}
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$(pwd)" CCACHE_NOHASHDIR=1
  export CMAKE_ARGS="${CMAKE_ARGS:-} -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache"
  # ccache tells compilers apart by the name they are called by: use the one build/ was configured
  # with, so that the core's objects are shared with it.
  if [ -z "${CXX:-}" ] && [ -f "${BUILD_DIR:-build}/CMakeCache.txt" ]; then
    CXX=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "${BUILD_DIR:-build}/CMakeCache.txt")
    [ -n "$CXX" ] && export CXX
  fi
fi
start=$(date +%s)
"$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-build-isolation \
  --no-deps --upgrade --target "$SITE" .
echo "[python] package built and installed into $SITE in $(( $(date +%s) - start )) s"
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
start=$(date +%s)
status=0
"$PY" -m pytest -q -p no:cacheprovider python/tests "$@" || status=$?
echo "[python] pytest finished in $(( $(date +%s) - start )) s (exit $status)"
exit $status
