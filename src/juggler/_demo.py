"""The engine demo: one pipeline that uses all three homes for work.

``fetch`` waits on (simulated) network I/O on the event loop, ``crunch`` burns pure-Python
CPU in worker processes, ``store`` does blocking file I/O in threads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

import juggler

_IO_S = 0.02
_CPU_S = 0.02


async def fetch(n: int) -> tuple[int, float, float]:
    """Simulated HTTP call: waits without holding the loop."""
    await asyncio.sleep(_IO_S)
    return n, _CPU_S, _IO_S


def crunch(job: tuple[int, float, float]) -> tuple[int, int, float]:
    """Pure-Python CPU work for about ``cpu_s`` seconds (the GIL would serialise it)."""
    n, cpu_s, io_s = job
    deadline = time.process_time() + cpu_s
    acc = n
    while time.process_time() < deadline:
        for i in range(1000):
            acc = (acc * 31 + i) % 1_000_003
    return n, acc, io_s


def store(row: tuple[int, int, float]) -> int:
    """Blocking write, as an SDK without async would do."""
    n, acc, io_s = row
    time.sleep(io_s)
    path = Path(os.environ["JUGGLER_DEMO_DIR"]) / f"{n}.txt"
    path.write_text(f"{acc}\n")
    return n


def run_demo(
    *, items: int, cpu_ms: int, io_ms: int, as_json: bool, trace: str | None, quiet: bool
) -> int:
    """Run the demo pipeline and print its report; returns the exit code."""
    global _IO_S, _CPU_S
    _IO_S, _CPU_S = io_ms / 1000, cpu_ms / 1000
    pipeline = juggler.Pipeline(
        juggler.aio(fetch, concurrency=64),
        juggler.cpu(crunch),
        juggler.io(store, concurrency=8),
        progress=None if not quiet else False,
    )
    with tempfile.TemporaryDirectory(prefix="juggler-demo-") as out_dir:
        os.environ["JUGGLER_DEMO_DIR"] = out_dir
        console = Console(stderr=True)
        console.print(f"demo: {items} items, {cpu_ms} ms CPU and 2 x {io_ms} ms I/O each")
        report = pipeline.run(range(items))
        written = len(os.listdir(out_dir))
    if trace is not None:
        juggler.write_trace(report.trace, trace)
    if as_json:
        click.echo(json.dumps(_as_dict(report), default=str, indent=2))
    else:
        _print_report(report, written)
    return 0 if report.ok else 1


def _as_dict(report: juggler.RunReport) -> dict[str, Any]:
    return {
        "wall_s": report.wall_s,
        "results": len(report.results),
        "failures": [dataclasses.asdict(f) for f in report.failures],
        "stages": [
            {**dataclasses.asdict(s), "wall_s": s.wall_s} | {"backend": repr(s.backend)}
            for s in report.stages
        ],
    }


def _print_report(report: juggler.RunReport, written: int) -> None:
    table = Table(title=f"run report: {len(report.results)} results in {report.wall_s:.2f} s")
    for column in ("stage", "placement", "in", "ok", "failed", "busy s", "wall s", "in flight"):
        table.add_column(column, justify="left" if column in ("stage", "placement") else "right")
    for s in report.stages:
        in_flight = s.busy_s / s.wall_s if s.wall_s else 0.0
        table.add_row(
            s.name,
            s.placement,
            str(s.received),
            str(s.succeeded),
            str(s.failed),
            f"{s.busy_s:.2f}",
            f"{s.wall_s:.2f}",
            f"{in_flight:.1f}",
        )
    Console().print(table)
    Console().print(f"{written} files written by the io stage; failures: {len(report.failures)}")
