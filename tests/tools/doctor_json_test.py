#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ai-core doctor --json` over hostile environment values (docs/device.md, "doctor --json").

Every output must parse with Python's json module, and each value must decode to the characters
it had: code points escaped as such (not byte by byte), invalid UTF-8 as U+FFFD per byte with
"invalid_utf8_replaced" true. Usage: doctor_json_test.py <path to ai-core>
"""
import json
import os
import subprocess
import sys

# (case, variable, value as bytes, expected decoded value, invalid UTF-8 replaced)
CASES = [
    ("plain", b"CUDA_VISIBLE_DEVICES", b"0,1", "0,1", False),
    ("full-width digits", b"CUDA_VISIBLE_DEVICES", "０,１".encode(), "０,１", False),
    ("accents", b"SPDLOG_LEVEL", "débogage".encode(), "débogage", False),
    ("above U+FFFF", b"CUDA_VISIBLE_DEVICES", "GPU-😀".encode(), "GPU-😀", False),
    ("invalid bytes", b"CUDA_VISIBLE_DEVICES", b"\xff\xfe0", "\ufffd\ufffd0", True),
    ("truncated sequence", b"SPDLOG_LEVEL", b"info\xe2\x82", "info\ufffd\ufffd", True),
    ("overlong slash", b"SPDLOG_LEVEL", b"\xc0\xaf", "\ufffd\ufffd", True),
    ("surrogate", b"SPDLOG_LEVEL", b"\xed\xa0\x80", "\ufffd\ufffd\ufffd", True),
    ("above U+10FFFF", b"SPDLOG_LEVEL", b"\xf4\x90\x80\x80", "\ufffd" * 4, True),
    ("control characters", b"CUDA_VISIBLE_DEVICES", b"0\x01\x1b[31m\x7f\t\r\n\x08\x0c",
     "0\x01\x1b[31m\x7f\t\r\n\x08\x0c", False),
    ("quotes and backslashes", b"SPDLOG_LEVEL", b'"\\"\\\\u0041\\', '"\\"\\\\u0041\\', False),
    # Malformed settings: exit status 2, the JSON is still printed and valid.
    ("full-width ordinal", b"RUST_AI_CUDA_DEVICE", "１".encode(), "１", False),
    ("invalid UTF-8 boolean", b"RUST_AI_FORCE_CPU", b"y\xe9s", "y\ufffds", True),
]


def main() -> int:
    cli = sys.argv[1]
    failures = 0
    for name, variable, value, expected, replaced in CASES:
        env = {k: v for k, v in os.environb.items() if not k.startswith((b"RUST_AI_", b"AXOLOTL_",
                                                                          b"VSA_OPTIM_"))}
        env.pop(b"LOCAL_RANK", None)
        env[b"RUST_AI_FORCE_CPU"] = b"1"  # no CUDA probe needed for the encoding
        env[variable] = value
        run = subprocess.run([cli, "doctor", "--json"], env=env, capture_output=True, timeout=60)
        problems = []
        if run.returncode not in (0, 2):
            problems.append(f"exit status {run.returncode}")
        try:
            report = json.loads(run.stdout.decode("ascii"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(f"not ASCII JSON: {error}: {run.stdout[:200]!r}")
            report = None
        if report is not None:
            values = {e["name"]: e["value"] for e in report["environment"]}
            seen = values.get(variable.decode("ascii"))
            if seen != expected:
                problems.append(f"value decodes to {seen!r}, expected {expected!r}")
            if report.get("invalid_utf8_replaced") is not replaced:
                problems.append(f"invalid_utf8_replaced is {report.get('invalid_utf8_replaced')}")
        status = "ok" if not problems else "FAIL: " + "; ".join(problems)
        print(f"{name:28} {status}")
        failures += bool(problems)
    print(f"{len(CASES) - failures}/{len(CASES)} cases passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
