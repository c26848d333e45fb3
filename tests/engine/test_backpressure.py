"""Bounded channels hold a fast producer back: memory stays flat."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import juggler

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Source:
    """Counts how far the source has been read."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pulled = 0

    def __iter__(self) -> Iterator[int]:
        for i in range(self.n):
            self.pulled += 1
            yield i


def test_slow_sink_holds_back_the_source_and_channels_stay_bounded() -> None:
    """With a slow last stage, the source is never more than the channels' room ahead."""
    source = _Source(2000)
    lead: list[int] = []
    done = 0

    def slow_sink(x: int) -> int:
        nonlocal done
        time.sleep(0.0005)
        lead.append(source.pulled - done)
        done += 1
        return x

    pipeline = juggler.Pipeline(
        juggler.aio(_passthrough, concurrency=8),
        juggler.io(slow_sink, concurrency=1),
    )
    report = pipeline.run(source)
    assert report.results == list(range(2000))
    room = sum(s.input_channel.max_buffered for s in report.stages if s.input_channel)
    in_flight = 8 + 1 + 2  # stage concurrency plus the items held by the feeder and collector
    assert max(lead) <= room + in_flight
    for stage in report.stages:
        assert stage.input_channel is not None
        assert stage.input_channel.peak_buffered <= stage.input_channel.max_buffered
    # The bound is real: the slow stage's input filled up, so producers had to wait.
    assert report.stage("slow_sink").input_channel.peak_buffered == (  # type: ignore[union-attr]
        report.stage("slow_sink").input_channel.max_buffered  # type: ignore[union-attr]
    )


async def _passthrough(x: int) -> int:
    return x
