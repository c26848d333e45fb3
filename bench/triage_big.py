"""Triage of a large log: throughput and peak memory of the whole process tree.

    .venv/bin/python bench/triage_big.py [--gib 1.0] [--keep PATH]

Builds a log of about ``--gib`` GiB from the shared loghub samples (at run time, in a temp
folder), with a Python traceback and a failing make step near the end, then runs
``juggler triage --json`` on it in a subprocess and polls the RSS of it and its workers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub"
FAILURE = """\
Traceback (most recent call last):
  File "/srv/app/jobs/rollup.py", line 88, in <module>
    main()
  File "/srv/app/jobs/rollup.py", line 80, in main
    totals = merge(parts)
KeyError: 'region'
make: *** [Makefile:42: rollup] Error 1
"""


def build(path: Path, gib: float) -> int:
    # Each sample ends its last line, so the failure starts on a line of its own.
    sample = b"".join(
        p.read_bytes().rstrip(b"\n") + b"\n" for p in sorted(SHARED.glob("*/*_2k.log"))
    )
    target = int(gib * 1024**3)
    written = 0
    with path.open("wb") as out:
        while written + len(sample) < target:
            out.write(sample)
            written += len(sample)
        out.write(FAILURE.encode())
        written += len(FAILURE)
    return written


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--keep", type=Path, help="write the log here instead of a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = args.keep or Path(tmp) / "big.log"
        size = build(log, args.gib)
        cmd = [sys.executable, "-m", "juggler", "triage", str(log), "--json", "--quiet"]
        started = time.perf_counter()
        proc = subprocess.Popen([*cmd, "--no-kb"], stdout=subprocess.PIPE, text=True)
        watched = psutil.Process(proc.pid)
        peak_parent = peak_tree = 0
        while proc.poll() is None:
            try:
                peak_parent = max(peak_parent, watched.memory_info().rss)
                peak_tree = max(peak_tree, tree_rss(watched))
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
        out, _ = proc.communicate()
        wall = time.perf_counter() - started
        document = json.loads(out)
        top = document["findings"][0] if document["findings"] else {}
        print(f"log: {size / 1024**3:.2f} GiB, {document['inputs'][0]['lines']:,} lines")
        print(f"wall: {wall:.1f} s, throughput {size / wall / 1024**2:.1f} MiB/s")
        mib = 1024**2
        print(f"peak RSS: parent {peak_parent / mib:.0f} MiB, all {peak_tree / mib:.0f} MiB")
        where = f"{top.get('line_start')}-{top.get('line_end')}"
        print(f"top finding: {top.get('title')!r} at lines {where}")


if __name__ == "__main__":
    main()
