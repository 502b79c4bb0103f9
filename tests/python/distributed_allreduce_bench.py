# SPDX-License-Identifier: MIT
# The PyTorch side of the all-reduce bus-bandwidth comparison (scripts/gpu/distributed.sh): the same
# size, warm-up and "best of three rounds of ten" as `distributed_torchrun_check bench`, through
# torch.distributed.all_reduce. Run under torchrun; prints one line per rank.
import os
import sys
import time

import torch
import torch.distributed as dist


def main() -> int:
    nbytes = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 30
    local_rank = int(os.environ["LOCAL_RANK"])
    device = torch.device("cuda", local_rank)
    torch.cuda.set_device(device)
    dist.init_process_group("nccl", device_id=device)
    rank, world = dist.get_rank(), dist.get_world_size()
    t = torch.ones(nbytes // 4, device=device)
    for _ in range(5):
        dist.all_reduce(t)
    best = float("inf")
    for _ in range(3):
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(10):
            dist.all_reduce(t)
        torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - start) / 10)
    busbw = nbytes / best / 1e9 * 2 * (world - 1) / world
    print(f"rank {rank}: torch all_reduce {nbytes} bytes: {best * 1e3:.3f} ms, busbw_GBps {busbw:.1f}")
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
