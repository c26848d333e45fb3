"""End-to-end log scraping throughput: juggler (1 and 2 worker processes) against Drain3.

Builds a log of at least ``--lines`` lines (default 1,000,000) from the shared loghub samples
in a temporary folder, then measures, in one run, lines per second end to end:

* juggler, N workers: plan byte-range chunks, then in ``juggler.cpu`` workers read, decode,
  clean (ANSI, CR, CI timestamps) and mine each chunk, and merge the chunk results. Worker
  start-up is included in the time.
* Each juggler row is the best of ``--repeat`` runs (the machine is noisy); Drain3 runs once.
* Drain3, one process: the same read, decode and clean, then ``add_log_message`` per line
  (Drain3 0.9 with the generic masks of ``shared/tools/logparse_eval.py``).

Usage::

    python bench/scrape.py [--lines 1000000] [--data ../shared/data/loghub] [--json OUT]

The loghub samples repeat in the built file, which favours a miner that caches per line
(juggler does; Drain3 does not): ``--unique`` appends a running counter to every line so
that no line repeats, for the cache-free figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import juggler
from juggler.triage import fold_chunk, merge_chunks, plan_chunks, scrape_chunk
from juggler.triage.ingest import iter_sources, sniff_encoding, split_lines
from juggler.triage.scrape._chunks import CHUNK_BYTES

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "loghub"
GENERIC_MASKS = [
    r"\b(\d{1,3}\.){3}\d{1,3}(:\d+)?\b",
    r"\b0[xX][0-9a-fA-F]+\b",
    r"\b[0-9a-fA-F]{8,}\b",
    r"(?<![\w.])[-+]?\d+(\.\d+)?(?![\w.])",
]


def build_log(data_dir: Path, target_lines: int, folder: Path, *, unique: bool) -> tuple[Path, int]:
    """Concatenate the loghub samples until ``target_lines`` lines are written."""
    samples: list[bytes] = []
    for log in sorted(data_dir.glob("*/*_2k.log")):
        samples.extend(log.read_bytes().splitlines(keepends=True))
    if not samples:
        raise SystemExit(f"no */*_2k.log files under {data_dir}")
    path = folder / "big.log"
    written = 0
    with path.open("wb") as out:
        while written < target_lines:
            for line in samples:
                if unique:
                    line = line.rstrip(b"\r\n") + b" seq=%d\n" % written
                out.write(line)
                written += 1
                if written >= target_lines:
                    break
    return path, written


def run_juggler(path: Path, workers: int, chunk_bytes: int, pool: str) -> tuple[float, int]:
    """End-to-end juggler scrape with ``workers`` processes; returns (seconds, templates).

    ``pool="engine"`` runs ``scrape_chunk`` as a ``juggler.cpu`` stage; ``"executor"`` in a
    plain ``concurrent.futures.ProcessPoolExecutor`` (forkserver), for comparison.
    """
    started = time.perf_counter()
    (source,) = list(iter_sources([path]))
    if isinstance(source, Exception):
        raise source
    chunks = plan_chunks(source, chunk_bytes=chunk_bytes)
    if pool == "engine":
        pipeline = juggler.Pipeline(
            juggler.cpu(scrape_chunk), juggler.reduce(fold_chunk, initial=None), workers=workers
        )
        report = pipeline.run(chunks)
        if report.failures:
            raise SystemExit(f"juggler run failed: {report.failures}")
        (state,) = report.results
        merged = state.finish()
    else:
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(workers, mp_context=context) as executor:
            merged = merge_chunks(executor.map(scrape_chunk, chunks))
    templates = sum(len(r.miner.templates()) for r in merged.values())
    return time.perf_counter() - started, templates


def _spin(n: int) -> tuple[float, float]:
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return started, time.perf_counter()


def machine_capacity(n: int = 10_000_000) -> float:
    """How many cores' worth of pure-Python work two processes get right now (ideal 2.0).

    The machine is shared: this calibrates the 2-worker speed-up measured next to it.
    """
    first, last = _spin(n)
    one = last - first
    # spawn, not forkserver: the forkserver is juggler's to start, as in a real run (its
    # workers then start with juggler already imported).
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [1000, 1000], chunksize=1)  # both workers up before timing
        spans = pool.map(_spin, [n, n], chunksize=1)
    # perf_counter is system-wide (CLOCK_MONOTONIC) on Linux, so spans compare across processes.
    two = max(end for _, end in spans) - min(begin for begin, _ in spans)
    return 2 * one / two


def run_drain3(path: Path) -> tuple[float, int]:
    """End-to-end Drain3 in one process: read, decode, clean, mine."""
    from drain3 import TemplateMiner  # type: ignore[import-untyped]
    from drain3.masking import MaskingInstruction  # type: ignore[import-untyped]
    from drain3.template_miner_config import TemplateMinerConfig  # type: ignore[import-untyped]

    started = time.perf_counter()
    config = TemplateMinerConfig()
    config.drain_sim_th, config.drain_depth = 0.4, 4
    config.masking_instructions = [MaskingInstruction(rx, "*") for rx in GENERIC_MASKS]
    config.mask_prefix, config.mask_suffix = "<", ">"
    config.profiling_enabled = False
    miner = TemplateMiner(config=config)
    data = path.read_bytes()
    split = split_lines(data, sniff_encoding(data[:65536]))
    add = miner.add_log_message
    for line in split.lines:
        if line and not line.isspace():
            add(line)
    return time.perf_counter() - started, len(miner.drain.clusters)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--chunk-bytes", type=int, default=CHUNK_BYTES)
    parser.add_argument("--pool", choices=["engine", "executor"], default="engine")
    parser.add_argument("--unique", action="store_true", help="make every line unique")
    parser.add_argument("--repeat", type=int, default=3, help="juggler runs per row; best counts")
    parser.add_argument("--skip-drain3", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    rows: list[dict[str, Any]] = []
    capacity_before = machine_capacity()
    with tempfile.TemporaryDirectory(prefix="juggler-bench-") as folder:
        path, lines = build_log(args.data, args.lines, Path(folder), unique=args.unique)
        size = path.stat().st_size
        print(
            f"log: {lines:,} lines, {size / 2**20:,.0f} MiB, "
            f"{'unique' if args.unique else 'repeating'} lines, pool: {args.pool}"
        )
        for workers in (1, 2):
            runs = [
                run_juggler(path, workers, args.chunk_bytes, args.pool) for _ in range(args.repeat)
            ]
            seconds, templates = min(runs)
            rows.append(
                {
                    "parser": f"juggler, {workers} worker{'s' if workers > 1 else ''}",
                    "workers": workers,
                    "seconds": seconds,
                    "templates": templates,
                }
            )
        if not args.skip_drain3:
            seconds, templates = run_drain3(path)
            rows.append(
                {
                    "parser": "Drain3, 1 process",
                    "workers": 1,
                    "seconds": seconds,
                    "templates": templates,
                }
            )
    capacity_after = machine_capacity()
    for row in rows:
        row["lines_per_s"] = lines / row["seconds"]
    one = rows[0]["lines_per_s"]
    drain = rows[2]["lines_per_s"] if len(rows) > 2 else None
    print()
    print("| parser | seconds | lines/s | vs 1 worker | vs Drain3 | templates |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        vs_drain = f"{row['lines_per_s'] / drain:.2f}x" if drain else "-"
        print(
            f"| {row['parser']} | {row['seconds']:.2f} | {row['lines_per_s']:,.0f} | "
            f"{row['lines_per_s'] / one:.2f}x | {vs_drain} | {row['templates']:,} |"
        )
    print(
        f"\nmachine capacity for 2 processes (pure-Python spin, ideal 2.00): "
        f"{capacity_before:.2f} before, {capacity_after:.2f} after"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "lines": lines,
                    "pool": args.pool,
                    "bytes": size,
                    "unique": args.unique,
                    "chunk_bytes": args.chunk_bytes,
                    "python": sys.version.split()[0],
                    "machine": platform.machine(),
                    "cpus": os.cpu_count(),
                    "rows": rows,
                    "capacity_before": capacity_before,
                    "capacity_after": capacity_after,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
