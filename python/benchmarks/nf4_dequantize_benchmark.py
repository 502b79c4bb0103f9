#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""torch.ops.ai_core.nf4_dequantize against bitsandbytes.functional.dequantize_4bit on a GPU.

Two measurements, the same bf16 weight quantized by each library (NF4, block size 64):
  - per-call overhead: a small weight (64 x 64), N back-to-back calls timed on the host (wall
    clock, the stream synchronised at the end): dispatcher + checks + launch, per call;
  - a 64M-element weight (8192 x 8192): CUDA events around each call, median of the repeats, and
    the bandwidth of the bytes moved (codes + absmax read, bf16 written).
Also the out= variant (no allocation) and whether the two libraries produce the same codes.
bitsandbytes may be absent: its rows then say "skipped". Writes a JSON file when --json is given.

    python python/benchmarks/nf4_dequantize_benchmark.py [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

import ai_core

BLOCK = 64


def host_per_call_us(fn, calls: int) -> float:
    for _ in range(50):
        fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - start) / calls * 1e6)
    return best


def device_median_ms(fn, repeats: int) -> float:
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device: skipped")
        return 0
    try:
        import bitsandbytes.functional as bnb
        bnb_error = None
    except Exception as error:  # ImportError, or a bitsandbytes without a kernel for this CUDA
        bnb, bnb_error = None, f"{type(error).__name__}: {error}"

    device = torch.device("cuda")
    results = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
               "bitsandbytes": None if bnb is None else __import__("bitsandbytes").__version__}
    rows = []
    for label, shape in [("small 64x64", (64, 64)), ("64M 8192x8192", (8192, 8192))]:
        x = torch.randn(shape, device=device, dtype=torch.bfloat16)
        codes, absmax = ai_core.nf4.quantize(x, BLOCK)
        out = torch.empty_like(x)
        ours = lambda: torch.ops.ai_core.nf4_dequantize(codes, absmax, shape, BLOCK, torch.bfloat16)
        ours_out = lambda: torch.ops.ai_core.nf4_dequantize.out(codes, absmax, shape, BLOCK,
                                                               torch.bfloat16, out=out)
        entry = {"shape": list(shape)}
        if bnb is not None:
            packed, state = bnb.quantize_4bit(x, blocksize=BLOCK, quant_type="nf4")
            theirs = lambda: bnb.dequantize_4bit(packed, state, quant_type="nf4")
            same = packed.view(-1).eq(codes).float().mean().item()
            entry["codes_equal_to_bitsandbytes"] = same
            entry["absmax_equal"] = bool(torch.equal(state.absmax.float(), absmax))
            entry["same_output_from_same_codes"] = bool(torch.equal(
                theirs(), torch.ops.ai_core.nf4_dequantize(packed.view(-1), state.absmax.float(),
                                                           shape, BLOCK, torch.bfloat16)))
        big = x.numel() > 1 << 20
        measure = (lambda f: device_median_ms(f, args.repeats) * 1e3) if big else \
            (lambda f: host_per_call_us(f, args.calls))
        unit = "us (CUDA events, median)" if big else "us per call (host, back to back)"
        entry["unit"] = unit
        entry["ai_core"] = measure(ours)
        entry["ai_core_out"] = measure(ours_out)
        entry["bitsandbytes"] = measure(theirs) if bnb is not None else None
        if big:
            moved = codes.numel() + 4 * absmax.numel() + 2 * x.numel()
            entry["ai_core_GBps"] = moved / (entry["ai_core"] * 1e-6) / 1e9
            if bnb is not None:
                entry["bitsandbytes_GBps"] = moved / (entry["bitsandbytes"] * 1e-6) / 1e9
        results[label] = entry
        rows.append((label, unit, entry))

    print(f"\nNF4 dequantize, bf16 out, block {BLOCK}, {results['device']}, torch {results['torch']}, "
          f"bitsandbytes {results['bitsandbytes'] or 'absent'}")
    print(f"{'case':16} {'ai_core':>10} {'ai_core out=':>13} {'bitsandbytes':>13} {'ratio':>7}  unit")
    for label, unit, e in rows:
        theirs = f"{e['bitsandbytes']:13.2f}" if e["bitsandbytes"] is not None else f"{'skipped':>13}"
        ratio = f"{e['ai_core'] / e['bitsandbytes']:7.2f}" if e["bitsandbytes"] else f"{'-':>7}"
        print(f"{label:16} {e['ai_core']:10.2f} {e['ai_core_out']:13.2f} {theirs} {ratio}  {unit}")
    big = results["64M 8192x8192"]
    print(f"64M bandwidth: ai_core {big['ai_core_GBps']:.0f} GB/s"
          + (f", bitsandbytes {big['bitsandbytes_GBps']:.0f} GB/s" if bnb is not None else ""))
    if bnb is None:
        print(f"bitsandbytes: skipped ({bnb_error})")
    else:
        for label, _, e in rows:
            print(f"{label}: codes equal to bitsandbytes' {100 * e['codes_equal_to_bitsandbytes']:.3f}%, "
                  f"absmax equal {e['absmax_equal']}, same output from the same codes "
                  f"{e['same_output_from_same_codes']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
