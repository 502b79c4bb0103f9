# SPDX-License-Identifier: MIT
"""ai_core for Python: the C++ library's device selection, errors and NF4 kernels, as PyTorch
operators (torch.ops.ai_core.*) and thin functions over them.

    import ai_core
    device = ai_core.get_device("my_trainer")          # cuda:N, or the CPU with one warning
    codes, absmax = ai_core.nf4.quantize(weight)       # torch.ops.ai_core.nf4_quantize
    w = ai_core.nf4.dequantize(codes, absmax, weight.shape, dtype=torch.bfloat16)

`python -m ai_core doctor` prints what device you get and why.
"""
from ._library import load as _load

_load()

from . import nf4  # noqa: E402
from ._device import device_report, device_report_text, get_device, version  # noqa: E402
from ._errors import ERROR_CODES, CoreError, CpuFallbackWarning, translate_errors  # noqa: E402

__version__ = version()

import atexit as _atexit  # noqa: E402

from ._errors import emit_pending_warnings as _emit_pending_warnings  # noqa: E402

_atexit.register(_emit_pending_warnings)

__all__ = [
    "CoreError",
    "CpuFallbackWarning",
    "ERROR_CODES",
    "device_report",
    "device_report_text",
    "get_device",
    "nf4",
    "translate_errors",
    "version",
]
