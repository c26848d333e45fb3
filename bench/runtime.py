"""Many runs, one engine: ``juggler.Runtime`` against the obvious peers, in one run.

    .venv/bin/python bench/runtime.py [--quick] [--json OUT]

* Head-of-line latency: a 20-item run submitted while a 20,000-item run occupies every
  worker, against the same run alone. The peer is one shared ``ProcessPoolExecutor``, where
  the small run's futures queue behind the big run's.
* Many small runs: 200 runs of 10 items, 20 in flight at a time, through one ``Runtime``,
  against a fresh ``Pipeline.run`` per run (a pool start each) and against one shared
  ``ProcessPoolExecutor`` with ``asyncio.gather``.
* Fair share: two equal runs started together; each one's share of the worker time spent
  while both were in flight (taken from their own traces).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import juggler
from _common import print_table, write_json

WORKERS = 2


def burn(ms: float) -> float:
    """Pure-Python CPU work for about ``ms`` milliseconds of this thread's CPU time."""
    deadline = time.thread_time() + ms / 1000
    acc = 0
    while time.thread_time() < deadline:
        for i in range(100):
            acc += i
    return ms


def _pipeline() -> juggler.Pipeline:
    return juggler.Pipeline(juggler.cpu(burn), trace=True)


# ---------------------------------------------------------------- head-of-line latency


async def _juggler_head_of_line(big: int, small: int, item_ms: float, repeat: int) -> list[Any]:
    pipeline = _pipeline()
    async with juggler.Runtime(workers=WORKERS) as rt:
        await pipeline.run_async([item_ms] * 4, runtime=rt)  # warm: modules imported
        solo = []
        for _ in range(repeat):
            start = time.perf_counter()
            await pipeline.run_async([item_ms] * small, runtime=rt)
            solo.append(time.perf_counter() - start)
        big_run = asyncio.create_task(pipeline.run_async([item_ms] * big, runtime=rt))
        await asyncio.sleep(0.5)  # every worker busy with the big run
        beside = []
        for _ in range(repeat):
            start = time.perf_counter()
            await pipeline.run_async([item_ms] * small, runtime=rt)
            beside.append(time.perf_counter() - start)
            await asyncio.sleep(0.05)
        still_running = not big_run.done()
        big_run.cancel()  # the big run is not what is measured: stop it
        try:
            await big_run
        except asyncio.CancelledError:
            pass
    a, b = statistics.median(solo), statistics.median(beside)
    assert still_running, "the big run ended before the small runs: make it bigger"
    return ["juggler Runtime", a * 1000, b * 1000, b / a]


def _ppe_head_of_line(big: int, small: int, item_ms: float, repeat: int) -> list[Any]:
    with concurrent.futures.ProcessPoolExecutor(WORKERS) as pool:
        list(pool.map(burn, [item_ms] * 8))  # warm
        solo = []
        for _ in range(repeat):
            start = time.perf_counter()
            concurrent.futures.wait([pool.submit(burn, item_ms) for _ in range(small)])
            solo.append(time.perf_counter() - start)
        big_futures = [pool.submit(burn, item_ms) for _ in range(big)]
        time.sleep(0.5)
        start = time.perf_counter()
        concurrent.futures.wait([pool.submit(burn, item_ms) for _ in range(small)])
        beside = time.perf_counter() - start
        concurrent.futures.wait(big_futures)
    a = statistics.median(solo)
    return ["shared ProcessPoolExecutor", a * 1000, beside * 1000, beside / a]


# ---------------------------------------------------------------- many small runs


async def _runs_through_runtime(runs: int, items: int, in_flight: int, item_ms: float) -> float:
    pipeline = _pipeline()
    gate = asyncio.Semaphore(in_flight)
    async with juggler.Runtime(workers=WORKERS) as rt:
        await pipeline.run_async([item_ms] * 4, runtime=rt)

        async def one() -> None:
            async with gate:
                report = await pipeline.run_async([item_ms] * items, runtime=rt)
                assert len(report.results) == items

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(runs)))
        return runs / (time.perf_counter() - start)


