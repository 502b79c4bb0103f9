#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""DLPack round trip between ai_core and Python consumers, on the GPU machine.

Usage: dlpack_roundtrip.py <path to libai_core_dlpack_testlib.so>

1. ai_core -> torch.from_dlpack and cupy.from_dlpack, versioned ("dltensor_versioned") and
   legacy ("dltensor") capsules: zero copy (the consumer's pointer is the buffer's), the values,
   and the exporter's deleter runs exactly once, after the consumer drops the tensor.
2. torch -> ai_core::from_dlpack: a torch tensor's capsule imported as an owning buffer, same
   pointer, keeps the memory alive after the torch tensor is gone, torch's deleter runs once.

Exits 77 (CTest SKIP_RETURN_CODE) when python3 lacks torch or CuPy, or there is no GPU.
"""
import ctypes
import gc
import sys

SKIP = 77


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


try:
    import torch
except ImportError as e:
    skip(f"python3 has no torch ({e})")
if not torch.cuda.is_available():
    skip("no CUDA device visible to torch")
try:
    import cupy
except ImportError as e:
    skip(f"python3 has no cupy ({e})")

if len(sys.argv) != 2:
    print(__doc__)
    sys.exit(2)
lib = ctypes.CDLL(sys.argv[1])
ERR = ctypes.create_string_buffer(4096)
for name, restype, argtypes in [
    ("aic_make_cuda_buffer", ctypes.c_void_p, [ctypes.c_int64, ctypes.c_char_p, ctypes.c_int]),
    ("aic_free_buffer", None, [ctypes.c_void_p]),
    ("aic_buffer_data", ctypes.c_void_p, [ctypes.c_void_p]),
    ("aic_buffer_sum", ctypes.c_double, [ctypes.c_void_p]),
    ("aic_export_versioned", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]),
    ("aic_export_legacy", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]),
    ("aic_deleter_calls", ctypes.c_int64, []),
    ("aic_import_versioned", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]),
    ("aic_import_legacy", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]),
]:
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = argtypes

PyCapsule_New = ctypes.pythonapi.PyCapsule_New
PyCapsule_New.restype = ctypes.py_object
PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
PyCapsule_GetPointer = ctypes.pythonapi.PyCapsule_GetPointer
PyCapsule_GetPointer.restype = ctypes.c_void_p
PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
PyCapsule_SetName = ctypes.pythonapi.PyCapsule_SetName
PyCapsule_SetName.restype = ctypes.c_int
PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def need(pointer, what):
    if not pointer:
        print(f"FAIL {what}: {ERR.value.decode(errors='replace')}")
        sys.exit(1)
    return pointer


N = 1000
EXPECTED_SUM = N * (N - 1) / 2


class Producer:
    """A DLPack producer over an ai_core buffer: each __dlpack__ call exports a new capsule (the
    consumer owns it; no capsule destructor, the consumer renames it "used_..." and calls the
    deleter)."""

    def __init__(self, buffer, versioned):
        self.buffer = buffer
        self.versioned = versioned
        self.kinds = []

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        # The buffer was written on torch's current stream, which is the consumer's here
        # (the legacy default stream); nothing to order.
        if self.versioned and max_version is not None and max_version[0] >= 1:
            pointer = need(lib.aic_export_versioned(self.buffer, ERR, len(ERR)), "export versioned")
            self.kinds.append("dltensor_versioned")
            return PyCapsule_New(pointer, b"dltensor_versioned", None)
        pointer = need(lib.aic_export_legacy(self.buffer, ERR, len(ERR)), "export legacy")
        self.kinds.append("dltensor")
        return PyCapsule_New(pointer, b"dltensor", None)

    def __dlpack_device__(self):
        return (2, 0)  # kDLCUDA, device 0


def consume(consumer, name, versioned):
    buffer = need(lib.aic_make_cuda_buffer(N, ERR, len(ERR)), "make buffer")
    data = lib.aic_buffer_data(buffer)
    before = lib.aic_deleter_calls()
    producer = Producer(buffer, versioned)
    array = consumer(producer)
    kind = producer.kinds[-1] if producer.kinds else "none"
    if versioned:
        check(kind == "dltensor_versioned", f"{name}: asked for a versioned capsule (got {kind})")
    else:
        check(kind == "dltensor", f"{name}: legacy capsule")
    pointer = array.data_ptr() if isinstance(array, torch.Tensor) else array.data.ptr
    check(pointer == data, f"{name} [{kind}]: zero copy (pointer {pointer:#x} == {data:#x})")
    values = array.cpu() if isinstance(array, torch.Tensor) else torch.from_numpy(cupy.asnumpy(array))
    check(torch.equal(values, torch.arange(N, dtype=torch.float32)), f"{name} [{kind}]: values")
    lib.aic_free_buffer(buffer)  # the consumer's reference must keep the memory alive
    total = float(array.sum().item()) if isinstance(array, torch.Tensor) else float(array.sum())
    check(total == EXPECTED_SUM, f"{name} [{kind}]: memory alive after the producer's buffer is gone")
    check(lib.aic_deleter_calls() == before, f"{name} [{kind}]: no deleter call while in use")
    del array, values
    gc.collect()
    torch.cuda.synchronize()
    calls = lib.aic_deleter_calls() - before
    check(calls == 1, f"{name} [{kind}]: deleter ran exactly once after the consumer dropped it ({calls})")


consume(torch.from_dlpack, "torch.from_dlpack", versioned=True)
consume(torch.from_dlpack, "torch.from_dlpack", versioned=False)
consume(cupy.from_dlpack, "cupy.from_dlpack", versioned=True)
consume(cupy.from_dlpack, "cupy.from_dlpack", versioned=False)

# A legacy capsule handed over directly (the pre-protocol path).
buffer = need(lib.aic_make_cuda_buffer(N, ERR, len(ERR)), "make buffer")
before = lib.aic_deleter_calls()
capsule = PyCapsule_New(need(lib.aic_export_legacy(buffer, ERR, len(ERR)), "export"), b"dltensor", None)
t = torch.utils.dlpack.from_dlpack(capsule)
check(t.data_ptr() == lib.aic_buffer_data(buffer), "legacy capsule directly: zero copy")
del t, capsule
gc.collect()
check(lib.aic_deleter_calls() - before == 1, "legacy capsule directly: deleter ran once")
lib.aic_free_buffer(buffer)

# torch -> ai_core::from_dlpack.
for versioned in (False, True):
    x = torch.arange(N, dtype=torch.float32, device="cuda")
    name = "dltensor_versioned" if versioned else "dltensor"
    if versioned:
        try:
            capsule = x.__dlpack__(max_version=(1, 0))
        except TypeError:
            print("note: this torch cannot export versioned capsules; versioned import not run")
            continue
        if b"versioned" not in repr(capsule).encode():
            print(f"note: torch returned {capsule!r} for max_version (1, 0); versioned import not run")
            continue
    else:
        capsule = torch.utils.dlpack.to_dlpack(x)
    pointer = PyCapsule_GetPointer(capsule, name.encode())
    importer = lib.aic_import_versioned if versioned else lib.aic_import_legacy
    handle = need(importer(pointer, ERR, len(ERR)), f"import {name}")
    PyCapsule_SetName(capsule, b"used_" + name.encode())  # consumed: the capsule must not free it
    check(lib.aic_buffer_data(handle) == x.data_ptr(), f"from_dlpack [{name}]: zero copy")
    storage = x.untyped_storage()
    del x, capsule
    gc.collect()
    check(lib.aic_buffer_sum(handle) == EXPECTED_SUM,
          f"from_dlpack [{name}]: the buffer keeps torch's memory alive")
    lib.aic_free_buffer(handle)  # runs torch's deleter (once; a second call would crash)
    del storage
    gc.collect()
    torch.cuda.synchronize()

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all DLPack round-trip checks passed")
