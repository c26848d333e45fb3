"""Evaluation entry point: ``python -m juggler.triage._evalcmd LOG [--baseline GOOD...] --json``.

A thin stand-in for ``juggler triage`` until the CLI is wired to the engine: it reads the
files with a plain ``open`` and prints the triage JSON contract on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._findings import find_failures


def _read(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        return f.read().split("\n")


def main(argv: list[str] | None = None) -> int:
    """Run the triage on one log and print the JSON document; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m juggler.triage._evalcmd")
    parser.add_argument("log")
    parser.add_argument("--baseline", nargs="*", default=[], metavar="GOOD")
    parser.add_argument("--json", action="store_true", help="print JSON (the only output)")
    args = parser.parse_args(argv)
    inputs: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    baseline: list[list[str]] = []
    for path in args.baseline:
        try:
            good = _read(path)
        except OSError as exc:
            rejected.append({"path": path, "role": "baseline", "reason": str(exc)})
            continue
        baseline.append(good)
        inputs.append({"path": path, "role": "baseline", "lines": len(good)})
    try:
        lines = _read(args.log)
    except OSError as exc:
        rejected.append({"path": args.log, "role": "log", "reason": str(exc)})
        doc: dict[str, Any] = {
            "findings": [],
            "analysis": {},
            "inputs": inputs,
            "rejected_inputs": rejected,
        }
        sys.stdout.write(json.dumps(doc) + "\n")
        return 3  # every input to triage was rejected
    inputs.insert(0, {"path": args.log, "role": "log", "lines": len(lines)})
    doc = find_failures(lines, path=args.log, baseline=baseline)
    doc["inputs"] = inputs
    doc["rejected_inputs"] = rejected
    sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
