"""Per-attempt timeouts for each placement."""

from __future__ import annotations

import asyncio
import threading

import juggler
from juggler.testing import run_virtual


async def _forever(x: int) -> int:
    if x == 0:
        await asyncio.Event().wait()
    return x


def test_aio_attempt_is_cancelled_at_exactly_its_timeout() -> None:
    """An awaiting-forever item fails with ItemTimeout at t=2.0 (virtual) and others pass."""
    seen: list[float] = []

    async def record(r: juggler.RunReport) -> None:
        seen.append(asyncio.get_running_loop().time())

    async def main() -> juggler.RunReport:
        stage = juggler.aio(_forever, timeout_s=2, on_error="skip")
        report = await juggler.Pipeline(stage).run_async(range(3))
        await record(report)
        return report

    report = run_virtual(main())
    assert report.results == [1, 2]
    [failure] = report.failures
    assert failure.error_type == "ItemTimeout"
    assert failure.item_id == "0"
    assert seen == [2.0]


def test_aio_timeout_is_per_attempt_and_retried() -> None:
    """Each attempt gets the full timeout; with retries=1 the item is tried twice."""
    stage = juggler.aio(_forever, timeout_s=1.5, retries=1, backoff_base_s=1, jitter=0)
    stage = stage.with_options(on_error="skip")
    report = run_virtual(juggler.Pipeline(stage).run_async([0]))
    assert report.failures[0].attempts == 2
    assert report.stage("_forever").retried == 1


_release = threading.Event()


def _stuck(x: int) -> int:
    if x == 0:
        _release.wait()
    return x


def test_io_timeout_abandons_the_thread_and_keeps_capacity() -> None:
    """A stuck thread is abandoned (counted) and replaced; the other items still run."""
    _release.clear()
    try:
        stage = juggler.io(_stuck, concurrency=1, timeout_s=0.2, on_error="skip")
        report = juggler.Pipeline(stage).run(range(4))
        assert report.results == [1, 2, 3]
        assert report.failures[0].error_type == "ItemTimeout"
        stats = report.stage("_stuck").backend["threads"]
        assert stats.abandoned_threads == 1
    finally:
        _release.set()


def test_user_timeout_error_is_not_mistaken_for_ours() -> None:
    """A ``TimeoutError`` raised by the function itself keeps its own type."""

    async def raises(x: int) -> int:
        raise TimeoutError("upstream said no")

    stage = juggler.aio(raises, timeout_s=10, on_error="skip")
    report = run_virtual(juggler.Pipeline(stage).run_async([1]))
    assert report.failures[0].error_type == "TimeoutError"
