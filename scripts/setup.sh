#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what building ai_core needs on a fresh Debian 12 machine, and nothing when it is there:
#   Debian packages: cmake, ninja, g++, spdlog, fmt, GoogleTest, Google Benchmark, CLI11, clang-16
#   PyPI: torch==2.11.0 (CUDA 13.0 build), lean: its CUDA libraries come from the machine's CUDA
#         13.0 toolkit; only the three libraries the toolkit lacks are installed from PyPI.
# Idempotent and quiet when nothing is missing (about a second).
set -euo pipefail

TORCH_VERSION=2.11.0
# Each Debian package with what shows it is there (a command or a header), so that a machine that
# has the tools from elsewhere (the GPU machine: Ubuntu, no apt access) is left alone.
PACKAGES=(
  "cmake           cmd:cmake"
  "ninja-build     cmd:ninja"
  "g++             cmd:g++"
  "python3-pip     pip"
  "libspdlog-dev   hdr:spdlog/spdlog.h"
  "libfmt-dev      hdr:fmt/format.h"
  "libgtest-dev    hdr:gtest/gtest.h"
  "libgmock-dev    hdr:gmock/gmock.h"
  "libbenchmark-dev hdr:benchmark/benchmark.h"
  "libcli11-dev    hdr:CLI/CLI.hpp"
  "ccache          cmd:ccache            optional"
  "clang-16        cmd:clang++-16        optional"
  "libclang-rt-16-dev fuzzer            optional"
)
# ccache (optional) makes rebuilds in fresh clones on the same machine cheap (scripts/build.sh).
# clang-16 (optional): only the fuzzing stage of scripts/reliability.sh needs it (libFuzzer with a clang that
# has std::source_location: >= 15; Debian 12's default clang is 14), and says so when it is absent.
# The libraries libtorch_cuda links that the CUDA 13.0 toolkit does not provide (found with ldd).
LEAN_TORCH_WHEELS=(nvidia-cusparselt-cu13==0.8.0 nvidia-nvshmem-cu13==3.4.5 'nvidia-cufile==1.15.1.6.*')

log() { echo "[setup] $*" >&2; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
present() {
  case "$1" in
    cmd:*) command -v "${1#cmd:}" >/dev/null 2>&1 ;;
    hdr:*) [ -e "/usr/include/${1#hdr:}" ] || [ -e "/usr/local/include/${1#hdr:}" ] ;;
    pip) python3 -m pip --version >/dev/null 2>&1 ;;
    fuzzer) command -v clang++-16 >/dev/null 2>&1 &&
            [ -e "$(clang++-16 -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] ;;
  esac
}

missing_packages() {  # prints the missing packages; with `required`, only the required ones
  for entry in "${PACKAGES[@]}"; do
    read -r pkg check kind <<<"$entry"
    [ "${1:-}" = required ] && [ "${kind:-}" = optional ] && continue
    present "$check" || echo "$pkg"
  done
}
mapfile -t missing < <(missing_packages)
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${missing[*]}"
    { sudo_if_needed apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
      log "apt-get could not install: ${missing[*]}"
  fi
  mapfile -t still < <(missing_packages required)
  if [ ${#still[@]} -gt 0 ]; then log "missing and not installable: ${still[*]}"; exit 1; fi
  mapfile -t opt < <(missing_packages)
  [ ${#opt[@]} -eq 0 ] || log "optional packages absent (fuzzing stage will be skipped): ${opt[*]}"
fi

PY=${PYTHON:-python3}
torch_dir() {
  "$PY" - <<'PY'
import importlib.util, os
s = importlib.util.find_spec("torch")
print(os.path.dirname(s.origin) if s else "")
PY
}
installed_version() {
  "$PY" -c "import importlib.metadata as m; print(m.version('torch'))" 2>/dev/null || true
}
pip_install() {
  "$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore "$@"
}

if [[ "$(installed_version)" != "${TORCH_VERSION}"* ]]; then
  log "installing torch==${TORCH_VERSION} (lean: no bundled CUDA libraries)"
  pip_install --no-deps "torch==${TORCH_VERSION}"
fi

# Lean check: every library libtorch links must resolve. The driver (libcuda.so.1) is absent on a
# machine without a GPU and is only loaded at run time, so it is not counted.
tdir=$(torch_dir)
unresolved() {
  for f in "$tdir"/lib/libtorch_cuda.so "$tdir"/lib/libtorch.so "$tdir"/lib/libc10_cuda.so; do
    [ -e "$f" ] && ldd "$f" | grep "not found" | grep -v "libcuda.so.1" || true
  done
}
if [ -n "$(unresolved)" ]; then
  log "installing the CUDA libraries the toolkit lacks: ${LEAN_TORCH_WHEELS[*]}"
  pip_install --no-deps "${LEAN_TORCH_WHEELS[@]}"
fi
if [ -n "$(unresolved)" ]; then
  log "lean install incomplete ($(unresolved | awk '{print $1}' | sort -u | tr '\n' ' ')); installing torch's full dependencies"
  pip_install "torch==${TORCH_VERSION}"
fi
if [ -n "$(unresolved)" ]; then
  log "libtorch still has unresolved libraries:"; unresolved >&2; exit 1
fi

# The Python package and its tests (scripts/python.sh): the build backend, pytest, and the Python
# dependencies of torch that the lean install above skips. Each is installed (at the pinned
# version) only when absent: a machine that has them from elsewhere (the GPU machine, no network)
# is left alone.
PYTHON_PACKAGES=(
  "scikit_build_core==0.11.6" "pytest==8.4.2" "numpy==2.3.5" "filelock==3.20.0"
  "fsspec==2025.10.0" "sympy==1.14.0" "mpmath==1.3.0" "networkx==3.6.1" "jinja2==3.1.6"
  "markupsafe==3.0.3" "typing_extensions==4.15.0"
)
missing_python=$("$PY" - "${PYTHON_PACKAGES[@]}" <<'PY'
import importlib.metadata as m, sys
for spec in sys.argv[1:]:
    try:
        m.version(spec.split("==")[0])
    except m.PackageNotFoundError:
        print(spec)
PY
)
if [ -n "$missing_python" ]; then
  log "installing the Python package's build and test dependencies: $(echo $missing_python)"
  # shellcheck disable=SC2086
  pip_install $missing_python || { log "pip could not install: $(echo $missing_python)"; exit 1; }
fi
