"""Stage shapes: map, flat-map, batch, reduce, and branches that run side by side."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

import juggler
from juggler import ConfigError
from juggler.testing import run_virtual

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator


async def _double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


def _repeat(x: int) -> Iterator[int]:
    yield from [x] * x


async def _count_up(x: int) -> AsyncIterator[str]:
    for i in range(x):
        await asyncio.sleep(0)
        yield f"{x}:{i}"


def test_map_keeps_input_order_in_results() -> None:
    """An ordered pipeline returns results in input order whatever the completion order."""

    async def slower_first(x: int) -> int:
        await asyncio.sleep(10 - x)
        return x

    report = run_virtual(juggler.Pipeline(juggler.aio(slower_first)).run_async(range(10)))
    assert report.results == list(range(10))


def test_unordered_pipeline_returns_completion_order() -> None:
    """With ``ordered=False`` results come as items finish (here: reversed)."""

    async def slower_first(x: int) -> int:
        await asyncio.sleep(10 - x)
        return x

    pipeline = juggler.Pipeline(juggler.aio(slower_first), ordered=False)
    assert run_virtual(pipeline.run_async(range(10))).results == list(range(9, -1, -1))


def test_ordered_stage_emits_in_arrival_order() -> None:
    """An ``ordered=True`` stage hands items downstream in the order it received them."""
    arrivals: list[int] = []

    async def slower_first(x: int) -> int:
        await asyncio.sleep(10 - x)
        return x

    async def record(x: int) -> int:
        arrivals.append(x)
        return x

    pipeline = juggler.Pipeline(
        juggler.aio(slower_first, ordered=True), juggler.aio(record, concurrency=1)
    )
    run_virtual(pipeline.run_async(range(10)))
    assert arrivals == list(range(10))


def test_flat_map_from_a_thread_generator_and_an_async_generator() -> None:
    """Flat stages emit every output, ordered after their parent item."""
    pipeline = juggler.Pipeline(juggler.io(_repeat, flat=True), juggler.aio(_count_up, flat=True))
    report = pipeline.run([1, 2])
    assert report.results == ["1:0", "2:0", "2:1", "2:0", "2:1"]
    assert report.stage("_repeat").emitted == 3


def test_async_generator_needs_flat() -> None:
    """An async generator without ``flat=True`` is refused up front."""
    with pytest.raises(ConfigError, match="flat=True"):
        juggler.aio(_count_up)


def test_batch_by_size_and_by_max_wait() -> None:
    """Full batches go at ``size``; a partial one goes once its first item waited max_wait_s."""
    sent_at: list[tuple[float, list[int]]] = []

    async def slow_source() -> AsyncIterator[int]:
        for i in range(5):
            yield i
        await asyncio.sleep(100)  # a stalled source: the partial batch must not wait for it
        yield 99

    async def record(batch: list[int]) -> list[int]:
        sent_at.append((asyncio.get_running_loop().time(), batch))
        return batch

    pipeline = juggler.Pipeline(juggler.batch(3, max_wait_s=2), juggler.aio(record))
    report = run_virtual(pipeline.run_async(slow_source()))
    assert sent_at == [(0.0, [0, 1, 2]), (2.0, [3, 4]), (100.0, [99])]
    assert report.results == [[0, 1, 2], [3, 4], [99]]


def test_reduce_folds_everything_into_one_value() -> None:
    """``reduce`` emits a single result built from every successful item."""
    pipeline = juggler.Pipeline(juggler.aio(_double), juggler.reduce(_add, initial=0))
    assert run_virtual(pipeline.run_async(range(101))).results == [10100]


def _add(acc: int, x: int) -> int:
    return acc + x


def test_branches_run_side_by_side_and_join_per_item() -> None:
    """Branch B awaits something only branch A provides: that finishes only if both run at once."""
    ready: dict[int, asyncio.Event] = {}

    def event(x: int) -> asyncio.Event:
        return ready.setdefault(x, asyncio.Event())

    async def retrieve(x: int) -> str:
        await asyncio.sleep(1)
        event(x).set()
        return f"docs{x}"

    async def synthesise(x: int) -> str:
        await asyncio.wait_for(event(x).wait(), timeout=5)
        return f"memo{x}"

    def join(docs: str, memo: str) -> str:
        return f"{docs}+{memo}"

    async def main() -> tuple[juggler.RunReport, float]:
        pipeline = juggler.Pipeline(
            juggler.branches(juggler.aio(retrieve), juggler.aio(synthesise), join=join)
        )
        report = await pipeline.run_async(range(3))
        return report, asyncio.get_running_loop().time()

    report, elapsed = run_virtual(main())
    assert report.results == ["docs0+memo0", "docs1+memo1", "docs2+memo2"]
    assert elapsed == 1.0  # not 2.0: the branches overlapped


def test_a_failure_in_one_branch_fails_the_item_only() -> None:
    """Under skip-and-report, an item failing in one branch is dropped; the others join."""

    async def picky(x: int) -> int:
        if x == 1:
            raise ValueError("no ones")
        return x

    branches = juggler.branches(
        juggler.aio(_double), juggler.aio(picky, on_error="skip"), join=lambda a, b: a + b
    )
    report = run_virtual(juggler.Pipeline(branches).run_async(range(3)))
    assert report.results == [0, 6]
    assert [(f.stage, f.item_id) for f in report.failures] == [("picky", "1")]


def test_branches_refuse_flat_stages() -> None:
    """A branch must map one to one, or the join could not pair outputs."""
    with pytest.raises(ConfigError, match="flat"):
        juggler.branches(juggler.aio(_double), juggler.io(_repeat, flat=True))


def test_decorators_bare_and_with_options_keep_the_function_callable() -> None:
    """``@juggler.io`` and ``@juggler.io(...)`` both give a stage that still calls through."""

    @juggler.io
    def plain(x: int) -> int:
        return x + 1

    @juggler.io(concurrency=3, name="custom")
    def tuned(x: int) -> int:
        return x + 2

    assert (plain(1), tuned(1)) == (2, 3)
    assert (plain.placement, plain.concurrency) == ("io", 16)
    assert (tuned.name, tuned.concurrency) == ("custom", 3)


def test_stage_names_must_be_unique() -> None:
    """Two stages with one name would make the report ambiguous."""
    with pytest.raises(ConfigError, match="unique"):
        juggler.Pipeline(juggler.aio(_double), juggler.aio(_double))


def test_sync_run_inside_a_loop_is_refused() -> None:
    """``run()`` inside a running loop would deadlock; it says to use ``run_async``."""

    async def main() -> None:
        with pytest.raises(ConfigError, match="run_async"):
            juggler.Pipeline(juggler.aio(_double)).run([1])

    run_virtual(main())


class _Counter:
    """A stateful aio stage: an object whose ``__call__`` is a coroutine function."""

    def __init__(self) -> None:
        self.seen = 0

    async def __call__(self, x: int) -> int:
        self.seen += 1
        return x


def test_an_object_with_an_async_call_is_an_aio_stage() -> None:
    """Objects with ``async def __call__`` are placed on the loop like coroutine functions."""
    counter = _Counter()
    report = run_virtual(juggler.Pipeline(juggler.aio(counter, name="count")).run_async(range(5)))
    assert report.results == list(range(5))
    assert counter.seen == 5
