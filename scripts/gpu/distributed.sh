#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two-GPU checks of ai_core::distributed on an already-configured CUDA build dir ($1):
#   1. collectives: `distributed_torchrun_check check` under `torchrun --nproc-per-node=2`
#      (all_reduce sum/max, broadcast, all_gather, all_reduce of a TensorBufferView, barrier; the
#      async forms with several in flight, waiting twice, an unwaited handle, a handle across a
#      move and a shutdown of its group),
#   2. a dead peer: two ranks started by hand on 127.0.0.1; rank 1 SIGKILLs itself after a barrier,
#      rank 0's all_reduce (timeout DEAD_TIMEOUT s) must return a communication error in time;
#      then the same with two all_reduce_async: the first wait() fails in time, the second at once,
#   3. bus bandwidth of a 1 GiB f32 all_reduce through ai_core (pipelined all_reduce_async, the
#      goal's figure, and blocking all_reduce) and through torch.distributed.all_reduce from
#      Python (asynchronous too), same run, same launcher (goal: pipelined / torch >= 0.97).
# Skips (exit 0, with a message) when fewer than 2 GPUs are visible. Logs go to ${OUT:-/tmp/out}.
# NVLink multicast stays off, as the two-card machines set it.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD_DIR=${1:?usage: scripts/gpu/distributed.sh <cuda-build-dir>}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0}
export TORCH_SYMM_MEM_DISABLE_MULTICAST=${TORCH_SYMM_MEM_DISABLE_MULTICAST:-1}
export NVSHMEM_DISABLE_NVLS=${NVSHMEM_DISABLE_NVLS:-1}
DEAD_TIMEOUT=${DEAD_TIMEOUT:-15}
BYTES=${BYTES:-1073741824}

gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
if [ "${gpus:-0}" -lt 2 ]; then
  echo "SKIP: scripts/gpu/distributed.sh needs 2 GPUs, ${gpus:-0} visible"
  exit 0
fi
bin="$BUILD_DIR/tests/distributed_torchrun_check"
# Always (a no-op when up to date): a binary left from an older tree lacks the newer modes.
cmake --build "$BUILD_DIR" --target distributed_torchrun_check >"$OUT/distributed_build.log" 2>&1 ||
  { tail -n 30 "$OUT/distributed_build.log"; echo "build of distributed_torchrun_check FAILED"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
torchrun() {
  timeout 120 python3 -m torch.distributed.run --no-python --nproc-per-node=2 --master-addr=127.0.0.1 \
    --master-port="$(free_port)" "$@"
}
declare -a rows=()
row() { rows+=("$(printf '%-48s %s' "$1" "$2")"); }
status=0

# 1. collectives
torchrun "$bin" check >"$OUT/distributed_check.log" 2>&1
ok=$(grep -c 'check ok' "$OUT/distributed_check.log")
if [ "$ok" -eq 2 ]; then row "collectives (torchrun, 2 ranks)" "ok"; else
  row "collectives (torchrun, 2 ranks)" "FAILED ($ok/2 ranks ok; distributed_check.log)"; status=1
  grep -E 'FAIL|rror' "$OUT/distributed_check.log" | head -n 10
fi

# 2. a dead peer, blocking then asynchronous
dead_peer() {  # $1: mode of distributed_torchrun_check, $2: log name, $3: row label, $4: line prefix
  local port r rc0 rc1 line
  local -a pids=()
  port=$(free_port)
  for r in 0 1; do
    RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
      timeout 90 "$bin" "$1" "$DEAD_TIMEOUT" >"$OUT/distributed_${2}_rank$r.log" 2>&1 &
    pids[r]=$!
  done
  wait "${pids[1]}"; rc1=$?
  wait "${pids[0]}"; rc0=$?
  line=$(grep -m1 "rank 0: $4" "$OUT/distributed_${2}_rank0.log" | cut -c1-160)
  if [ "$rc0" -eq 0 ] && [ "$rc1" -eq 137 ]; then
    row "$3" "ok: ${line#rank 0: }"
  else
    row "$3" "FAILED (rank 0 exit $rc0, rank 1 exit $rc1): $line"; status=1
    tail -n 5 "$OUT/distributed_${2}_rank0.log"
  fi
}
dead_peer dead-peer dead "dead peer (rank 1 SIGKILL) -> error" "error after"
dead_peer dead-peer-async dead_async "dead peer, all_reduce_async -> wait() error" "async error after"

# 3. bus bandwidth, ai_core then torch, in the same run
torchrun "$bin" bench "$BYTES" >"$OUT/distributed_bench_ai_core.log" 2>&1
torchrun python3 tests/python/distributed_allreduce_bench.py "$BYTES" >"$OUT/distributed_bench_torch.log" 2>&1
pipelined=$(grep -m1 'rank 0: ai_core pipelined all_reduce' "$OUT/distributed_bench_ai_core.log" | sed 's/.*busbw_GBps //')
blocking=$(grep -m1 'rank 0: ai_core blocking all_reduce' "$OUT/distributed_bench_ai_core.log" | sed 's/.*busbw_GBps //')
theirs=$(grep -m1 'rank 0: torch all_reduce' "$OUT/distributed_bench_torch.log" | sed 's/.*busbw_GBps //')
ms() { grep -m1 "rank 0: $1" "$2" | sed -n 's/.*: \([0-9.]*\) ms,.*/\1 ms/p'; }
row "all_reduce $BYTES B busbw, ai_core async" "${pipelined:-FAILED} GB/s ($(ms 'ai_core pipelined' "$OUT/distributed_bench_ai_core.log"), 10 all_reduce_async then wait)"
row "all_reduce $BYTES B busbw, ai_core blocking" "${blocking:-FAILED} GB/s ($(ms 'ai_core blocking' "$OUT/distributed_bench_ai_core.log"), each all_reduce waited)"
row "all_reduce $BYTES B busbw, torch (Python)" "${theirs:-FAILED} GB/s ($(ms 'torch all_reduce' "$OUT/distributed_bench_torch.log"))"
if [ -n "$pipelined" ] && [ -n "$theirs" ]; then
  ratio=$(python3 -c "print(f'{$pipelined / $theirs:.3f}')")
  verdict=$(python3 -c "print('ok' if $pipelined / $theirs >= 0.97 else 'BELOW GOAL')")
  row "ratio ai_core async / torch (goal >= 0.97)" "$ratio $verdict"
  [ "$verdict" = ok ] || status=1
  if [ -n "$blocking" ]; then
    row "ratio ai_core blocking / torch" "$(python3 -c "print(f'{$blocking / $theirs:.3f}')") (no goal)"
  fi
else
  status=1
  tail -n 5 "$OUT/distributed_bench_ai_core.log" "$OUT/distributed_bench_torch.log"
fi

echo
echo "ai_core::distributed on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -n1) x$gpus (NCCL_NVLS_ENABLE=$NCCL_NVLS_ENABLE)"
printf '%s\n' "${rows[@]}"
exit $status
