# SPDX-License-Identifier: MIT
"""python -m ai_core doctor [--json]: what device ai_core gives this process, and why."""
from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ai_core")
    commands = parser.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser("doctor", help="show the device ai_core selects and why")
    doctor.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args(argv)

    import ai_core

    if args.command == "doctor":
        if args.json:
            report = ai_core.device_report()
            print(json.dumps(report, indent=2))
        else:
            print(ai_core.device_report_text(), end="")
            report = ai_core.device_report()
        return 1 if report.get("error") else 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
