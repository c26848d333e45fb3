"""The run loop: one task group per run, one runner per stage, channels in between.

Every task belongs to a ``TaskGroup``; a fail-fast failure, a cancellation or Ctrl-C cancels
them all, and the ``finally`` blocks release thread pools and kill worker processes before
anything propagates. What the runners share (the item envelope, tombstones, the run's
context) is in ``_run_context.py``; a placed stage runs in ``_stage_runner.py`` (its process
hand-overs in ``_cpu_handover.py``), the other shapes in ``_runners.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Iterable
from typing import Any

from ._channel import Channel, EndOfChannel, WouldBlock
from ._run_context import DROPPED, FailFast, Item, RunContext, channel_size, item_id
from ._runners import BatchRunner, BranchesRunner, ReduceRunner
from ._stage import AnyStage, Batch, Reduce, Stage
from ._stage_runner import StageRunner


def make_runner(
    stage: AnyStage, ctx: RunContext, inp: Channel[Item], out: Channel[Item]
) -> StageRunner | BatchRunner | ReduceRunner | BranchesRunner:
    if isinstance(stage, Stage):
        return StageRunner(stage, ctx, inp, out)
    if isinstance(stage, Batch):
        return BatchRunner(stage, ctx, inp, out)
    if isinstance(stage, Reduce):
        return ReduceRunner(stage, ctx, inp, out)
    return BranchesRunner(stage, ctx, inp, out)


async def feed(items: Iterable[Any] | AsyncIterable[Any], out: Channel[Item]) -> int:
    """Send the source items into the first channel; returns how many were sent."""
    count = 0
    now = asyncio.get_running_loop().time
    try:
        if isinstance(items, AsyncIterable):
            async for value in items:
                await out.send(Item((count,), value, now()))
                count += 1
        else:
            send, send_nowait = out.send, out.send_nowait
            for value in items:
                item = Item((count,), value, now())
                try:
                    send_nowait(item)
                except WouldBlock:
                    await send(item)
                count += 1
    finally:
        out.close()
    return count


async def collect(inp: Channel[Item], into: list[Item]) -> None:
    """Drain the last channel, keeping everything but tombstones."""
    while True:
        try:
            batch = await inp.receive_many(4096)
        except EndOfChannel:
            return
        into.extend(item for item in batch if item.value is not DROPPED)


__all__ = [
    "FailFast",
    "RunContext",
    "channel_size",
    "collect",
    "feed",
    "item_id",
    "make_runner",
]
