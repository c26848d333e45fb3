"""Traces of real runs: worker pids, overlap across processes, one track for the loop."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING

import pytest

import juggler

if TYPE_CHECKING:
    from pathlib import Path


async def _fetch(x: int) -> int:
    await asyncio.sleep(0.01)
    return x


def _crunch(x: int) -> int:
    deadline = time.thread_time() + 0.05
    while time.thread_time() < deadline:
        pass
    return x


def _store(x: int) -> int:
    time.sleep(0.005)
    return x


def _mixed_run() -> juggler.RunReport:
    pipeline = juggler.Pipeline(
        juggler.aio(_fetch, concurrency=8),
        juggler.cpu(_crunch),
        juggler.io(_store, concurrency=2),
        workers=2,
    )
    return pipeline.run(range(16))


def test_chrome_trace_of_a_mixed_run(tmp_path: Path) -> None:
    """Trace Event fields are there; cpu spans come from 2 pids that overlap; aio share a track."""
    report = _mixed_run()
    path = tmp_path / "run.json"
    juggler.write_trace(report.trace, path)
    events = json.loads(path.read_text())["traceEvents"]
    for event in events:
        assert {"ph", "pid", "tid", "name"} <= event.keys()
        if event["ph"] != "M":
            assert isinstance(event["ts"], int | float)
    cpu = [e for e in events if e["ph"] == "X" and e.get("cat") == "cpu"]
    assert len(cpu) == 16
    pids = {e["pid"] for e in cpu}
    assert len(pids) == 2
    first, second = ([e for e in cpu if e["pid"] == pid] for pid in sorted(pids))
    assert any(
        a["ts"] < b["ts"] + b["dur"] and b["ts"] < a["ts"] + a["dur"] for a in first for b in second
    ), "the two worker processes never ran at the same time"
    aio_tracks = {(e["pid"], e["tid"]) for e in events if e.get("cat") == "aio"}
    assert len(aio_tracks) == 1
    io_pids = {e["pid"] for e in events if e.get("cat") == "io"}
    assert io_pids == {report.trace.parent_pid}


def test_spans_record_queue_waits_and_every_attempt() -> None:
    """Each item leaves one span per stage, with its queue time before its start."""
    report = _mixed_run()
    spans = report.trace.spans
    assert {(s.stage, s.outcome) for s in spans} == {
        ("_fetch", "ok"),
        ("_crunch", "ok"),
        ("_store", "ok"),
    }
    assert len(spans) == 48
    for span in spans:
        assert span.queued is not None
        assert span.queued <= span.start <= span.end <= report.trace.wall_s


def test_metrics_of_a_run_count_every_item() -> None:
    """Per-stage metrics see all 16 items of each stage."""
    metrics = _mixed_run().metrics.to_dict()
    counts = {stage["name"]: stage["attempts"] for stage in metrics["stages"]}
    assert counts == {"_fetch": 16, "_crunch": 16, "_store": 16}


async def _hog_the_loop(x: int) -> int:
    time.sleep(0.03)  # a blocking call inside a coroutine: the bug the lag samples expose
    return x


async def _wait_politely(x: int) -> int:
    await asyncio.sleep(0.03)
    return x


@pytest.mark.allow_blocking
def test_loop_lag_samples_show_a_blocked_loop() -> None:
    report = juggler.Pipeline(juggler.aio(_hog_the_loop, concurrency=4)).run(range(8))
    # Eight back-to-back 30 ms blocks: whichever probe was queued waited through most of them.
    assert max(report.trace.loop_lag_ms) >= 100


def test_loop_lag_samples_stay_small_when_stages_await() -> None:
    report = juggler.Pipeline(juggler.aio(_wait_politely, concurrency=4)).run(range(40))
    lags = report.trace.loop_lag_ms
    assert len(lags) >= 5  # probes ride on finished items, so a busy run is sampled
    assert max(lags) < 25


async def _wait_long(x: int) -> int:
    await asyncio.sleep(0.5)
    return x


@pytest.mark.allow_blocking
def test_the_backstop_timer_sees_a_loop_blocked_while_nothing_finishes() -> None:
    async def main() -> juggler.RunReport:
        async def hog() -> None:
            await asyncio.sleep(0.15)
            time.sleep(0.3)  # blocks the loop while every item is still waiting

        hogging = asyncio.ensure_future(hog())
        report = await juggler.Pipeline(juggler.aio(_wait_long, concurrency=2)).run_async([1, 2])
        await hogging
        return report

    report = juggler.run(main())
    # No item finished before the block, so no probe was queued: the backstop measured it.
    assert max(report.trace.loop_lag_ms) >= 150
