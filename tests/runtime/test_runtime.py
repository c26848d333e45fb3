"""``juggler.Runtime``: one set of workers, many runs, each with its own report and trace."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

import pytest

import juggler
from tests.pool_helpers import run
from tests.runtime._work import double, pid_of, spin, spin_long

if TYPE_CHECKING:
    from pathlib import Path

# Real processes doing real work: slower than the suite's 20 s default on a loaded machine.
pytestmark = pytest.mark.timeout(60)


def test_many_runs_share_one_pool_and_get_their_own_results() -> None:
    pipeline = juggler.Pipeline(juggler.cpu(pid_of))

    async def body() -> tuple[list[juggler.RunReport], juggler.RuntimeStatistics]:
        async with juggler.Runtime(workers=2) as rt:
            before = rt.statistics()
            reports = await asyncio.gather(
                *(pipeline.run_async(range(k * 10, k * 10 + 10), runtime=rt) for k in range(8))
            )
            after = rt.statistics()
        assert {pid for pid, _ in after.workers} == {pid for pid, _ in before.workers}
        return reports, after

    reports, stats = run(body)
    worker_pids = {pid for pid, _ in stats.workers}
    for k, report in enumerate(reports):
        assert [x for x, _ in report.results] == list(range(k * 10, k * 10 + 10))
        # Every item ran in one of the runtime's two workers: no run started its own.
        assert {pid for _, pid in report.results} <= worker_pids
    assert len(worker_pids) == 2
    assert stats.runs_started == stats.runs_finished == 8
    assert stats.runs_in_flight == 0
    assert stats.backend == "local"


def test_each_run_has_its_own_run_id_and_only_its_own_spans() -> None:
    pipeline = juggler.Pipeline(juggler.cpu(spin))

    async def body() -> list[juggler.RunReport]:
        async with juggler.Runtime(workers=2) as rt:
            return list(
                await asyncio.gather(
                    pipeline.run_async(range(40), runtime=rt),
                    pipeline.run_async(range(25), runtime=rt),
                )
            )

    first, second = run(body)
    assert first.trace.run_id != second.trace.run_id
    for report, count in ((first, 40), (second, 25)):
        spans = report.trace.spans
        assert {s.run_id for s in spans} == {report.trace.run_id}
        assert sorted(int(s.item_id) for s in spans) == list(range(count))


def test_sync_with_form_serves_sequential_runs_from_plain_code() -> None:
    pipeline = juggler.Pipeline(juggler.cpu(pid_of))
    with juggler.Runtime(workers=2) as rt:
        pids = set()
        for k in range(5):
            report = pipeline.run(range(k, k + 6), runtime=rt)
            assert [x for x, _ in report.results] == list(range(k, k + 6))
            pids |= {pid for _, pid in report.results}
        workers = {pid for pid, _ in rt.statistics().workers}
    # Five runs, the same two workers: nothing was started per run.
    assert pids <= workers
    assert len(workers) == 2


def test_runs_from_another_thread_are_carried_to_the_runtime_loop() -> None:
    """A run awaited on a loop other than the runtime's home still runs on the shared pool."""
    pipeline = juggler.Pipeline(juggler.cpu(double))
    results: list[list[int]] = []
    with juggler.Runtime(workers=1) as rt:

        def other_thread() -> None:
            async def main() -> list[int]:
                report = await pipeline.run_async(range(5), runtime=rt)
                return list(report.results)

            results.append(asyncio.run(main()))

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(15)
    assert results == [[0, 2, 4, 6, 8]]


def test_runtime_busy_when_full_and_not_waiting() -> None:
    pipeline = juggler.Pipeline(juggler.cpu(spin))

    async def body() -> None:
        async with juggler.Runtime(workers=1, max_runs=1) as rt:
            first = asyncio.create_task(pipeline.run_async(range(200), runtime=rt))
            while rt.statistics().runs_in_flight == 0:
                await asyncio.sleep(0.001)
            with pytest.raises(juggler.RuntimeBusy, match="1 runs in flight") as busy:
                await pipeline.run_async(range(3), runtime=rt, wait=False)
            assert busy.value.runs_in_flight == 1
            # Waiting instead: the second run is admitted once the first is done.
            second = asyncio.create_task(pipeline.run_async(range(3), runtime=rt))
            while rt.statistics().runs_waiting == 0:
                await asyncio.sleep(0.001)
            assert not first.done()
            assert (await second).results == [0, 1, 2]
            assert first.done()
            assert len((await first).results) == 200
            stats = rt.statistics()
            assert (stats.runs_refused, stats.runs_started, stats.runs_finished) == (1, 2, 2)

    run(body)


