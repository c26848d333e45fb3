"""What redacting log secrets costs a scan worker: one chunk scanned, with and without it.

    .venv/bin/python bench/secrets_overhead.py [--mib 2] [--repeat 5] [--json out.json]

Builds one chunk of synthetic CI log (about ``--mib`` MiB, this script's own text) in two
flavours: plain, and with a credential on one line in fifty (a leaky log). For each, times
``scan_chunk`` alone and ``scan_chunk`` + ``redact_scan`` (what a worker does) in the same
process, alternating, and reports medians and the ratio.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median_of, print_table, timed, write_json
from juggler.triage._findings import scan_chunk
from juggler.triage._secrets import redact_scan


def build(mib: float, leaky: bool, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    lines: list[str] = []
    size = 0
    n = 0
    while size < mib * 1024 * 1024:
        n += 1
        if n % 400 == 0:
            line = f"E   AssertionError: expected {n} rows, got {n - 1}"
        elif n % 997 == 0:
            line = f"ERROR connection reset by peer while fetching https://cache/{n}"
        elif leaky and n % 50 == 0:
            token = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))
            line = f"+ curl -H 'Authorization: token ghp_{token}' password=hunter{n}"
        else:
            line = f"INFO step {n % 40} compiled module_{n % 313}.py in {n % 997} ms"
        lines.append(line)
        size += len(line) + 1
    lines.append("##[error]Process completed with exit code 1.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows, results = [], {}
    for leaky in (False, True):
        lines = build(args.mib, leaky)

        def scan(lines: list[str] = lines) -> None:
            scan_chunk(lines)

        def scan_and_redact(lines: list[str] = lines) -> None:
            redact_scan(scan_chunk(lines), lines)

        alone = median_of(lambda: timed(scan), args.repeat)
        both = median_of(lambda: timed(scan_and_redact), args.repeat)
        name = "leaky (1 line in 50)" if leaky else "plain"
        rows.append([name, len(lines), alone, both, both / alone])
        results[name] = {"lines": len(lines), "scan_s": alone, "scan_redact_s": both}
    print_table(
        "Scan worker: redaction overhead (medians)",
        ["log", "lines", "scan s", "scan+redact s", "ratio"],
        rows,
    )
    write_json(args.json, results)


if __name__ == "__main__":
    main()
