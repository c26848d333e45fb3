"""Cost of the starter catalogue in a whole triage: same log, full catalogue vs none.

    .venv/bin/python bench/kb_overhead.py [--lines 10000] [--repeat 7]

Both runs open a knowledge base (so opening it is not what is measured): one seeded with
the starter catalogue, one empty. Runs are interleaved; medians are compared.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from juggler.triage.kb import open_store
from juggler.triage.pipeline import triage

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub"


async def _create(path: Path, *, seed: bool) -> None:
    async with open_store(path, seed=seed):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lines: list[str] = []
        for sample in sorted(SHARED.glob("*/*_2k.log")):
            lines.extend(sample.read_text(errors="replace").splitlines())
        log = Path(tmp) / "build.log"
        log.write_text("\n".join((lines * (args.lines // len(lines) + 1))[: args.lines]) + "\n")
        full, empty = Path(tmp) / "full.sqlite3", Path(tmp) / "empty.sqlite3"
        asyncio.run(_create(full, seed=True))
        asyncio.run(_create(empty, seed=False))
        with_catalogue, without = [], []
        for _ in range(args.repeat):
            for kb, into in ((full, with_catalogue), (empty, without)):
                started = time.perf_counter()
                triage([str(log)], kb=kb)
                into.append(time.perf_counter() - started)
        a, b = statistics.median(with_catalogue), statistics.median(without)
        print("| log | no causes (s) | starter catalogue (s) | ratio |\n|---|---|---|---|")
        print(f"| {args.lines:,} lines | {b:.3f} | {a:.3f} | {a / b:.3f} |")


if __name__ == "__main__":
    main()
