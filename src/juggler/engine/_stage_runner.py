"""One placed stage (``aio``, ``io``, ``cpu``, ``auto``): worker tasks between two channels.

Each item's attempts, retries, timeouts and trace rows are handled here; a ``cpu`` stage's
hand-overs to the process backend are the ``CpuHandOver``'s (``_cpu_handover.py``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterable, Callable
from typing import TYPE_CHECKING, Any

from ._auto_placement import AutoPlacement
from ._backends._procpool._protocol import check_importable
from ._channel import Channel, EndOfChannel, WouldBlock
from ._cpu_handover import CpuHandOver
from ._emitter import Emitter
from ._errors import ConfigError, ItemTimeout
from ._placement._threads import ThreadPool
from ._report import StageReport
from ._run_context import CPU_MAX_BATCH, DROPPED, Item, RunContext

if TYPE_CHECKING:
    from ._stage import Stage


class StageRunner:
    """Runs one placed stage: ``concurrency`` worker tasks between two channels."""

    index = 0  # position in the pipeline, for progress

    def __init__(
        self, stage: Stage, ctx: RunContext, inp: Channel[Item], out: Channel[Item]
    ) -> None:
        self.stage = stage
        self.ctx = ctx
        self.inp = inp
        self.out = out
        self.report = StageReport(name=stage.name, placement=stage.placement)
        ctx.reports.append(self.report)
        self.mode = "thread" if stage.placement in ("io", "auto") else stage.placement
        self.threads: ThreadPool | None = None
        self._auto = AutoPlacement() if stage.placement == "auto" else None
        self._plain_aio = stage.placement == "aio" and stage.timeout_s is None and not stage.flat
        self._tasks: asyncio.TaskGroup | None = None
        self._importable = stage.placement == "cpu"
        if stage.placement == "cpu":
            check_importable(stage.fn)  # the run's first use: fails before any pool starts
        if stage.placement == "auto":
            try:
                check_importable(stage.fn)
                self._importable = True
            except ConfigError:
                pass  # stays in threads; the decision will say why
        fn = stage.fn
        self._thread_fn: Callable[[Any], Any] = (lambda v: list(fn(v))) if stage.flat else fn
        self._workers = stage.concurrency or 1
        self._cpu = CpuHandOver(stage, ctx, self.report, self._outputs)
        window = self._workers * (CPU_MAX_BATCH if stage.placement == "cpu" else 1)
        self._emitter = Emitter(out, ordered=stage.ordered, window=max(window, 1))

    async def run(self) -> None:
        stage = self.stage
        if stage.placement == "io" and self.ctx.shared_threads is not None:
            # (An ``auto`` stage keeps threads of its own: it measures their CPU clocks.)
            self.threads = self.ctx.shared_threads
        elif self.mode == "thread":
            self.threads = ThreadPool(self._workers, name=stage.name)
            self.ctx.thread_pools.append(self.threads)
            self.threads.start()
        if stage.placement == "cpu":
            backend = await self.ctx.cpu_backend()
            self._workers = stage.concurrency or 2 * backend.workers
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                for _ in range(self._workers):
                    tasks.create_task(self._work())
        finally:
            self.report.last_finish = self.report.last_finish or loop.time()
            self.report.input_channel = self.inp.statistics()
            if self.threads is not None:
                self.report.backend["threads"] = self.threads.statistics()
        self.out.close()

    async def _work(self) -> None:
        if self._plain_aio and not self._emitter.ordered:
            await self._work_plain_aio()
            return
        inp, out, emitter = self.inp, self.out, self._emitter
        while True:
            if self.mode == "cpu":
                if not await self._work_cpu_batch():
                    return
                continue
            if emitter.ordered:
                await emitter.wait_room()
            try:
                # The buffer is usually not empty: skip building a coroutine to wait on it.
                item = inp.receive_nowait()
            except WouldBlock:
                try:
                    item = await inp.receive()
                except EndOfChannel:
                    return
            except EndOfChannel:
                return
            index = emitter.take_indices(1)
            self.report.received += 1
            outputs = [item] if item.value is DROPPED else await self._process(item)
            if emitter.ordered or len(outputs) != 1:
                await emitter.emit(index, outputs)
            else:
                # One output, no ordering: hand it over inline, waiting only if it is full.
                try:
                    out.send_nowait(outputs[0])
                except WouldBlock:
                    await out.send(outputs[0])
            if item.value is not DROPPED:
                self.ctx.progress.advance(self.index)

    async def _work_plain_aio(self) -> None:
        """The hot loop of an ``aio`` stage with no timeout, no flat output and no ordering.

        Same bookkeeping as :meth:`_process`, without its per-item layers: in an I/O fan-out
        the loop runs this once per item for thousands of items. A failed first attempt goes
        to :meth:`_process`, which carries on with retries from there.
        """
        inp, out, report = self.inp, self.out, self.report
        fn, name = self.stage.fn, self.stage.name
        recorder = self.ctx.recorder
        rows, pid, tick = recorder.rows, recorder.pid, recorder.tick
        advance, index = self.ctx.progress.advance, self.index
        now = asyncio.get_running_loop().time
        placement, lane = "aio", "event loop"
        while True:
            try:
                item = inp.receive_nowait()
            except WouldBlock:
                try:
                    item = await inp.receive()
                except EndOfChannel:
                    return
            except EndOfChannel:
                return
            report.received += 1
            value = item.value
            if value is DROPPED:
                outputs = [item]
            else:
                start = now()
                if report.first_start is None:
                    report.first_start = start
                try:
                    result = await fn(value)
                except Exception as exc:
                    outputs = await self._process(item, first_failure=(exc, start, now()))
                else:
                    end = now()
                    tick(end)
                    report.busy_s += end - start
                    report.last_finish = end
                    report.succeeded += 1
                    report.emitted += 1
                    key = item.key
                    queued = item.queued
                    row = (name, placement, pid, lane, key, 1, queued, start, end, "ok", None, None)
                    rows.append(row)
                    advance(index)
                    # One output: hand it over inline, waiting only if the channel is full.
                    output = Item(key, result, end)
                    try:
                        out.send_nowait(output)
                    except WouldBlock:
                        await out.send(output)
                    continue
                advance(index)
            for output in outputs:
                try:
                    out.send_nowait(output)
                except WouldBlock:
                    await out.send(output)

    async def _process(
        self, item: Item, first_failure: tuple[Exception, float, float] | None = None
    ) -> list[Item]:
        """Run ``item`` through the stage's attempts; returns its outputs or its tombstone.

        ``first_failure`` is an attempt that already failed (exception, start, end), from the
        lean aio loop: retries carry on from it.
        """
        stage, report = self.stage, self.report
        loop = asyncio.get_running_loop()
        rows = self.ctx.recorder.rows
        pid = self.ctx.recorder.pid
        name, key = stage.name, item.key
        attempt = 0
        while True:
            attempt += 1
            if first_failure is not None:
                failed, start, end = first_failure
                first_failure = None
                if self._failed_attempt(item, attempt, failed, start, end, "event loop", "aio"):
                    await asyncio.sleep(stage.retry.backoff_s(attempt, self.ctx.rng))
                    continue
                return [self.ctx.fail(stage, report, item, attempt, failed)]
            start = loop.time()
            if report.first_start is None:
                report.first_start = start
            try:
                if self.mode == "aio":
                    lane, placement = "event loop", "aio"
                    if self._plain_aio:
                        value = await stage.fn(item.value)  # the common case, no wrappers
                    else:
                        value = await self._attempt_aio(item.value)
                elif self.mode == "thread":
                    placement, where = "io", list[str]()
                    value = await self._attempt_thread(item.value, start, where)
                    lane = where[0]
                else:
                    return await self._process_in_cpu(item)
            except Exception as exc:
                end = loop.time()
                lane = "event loop" if self.mode == "aio" else (where or ["?"])[0]
                if self._failed_attempt(item, attempt, exc, start, end, lane, placement):
                    await asyncio.sleep(stage.retry.backoff_s(attempt, self.ctx.rng))
                    continue
                return [self.ctx.fail(stage, report, item, attempt, exc)]
            end = loop.time()
            self.ctx.recorder.tick(end)
            report.busy_s += end - start
            report.last_finish = end
            report.succeeded += 1
            rows.append(
                (
                    name,
                    placement,
                    pid,
                    lane,
                    key,
                    attempt,
                    item.queued,
                    start,
                    end,
                    "ok",
                    None,
                    None,
                )
            )
            return self._outputs(item, value, end)

    def _failed_attempt(
        self,
        item: Item,
        attempt: int,
        error: Exception,
        start: float,
        end: float,
        lane: str,
        placement: str,
    ) -> bool:
        """Record a failed attempt; True if the retry policy grants another one."""
        report = self.report
        report.busy_s += end - start
        report.last_finish = end
        outcome = "timeout" if isinstance(error, ItemTimeout) else "error"
        row = (self.stage.name, placement, self.ctx.recorder.pid, lane, item.key, attempt)
        self.ctx.recorder.rows.append((*row, item.queued, start, end, outcome, None, None))
        if self.stage.retry.should_retry(error, attempt):
            report.retried += 1
            return True
        return False

    def _outputs(self, item: Item, value: Any, now: float) -> list[Item]:
        if not self.stage.flat:
            self.report.emitted += 1
            return [Item(item.key, value, now)]
        key = item.key
        outputs = [Item((*key, j), v, now) for j, v in enumerate(value)]
        self.report.emitted += len(outputs)
        return outputs

    async def _attempt_aio(self, value: Any) -> Any:
        stage = self.stage
        timeout_s = stage.timeout_s
        if timeout_s is None:
            return await self._call_aio(value)
        try:
            async with asyncio.timeout(timeout_s) as scope:
                return await self._call_aio(value)
        except TimeoutError:
            if scope.expired():
                raise ItemTimeout(stage=stage.name, timeout_s=timeout_s) from None
            raise

    async def _call_aio(self, value: Any) -> Any:
        result = self.stage.fn(value)
        if inspect.isasyncgen(result):
            return [v async for v in result]
        result = await result
        if self.stage.flat and isinstance(result, AsyncIterable):
            return [v async for v in result]
        return result

    async def _attempt_thread(self, value: Any, start: float, where: list[str]) -> Any:
        threads, auto = self.threads, self._auto
        assert threads is not None
        if auto is not None and auto.decision is None:
            auto.started(start, threads)
        result = await threads.run(
            self._thread_fn,
            value,
            timeout_s=self.stage.timeout_s,
            stage=self.stage.name,
            where=where,
        )
        if auto is not None and auto.decision is None:
            decision = auto.observe(asyncio.get_running_loop().time(), threads)
            if decision is not None:
                self._decide(decision)
        return result

    def _decide(self, decision: str) -> None:
        move = decision.startswith("moved")
        if move and not self._importable:
            decision = "stays in threads: the GIL is the limit, but the function cannot be "
            decision += "imported by a worker process (make it a module-level function)"
            move = False
        self.report.decision = decision
        if move:
            self.mode = "cpu"
            self.report.placement = "auto→cpu"

    async def _process_in_cpu(self, item: Item) -> list[Item]:
        outputs = await self._cpu.run([item], attempt=1)
        return outputs[0]

    async def _work_cpu_batch(self) -> bool:
        emitter = self._emitter
        limit = self._cpu.take
        if emitter.ordered:
            await emitter.wait_room()
            limit = min(limit, emitter.room())
        try:
            items = await self.inp.receive_many(limit)
        except EndOfChannel:
            return False
        first = emitter.take_indices(len(items))
        self.report.received += len(items)
        live = [item for item in items if item.value is not DROPPED]
        started = asyncio.get_running_loop().time()
        results = await self._cpu.run(live, attempt=1) if live else []
        if live:
            self._cpu.learn(len(live), asyncio.get_running_loop().time() - started)
        self.ctx.progress.advance(self.index, len(live))
        outputs_of = {id(item): out for item, out in zip(live, results, strict=True)}
        for offset, item in enumerate(items):
            # Tombstones from upstream pass straight through.
            await emitter.emit(first + offset, outputs_of.get(id(item), [item]))
        return True
