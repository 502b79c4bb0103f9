#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every *_fuzzer in <dir> for <seconds> each, from its seed corpus tests/fuzz/corpus/<name>/
# (copied to a scratch folder, so new inputs never dirty the tree). Prints one line per target:
# executions, and whether it found a crash; exits non-zero on any crash or sanitizer report.
# A target's extra flags live in <name>.options next to this script.
set -uo pipefail
dir=$1; seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
status=0; found=0
for exe in "$dir"/*_fuzzer; do
  [ -x "$exe" ] || continue
  found=$((found + 1))
  name=$(basename "$exe" _fuzzer)
  work=$(mktemp -d)
  cp -r "$here/corpus/$name/." "$work/" 2>/dev/null || true
  log="$work.log"
  # Extra libFuzzer flags of one target: tests/fuzz/<name>.options, one per line, '#' comments.
  extra=()
  if [ -f "$here/$name.options" ]; then
    mapfile -t extra < <(grep -v '^[[:space:]]*\(#\|$\)' "$here/$name.options")
  fi
  "$exe" "$work" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix="$work/crash-" "${extra[@]}" >"$log" 2>&1
  rc=$?
  execs=$(grep -E "stat::number_of_executed_units" "$log" | awk '{print $2}')
  if [ $rc -ne 0 ]; then
    status=1
    echo "fuzz $name: FAILED (rc=$rc) after ${execs:-?} executions"; tail -n 40 "$log"
  else
    echo "fuzz $name: ${execs:-?} executions in ${seconds}s, no crash"
  fi
  rm -rf "$work" "$log"
done
[ $found -gt 0 ] || { echo "no fuzz targets found in $dir"; exit 1; }
exit $status
