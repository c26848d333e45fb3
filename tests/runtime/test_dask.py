"""The Dask backend on a real ``LocalCluster``: same pipelines, same semantics as the pool.

Never skipped: ``distributed`` is in the dev set, and a missing one fails here.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from typing import TYPE_CHECKING, Any

import pytest
from distributed import Client, LocalCluster

import juggler
from tests.pool_helpers import run
from tests.runtime._work import behave, pid_of, spin

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(200)


async def _worker_pids(rt: juggler.Runtime) -> dict[str, int]:
    client = rt._backend._client  # type: ignore[union-attr]
    pids: dict[str, int] = await client.run(os.getpid)
    return pids


def test_results_and_spans_come_from_the_dask_workers() -> None:
    pipeline = juggler.Pipeline(juggler.cpu(pid_of))

    async def body() -> tuple[list[juggler.RunReport], dict[str, int], juggler.RuntimeStatistics]:
        async with juggler.Runtime(workers=2, cluster="local") as rt:
            pids = await _worker_pids(rt)
            reports = await asyncio.gather(
                pipeline.run_async(range(300), runtime=rt),
                pipeline.run_async(range(300, 400), runtime=rt),
            )
            return list(reports), pids, rt.statistics()

    (first, second), pids, stats = run(body, limit_s=180)
    assert [x for x, _ in first.results] == list(range(300))
    assert [x for x, _ in second.results] == list(range(300, 400))
    ran_in = {pid for _, pid in first.results + second.results}
    assert ran_in <= set(pids.values())
    assert os.getpid() not in ran_in
    assert stats.backend == "dask"
    assert {w for w, _ in stats.workers} == set(pids)
    for report in (first, second):
        spans = report.trace.spans
        # One lane per Dask worker: spans carry the worker's pid, and only this run's id.
        assert {s.pid for s in spans} <= set(pids.values())
        assert {s.run_id for s in spans} == {report.trace.run_id}
        assert all(0 <= s.start <= s.end <= report.wall_s + 0.5 for s in spans)


def test_a_worker_killed_at_random_mid_run_loses_and_duplicates_nothing() -> None:
    """Four single-threaded workers; one is SIGKILLed while the run is busy on all of them."""
    pipeline = juggler.Pipeline(juggler.cpu(spin))
    items = list(range(800))  # 2 ms each: ~0.4 s of work per worker

    async def body() -> juggler.RunReport:
        async with juggler.Runtime(workers=4, cluster="local") as rt:
            pids = await _worker_pids(rt)
            task = asyncio.create_task(pipeline.run_async(items, runtime=rt))
            await asyncio.sleep(0.3)
            assert not task.done()
            os.kill(random.choice(list(pids.values())), signal.SIGKILL)
            return await task

    report = run(body, limit_s=180)
    assert report.results == items
    assert report.failures == []
    ids = sorted(int(s.item_id) for s in report.trace.spans)
    assert ids == items  # 0 lost, 0 duplicated


def test_a_poison_item_is_quarantined_after_three_deaths_and_the_other_run_is_whole() -> None:
    poisoned = juggler.Pipeline(juggler.cpu(behave, name="a", on_error="skip"))
    healthy = juggler.Pipeline(juggler.cpu(behave, name="b"))

    async def body() -> tuple[juggler.RunReport, juggler.RunReport]:
        async with juggler.Runtime(workers=2, cluster="local") as rt:
            b = asyncio.create_task(healthy.run_async([("ok", i) for i in range(200)], runtime=rt))
            a = await poisoned.run_async([("ok", 1), ("die", 0), ("ok", 2)], runtime=rt)
            return a, await b

    a, b = run(body, limit_s=180)
    assert a.results == [2, 4]
    [failure] = a.failures
    assert (failure.error_type, failure.item_id, failure.attempts) == ("PoisonItem", "1", 3)
    assert b.results == [2 * i for i in range(200)]
    assert b.failures == []
    assert sorted(int(s.item_id) for s in b.trace.spans) == list(range(200))


def test_a_timed_out_item_fails_on_time_and_its_worker_is_restarted() -> None:
    # 2 s: long enough that a 2 ms item never times out on a loaded machine.
    slow = juggler.Pipeline(juggler.cpu(behave, name="a", timeout_s=2.0, on_error="skip"))
    plain = juggler.Pipeline(juggler.cpu(behave, name="a"))

    async def body() -> tuple[juggler.RunReport, float, Any]:
        async with juggler.Runtime(workers=2, cluster="local") as rt:
            loop = asyncio.get_running_loop()
            start = loop.time()
            report = await slow.run_async([("hang", 60), ("ok", 3)], runtime=rt)
            took = loop.time() - start
            # The restarted worker serves the next run.
            again = await plain.run_async([("ok", i) for i in range(4)], runtime=rt)
            assert again.failures == []
            assert again.results == [0, 2, 4, 6]
            backend: Any = rt._backend
            async with asyncio.timeout(90):
                while backend.statistics().restarts < 1:  # the stuck worker is replaced
                    await asyncio.sleep(0.05)
            return report, took, backend.statistics()

    report, took, stats = run(body, limit_s=180)
    assert report.results == [6]
    [failure] = report.failures
    assert (failure.error_type, failure.item_id) == ("ItemTimeout", "0")
    assert took < 20  # not the item's 60 s: the pipeline moved on
    assert stats.timeouts == 1


def test_cancelling_one_run_restarts_only_its_worker_and_the_other_run_is_whole() -> None:
    hanging = juggler.Pipeline(juggler.cpu(behave, name="a"))
    healthy = juggler.Pipeline(juggler.cpu(behave, name="b"))

    async def body() -> tuple[juggler.RunReport, Any]:
        async with juggler.Runtime(workers=2, cluster="local") as rt:
            backend: Any = rt._backend
            a = asyncio.create_task(hanging.run_async([("hang", 60)], runtime=rt))
            async with asyncio.timeout(60):
                while not any(state == "busy" for _, state in rt.statistics().workers):
                    await asyncio.sleep(0.05)
            b = asyncio.create_task(healthy.run_async([("ok", i) for i in range(100)], runtime=rt))
            a.cancel()
            with pytest.raises(asyncio.CancelledError):
                await a
            report = await b
            async with asyncio.timeout(90):
                while backend.statistics().restarts < 1:  # A's stuck worker is replaced
                    await asyncio.sleep(0.05)
            return report, backend.statistics()

    b, stats = run(body, limit_s=180)
    assert b.results == [2 * i for i in range(100)]
    assert b.failures == []
    assert sorted(int(s.item_id) for s in b.trace.spans) == list(range(100))
    assert stats.restarts == 1  # only the worker that ran A's item


def test_someone_elses_cluster_is_left_running(tmp_path: Path) -> None:
    pipeline = juggler.Pipeline(juggler.cpu(spin))

    async def body() -> None:
        async with LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            asynchronous=True,
            dashboard_address=":0",
        ) as cluster:
            async with Client(cluster, asynchronous=True) as theirs:
                async with juggler.Runtime(cluster=cluster.scheduler_address) as rt:
                    report = await pipeline.run_async(range(50), runtime=rt)
                    assert report.results == list(range(50))
                async with juggler.Runtime(cluster=theirs) as rt:
                    report = await pipeline.run_async(range(5), runtime=rt)
                    assert report.results == list(range(5))
                # Our runtimes are closed; their client and workers still work.
                assert await theirs.submit(sum, [1, 2, 3]) == 6
                info = await theirs.scheduler.identity(n_workers=-1)
                assert len(info["workers"]) == 2

    run(body, limit_s=180)


def test_a_bad_cluster_argument_is_a_config_error() -> None:
    async def body() -> None:
        with pytest.raises(juggler.ConfigError, match="cluster=42"):
            async with juggler.Runtime(cluster=42):
                pass

    run(body)
