"""The Dask backend against raw Dask and against the local pool, side by side in one run.

    .venv/bin/python bench/dask_backend.py [--quick] [--json OUT]

On a ``LocalCluster`` of 2 single-threaded worker processes (``Runtime(cluster="local")``):

* no-op items: effective cost per item (wall time of one run / items, after a warm-up run),
  against raw ``client.map`` + gather of the same kind;
* 200 x 20 ms CPU items: speed-up against running them serially in this process;
* start-up time of the runtime (cluster, client, workers ready);
* a whole triage of a 200 MB log (``bench/triage_big.py``'s generator) through Dask and
  through the local pool: wall time and whether the findings are identical.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import juggler
from _common import print_table, write_json
from _dask_work import burn_20ms, noop
from juggler.triage.pipeline import triage
from triage_big import build

WORKERS = 2


async def _juggler_per_item(cluster: str | None, n: int, warm: int) -> float:
    pipeline = juggler.Pipeline(juggler.cpu(noop), trace=False)
    async with juggler.Runtime(workers=WORKERS, cluster=cluster) as rt:
        await pipeline.run_async(range(warm), runtime=rt)  # imports, learned batch sizes
        start = time.perf_counter()
        report = await pipeline.run_async(range(n), runtime=rt)
        took = time.perf_counter() - start
        assert len(report.results) == n
    return took / n * 1e6


async def _raw_client_map_per_item(n: int, warm: int) -> float:
    from distributed import Client, LocalCluster

    async with (
        LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            asynchronous=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster, asynchronous=True) as client,
    ):

        async def timed_map(count: int, offset: int) -> float:
            start = time.perf_counter()
            futures = client.map(noop, range(offset, offset + count))
            results = await client.gather(futures)
            assert len(results) == count
            return time.perf_counter() - start

        await timed_map(warm, 10**9)  # warm
        return await timed_map(n, 0) / n * 1e6


async def _cpu_items(cluster: str | None, items: int) -> float:
    pipeline = juggler.Pipeline(juggler.cpu(burn_20ms), trace=False)
    async with juggler.Runtime(workers=WORKERS, cluster=cluster) as rt:
        await pipeline.run_async(range(WORKERS), runtime=rt)
        start = time.perf_counter()
        report = await pipeline.run_async(range(items), runtime=rt)
        assert report.results == list(range(items))
        return time.perf_counter() - start


async def _startup(cluster: str | None) -> float:
    start = time.perf_counter()
    async with juggler.Runtime(workers=WORKERS, cluster=cluster):
        ready = time.perf_counter() - start
    return ready


def _triage(log: Path, cluster: str | None) -> tuple[float, list[Any]]:
    start = time.perf_counter()
    result = triage([log], use_kb=False, workers=WORKERS, cluster=cluster)
    return time.perf_counter() - start, result.document["findings"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--json", help="write the figures as JSON here")
    parser.add_argument("--log-mb", type=float, default=200.0, help="size of the triaged log")
    args = parser.parse_args()
    n, raw_n, warm = (5000, 500, 100) if args.quick else (20000, 2000, 200)
    results: dict[str, Any] = {}

    dask_us = asyncio.run(_juggler_per_item("local", n, warm))
    local_us = asyncio.run(_juggler_per_item(None, n, warm))
    raw_us = asyncio.run(_raw_client_map_per_item(raw_n, warm))
    rows = [
        ["juggler on Dask", dask_us / 1000, n, raw_us / dask_us],
        ["raw client.map + gather", raw_us / 1000, raw_n, 1.0],
        ["juggler local pool", local_us / 1000, n, raw_us / local_us],
    ]
    print_table(
        f"No-op items: effective ms per item, wall / items ({WORKERS} workers)",
        ["engine", "ms/item", "items", "x faster than client.map"],
        rows,
    )
    results["noop"] = rows

    items = 100 if args.quick else 200
    serial = items * 0.02
    start = time.perf_counter()
    for i in range(items):
        burn_20ms(i)
    serial = time.perf_counter() - start
    on_dask = asyncio.run(_cpu_items("local", items))
    on_pool = asyncio.run(_cpu_items(None, items))
    rows = [
        ["serial, in this process", serial, 1.0],
        ["juggler on Dask", on_dask, serial / on_dask],
        ["juggler local pool", on_pool, serial / on_pool],
    ]
    print_table(
        f"{items} x 20 ms CPU items on {WORKERS} workers",
        ["engine", "wall s", "speed-up vs serial"],
        rows,
    )
    results["cpu"] = rows

    rows = [
        ["Runtime(cluster='local')", asyncio.run(_startup("local"))],
        ["Runtime() local pool", asyncio.run(_startup(None))],
    ]
    print_table(f"Start-up: runtime ready with {WORKERS} workers", ["runtime", "start s"], rows)
    results["startup"] = rows

    mb = 20.0 if args.quick else args.log_mb
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "big.log"
        size = build(log, mb / 1024)
        dask_s, dask_findings = _triage(log, "local")
        pool_s, pool_findings = _triage(log, None)
    same = dask_findings == pool_findings
    rows = [
        ["juggler triage on Dask", size / 1024**2, dask_s, len(dask_findings), same],
        ["juggler triage, local pool", size / 1024**2, pool_s, len(pool_findings), same],
    ]
    print_table(
        f"Whole triage of a {mb:g} MB log ({WORKERS} workers)",
        ["run", "MiB", "wall s", "findings", "identical findings"],
        rows,
    )
    results["triage"] = rows
    write_json(args.json, results)


if __name__ == "__main__":
    main()
