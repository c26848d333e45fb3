"""Skip-and-report versus fail-fast, and what fail-fast cancels."""

from __future__ import annotations

import asyncio

import pytest

import juggler
from juggler import PipelineFailed
from juggler.testing import run_virtual


async def _reject_odd(x: int) -> int:
    if x % 2:
        raise ValueError(f"odd {x}")
    return x


def test_skip_and_report_keeps_going_and_records_each_failure() -> None:
    """Every failing item gets one record (stage, id, attempts, type, message); others pass."""
    stage = juggler.aio(_reject_odd, on_error="skip")
    report = run_virtual(juggler.Pipeline(stage).run_async(range(6)))
    assert report.results == [0, 2, 4]
    assert not report.ok
    assert sorted(
        (f.stage, f.item_id, f.item, f.attempts, f.error_type, f.message) for f in report.failures
    ) == [
        ("_reject_odd", "1", "1", 1, "ValueError", "odd 1"),
        ("_reject_odd", "3", "3", 1, "ValueError", "odd 3"),
        ("_reject_odd", "5", "5", 1, "ValueError", "odd 5"),
    ]
    assert "ValueError: odd" in report.failures[0].traceback
    assert report.stage("_reject_odd").failed == 3


def test_fail_fast_raises_one_pipeline_failed_with_the_cause() -> None:
    """The default policy stops the run with ``PipelineFailed``, chained to the real error."""
    with pytest.raises(PipelineFailed) as caught:
        run_virtual(juggler.Pipeline(juggler.aio(_reject_odd)).run_async(range(6)))
    error = caught.value
    assert not isinstance(error, BaseExceptionGroup)
    assert isinstance(error.__cause__, ValueError)
    assert error.failures[0].error_type == "ValueError"
    assert "stage '_reject_odd'" in str(error)
    assert error.report.failures == error.failures


def test_fail_fast_cancels_work_in_flight_in_every_stage() -> None:
    """A failure in stage 2 cancels the slow items still running in stage 1."""
    cancelled: list[int] = []

    async def slow(x: int) -> int:
        try:
            await asyncio.sleep(0 if x == 0 else 1000)
        except asyncio.CancelledError:
            cancelled.append(x)
            raise
        return x

    async def explode(x: int) -> int:
        raise RuntimeError("stage two broke")

    async def main() -> float:
        pipeline = juggler.Pipeline(juggler.aio(slow, concurrency=4), juggler.aio(explode))
        with pytest.raises(PipelineFailed):
            await pipeline.run_async(range(4))
        return asyncio.get_running_loop().time()

    stopped_at = run_virtual(main())
    assert stopped_at == 0.0  # nobody waited for the 1000 s sleeps
    assert sorted(cancelled) == [1, 2, 3]


def test_fail_fast_stops_threads_and_processes_too() -> None:
    """After a fail-fast stop, no thread or worker process is left (the leak check pins it)."""
    pipeline = juggler.Pipeline(
        juggler.io(_identity, concurrency=4, name="read"),
        juggler.cpu(_identity, name="parse"),
        juggler.aio(_reject_odd),
    )
    with pytest.raises(PipelineFailed):
        pipeline.run(range(20))


def _identity(x: int) -> int:
    return x


def test_cancellation_propagates_untouched() -> None:
    """Cancelling the caller's task raises ``CancelledError``, never ``PipelineFailed``."""

    async def never(x: int) -> int:
        await asyncio.Event().wait()
        return x

    async def main() -> None:
        task = asyncio.ensure_future(juggler.Pipeline(juggler.aio(never)).run_async([1]))
        await asyncio.sleep(5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run_virtual(main())
