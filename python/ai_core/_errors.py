# SPDX-License-Identifier: MIT
"""`CoreError`, and the translation of errors that crossed PyTorch's dispatcher back into it.

A `CoreError` raised in C++ reaches Python through torch's dispatcher as a `RuntimeError` (or
`torch.OutOfMemoryError`) whose message holds the line prefix ``ai_core::CoreError[<code>]: ``
(<ai_core/torch_library.hpp>). `CoreError.from_exception` finds it again, also inside the errors
torch.compile wraps around it; the functions of this package raise `CoreError` directly.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings

__all__ = ["CoreError", "CpuFallbackWarning", "translate_errors", "ERROR_CODES"]

#: The `ai_core::ErrorCode` identifiers, in enum order.
ERROR_CODES = (
    "invalid_config",
    "shape_mismatch",
    "dimension_mismatch",
    "device_not_available",
    "device_mismatch",
    "out_of_memory",
    "kernel_error",
    "not_implemented",
    "io",
    "torch",
    "communication",
    "unknown",
)

_PREFIX = re.compile(r"ai_core::CoreError\[(?P<code>[a-z_]+)\]: ")


class CoreError(RuntimeError):
    """An ai_core error: `code` is the `ErrorCode` identifier ("invalid_config", ...),
    `message` the whole text: the message, then one indented line per context entry."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def context(self) -> list[str]:
        """The context lines added on the way out, innermost first."""
        return [line.strip() for line in self.message.splitlines()[1:] if line.startswith("  ")]

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    @classmethod
    def from_exception(cls, error: BaseException) -> "CoreError | None":
        """Returns the CoreError `error` carries (in its message, or in a cause or context chained
        to it), or None when it carries none."""
        seen = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            if isinstance(error, CoreError):
                return error
            match = _PREFIX.search(str(error))
            if match:
                text = str(error)[match.end():]
                # torch.compile appends its own sections after a blank line.
                text = text.split("\n\n", 1)[0].rstrip()
                return cls(match["code"], text)
            error = error.__cause__ or error.__context__
        return None


class CpuFallbackWarning(UserWarning):
    """The one-time warning that ai_core computes on the CPU although a GPU was expected."""


def _user_frame():
    """The innermost frame outside this package and contextlib: where the caller called us."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)
    while frame is not None and (
        os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here
        or frame.f_code.co_filename.endswith("contextlib.py")
    ):
        frame = frame.f_back
    return frame


def emit_pending_warnings() -> None:
    """Issues the CPU fallback warning the C++ library queued, if any, as a `CpuFallbackWarning`
    pointing at the caller's line. Runs after every call of this package and at exit (a warning
    raised by a bare torch.ops.ai_core call or a compiled graph shows up there)."""
    import torch

    messages = torch.ops.ai_core._take_cpu_warnings()
    if not messages:
        return
    frame = _user_frame()
    for text in messages:
        if frame is None:
            warnings.warn(text, CpuFallbackWarning, stacklevel=2)
            continue
        registry = frame.f_globals.setdefault("__warningregistry__", {})
        warnings.warn_explicit(text, CpuFallbackWarning, frame.f_code.co_filename, frame.f_lineno,
                               module=frame.f_globals.get("__name__"), registry=registry)


@contextlib.contextmanager
def translate_errors():
    """Turns errors carrying a CoreError into `CoreError` (the original chained as its cause), and
    issues the queued CPU fallback warning, around calls of torch.ops.ai_core.*. Also a
    decorator: ``@translate_errors()``."""
    try:
        yield
    except CoreError:
        raise
    except RuntimeError as error:
        core = CoreError.from_exception(error)
        if core is None:
            raise
        raise core from error
    finally:
        emit_pending_warnings()
