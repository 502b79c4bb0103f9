#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ai-core estimate --fit` and `ai-core demo` with stderr on a terminal (a pseudo-terminal) and
stdout on a pipe: the progress bar is drawn on stderr ("\\r<label> [####...] n/n 100%"), and
stdout holds only the output (with --json: one JSON object that Python's json module parses).
Usage: progress_pty_test.py <path to ai-core>
"""
import json
import os
import pty
import select
import subprocess
import sys
import time

LIMIT_S = 120


def run_with_tty_stderr(argv, env):
    """Runs `argv` with stderr on a new pseudo-terminal; returns (status, stdout, stderr)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    err = b""
    deadline = time.monotonic() + LIMIT_S
    while True:
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            os.close(master)
            raise RuntimeError(f"{argv} ran longer than {LIMIT_S} s")
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                chunk = b""
            if not chunk:
                break
            err += chunk
        elif process.poll() is not None:
            break
    out = process.stdout.read()
    status = process.wait()
    os.close(master)
    return status, out, err.decode("utf-8", "replace")


def main() -> int:
    cli = sys.argv[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUST_AI_")}
    env["RUST_AI_FORCE_CPU"] = "1"
    failures = []

    status, out, err = run_with_tty_stderr(
        [cli, "estimate", "--model", "llama2-7b", "--fit", "24GiB", "--seqs", "256,512,1024",
         "--json"], env)
    if status != 0:
        failures.append(f"estimate --fit --json: exit status {status}: {err!r}")
    try:
        report = json.loads(out.decode("ascii"))
        batches = [row["max_batch"] for row in report["fits"]]
        if report["budget_bytes"] != 24 << 30 or batches != sorted(batches, reverse=True) or \
                batches[0] < 1:
            failures.append(f"estimate --fit --json: unexpected figures {batches} in {report}")
        for row in report["fits"]:
            if row["estimate"]["peak_reserved"] > report["budget_bytes"]:
                failures.append(f"estimate --fit --json: a row over the budget: {row}")
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        failures.append(f"estimate --fit --json: stdout is not the JSON report: {error}: {out!r}")
    if "\rai-core estimate --fit [####################] 3/3 100%" not in err:
        failures.append(f"estimate --fit: no finished bar on the terminal: {err!r}")

    status, out, err = run_with_tty_stderr([cli, "demo", "--rows", "256", "--cols", "256"], env)
    text = out.decode("utf-8", "replace")
    if status != 0:
        failures.append(f"demo: exit status {status}: {err!r}")
    if "\r" in text or "[#" in text or not text.startswith("device        cpu\n"):
        failures.append(f"demo: the bar reached stdout or the report is missing: {text!r}")
    if "dq error" not in text:
        failures.append(f"demo: the report is incomplete: {text!r}")
    if "\rai-core demo [####################] 25/25 100%" not in err:
        failures.append(f"demo: no finished bar on the terminal: {err!r}")

    for failure in failures:
        print("FAIL:", failure)
    print(f"{2 - len(set(f.split(':')[0] for f in failures))} of 2 commands as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
