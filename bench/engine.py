"""Engine benchmark: juggler's placements against the raw equivalent, in one run.

    .venv/bin/python bench/engine.py [--quick] [--json OUT]

Per-item overhead is the *marginal* cost: (time for N + n items - time for n items) / N, so
fixed costs (pool start-up, loop creation) cancel for juggler and the peer alike.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import juggler
from _common import median_of, print_table, timed, write_json


def noop(x: int) -> int:
    return x


async def anoop(x: int) -> int:
    return x


def burn_s(seconds: float) -> float:
    """Pure-Python CPU work for about ``seconds`` (holds the GIL throughout)."""
    deadline = time.thread_time() + seconds
    acc = 0
    while time.thread_time() < deadline:
        for i in range(200):
            acc = (acc * 31 + i) % 1_000_003
    return seconds


async def sleep_20ms(x: int) -> int:
    await asyncio.sleep(0.02)
    return x


def block_20ms(x: int) -> int:
    time.sleep(0.02)
    return x


# --- per-item overhead -------------------------------------------------------------------


def raw_gather(n: int) -> None:
    async def main() -> None:
        sem = asyncio.Semaphore(256)

        async def one(x: int) -> int:
            async with sem:
                return await anoop(x)

        await asyncio.gather(*(one(i) for i in range(n)))

    asyncio.run(main())


def raw_threads(n: int) -> None:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(noop, range(n)))


def raw_processes(n: int) -> None:
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        list(pool.map(noop, range(n), chunksize=256))


def jug(stage: juggler.Stage, n: int) -> None:
    report = juggler.Pipeline(stage).run(range(n))
    assert len(report.results) == n


def marginal_us(run: Any, n: int, base: int, repeat: int) -> float:
    big = median_of(lambda: timed(lambda: run(base + n)), repeat)
    small = median_of(lambda: timed(lambda: run(base)), repeat)
    return (big - small) / n * 1e6


def overhead(n: int, repeat: int) -> list[list[Any]]:
    base = n // 10
    cases = [
        (
            "aio",
            lambda k: jug(juggler.aio(anoop, concurrency=256), k),
            "asyncio.gather + Semaphore(256)",
            raw_gather,
        ),
        (
            "io",
            lambda k: jug(juggler.io(noop, concurrency=8), k),
            "ThreadPoolExecutor(8).map",
            raw_threads,
        ),
        (
            "cpu",
            lambda k: jug(juggler.cpu(noop), k),
            "ProcessPoolExecutor(2).map(chunksize=256)",
            raw_processes,
        ),
    ]
    rows = []
    for placement, ours, peer_name, peer in cases:
        mine = marginal_us(ours, n, base, repeat)
        theirs = marginal_us(peer, n, base, repeat)
        rows.append([placement, mine, peer_name, theirs, mine / theirs])
    return rows


# --- I/O fan-out ----------------------------------------------------------------------------


def fanout(repeat: int) -> list[list[Any]]:
    n, ideal = 2000, 0.2

    def raw() -> None:
        async def main() -> None:
            sem = asyncio.Semaphore(200)

            async def one(x: int) -> int:
                async with sem:
                    return await sleep_20ms(x)

            await asyncio.gather(*(one(i) for i in range(n)))

        asyncio.run(main())

    def raw_workers() -> None:
        # The best asyncio pattern here: 200 long-lived tasks pulling from one iterator.
        async def main() -> None:
            source = iter(range(n))

            async def worker() -> None:
                for x in source:
                    await sleep_20ms(x)

            await asyncio.gather(*(worker() for _ in range(200)))

        asyncio.run(main())

    def raw_threads64() -> None:
        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            list(pool.map(block_20ms, range(n)))

    rows = []
    for name, fn, conc in [
        (
            "juggler aio, concurrency 200",
            lambda: jug(juggler.aio(sleep_20ms, concurrency=200), n),
            200,
        ),
        ("asyncio.gather + Semaphore(200)", raw, 200),
        ("asyncio, 200 worker tasks", raw_workers, 200),
        ("juggler io, 64 threads", lambda: jug(juggler.io(block_20ms, concurrency=64), n), 64),
        ("ThreadPoolExecutor(64).map", raw_threads64, 64),
    ]:
        wall = median_of(lambda fn=fn: timed(fn), repeat)
        ideal_c = -(-n // conc) * 0.02
        rows.append([name, conc, wall, ideal_c, wall / ideal_c])
    del ideal
    return rows


# --- event-loop lag -------------------------------------------------------------------------


async def _ticker(stop: asyncio.Event, lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(0.001)
        lags.append(max(0.0, loop.time() - before - 0.001) * 1000)


def _lag_stats(lags: list[float]) -> tuple[int, float, float, float]:
    ordered = sorted(lags)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return len(lags), statistics.median(ordered), p99, ordered[-1]


def loop_lag(items: int, item_s: float) -> list[list[Any]]:
    rows = []

    async def with_juggler() -> list[float]:
        stop, lags = asyncio.Event(), []
        tick = asyncio.ensure_future(_ticker(stop, lags))
        await juggler.Pipeline(juggler.cpu(burn_s)).run_async([item_s] * items)
        stop.set()
        await tick
        return lags

    async def inline() -> list[float]:
        stop, lags = asyncio.Event(), []
        tick = asyncio.ensure_future(_ticker(stop, lags))
        for _ in range(items):
            burn_s(item_s)
            await asyncio.sleep(0)
        stop.set()
        await tick
        return lags

    async def to_thread() -> list[float]:
        stop, lags = asyncio.Event(), []
        tick = asyncio.ensure_future(_ticker(stop, lags))
        await asyncio.gather(*(asyncio.to_thread(burn_s, item_s) for _ in range(items)))
        stop.set()
        await tick
        return lags

    for name, main in [
        ("juggler cpu stage", with_juggler),
        ("inline on the loop", inline),
        ("asyncio.to_thread", to_thread),
    ]:
        ticks, p50, p99, worst = _lag_stats(asyncio.run(main()))
        rows.append([name, ticks, p50, p99, worst])
    return rows


# --- three-stage pipeline -------------------------------------------------------------------


async def fetch(x: int) -> int:
    await asyncio.sleep(0.02)
    return x


def analyse(x: int) -> int:
    burn_s(0.01)
    return x


def deliver(x: int) -> int:
    time.sleep(0.01)
    return x


def three_stage(items: int, repeat: int, *, trace: bool = True) -> list[list[Any]]:
    pipeline = juggler.Pipeline(
        juggler.aio(fetch, concurrency=64),
        juggler.cpu(analyse),
        juggler.io(deliver, concurrency=8),
        trace=trace,
    )
    per_stage = [(0.02, 64), (0.01, 2), (0.01, 8)]
    # Lower bound: the busiest stage's total work over its capacity, plus one item's trip
    # through the other stages (fill and drain).
    bottleneck = max(items * t / c for t, c in per_stage)
    latency = sum(t for t, _ in per_stage) - max(per_stage, key=lambda s: items * s[0] / s[1])[0]
    bound = bottleneck + latency
    wall = median_of(lambda: timed(lambda: pipeline.run(range(items))), repeat)
    label = "aio 20 ms → cpu 10 ms → io 10 ms" + ("" if trace else " (no spans)")
    return [[label, items, wall, bound, wall / bound]]


def tracing_cost(n: int, repeat: int) -> list[list[Any]]:
    """The same pipelines with and without span recording, interleaved run by run."""
    rows = []
    cases = [
        ("aio no-op", juggler.aio(anoop, concurrency=256)),
        ("io no-op", juggler.io(noop, concurrency=8)),
        ("cpu no-op", juggler.cpu(noop)),
    ]
    for name, stage in cases:
        traced = juggler.Pipeline(stage, trace=True)
        untraced = juggler.Pipeline(stage, trace=False)
        on, off = [], []
        for _ in range(repeat):
            on.append(timed(lambda p=traced: p.run(range(n))))
            off.append(timed(lambda p=untraced: p.run(range(n))))
        a, b = statistics.median(on), statistics.median(off)
        rows.append([f"{name} x {n}", b, a, a / b])
    on3 = three_stage(200, repeat, trace=True)[0][2]
    off3 = three_stage(200, repeat, trace=False)[0][2]
    rows.append(["three-stage pipeline x 200", off3, on3, on3 / off3])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--json", help="write the figures as JSON here")
    args = parser.parse_args()
    n, repeat = (5000, 1) if args.quick else (20000, 3)
    # Warm the forkserver once so it is not charged to the first case.
    juggler.Pipeline(juggler.cpu(noop)).run(range(10))
    results: dict[str, Any] = {}

    rows = overhead(n, repeat)
    print_table(
        f"Per-item overhead, marginal µs/item over {n} no-op items (median of {repeat})",
        ["juggler", "µs/item", "peer", "peer µs/item", "ratio"],
        rows,
    )
    results["overhead"] = rows

    rows = fanout(repeat)
    print_table(
        "I/O fan-out: 2,000 waits of 20 ms",
        ["variant", "concurrency", "wall s", "ideal s", "wall/ideal"],
        rows,
    )
    results["fanout"] = rows

    rows = loop_lag(items=40, item_s=0.05)
    print_table(
        "Event-loop lag of a 1 ms ticker while 40 x 50 ms CPU items run (ms)",
        ["where the CPU work runs", "ticks", "p50", "p99", "max"],
        rows,
    )
    results["loop_lag"] = rows

    rows = three_stage(items=200, repeat=repeat)
    print_table(
        "Three-stage pipeline against its critical-path bound",
        ["pipeline", "items", "wall s", "bound s", "wall/bound"],
        rows,
    )
    results["three_stage"] = rows

    rows = tracing_cost(n, repeat)
    print_table(
        "Tracing cost: span per attempt on vs off (median wall s)",
        ["pipeline", "off s", "on s", "on/off"],
        rows,
    )
    results["tracing"] = rows
    write_json(args.json, results)


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
