"""R18: runs share a runtime without touching each other.

Run B is a plain run of 2 ms items; next to it, run A has a poison item, a timeout, a
cancellation or a SIGKILLed worker. B must come out whole: every item once, correct, no
failure, no retry, and no attempt but the first.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TYPE_CHECKING

import psutil
import pytest

import juggler
from tests.pool_helpers import run
from tests.runtime._work import behave

if TYPE_CHECKING:
    from pathlib import Path

# Real processes doing real work: slower than the suite's 20 s default on a loaded machine.
pytestmark = pytest.mark.timeout(60)

_B_ITEMS = 300


def _b_pipeline() -> juggler.Pipeline:
    return juggler.Pipeline(juggler.cpu(behave, name="b"))


def _b_items() -> list[tuple[str, int]]:
    return [("ok", i) for i in range(_B_ITEMS)]


def _assert_untouched(report: juggler.RunReport) -> None:
    assert report.results == [2 * i for i in range(_B_ITEMS)]
    assert report.failures == []
    stage = report.stage("b")
    assert (stage.succeeded, stage.failed, stage.retried) == (_B_ITEMS, 0, 0)
    spans = report.trace.spans
    assert sorted(int(s.item_id) for s in spans) == list(range(_B_ITEMS))  # once each
    assert {s.attempt for s in spans} == {1}
    assert {s.outcome for s in spans} == {"ok"}
    assert {s.run_id for s in spans} == {report.trace.run_id}


async def _wait_for_markers(folder: Path, count: int) -> list[int]:
    async with asyncio.timeout(10):
        while True:
            pids = [int(p.name) for p in folder.iterdir() if p.name.isdigit()]
            if len(pids) >= count:
                return pids
            await asyncio.sleep(0.01)


def test_a_poison_item_in_one_run_leaves_the_other_whole() -> None:
    poisoned = juggler.Pipeline(juggler.cpu(behave, name="a", on_error="skip"))

    async def body() -> tuple[juggler.RunReport, juggler.RunReport]:
        async with juggler.Runtime(workers=2) as rt:
            b = asyncio.create_task(_b_pipeline().run_async(_b_items(), runtime=rt))
            a = await poisoned.run_async([("ok", 1), ("die", 0), ("ok", 2)], runtime=rt)
            return a, await b

    a, b = run(body, limit_s=30)
    assert a.results == [2, 4]
    [failure] = a.failures
    assert (failure.error_type, failure.item_id, failure.attempts) == ("PoisonItem", "1", 3)
    _assert_untouched(b)


def test_a_timeout_in_one_run_leaves_the_other_whole() -> None:
    slow = juggler.Pipeline(juggler.cpu(behave, name="a", timeout_s=0.3, on_error="skip"))

    async def body() -> tuple[juggler.RunReport, juggler.RunReport]:
        async with juggler.Runtime(workers=2) as rt:
            b = asyncio.create_task(_b_pipeline().run_async(_b_items(), runtime=rt))
            a = await slow.run_async([("hang", 30), ("ok", 5)], runtime=rt)
            return a, await b

    a, b = run(body, limit_s=30)
    assert a.results == [10]
    [failure] = a.failures
    assert (failure.error_type, failure.item_id) == ("ItemTimeout", "0")
    _assert_untouched(b)


def test_cancelling_one_run_kills_only_its_workers(tmp_path: Path) -> None:
    hanging = juggler.Pipeline(juggler.cpu(behave, name="a"))

    async def body() -> tuple[list[int], juggler.RunReport, juggler.RuntimeStatistics]:
        async with juggler.Runtime(workers=2) as rt:
            a = asyncio.create_task(hanging.run_async([("mark", str(tmp_path))], runtime=rt))
            [a_pid] = await _wait_for_markers(tmp_path, 1)
            others = [pid for pid, _ in rt.statistics().workers if pid != a_pid]
            b = asyncio.create_task(_b_pipeline().run_async(_b_items(), runtime=rt))
            await asyncio.sleep(0.05)  # B is running on the other worker
            a.cancel()
            try:
                await a
            except asyncio.CancelledError:
                pass
            b_report = await b
            stats = rt.statistics()
            return [a_pid, *others], b_report, stats

    (a_pid, other), b, stats = run(body, limit_s=30)
    workers = {pid for pid, _ in stats.workers}
    assert not psutil.pid_exists(a_pid) or psutil.Process(a_pid).status() == psutil.STATUS_ZOMBIE
    assert other in workers  # the worker running B's items was never killed
    assert len(workers) == 2  # A's worker was replaced
    assert stats.runs_finished == 2
    _assert_untouched(b)


def test_a_sigkilled_worker_of_one_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    victim = juggler.Pipeline(juggler.cpu(behave, name="a"))

    async def body() -> tuple[juggler.RunReport, juggler.RunReport]:
        async with juggler.Runtime(workers=2) as rt:
            a_items = [("ok", i) for i in range(50)] + [("mark_once", str(tmp_path))]
            a = asyncio.create_task(victim.run_async(a_items, runtime=rt))
            b = asyncio.create_task(_b_pipeline().run_async(_b_items(), runtime=rt))
            [pid] = await _wait_for_markers(tmp_path, 1)
            (tmp_path / "done").write_text("")
            os.kill(pid, signal.SIGKILL)
            return await a, await b

    a, b = run(body, limit_s=30)
    assert a.results == [2 * i for i in range(50)] + ["survived"]
    assert a.failures == []
    assert sorted(int(s.item_id) for s in a.trace.spans) == list(range(51))
    _assert_untouched(b)
