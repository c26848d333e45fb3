"""The runners of the shapes that are not one placed function: batch, reduce, branches."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from ._channel import Channel, EndOfChannel
from ._report import StageReport
from ._run_context import DROPPED, Item, RunContext, channel_size
from ._stage import Batch, Branches, Reduce, is_coroutine_callable
from ._stage_runner import StageRunner


class BatchRunner:
    """Groups items into lists (``Batch``)."""

    index = 0  # position in the pipeline, for progress

    def __init__(
        self, spec: Batch, ctx: RunContext, inp: Channel[Item], out: Channel[Item]
    ) -> None:
        self.spec, self.inp, self.out = spec, inp, out
        self.report = StageReport(name=spec.name, placement="batch")
        ctx.reports.append(self.report)

    async def run(self) -> None:
        size, max_wait_s = self.spec.size, self.spec.max_wait_s
        loop = asyncio.get_running_loop()
        group: list[Item] = []
        deadline: float | None = None
        while True:
            try:
                if group and deadline is not None:
                    async with asyncio.timeout_at(deadline):
                        item = await self.inp.receive()
                else:
                    item = await self.inp.receive()
            except TimeoutError:
                await self._send(group)
                group, deadline = [], None
                continue
            except EndOfChannel:
                break
            self.report.received += 1
            if item.value is DROPPED:
                continue
            if not group and max_wait_s is not None:
                deadline = loop.time() + max_wait_s
            group.append(item)
            if size is not None and len(group) >= size:
                await self._send(group)
                group, deadline = [], None
        if group:
            await self._send(group)
        self.out.close()

    async def _send(self, group: list[Item]) -> None:
        self.report.emitted += 1
        self.report.succeeded += len(group)
        now = asyncio.get_running_loop().time()
        await self.out.send(Item(group[0].key, [item.value for item in group], now))


class ReduceRunner:
    """Folds every item into one value (``Reduce``)."""

    index = 0  # position in the pipeline, for progress

    def __init__(
        self, spec: Reduce, ctx: RunContext, inp: Channel[Item], out: Channel[Item]
    ) -> None:
        self.spec, self.ctx, self.inp, self.out = spec, ctx, inp, out
        self.report = StageReport(name=spec.name, placement="reduce")
        ctx.reports.append(self.report)

    async def run(self) -> None:
        fn = self.spec.fn
        is_async = is_coroutine_callable(fn)
        acc = self.spec.initial
        while True:
            try:
                item = await self.inp.receive()
            except EndOfChannel:
                break
            self.report.received += 1
            if item.value is DROPPED:
                continue
            try:
                acc = await fn(acc, item.value) if is_async else fn(acc, item.value)
            except Exception as exc:
                self.ctx.fail(self.spec, self.report, item, 1, exc)
                continue
            self.report.succeeded += 1
        self.report.emitted = 1
        await self.out.send(Item((0,), acc, asyncio.get_running_loop().time()))
        self.out.close()


class BranchesRunner:
    """Sends each item to every branch and joins their outputs per item (``Branches``)."""

    index = 0  # position in the pipeline, for progress

    def __init__(
        self, spec: Branches, ctx: RunContext, inp: Channel[Item], out: Channel[Item]
    ) -> None:
        self.spec, self.ctx, self.inp, self.out = spec, ctx, inp, out
        self.report = StageReport(name=spec.name, placement="branches")
        ctx.reports.append(self.report)
        self.heads: list[Channel[Item]] = []
        self.tails: list[Channel[Item]] = []
        self.runners: list[StageRunner] = []
        for chain in spec.branches:
            head: Channel[Item] = Channel(channel_size(chain[0]))
            self.heads.append(head)
            current = head
            for stage in chain:
                nxt: Channel[Item] = Channel(channel_size(stage))
                self.runners.append(StageRunner(stage, ctx, current, nxt))
                current = nxt
            self.tails.append(current)
        self._partial: dict[tuple[int, ...], list[Any]] = {}

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._distribute())
            for runner in self.runners:
                tasks.create_task(runner.run())
            collectors = [tasks.create_task(self._collect(i, t)) for i, t in enumerate(self.tails)]
            await asyncio.gather(*collectors)
        self.out.close()

    async def _distribute(self) -> None:
        try:
            while True:
                try:
                    item = await self.inp.receive()
                except EndOfChannel:
                    return
                self.report.received += 1
                for head in self.heads:
                    await head.send(item)
        finally:
            for head in self.heads:
                head.close()

    async def _collect(self, index: int, tail: Channel[Item]) -> None:
        count = len(self.tails)
        partial = self._partial
        while True:
            try:
                item = await tail.receive()
            except EndOfChannel:
                return
            slots = partial.get(item.key)
            if slots is None:
                slots = partial[item.key] = [_MISSING] * count
            slots[index] = item.value
            if _MISSING in slots:
                continue
            del partial[item.key]
            await self._join(item.key, slots)

    async def _join(self, key: tuple[int, ...], values: list[Any]) -> None:
        if any(v is DROPPED for v in values):
            await self.out.send(Item(key, DROPPED))
            return
        join = self.spec.join
        try:
            if join is None:
                joined: Any = tuple(values)
            else:
                joined = join(*values)
                if inspect.isawaitable(joined):
                    joined = await joined
        except Exception as exc:
            tomb = self.ctx.fail(self.spec, self.report, Item(key, tuple(values)), 1, exc)
            await self.out.send(tomb)
            return
        self.report.succeeded += 1
        self.report.emitted += 1
        await self.out.send(Item(key, joined, asyncio.get_running_loop().time()))


_MISSING: Any = object()
