# SPDX-License-Identifier: MIT
"""torch.compile(fullgraph=True) of a function calling both NF4 operators matches eager, bit for
bit, with static and dynamic shapes."""
from __future__ import annotations

import pytest
import torch

import ai_core  # noqa: F401  (registers torch.ops.ai_core.*)


def quantize_then_dequantize(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    codes, absmax = torch.ops.ai_core.nf4_quantize(x, 64)
    w = torch.ops.ai_core.nf4_dequantize(codes, absmax, x.shape, 64, dtype)
    return w * 2 + 1  # something for the compiler to fuse around the operators


def _require_compiler(device: torch.device) -> None:
    if device.type == "cuda":
        from torch.utils._triton import has_triton

        if not has_triton():
            pytest.skip("torch.compile on CUDA needs triton, which is not installed")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_compiled_matches_eager_bit_for_bit(device, dtype):
    _require_compiler(device)
    if device.type == "cuda" and dtype == torch.float32:
        pytest.skip("one dtype on CUDA keeps the GPU run short; both run on the CPU")
    torch._dynamo.reset()
    compiled = torch.compile(quantize_then_dequantize, fullgraph=True)
    for shape in [(8, 64), (3, 100), (5, 33)]:  # the later shapes recompile with dynamic sizes
        x = torch.randn(shape, device=device)
        assert torch.equal(compiled(x, dtype), quantize_then_dequantize(x, dtype)), shape


def test_compiled_graph_raises_core_error_for_bad_input(device):
    _require_compiler(device)
    torch._dynamo.reset()

    def bad_block(x):
        return torch.ops.ai_core.nf4_quantize(x, 48)

    with pytest.raises(Exception) as caught:
        torch.compile(bad_block, fullgraph=True)(torch.randn(64, device=device))
    error = ai_core.CoreError.from_exception(caught.value)
    assert error is not None and error.code == "invalid_config"
    assert "block size 48" in error.message
