#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ai_core_nf4 against bitsandbytes, in one process on one device (scripts/gpu/nf4.sh runs it).

    python3 compare_bitsandbytes.py <path to libai_core_nf4_capi.so> [--device cuda|cpu]
                                    [--elements N] [--quick]

Checks, each printed as PASS/FAIL (exit status 1 if any equality check fails):
  1. our dynamic code == bitsandbytes' create_dynamic_map();
  2. codes and absmax of quantize_4bit (nf4, plain) vs ours with Nf4Encoding::bitsandbytes (must be
     equal byte for byte) and with the default nearest encoding (the differing bytes are counted:
     all-zero blocks, and values within a few ulps of a threshold), on inputs with all-zero blocks,
     threshold values and odd lengths, in bf16, f16 and f32; for each differing byte (at most 10
     lines) the element, its input and absmax as float hex, the normalised value as bitsandbytes
     computes it (x * rcp.approx.ftz(absmax), the reciprocal from the GPU's own instruction) and as
     our CPU path does (x * (1 / absmax), correctly rounded), the code bitsandbytes' thresholds give
     each, and our code and bitsandbytes' code;
  3. nested state (compress_statistics=True): offset, absmax bytes and state2.absmax vs ours;
  4. import: bitsandbytes' states (plain and nested) dequantized by us == dequantize_4bit, bitwise;
  5. export: our double-quantized state handed to dequantize_4bit == our values, bitwise.
With --device cpu the reference is bitsandbytes' CPU backend, a different encoder than its CUDA
kernel (codes and absmax checks then fail where they differ); imports and exports must still pass.
Then the timing table (CUDA events, median of 5 runs of 20 calls, 64M elements to bf16 on a GPU):
ours vs dequantize_4bit plain and nested, quantize, and a device copy of the same bytes.
"""
import argparse
import ctypes
import sys
import time

import torch

import bitsandbytes.functional as F

DTYPE_CODE = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2}
INT_VIEW = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}
# bitsandbytes' 15 NF4 thresholds (codes 0|1 .. 14|15), bit for bit: the float32 immediates of its
# compiled quantize kernels, i.e. its decimal literals rounded once to float32. (Rounding the same
# literals through float64 first gives another float at 0|1, 8|9, 12|13 and 14|15.)
BNB_THRESHOLD_BITS = [0xBF591CD9, 0xBF1C5270, 0xBEEB8480, 0xBEADEA76, 0xBE703CEC, 0xBE0D38BC,
                      0xBD3A7871, 0x3D22FAFF, 0x3DF64863, 0x3E5067E0, 0x3E9582D4, 0x3EC753F9,
                      0x3F006D03, 0x3F248DAF, 0x3F5C89D9]
MAX_EXPLAINED = 10
failures = []


def f32_from_bits(bits):
    return torch.tensor([b - (1 << 32) if b >= 1 << 31 else b for b in bits],
                        dtype=torch.int32).view(torch.float32)


BNB_THRESHOLDS = f32_from_bits(BNB_THRESHOLD_BITS)
_rcp_approx = None


def rcp_approx_ftz(a):
    """rcp.approx.ftz.f32 of float32 CUDA tensor `a`, by the GPU's own instruction (jiterator)."""
    global _rcp_approx
    if _rcp_approx is None:
        _rcp_approx = torch.cuda.jiterator._create_jit_fn(
            'template <typename T> T nf4_rcp_approx(T a) { float r; '
            'asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"((float)a)); return r; }')
    return _rcp_approx(a)


def bnb_tree_code(v):
    """The code bitsandbytes' thresholds give a normalised float32 value (NaN: 0)."""
    return int((v > BNB_THRESHOLDS).sum())


def fhex(v):
    return float(v).hex()


def flush(v):
    return torch.where(v.abs() < torch.finfo(torch.float32).tiny, v * 0, v)


def explain(tag, x, ours, theirs, absmax, block, numel):
    """Prints, for the first differing bytes of `ours` vs `theirs` (codes), each differing element:
    input, absmax, both normalisations, the threshold codes of each, our code and theirs."""
    byte_idx = (ours.cpu() != theirs.cpu()).nonzero().view(-1)
    if byte_idx.numel() == 0:
        return
    elems = torch.stack([byte_idx * 2, byte_idx * 2 + 1], 1).view(-1)
    elems = elems[elems < numel]
    oc, tc = ours.cpu().long(), theirs.cpu().long()
    code = lambda c, e: int((c[e // 2] >> 4) if e % 2 == 0 else (c[e // 2] & 15))
    elems = [int(e) for e in elems if code(oc, int(e)) != code(tc, int(e))]
    absmax_cpu = absmax.cpu().float()
    in_zero = [e for e in elems if absmax_cpu[e // block] == 0]
    if in_zero:  # one line for all of them: x / 0 explains nothing
        print(f"  {tag}: {len(in_zero)} differing elements in all-zero blocks (first {in_zero[0]}: "
              f"ours {code(oc, in_zero[0])} bnb {code(tc, in_zero[0])})")
    elems = [e for e in elems if absmax_cpu[e // block] != 0][:MAX_EXPLAINED]
    if not elems:
        if not in_zero:  # only pad nibbles differ
            print(f"  {tag}: differing bytes {byte_idx[:MAX_EXPLAINED].tolist()} (pad nibbles)")
        return
    idx = torch.tensor(elems)
    xs = flush(x.cpu()[idx].float())
    a_raw = absmax_cpu[idx // block]
    a = flush(a_raw)  # as the fast-math kernel sees it
    ieee = flush(xs * (torch.ones_like(a) / a))  # our CPU path: a correctly rounded reciprocal
    try:
        r = rcp_approx_ftz(a.cuda()).cpu() if torch.cuda.is_available() else None
    except Exception as e:  # jiterator unavailable: say so and print the rest
        print(f"  (rcp.approx via jiterator unavailable: {type(e).__name__}: {e})")
        r = None
    gpu = flush(xs * r) if r is not None else None
    for k, e in enumerate(elems):
        bnb_col = (f"bnb x*rcp {fhex(gpu[k])} (rcp {fhex(r[k])}, tree {bnb_tree_code(gpu[k])})"
                   if gpu is not None else "bnb x*rcp n/a (no GPU)")
        print(f"  {tag}: element {e} x {fhex(xs[k])} ({x.dtype}) absmax {fhex(a_raw[k])} | "
              f"{bnb_col} | cpu x*(1/a) {fhex(ieee[k])} (1/a {fhex(1.0 / a[k])}, tree "
              f"{bnb_tree_code(ieee[k])}) | x/a {float(xs[k].double() / a[k].double())!r} | "
              f"ours {code(oc, e)} bnb {code(tc, e)}")


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}  {name}{'  (' + detail + ')' if detail else ''}")
    if not ok:
        failures.append(name)


class Lib:
    def __init__(self, path, device):
        self.lib = ctypes.CDLL(path)
        self.dev = 1 if device == "cuda" else 0
        self.err = ctypes.create_string_buffer(4096)
        L = self.lib
        vp, i64, i32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
        L.nf4c_dynamic_code.argtypes = [vp]
        L.nf4c_quantize.argtypes = [vp, i64, i32, i32, i64, i32, i32, ctypes.c_char_p, i32]
        L.nf4c_quantize.restype = vp
        L.nf4c_import.argtypes = [vp, vp, vp, vp, ctypes.c_float, i64, i32, i32, i64, i64,
                                  ctypes.c_char_p, i32]
        L.nf4c_import.restype = vp
        L.nf4c_parts.argtypes = [vp, vp, vp, vp, ctypes.POINTER(ctypes.c_float), i32,
                                 ctypes.c_char_p, i32]
        L.nf4c_dequantize.argtypes = [vp, vp, i64, i32, i32, ctypes.c_char_p, i32]
        L.nf4c_free.argtypes = [vp]

    def quantize(self, x, block, encoding, nested):
        h = self.lib.nf4c_quantize(x.data_ptr(), x.numel(), DTYPE_CODE[x.dtype], self.dev, block,
                                   encoding, int(nested), self.err, 4096)
        if not h:
            raise RuntimeError(self.err.value.decode())
        return h

    def parts(self, h, numel, block, nested):
        dev = "cuda" if self.dev else "cpu"
        blocks = -(-numel // block)
        codes = torch.empty((numel + 1) // 2, dtype=torch.uint8, device=dev)
        absmax = torch.empty(blocks, dtype=torch.uint8 if nested else torch.float32, device=dev)
        nested_absmax = torch.empty(-(-blocks // 256), dtype=torch.float32, device=dev)
        offset = ctypes.c_float(0.0)
        if self.lib.nf4c_parts(h, codes.data_ptr(), absmax.data_ptr(),
                               nested_absmax.data_ptr() if nested else None, ctypes.byref(offset),
                               self.dev, self.err, 4096) != 0:
            raise RuntimeError(self.err.value.decode())
        return codes, absmax, nested_absmax, offset.value

    def import_state(self, q, state, numel):
        nested = state.nested
        h = self.lib.nf4c_import(
            q.data_ptr(), state.absmax.data_ptr(),
            state.state2.absmax.data_ptr() if nested else None,
            state.state2.code.data_ptr() if nested else None,
            float(state.offset) if nested else 0.0, numel, DTYPE_CODE[state.dtype], self.dev,
            state.blocksize, state.state2.blocksize if nested else 256, self.err, 4096)
        if not h:
            raise RuntimeError(self.err.value.decode())
        return h

    def dequantize(self, h, out):
        if self.lib.nf4c_dequantize(h, out.data_ptr(), out.numel(), DTYPE_CODE[out.dtype],
                                    self.dev, self.err, 4096) != 0:
            raise RuntimeError(self.err.value.decode())

    def free(self, h):
        self.lib.nf4c_free(h)


def test_input(numel, dtype, device, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(numel, generator=g)
    scales = torch.exp(torch.randn(-(-numel // 32), generator=g) * 2).repeat_interleave(32)[:numel]
    x = x * scales * 0.02
    x[64:128] = 0  # an all-zero block (for every block size >= 64 it is inside one block)
    x[-(numel % 64 or 64):] = 0  # the last, partial block all zero: the pad nibble too
    # A block with absmax 1 holding bitsandbytes' 15 threshold floats and the floats just above
    # (for f32; other dtypes round them): each threshold float keeps the lower code.
    special = torch.cat([torch.tensor([1.0]), BNB_THRESHOLDS,
                         torch.nextafter(BNB_THRESHOLDS, torch.full_like(BNB_THRESHOLDS, 2.0))])
    x[4096:4096 + special.numel()] = special
    x[4096 + special.numel():4096 + 64] = 0
    return x.to(dtype).to(device)


def bits_equal(a, b):
    return a.dtype == b.dtype and torch.equal(a.view(INT_VIEW[a.dtype]), b.view(INT_VIEW[b.dtype]))


def compare(lib, device, numel, cpu_lib=None):
    code = torch.empty(256, dtype=torch.float32)
    lib.lib.nf4c_dynamic_code(ctypes.c_void_p(code.data_ptr()))
    check("dynamic code == create_dynamic_map()", torch.equal(code, F.create_dynamic_map().float()))
    for dtype in (torch.bfloat16, torch.float16, torch.float32):
        for block in (64, 128, 4096):
            x = test_input(numel, dtype, device, seed=block)
            tag = f"{str(dtype)[6:]:8s} block {block:4d}"
            q, st = F.quantize_4bit(x, blocksize=block, quant_type="nf4")
            zero_blocks = (st.absmax == 0)
            for enc, name in ((1, "bitsandbytes"), (0, "nearest")):
                h = lib.quantize(x, block, enc, False)
                codes, absmax, _, _ = lib.parts(h, numel, block, False)
                lib.free(h)
                diff = (codes != q.view(-1))
                byte_block = torch.arange(codes.numel(), device=codes.device) * 2 // block
                in_zero = int((diff & zero_blocks[byte_block]).sum())
                ndiff = int(diff.sum())
                detail = f"{ndiff} of {codes.numel()} bytes differ, {in_zero} in all-zero blocks"
                if enc == 1:
                    check(f"{tag} codes, {name} encoding == bitsandbytes", ndiff == 0, detail)
                    explain(tag, x, codes, q.view(-1), st.absmax, block, numel)
                else:
                    print(f"INFO  {tag} codes, {name} encoding vs bitsandbytes: {detail}")
                check(f"{tag} absmax ({name}) == bitsandbytes", torch.equal(absmax, st.absmax))
            if cpu_lib is not None:
                # Our CPU path with the bitsandbytes encoding: a correctly rounded reciprocal where
                # the GPU uses rcp.approx, so bytes may differ next to a threshold.
                h = cpu_lib.quantize(x.cpu(), block, 1, False)
                codes, _, _, _ = cpu_lib.parts(h, numel, block, False)
                cpu_lib.free(h)
                print(f"INFO  {tag} codes, bitsandbytes encoding on our CPU path vs bitsandbytes' "
                      f"CUDA kernel: {int((codes != q.view(-1).cpu()).sum())} bytes differ")
                explain(tag + " cpu", x, codes, q.view(-1), st.absmax, block, numel)
            # Import, plain: our dequantization of bitsandbytes' state.
            ref = F.dequantize_4bit(q, st)
            h = lib.import_state(q, st, numel)
            out = torch.empty(numel, dtype=dtype, device=device)
            lib.dequantize(h, out)
            lib.free(h)
            check(f"{tag} import plain: our values == dequantize_4bit", bits_equal(out, ref.view(-1)))
            # Nested.
            qn, stn = F.quantize_4bit(x, blocksize=block, quant_type="nf4", compress_statistics=True)
            h = lib.quantize(x, block, 1, True)
            codes, qabsmax, nested_absmax, offset = lib.parts(h, numel, block, True)
            lib.free(h)
            print(f"INFO  {tag} nested: offset ours {offset!r} bitsandbytes {float(stn.offset)!r}; "
                  f"absmax bytes differ {int((qabsmax != stn.absmax).sum())} of {qabsmax.numel()}; "
                  f"state2.absmax equal {torch.equal(nested_absmax, stn.state2.absmax)}")
            ref = F.dequantize_4bit(qn, stn)
            h = lib.import_state(qn, stn, numel)
            lib.dequantize(h, out)
            lib.free(h)
            check(f"{tag} import nested: our values == dequantize_4bit", bits_equal(out, ref.view(-1)))
            # Export: our double-quantized state, dequantized by bitsandbytes.
            h = lib.quantize(x, block, 0, True)
            codes, qabsmax, nested_absmax, offset = lib.parts(h, numel, block, True)
            lib.dequantize(h, out)
            lib.free(h)
            state = F.QuantState(
                absmax=qabsmax, shape=torch.Size([numel]), code=F.get_4bit_type("nf4", device=device),
                blocksize=block, quant_type="nf4", dtype=dtype,
                offset=torch.tensor(offset, dtype=torch.float32, device=device),
                state2=F.QuantState(absmax=nested_absmax, code=code.to(device), blocksize=256,
                                    dtype=torch.float32))
            theirs = F.dequantize_4bit(codes.view(-1, 1), state)
            check(f"{tag} export nested: dequantize_4bit == our values", bits_equal(theirs.view(-1), out))


def timed(fn, device, iters=20, reps=5):
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        if device == "cuda":
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(iters):
                fn()
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop) / iters)
        else:
            t = time.perf_counter()
            for _ in range(iters):
                fn()
            times.append((time.perf_counter() - t) * 1e3 / iters)
    return sorted(times)[len(times) // 2]


def timing(lib, device, numel):
    x = (torch.randn(numel, device=device) * 0.02).to(torch.bfloat16)
    out = torch.empty(numel, dtype=torch.bfloat16, device=device)
    q, st = F.quantize_4bit(x, blocksize=64, quant_type="nf4")
    qn, stn = F.quantize_4bit(x, blocksize=64, quant_type="nf4", compress_statistics=True)
    plain = lib.import_state(q, st, numel)
    nested = lib.quantize(x, 64, 0, True)
    plain_bytes = numel // 2 + numel // 64 * 4 + numel * 2
    nested_bytes = numel // 2 + numel // 64 + numel // (64 * 256) * 4 + numel * 2
    src = torch.empty(plain_bytes // 2, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    rows = []
    t_copy = timed(lambda: dst.copy_(src), device)
    copy_bw = plain_bytes / t_copy
    t_ours = timed(lambda: lib.dequantize(plain, out), device)
    kw = {"out": out} if device == "cuda" else {}  # CUDA registers dequantize_4bit.out
    t_bnb = timed(lambda: F.dequantize_4bit(q, st, **kw), device)
    rows.append(("dequantize plain -> bf16", t_ours, t_bnb, plain_bytes / t_ours / copy_bw))
    t_ours = timed(lambda: lib.dequantize(nested, out), device)
    t_bnb = timed(lambda: F.dequantize_4bit(qn, stn, **kw), device)
    rows.append(("dequantize nested -> bf16", t_ours, t_bnb, nested_bytes / t_ours / copy_bw))

    def ours_quantize(nested_flag):
        lib.free(lib.quantize(x, 64, 0, nested_flag))

    t_ours = timed(lambda: ours_quantize(False), device)
    t_bnb = timed(lambda: F.quantize_4bit(x, blocksize=64, quant_type="nf4"), device)
    rows.append(("quantize bf16 plain", t_ours, t_bnb, None))
    t_ours = timed(lambda: ours_quantize(True), device)
    t_bnb = timed(lambda: F.quantize_4bit(x, blocksize=64, quant_type="nf4",
                                          compress_statistics=True), device)
    rows.append(("quantize bf16 nested", t_ours, t_bnb, None))
    lib.free(plain)
    lib.free(nested)
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    print(f"\nNF4, {numel / 2**20:.0f}M elements, block 64, {name}, copy {t_copy * 1e3:.1f} us "
          f"({copy_bw / 1e6:.0f} GB/s)")
    print(f"{'operation':28s} {'ai_core ms':>11s} {'bnb ms':>9s} {'bnb/ours':>9s} {'of copy':>8s}")
    for op, ours, bnb, frac in rows:
        print(f"{op:28s} {ours:11.4f} {bnb:9.4f} {bnb / ours:8.2f}x "
              f"{'' if frac is None else f'{frac:8.2f}'}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lib")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--elements", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="equality checks only")
    args = parser.parse_args()
    lib = Lib(args.lib, args.device)
    print(f"torch {torch.__version__}, bitsandbytes {__import__('bitsandbytes').__version__}, "
          f"device {args.device}")
    cpu_lib = Lib(args.lib, "cpu") if args.device == "cuda" else None
    compare(lib, args.device, 64 * 5000 + 33 if args.device == "cpu" else (1 << 22) + 33, cpu_lib)
    if not args.quick:
        timing(lib, args.device, args.elements or ((1 << 26) if args.device == "cuda" else 1 << 22))
    if failures:
        print(f"\n{len(failures)} equality check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
