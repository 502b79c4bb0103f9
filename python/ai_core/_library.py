# SPDX-License-Identifier: MIT
"""Loads the operator library (libai_core_torch_ops.so, next to this file) into torch.ops."""
from __future__ import annotations

import os

import torch

_LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libai_core_torch_ops.so")
_loaded = False


def load() -> None:
    """Registers torch.ops.ai_core.* (once) and queues ai_core's CPU fallback warning for Python's
    warnings (`_errors.emit_pending_warnings`) instead of writing it to stderr."""
    global _loaded
    if _loaded:
        return
    if not os.path.exists(_LIBRARY):
        raise ImportError(
            f"ai_core: the operator library {_LIBRARY} is missing; install the package with "
            "`pip install --no-build-isolation .` from the ai-core checkout")
    torch.ops.load_library(_LIBRARY)
    torch.ops.ai_core._queue_cpu_warnings(True)
    _loaded = True
