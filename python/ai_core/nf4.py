# SPDX-License-Identifier: MIT
"""QLoRA's NF4 quantizer (examples/nf4) over torch.ops.ai_core.nf4_quantize / nf4_dequantize.

Layout (bitsandbytes'): `codes` uint8, two 4-bit codes per byte, the first element in the high
nibble, shape [ceil(numel / 2)]; `absmax` float32, one per block of `block_size` elements, shape
[ceil(numel / block_size)]. CPU and CUDA give the same bits. Both ops work under torch.compile
(Meta kernels with symbolic shapes) and take no autograd: quantized weights are frozen.

Example:
    codes, absmax = ai_core.nf4.quantize(weight, block_size=64)
    w = ai_core.nf4.dequantize(codes, absmax, weight.shape, block_size=64, dtype=torch.bfloat16)
"""
from __future__ import annotations

from typing import Sequence

import torch

from ._errors import translate_errors

__all__ = ["quantize", "dequantize", "DEFAULT_BLOCK_SIZE"]

#: QLoRA's block size.
DEFAULT_BLOCK_SIZE = 64


def quantize(x: torch.Tensor, block_size: int = DEFAULT_BLOCK_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantizes `x` (contiguous f32/f16/bf16, finite, non-empty) on its device; returns
    ``(codes, absmax)``. Raises `CoreError`: ``invalid_config`` for a block size that is not a
    power of two in [32, 4096], an unsupported dtype, a non-contiguous or empty tensor, NaN/Inf."""
    with translate_errors():
        return torch.ops.ai_core.nf4_quantize(x, block_size)


def dequantize(codes: torch.Tensor, absmax: torch.Tensor, shape: Sequence[int],
               block_size: int = DEFAULT_BLOCK_SIZE, dtype: torch.dtype = torch.bfloat16, *,
               out: torch.Tensor | None = None) -> torch.Tensor:
    """Dequantizes ``(codes, absmax)`` to a tensor of `shape` and `dtype` (f32/f16/bf16) on their
    device, or into `out` (contiguous, that shape and dtype, same device: no allocation).
    Raises `CoreError`: ``shape_mismatch`` for codes/absmax/out sizes that disagree with `shape`,
    ``device_mismatch``, ``invalid_config`` (dtype, block size, layout)."""
    with translate_errors():
        if out is None:
            return torch.ops.ai_core.nf4_dequantize(codes, absmax, list(shape), block_size, dtype)
        torch.ops.ai_core.nf4_dequantize.out(codes, absmax, list(shape), block_size, dtype, out=out)
        return out
