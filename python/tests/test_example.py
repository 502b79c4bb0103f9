# SPDX-License-Identifier: MIT
"""examples/python/lora_nf4.py trains: the loss falls and only the adapter gets gradients (the
example asserts both and exits non-zero otherwise)."""
from __future__ import annotations

import os

import pytest

from conftest import HAS_CUDA, run_python

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python", "lora_nf4.py")


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_lora_example_trains(device):
    if device == "cuda" and not HAS_CUDA:
        pytest.skip("no CUDA device visible to torch")
    env = {"RUST_AI_FORCE_CPU": "1"} if device == "cpu" else {}
    result = run_python("", env, args=[EXAMPLE, "--steps", "30"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"device {device}" in result.stdout
    assert "loss fell" in result.stdout and "only the adapter has gradients" in result.stdout
