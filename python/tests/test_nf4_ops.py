# SPDX-License-Identifier: MIT
"""torch.ops.ai_core.nf4_quantize / nf4_dequantize: opcheck, layout, values, the out variant,
CPU vs CUDA bit for bit."""
from __future__ import annotations

import math

import pytest
import torch

import ai_core

from conftest import HAS_CUDA

# bitsandbytes' NF4 table (examples/nf4/include/nf4/code_table.hpp).
NF4 = torch.tensor([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
    0.24611230790615082, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
    0.7229568362236023, 1.0], dtype=torch.float32)
MAX_HALF_GAP = float(((NF4[1:] - NF4[:-1]) / 2).max())
UNIT_ROUNDOFF = {torch.float32: 2.0**-24, torch.float16: 2.0**-11, torch.bfloat16: 2.0**-8}

SHAPES = [(64,), (3, 70), (1, 1), (2, 3, 33)]
DTYPES = [torch.float32, torch.float16, torch.bfloat16]


def unpack(codes: torch.Tensor, numel: int) -> torch.Tensor:
    """The 4-bit codes, first element from the high nibble."""
    c = codes.cpu().to(torch.int64)
    return torch.stack([c >> 4, c & 15], dim=1).reshape(-1)[:numel]


def reference_dequantize(codes, absmax, numel, block_size, dtype):
    values = NF4[unpack(codes, numel)] * absmax.cpu().repeat_interleave(block_size)[:numel]
    return values.to(dtype)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_opcheck_quantize(device, shape, dtype):
    x = torch.randn(shape, dtype=dtype, device=device)
    torch.library.opcheck(torch.ops.ai_core.nf4_quantize.default, (x, 64))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_opcheck_dequantize(device, shape, dtype):
    x = torch.randn(shape, device=device)
    codes, absmax = ai_core.nf4.quantize(x, 32)
    torch.library.opcheck(torch.ops.ai_core.nf4_dequantize.default,
                          (codes, absmax, list(shape), 32, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_opcheck_dequantize_out(device, dtype):
    x = torch.randn(5, 40, device=device)
    codes, absmax = ai_core.nf4.quantize(x, 64)
    out = torch.empty(5, 40, dtype=dtype, device=device)
    torch.library.opcheck(torch.ops.ai_core.nf4_dequantize.out,
                          (codes, absmax, [5, 40], 64, dtype), {"out": out})


def test_opcheck_with_inputs_that_require_grad(device):
    x = torch.randn(3, 64, device=device, requires_grad=True)
    torch.library.opcheck(torch.ops.ai_core.nf4_quantize.default, (x, 64))
    codes, absmax = ai_core.nf4.quantize(x.detach())
    absmax = absmax.clone().requires_grad_()
    torch.library.opcheck(torch.ops.ai_core.nf4_dequantize.default,
                          (codes, absmax, [3, 64], 64, torch.float32))


def test_not_differentiable_outputs_never_require_grad(device):
    weight = torch.nn.Parameter(torch.randn(4, 64, device=device))
    codes, absmax = ai_core.nf4.quantize(weight)
    assert not codes.requires_grad and not absmax.requires_grad
    w = ai_core.nf4.dequantize(codes, absmax.requires_grad_(), weight.shape, dtype=torch.float32)
    assert not w.requires_grad and w.grad_fn is None


@pytest.mark.parametrize("numel,block_size", [(1, 64), (63, 32), (64, 64), (129, 64), (5000, 4096)])
def test_layout_and_values_match_the_reference(device, numel, block_size):
    x = torch.randn(numel, device=device) * 3
    codes, absmax = ai_core.nf4.quantize(x, block_size)
    assert codes.dtype == torch.uint8 and codes.shape == (math.ceil(numel / 2),)
    assert absmax.dtype == torch.float32 and absmax.shape == (math.ceil(numel / block_size),)
    assert codes.device == x.device and absmax.device == x.device
    blocks = torch.nn.functional.pad(x.cpu().abs(), (0, absmax.numel() * block_size - numel))
    assert torch.equal(absmax.cpu(), blocks.view(-1, block_size).amax(dim=1))
    for dtype in DTYPES:
        y = ai_core.nf4.dequantize(codes, absmax, (numel,), block_size, dtype)
        assert y.dtype == dtype and y.shape == (numel,) and y.device == x.device
        assert torch.equal(y.cpu(), reference_dequantize(codes, absmax, numel, block_size, dtype))
        scale = absmax.cpu().repeat_interleave(block_size)[:numel].double()
        bound = scale * (MAX_HALF_GAP + 2.0**-22 + UNIT_ROUNDOFF[dtype])
        assert bool(((y.cpu().double() - x.cpu().double()).abs() <= bound).all())
    if numel % 2:
        assert int(codes[-1]) & 15 == 7  # the pad nibble is the zero code


def test_first_element_is_in_the_high_nibble(device):
    x = torch.zeros(64, device=device)
    x[0], x[1] = -2.0, 2.0  # codes 0 and 15
    codes, absmax = ai_core.nf4.quantize(x, 64)
    assert int(codes[0]) == 0x0F
    assert float(absmax[0]) == 2.0


def test_out_variant_writes_into_the_callers_tensor(device):
    x = torch.randn(4, 64, device=device)
    codes, absmax = ai_core.nf4.quantize(x)
    out = torch.full((4, 64), float("nan"), dtype=torch.float16, device=device)
    pointer = out.data_ptr()
    result = ai_core.nf4.dequantize(codes, absmax, x.shape, dtype=torch.float16, out=out)
    assert result is out and out.data_ptr() == pointer
    assert torch.equal(out, ai_core.nf4.dequantize(codes, absmax, x.shape, dtype=torch.float16))


def test_torch_ops_and_the_python_functions_agree(device):
    x = torch.randn(300, device=device, dtype=torch.bfloat16)
    a = torch.ops.ai_core.nf4_quantize(x, 64)
    b = ai_core.nf4.quantize(x, 64)
    assert all(torch.equal(p, q) for p, q in zip(a, b))


@pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device visible to torch")
@pytest.mark.parametrize("dtype", DTYPES)
def test_cpu_and_cuda_agree_bit_for_bit(dtype):
    x = torch.randn(1000, 77, dtype=dtype)
    cpu = ai_core.nf4.quantize(x, 64)
    gpu = ai_core.nf4.quantize(x.cuda(), 64)
    assert torch.equal(cpu[0], gpu[0].cpu()) and torch.equal(cpu[1], gpu[1].cpu())
    y_cpu = ai_core.nf4.dequantize(*cpu, x.shape, 64, dtype)
    y_gpu = ai_core.nf4.dequantize(*gpu, x.shape, 64, dtype)
    assert torch.equal(y_cpu, y_gpu.cpu())
