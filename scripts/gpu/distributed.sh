#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two-GPU checks of ai_core::distributed on an already-configured CUDA build dir ($1):
#   1. collectives: `distributed_torchrun_check check` under `torchrun --nproc-per-node=2`
#      (all_reduce sum/max, broadcast, all_gather, all_reduce of a TensorBufferView, barrier),
#   2. a dead peer: two ranks started by hand on 127.0.0.1; rank 1 SIGKILLs itself after a barrier,
#      rank 0's all_reduce (timeout DEAD_TIMEOUT s) must return a communication error in time,
#   3. bus bandwidth of a 1 GiB f32 all_reduce through ai_core and through
#      torch.distributed.all_reduce from Python, same run, same launcher (goal: ratio >= 0.97).
# Skips (exit 0, with a message) when fewer than 2 GPUs are visible. Logs go to ${OUT:-/tmp/out}.
# NVLink multicast stays off, as the two-card machines set it.
set -uo pipefail
cd "$(dirname "$0")/../.."
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
if [ ! -x "$bin" ]; then
  cmake --build "$BUILD_DIR" --target distributed_torchrun_check >"$OUT/distributed_build.log" 2>&1 ||
    { tail -n 30 "$OUT/distributed_build.log"; echo "build of distributed_torchrun_check FAILED"; exit 1; }
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
torchrun() {
  timeout 120 python3 -m torch.distributed.run --no-python --nproc-per-node=2 --master-addr=127.0.0.1 \
    --master-port="$(free_port)" "$@"
}
declare -a rows=()
row() { rows+=("$(printf '%-40s %s' "$1" "$2")"); }
status=0

# 1. collectives
torchrun "$bin" check >"$OUT/distributed_check.log" 2>&1
ok=$(grep -c 'check ok' "$OUT/distributed_check.log")
if [ "$ok" -eq 2 ]; then row "collectives (torchrun, 2 ranks)" "ok"; else
  row "collectives (torchrun, 2 ranks)" "FAILED ($ok/2 ranks ok; distributed_check.log)"; status=1
  grep -E 'FAIL|rror' "$OUT/distributed_check.log" | head -n 10
fi

# 2. a dead peer
port=$(free_port)
for r in 0 1; do
  RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    timeout 90 "$bin" dead-peer "$DEAD_TIMEOUT" >"$OUT/distributed_dead_rank$r.log" 2>&1 &
  pids[$r]=$!
done
wait "${pids[1]}"; rc1=$?
wait "${pids[0]}"; rc0=$?
line=$(grep -m1 'rank 0: error after' "$OUT/distributed_dead_rank0.log" | cut -c1-160)
if [ "$rc0" -eq 0 ] && [ "$rc1" -eq 137 ]; then
  row "dead peer (rank 1 SIGKILL) -> error" "ok: ${line#rank 0: }"
else
  row "dead peer (rank 1 SIGKILL) -> error" "FAILED (rank 0 exit $rc0, rank 1 exit $rc1): $line"; status=1
  tail -n 5 "$OUT/distributed_dead_rank0.log"
fi

# 3. bus bandwidth, ai_core then torch, in the same run
torchrun "$bin" bench "$BYTES" >"$OUT/distributed_bench_ai_core.log" 2>&1
torchrun python3 tests/python/distributed_allreduce_bench.py "$BYTES" >"$OUT/distributed_bench_torch.log" 2>&1
ours=$(grep -m1 'rank 0: ai_core all_reduce' "$OUT/distributed_bench_ai_core.log" | sed 's/.*busbw_GBps //')
theirs=$(grep -m1 'rank 0: torch all_reduce' "$OUT/distributed_bench_torch.log" | sed 's/.*busbw_GBps //')
row "all_reduce $BYTES B busbw, ai_core" "${ours:-FAILED} GB/s"
row "all_reduce $BYTES B busbw, torch (Python)" "${theirs:-FAILED} GB/s"
if [ -n "$ours" ] && [ -n "$theirs" ]; then
  ratio=$(python3 -c "print(f'{$ours / $theirs:.3f}')")
  verdict=$(python3 -c "print('ok' if $ours / $theirs >= 0.97 else 'BELOW GOAL')")
  row "ratio ai_core / torch (goal >= 0.97)" "$ratio $verdict"
  [ "$verdict" = ok ] || status=1
else
  status=1
  tail -n 5 "$OUT/distributed_bench_ai_core.log" "$OUT/distributed_bench_torch.log"
fi

echo
echo "ai_core::distributed on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -n1) x$gpus (NCCL_NVLS_ENABLE=$NCCL_NVLS_ENABLE)"
printf '%s\n' "${rows[@]}"
exit $status