def test_queued_items_are_bounded_across_runs() -> None:
    """With a bound of 8 queued items, no moment sees more than 8 plus one call per run."""
    pipeline = juggler.Pipeline(juggler.cpu(spin_long))
    peak = 0
    runs, items = 3, 40

    async def body() -> list[juggler.RunReport]:
        nonlocal peak
        async with juggler.Runtime(workers=2, max_queued_items=8) as rt:
            tasks = [
                asyncio.create_task(pipeline.run_async(range(items), runtime=rt))
                for _ in range(runs)
            ]
            while not all(t.done() for t in tasks):
                queued = sum(rt.statistics().queued_items.values())
                peak = max(peak, queued)
                await asyncio.sleep(0.002)
            return [await t for t in tasks]

    reports = run(body)
    assert all(r.results == list(range(items)) for r in reports)
    # A run with nothing queued may always queue its next call, so every run makes progress.
    # A call is sized to about 0.05 s of work on 2 workers; items are >= 30 ms of CPU, so a
    # call holds at most 3. Without the bound, each run keeps 2 calls per worker in flight
    # (about 25 queued in all, measured).
    one_call = 3
    assert 0 < peak <= 8 + runs * one_call


def test_a_runtime_that_is_not_running_is_refused() -> None:
    pipeline = juggler.Pipeline(juggler.cpu(double))
    rt = juggler.Runtime(workers=1)
    with pytest.raises(juggler.ConfigError, match="not running"):
        pipeline.run([1], runtime=rt)
    with pytest.raises(juggler.ConfigError, match="max_runs"):
        juggler.Runtime(max_runs=0)
    with pytest.raises(juggler.ConfigError, match="max_queued_items"):
        juggler.Runtime(max_queued_items=0)


def test_a_run_without_a_runtime_still_starts_and_stops_its_own_workers() -> None:
    report = juggler.Pipeline(juggler.cpu(pid_of), workers=2).run(range(10))
    assert [x for x, _ in report.results] == list(range(10))
    assert {s.run_id for s in report.trace.spans} == {report.trace.run_id}


def test_triage_runs_on_a_shared_runtime(tmp_path: Path) -> None:
    """``triage_async(runtime=rt)``: the server's runtime serves the triage's cpu stages."""
    from juggler.triage.pipeline import triage_async

    log = tmp_path / "build.log"
    log.write_text(
        "ok\nTraceback (most recent call last):\nKeyError: 'x'\nmake: *** [all] Error 1\n"
    )

    async def body() -> tuple[set[int], set[int], int]:
        async with juggler.Runtime(workers=2) as rt:
            workers = {pid for pid, _ in rt.statistics().workers}
            result = await triage_async([str(log)], use_kb=False, runtime=rt)
            cpu_pids = {s.pid for s in result.report.trace.spans if s.placement == "cpu"}
            return workers, cpu_pids, rt.statistics().runs_finished

    workers, cpu_pids, finished = run(body, limit_s=60)
    assert cpu_pids
    assert cpu_pids <= workers
    assert finished == 1


def test_io_stages_of_many_runs_share_the_runtimes_threads() -> None:
    """Runs on a runtime start no threads of their own; each stage keeps its concurrency."""
    lock = threading.Lock()
    in_flight = [0]
    peak = [0]
    names: set[str] = set()
    gate = threading.Event()

    def blocking(x: int) -> int:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            names.add(threading.current_thread().name)
        gate.wait(0.02)
        with lock:
            in_flight[0] -= 1
        return x

    pipeline = juggler.Pipeline(juggler.io(blocking, concurrency=3))

    async def body() -> tuple[int, int, list[juggler.RunReport], juggler.RuntimeStatistics]:
        async with juggler.Runtime(workers=1, io_threads=8) as rt:
            threads_at_start = threading.active_count()
            reports = await asyncio.gather(
                *(pipeline.run_async(range(k * 12, k * 12 + 12), runtime=rt) for k in range(4))
            )
            threads_after = threading.active_count()
            return threads_at_start, threads_after, list(reports), rt.statistics()

    threads_at_start, threads_after, reports, stats = run(body)
    assert threads_after == threads_at_start  # no run started (or left) threads
    for k, report in enumerate(reports):
        assert sorted(report.results) == list(range(k * 12, k * 12 + 12))
    assert names
    assert all(name.startswith("juggler-io-") for name in names)
    assert 3 < peak[0] <= 8  # runs overlapped; the runtime's 8 threads were the ceiling
    assert stats.io_threads == 8
    assert stats.io_threads_busy == 0


def test_without_a_runtime_an_io_stage_has_threads_of_its_own() -> None:
    names: set[str] = set()

    def blocking(x: int) -> int:
        names.add(threading.current_thread().name)
        return x

    report = juggler.Pipeline(juggler.io(blocking, name="fetch", concurrency=2)).run(range(20))
    assert sorted(report.results) == list(range(20))
    assert names
    assert all(name.startswith("juggler-fetch-") for name in names)


def test_io_threads_must_be_positive() -> None:
    with pytest.raises(juggler.ConfigError, match="io_threads must be >= 1, got 0"):
        juggler.Runtime(io_threads=0)
