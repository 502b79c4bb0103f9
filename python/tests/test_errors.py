# SPDX-License-Identifier: MIT
"""Bad input from Python raises ai_core.CoreError with the right code and the whole message;
every ErrorCode crosses the dispatcher and comes back."""
from __future__ import annotations

import pytest
import torch

import ai_core

from conftest import HAS_CUDA


def raises_core(code: str, *needles: str):
    class Check:
        def __enter__(self):
            self.ctx = pytest.raises(ai_core.CoreError)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.ctx.__exit__(*exc)
            assert self.info.value.code == code, self.info.value
            for needle in needles:
                assert needle in self.info.value.message, (needle, self.info.value.message)
            return handled

    return Check()


@pytest.mark.parametrize("dtype", [torch.int32, torch.float64, torch.uint8])
def test_wrong_dtype(device, dtype):
    with raises_core("invalid_config", "unsupported dtype", "nf4_quantize"):
        ai_core.nf4.quantize(torch.ones(64, dtype=dtype, device=device))


@pytest.mark.parametrize("block_size", [48, 16, 8192, 0, -64])
def test_odd_block_size(device, block_size):
    with raises_core("invalid_config", f"block size {block_size}"):
        ai_core.nf4.quantize(torch.randn(128, device=device), block_size)
    codes, absmax = ai_core.nf4.quantize(torch.randn(128, device=device), 64)
    with raises_core("invalid_config", f"block size {block_size}"):
        ai_core.nf4.dequantize(codes, absmax, (128,), block_size)


def test_non_contiguous(device):
    x = torch.randn(64, 32, device=device).t()
    with raises_core("invalid_config", "not contiguous", "in torch.ops.ai_core.nf4_quantize"):
        ai_core.nf4.quantize(x)
    codes, absmax = ai_core.nf4.quantize(torch.randn(64, 32, device=device))
    out = torch.empty(32, 64, device=device, dtype=torch.bfloat16).t()
    with raises_core("invalid_config", "not contiguous"):
        ai_core.nf4.dequantize(codes, absmax, (64, 32), out=out)


def test_wrong_device_meta_mixed_with_a_real_tensor(device):
    codes, absmax = ai_core.nf4.quantize(torch.randn(128, device=device))
    with raises_core("device_mismatch", "meta"):
        ai_core.nf4.dequantize(codes, absmax.to("meta"), (128,))


@pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device visible to torch")
def test_wrong_device_cuda_and_cpu():
    codes, absmax = ai_core.nf4.quantize(torch.randn(128, device="cuda"))
    with raises_core("device_mismatch", "cuda", "cpu"):
        ai_core.nf4.dequantize(codes, absmax.cpu(), (128,))
    out = torch.empty(128, dtype=torch.bfloat16)
    with raises_core("device_mismatch"):
        ai_core.nf4.dequantize(codes, absmax, (128,), out=out)


def test_sizes_that_disagree_with_the_shape(device):
    codes, absmax = ai_core.nf4.quantize(torch.randn(100, device=device))
    with raises_core("shape_mismatch", "codes has 50 elements, expected 51"):
        ai_core.nf4.dequantize(codes, absmax, (101,))
    out = torch.empty(99, dtype=torch.bfloat16, device=device)
    with raises_core("shape_mismatch"):
        ai_core.nf4.dequantize(codes, absmax, (100,), out=out)
    with raises_core("invalid_config", "`out` has dtype f16"):
        ai_core.nf4.dequantize(codes, absmax, (100,), dtype=torch.bfloat16,
                               out=torch.empty(100, dtype=torch.float16, device=device))


def test_non_finite_and_empty_input(device):
    x = torch.randn(128, device=device)
    x[70] = float("inf")
    with raises_core("invalid_config", "non-finite input", "element 70", "block 1"):
        ai_core.nf4.quantize(x)
    with raises_core("invalid_config", "empty input"):
        ai_core.nf4.quantize(torch.ones(0, device=device))


@pytest.mark.parametrize("code", ai_core.ERROR_CODES)
def test_every_error_code_crosses_the_dispatcher_with_its_context(code):
    context = ["loading adapter 'q_proj'", "in layer 3"]
    with pytest.raises(RuntimeError) as raw:
        torch.ops.ai_core._raise_error(code, f"something about {code}", context)
    assert str(raw.value).startswith(f"ai_core::CoreError[{code}]: ")
    error = ai_core.CoreError.from_exception(raw.value)
    assert error is not None and error.code == code
    assert f"something about {code}" in error.message.splitlines()[0]
    assert error.context == context
    with pytest.raises(ai_core.CoreError) as translated:
        with ai_core.translate_errors():
            torch.ops.ai_core._raise_error(code, "again", [])
    assert translated.value.code == code
    assert isinstance(translated.value.__cause__, RuntimeError)


def test_out_of_memory_stays_a_torch_out_of_memory_error():
    with pytest.raises(torch.OutOfMemoryError) as raw:
        torch.ops.ai_core._raise_error("out_of_memory", "requested 20 GiB", [])
    assert ai_core.CoreError.from_exception(raw.value).code == "out_of_memory"


def test_errors_that_are_not_ai_cores_pass_through():
    assert ai_core.CoreError.from_exception(RuntimeError("plain")) is None
    with pytest.raises(ValueError):
        with ai_core.translate_errors():
            raise ValueError("not ours")
    with pytest.raises(RuntimeError) as caught:
        with ai_core.translate_errors():
            torch.ones(2) @ torch.ones(3)
    assert not isinstance(caught.value, ai_core.CoreError)


def test_core_error_is_a_runtime_error_with_code_and_message():
    error = ai_core.CoreError("io", "io error: disk full\n  saving checkpoint")
    assert isinstance(error, RuntimeError)
    assert error.code == "io" and error.context == ["saving checkpoint"]
    assert str(error).startswith("[io] io error: disk full")