async def _runs_with_fresh_pools(runs: int, items: int, in_flight: int, item_ms: float) -> float:
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate:
            report = await juggler.Pipeline(juggler.cpu(burn), workers=WORKERS).run_async(
                [item_ms] * items
            )
            assert len(report.results) == items

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(runs)))
    return runs / (time.perf_counter() - start)


async def _runs_through_shared_ppe(runs: int, items: int, in_flight: int, item_ms: float) -> float:
    gate = asyncio.Semaphore(in_flight)
    loop = asyncio.get_running_loop()
    with concurrent.futures.ProcessPoolExecutor(WORKERS) as pool:
        list(pool.map(burn, [item_ms] * 8))

        async def one() -> None:
            async with gate:
                done = await asyncio.gather(
                    *(loop.run_in_executor(pool, burn, item_ms) for _ in range(items))
                )
                assert len(done) == items

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(runs)))
        return runs / (time.perf_counter() - start)


# ---------------------------------------------------------------- fair share


async def _fair_share(items: int, item_ms: float) -> list[list[Any]]:
    pipeline = _pipeline()
    async with juggler.Runtime(workers=WORKERS) as rt:
        await pipeline.run_async([item_ms] * 4, runtime=rt)
        first, second = await asyncio.gather(
            pipeline.run_async([item_ms] * items, runtime=rt),
            pipeline.run_async([item_ms] * items, runtime=rt),
        )
    # Both traces on one clock: wall-clock start of each run plus its span offsets.
    windows = []
    for report in (first, second):
        t0 = report.trace.started_at
        windows.append([(t0 + s.start, t0 + s.end) for s in report.trace.spans])
    begin = max(min(s for s, _ in w) for w in windows)
    end = min(max(e for _, e in w) for w in windows)
    busy = [sum(max(0.0, min(e, end) - max(s, begin)) for s, e in w) for w in windows]
    total = sum(busy) or 1.0
    return [
        [f"run {i + 1}", items, report.wall_s, busy[i], 100 * busy[i] / total]
        for i, report in enumerate((first, second))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--json", help="write the figures as JSON here")
    args = parser.parse_args()
    big, repeat, runs = (5000, 3, 100) if args.quick else (20000, 5, 200)
    item_ms = 1.0
    results: dict[str, Any] = {}

    rows = [
        asyncio.run(_juggler_head_of_line(big, 20, item_ms, repeat)),
        _ppe_head_of_line(big, 20, item_ms, repeat),
    ]
    print_table(
        f"Head-of-line latency: 20 x {item_ms:g} ms items next to a {big:,}-item run "
        f"({WORKERS} workers, median of {repeat})",
        ["engine", "alone ms", "beside the big run ms", "ratio"],
        rows,
    )
    results["head_of_line"] = rows

    small_ms = 0.2
    runtime_rps = asyncio.run(_runs_through_runtime(runs, 10, 20, small_ms))
    fresh_rps = asyncio.run(_runs_with_fresh_pools(runs, 10, 20, small_ms))
    ppe_rps = asyncio.run(_runs_through_shared_ppe(runs, 10, 20, small_ms))
    rows = [
        ["one juggler Runtime", runtime_rps, 1.0],
        ["fresh Pipeline.run per run (a pool each)", fresh_rps, runtime_rps / fresh_rps],
        ["shared ProcessPoolExecutor + gather", ppe_rps, runtime_rps / ppe_rps],
    ]
    print_table(
        f"Many small runs: {runs} runs x 10 items of {small_ms:g} ms, 20 in flight",
        ["engine", "runs/s", "Runtime speed-up"],
        rows,
    )
    results["small_runs"] = rows

    rows = asyncio.run(_fair_share(1000 if args.quick else 2000, item_ms))
    print_table(
        "Fair share: two equal runs started together (worker time while both in flight)",
        ["run", "items", "wall s", "worker s in overlap", "share %"],
        rows,
    )
    results["fair_share"] = rows
    write_json(args.json, results)


if __name__ == "__main__":
    main()
