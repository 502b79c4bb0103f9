# SPDX-License-Identifier: MIT
"""Shared fixtures: the devices to test on (CUDA variants skip without a GPU) and a helper that
runs Python in a child process with a controlled environment."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

# Every variable ai_core's device layer reads (docs/device.md); children start without them.
DEVICE_VARIABLES = (
    "RUST_AI_FORCE_CPU", "AXOLOTL_FORCE_CPU", "VSA_OPTIM_FORCE_CPU",
    "RUST_AI_CUDA_DEVICE", "AXOLOTL_CUDA_DEVICE", "VSA_OPTIM_CUDA_DEVICE",
    "LOCAL_RANK", "RUST_AI_CPU_FALLBACK",
)

HAS_CUDA = torch.cuda.is_available()


@pytest.fixture(params=["cpu", "cuda"])
def device(request) -> torch.device:
    if request.param == "cuda" and not HAS_CUDA:
        pytest.skip("no CUDA device visible to torch")
    return torch.device(request.param)


def run_python(code: str, env: dict[str, str] | None = None, args: list[str] | None = None,
               timeout: float = 180) -> subprocess.CompletedProcess:
    """Runs `python -c code` (or `python args...`) with the device variables cleared and `env`
    added; returns the completed process (text output)."""
    child_env = {k: v for k, v in os.environ.items() if k not in DEVICE_VARIABLES}
    child_env.update(env or {})
    command = [sys.executable] + (args if args is not None else ["-c", code])
    return subprocess.run(command, env=child_env, capture_output=True, text=True,
                          timeout=timeout)
