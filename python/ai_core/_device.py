# SPDX-License-Identifier: MIT
"""Device selection and the doctor's report, from ai_core's C++ device layer."""
from __future__ import annotations

import json

import torch

from ._errors import translate_errors

__all__ = ["get_device", "device_report", "device_report_text", "version"]


def get_device(component: str | None = None) -> torch.device:
    """Returns the device ai_core selects, reading the same environment variables as C++
    (RUST_AI_FORCE_CPU, RUST_AI_CUDA_DEVICE, LOCAL_RANK, RUST_AI_CPU_FALLBACK, ...; docs/device.md):
    ``cuda:N`` when CUDA is usable, else the CPU with one `CpuFallbackWarning` per process (the
    same once-per-process flag as the C++ library), or a `CoreError` (``device_not_available``
    under RUST_AI_CPU_FALLBACK=error, ``invalid_config`` for a malformed variable). `component`
    names the caller in the warning."""
    with translate_errors():
        return torch.ops.ai_core.get_device(component)


def device_report() -> dict:
    """Returns what ``ai-core doctor --json`` prints, as a dict: versions, the CUDA probe, every
    environment variable read, and the device `get_device` would choose and why. Never warns."""
    with translate_errors():
        return json.loads(torch.ops.ai_core.device_report_json())


def device_report_text() -> str:
    """Returns the human-readable report ``ai-core doctor`` prints."""
    with translate_errors():
        return torch.ops.ai_core.device_report_text()


def version() -> str:
    """Returns the version of the ai_core C++ library loaded."""
    return torch.ops.ai_core.version()
