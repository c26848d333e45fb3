"""The run loop: one task group per run, one runner per stage, channels in between.

Every task belongs to a ``TaskGroup``; a fail-fast failure, a cancellation or Ctrl-C cancels
them all, and the ``finally`` blocks release thread pools and kill worker processes before
anything propagates. Items travel as ``_Item(key, value)``: ``key`` is the item's position
(a tuple, one more level per flat-map), which gives ordered results and item ids for free.
An item that failed under ``on_error="skip"`` travels on as a tombstone, so that an ordered
stage or a join downstream never waits for it.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import traceback
from collections.abc import AsyncIterable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._backends._protocol import CpuBackend, Failed, Ok, Raised
from ._channel import Channel, EndOfChannel, WouldBlock
from ._errors import ConfigError, ItemError, ItemTimeout
from ._placement._threads import ThreadPool
from ._procpool._protocol import RemoteError, check_importable
from ._report import ItemFailure, StageReport
from ._stage import AnyStage, Batch, Branches, Reduce, Stage, is_coroutine_callable
from ._trace._progress import Progress
from ._trace._span import POOL_START_UP

if TYPE_CHECKING:
    import random

    from ._trace._recorder import Recorder

_DROPPED: Any = object()  # the value of a tombstone
_CPU_MAX_BATCH = 1024
# How long one hand-over of items to the process backend should take: long enough that
# per-call overhead vanishes, short enough that results stream on to the next stage.
_CPU_CALL_TARGET_S = 0.05


class _Item:
    __slots__ = ("key", "queued", "value")

    def __init__(self, key: tuple[int, ...], value: Any, queued: float | None = None) -> None:
        self.key = key
        self.value = value
        self.queued = queued  # when it entered the next stage's channel (loop clock)


def item_id(key: tuple[int, ...]) -> str:
    return ".".join(map(str, key))


class FailFast(Exception):
    """Raised inside the task group to stop the run; turned into ``PipelineFailed``."""

    def __init__(self, failure: ItemFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class RunContext:
    """What the stages of one run share: the process backend, failures, randomness."""

    def __init__(
        self,
        backend_factory: Callable[[], CpuBackend],
        rng: random.Random,
        recorder: Recorder,
        *,
        threads: ThreadPool | None = None,
    ) -> None:
        self.recorder = recorder
        #: A runtime's threads, shared by the io stages of all its runs (else their own).
        self.shared_threads = threads
        self.progress = Progress([])  # replaced by the run's live one
        self._backend_factory = backend_factory
        self._backend: CpuBackend | None = None
        self._backend_lock = asyncio.Lock()
        self.failures: list[ItemFailure] = []
        self.reports: list[StageReport] = []
        self.thread_pools: list[ThreadPool] = []
        self.rng = rng

    async def cpu_backend(self) -> CpuBackend:
        if self._backend is None:
            async with self._backend_lock:
                if self._backend is None:
                    backend = self._backend_factory()
                    loop = asyncio.get_running_loop()
                    started = loop.time()
                    await backend.start()
                    # Items wait for this: the trace shows it as a span of its own.
                    self.recorder.phase(POOL_START_UP, started, loop.time())
                    self._backend = backend
        return self._backend

    @property
    def backend(self) -> CpuBackend | None:
        return self._backend

    async def aclose(self, *, grace_s: float) -> None:
        """Kill worker processes and stop threads. Safe to call while being cancelled."""
        try:
            if self._backend is not None:
                await self._backend.aclose(grace_s=grace_s)
        finally:
            for pool in self.thread_pools:
                await pool.aclose(grace_s=grace_s)

    def fail(
        self,
        stage: Stage | Reduce | Branches,
        report: StageReport,
        item: _Item,
        attempts: int,
        error: BaseException,
        tb: str = "",
    ) -> _Item:
        """Record that ``item`` failed for good; return its tombstone (or stop the run)."""
        report.failed += 1
        failure = ItemFailure(
            stage=stage.name,
            item_id=item_id(item.key),
            item=_short_repr(item.value),
            attempts=attempts,
            # An exception that could not cross the pipe arrives as a stand-in: name the original.
            error_type=error.type_name if isinstance(error, RemoteError) else type(error).__name__,
            message=error.message if isinstance(error, RemoteError) else str(error),
            traceback=tb or "".join(traceback.format_exception(error)),
            signal=getattr(error, "signal", None) if isinstance(error, ItemError) else None,
            exit_code=getattr(error, "exit_code", None) if isinstance(error, ItemError) else None,
        )
        self.failures.append(failure)
        if getattr(stage, "on_error", "fail") == "fail":
            raise FailFast(failure) from error
        return _Item(item.key, _DROPPED)


def _short_repr(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not hide the real failure
        text = f"<unrepresentable {type(value).__name__}: {exc}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Emitter:
    """Sends a stage's outputs downstream, in arrival order when the stage is ordered.

    Ordered stages hold finished outputs until every earlier item has been sent, and take
    no more than ``window`` items ahead of the oldest unsent one, so memory stays bounded
    even when one item is slow.
    """

    def __init__(self, out: Channel[_Item], *, ordered: bool, window: int) -> None:
        self._out = out
        self.ordered = ordered
        self._window = window
        self._next_in = 0
        self._next_out = 0
        self._pending: dict[int, list[_Item]] = {}
        self._flushing = False
        self._room_waiters: list[asyncio.Future[None]] = []

    def room(self) -> int:
        return self._window - (self._next_in - self._next_out)

    async def wait_room(self) -> None:
        while self.room() <= 0:
            waiter = asyncio.get_running_loop().create_future()
            self._room_waiters.append(waiter)
            await waiter

    def take_indices(self, count: int) -> int:
        first = self._next_in
        self._next_in += count
        return first

    async def emit(self, index: int, items: list[_Item]) -> None:
        if not self.ordered:
            out = self._out
            for item in items:
                try:
                    out.send_nowait(item)  # room is the common case: no coroutine needed
                except WouldBlock:
                    await out.send(item)
            return
        self._pending[index] = items
        if self._flushing:
            return  # the task that is flushing will send these too
        self._flushing = True
        try:
            pending = self._pending
            while self._next_out in pending:
                for item in pending.pop(self._next_out):
                    await self._out.send(item)
                self._next_out += 1
                waiters, self._room_waiters = self._room_waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
        finally:
            self._flushing = False


class StageRunner:
    """Runs one placed stage: ``concurrency`` worker tasks between two channels."""

    index = 0  # position in the pipeline, for progress

    def __init__(
        self, stage: Stage, ctx: RunContext, inp: Channel[_Item], out: Channel[_Item]
    ) -> None:
        self.stage = stage
        self.ctx = ctx
        self.inp = inp
        self.out = out
        self.report = StageReport(name=stage.name, placement=stage.placement)
        ctx.reports.append(self.report)
        self.mode = "thread" if stage.placement in ("io", "auto") else stage.placement
        self.threads: ThreadPool | None = None
        self._auto = _AutoPlacement() if stage.placement == "auto" else None
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
        # Items per hand-over to the process backend: starts at one per worker, then learned.
        self._cpu_workers = 1
        self._cpu_take = 2
        self._cpu_call_target_s = _CPU_CALL_TARGET_S
        window = self._workers * (_CPU_MAX_BATCH if stage.placement == "cpu" else 1)
        self._emitter = _Emitter(out, ordered=stage.ordered, window=max(window, 1))

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
            outputs = [item] if item.value is _DROPPED else await self._process(item)
            if emitter.ordered or len(outputs) != 1:
                await emitter.emit(index, outputs)
            else:
                # One output, no ordering: hand it over inline, waiting only if it is full.
                try:
                    out.send_nowait(outputs[0])
                except WouldBlock:
                    await out.send(outputs[0])
            if item.value is not _DROPPED:
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
            if value is _DROPPED:
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
                    output = _Item(key, result, end)
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
        self, item: _Item, first_failure: tuple[Exception, float, float] | None = None
    ) -> list[_Item]:
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
        item: _Item,
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

    def _outputs(self, item: _Item, value: Any, now: float) -> list[_Item]:
        if not self.stage.flat:
            self.report.emitted += 1
            return [_Item(item.key, value, now)]
        key = item.key
        outputs = [_Item((*key, j), v, now) for j, v in enumerate(value)]
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

    async def _process_in_cpu(self, item: _Item) -> list[_Item]:
        outputs = await self._run_cpu([item], attempt=1)
        return outputs[0]

    async def _work_cpu_batch(self) -> bool:
        emitter = self._emitter
        limit = self._cpu_take
        if emitter.ordered:
            await emitter.wait_room()
            limit = min(limit, emitter.room())
        try:
            items = await self.inp.receive_many(limit)
        except EndOfChannel:
            return False
        first = emitter.take_indices(len(items))
        self.report.received += len(items)
        live = [item for item in items if item.value is not _DROPPED]
        started = asyncio.get_running_loop().time()
        results = await self._run_cpu(live, attempt=1) if live else []
        if live:
            self._learn_cpu_take(len(live), asyncio.get_running_loop().time() - started)
        self.ctx.progress.advance(self.index, len(live))
        outputs_of = {id(item): out for item, out in zip(live, results, strict=True)}
        for offset, item in enumerate(items):
            # Tombstones from upstream pass straight through.
            await emitter.emit(first + offset, outputs_of.get(id(item), [item]))
        return True

    def _learn_cpu_take(self, count: int, elapsed_s: float) -> None:
        """Size the next hand-over so it takes about ``_CPU_CALL_TARGET_S``.

        ``count`` items took ``elapsed_s`` spread over up to ``workers`` processes, so one item
        costs about ``elapsed_s * min(count, workers) / count``. Tiny items grow the take to
        the cap (dispatch cost dominates); heavy ones shrink it to a few, so their results go
        downstream as they finish instead of all at the end.
        """
        workers = self._cpu_workers
        per_item = elapsed_s * min(count, workers) / count
        if per_item <= 0:
            self._cpu_take = _CPU_MAX_BATCH
            return
        wanted = int(self._cpu_call_target_s * workers / per_item)
        self._cpu_take = max(1, min(_CPU_MAX_BATCH, wanted))

    async def _run_cpu(self, items: list[_Item], *, attempt: int) -> list[list[_Item]]:
        """Run items in the process backend, retrying user errors after their backoff.

        Retries are awaited by this worker task; the stage's other tasks keep going.
        """
        stage, report = self.stage, self.report
        backend = await self.ctx.cpu_backend()
        self._cpu_workers = backend.workers
        # A backend whose every call costs a scheduler round trip (Dask) asks for longer calls.
        self._cpu_call_target_s = getattr(backend, "call_target_s", None) or _CPU_CALL_TARGET_S
        loop = asyncio.get_running_loop()
        start = loop.time()
        if report.first_start is None:
            report.first_start = start
        outcomes = await backend.run_many(
            stage.fn,
            [item.value for item in items],
            item_ids=[item_id(item.key) for item in items],
            timeout_s=stage.timeout_s,
        )
        end = loop.time()
        self.ctx.recorder.tick(end)
        report.last_finish = end
        results: list[list[_Item]] = []
        rows, name = self.ctx.recorder.rows, stage.name
        for item, outcome in zip(items, outcomes, strict=True):
            timing = getattr(outcome, "timing", None)
            pid, t_start, t_end = timing if timing is not None else (0, start, end)
            # Busy time is the workers' own time per item (what the timeline shows), not the
            # batch's wait in the parent: batches in flight at once would count it twice.
            report.busy_s += max(0.0, t_end - t_start)
            kind = _OUTCOME_NAMES[type(outcome)]
            if isinstance(outcome, Failed) and isinstance(outcome.error, ItemTimeout):
                kind = "timeout"
            rows.append(
                (
                    name,
                    "cpu",
                    pid,
                    "worker",
                    item.key,
                    attempt,
                    item.queued,
                    t_start,
                    t_end,
                    kind,
                    None,
                    None,
                )
            )
            if isinstance(outcome, Ok):
                report.succeeded += 1
                results.append(self._outputs(item, outcome.value, end))
            elif isinstance(outcome, Raised):
                if stage.retry.should_retry(outcome.error, attempt):
                    report.retried += 1
                    results.append(await self._retry_cpu(item, attempt))
                else:
                    error, tb = outcome.error, outcome.traceback
                    results.append([self.ctx.fail(stage, report, item, attempt, error, tb)])
            else:
                assert isinstance(outcome, Failed)
                failed = self.ctx.fail(stage, report, item, outcome.attempts, outcome.error)
                results.append([failed])
        return results

    async def _retry_cpu(self, item: _Item, attempt: int) -> list[_Item]:
        await asyncio.sleep(self.stage.retry.backoff_s(attempt, self.ctx.rng))
        return (await self._run_cpu([item], attempt=attempt + 1))[0]


_OUTCOME_NAMES = {Ok: "ok", Raised: "error", Failed: "crash"}


class _AutoPlacement:
    """Decides, from the first items run in threads, whether the GIL is the stage's limit.

    It reads the CPU clocks of the stage's own threads: how many cores they kept busy since
    the first item started. About one core means the threads are taking turns on the GIL, and
    processes would run them in parallel. Much less means the stage waits on I/O; clearly
    more than one means the function releases the GIL already (C code), so threads do fine.
    """

    MIN_ITEMS = 4
    MAX_ITEMS = 10
    MIN_WAIT_S = 0.05
    MAX_WAIT_S = 0.5

    def __init__(self) -> None:
        self.decision: str | None = None
        self._done = 0
        self._t0: float | None = None
        self._cpu0 = 0.0

    def started(self, now: float, pool: ThreadPool) -> None:
        if self._t0 is None:
            self._t0, self._cpu0 = now, pool.cpu_seconds()

    def observe(self, now: float, pool: ThreadPool) -> str | None:
        """Record one finished item; returns the decision once there is one."""
        assert self._t0 is not None
        self._done += 1
        elapsed = now - self._t0
        enough = self._done >= self.MIN_ITEMS and elapsed >= self.MIN_WAIT_S
        if not (enough or elapsed >= self.MAX_WAIT_S or self._done >= self.MAX_ITEMS):
            return None
        cores = (pool.cpu_seconds() - self._cpu0) / elapsed if elapsed > 0 else 0.0
        if 0.5 <= cores <= 1.4 and (os.cpu_count() or 1) > 1:
            where, why = "moved to processes", "GIL-bound"
        elif cores > 1.4:
            where, why = "stays in threads", "the GIL is released"
        else:
            where, why = "stays in threads", "waiting on I/O"
        n = self._done
        self.decision = f"{where} after {n} items: threads kept {cores:.2f} cores busy ({why})"
        return self.decision


class BatchRunner:
    """Groups items into lists (``Batch``)."""

    index = 0  # position in the pipeline, for progress

    def __init__(
        self, spec: Batch, ctx: RunContext, inp: Channel[_Item], out: Channel[_Item]
    ) -> None:
        self.spec, self.inp, self.out = spec, inp, out
        self.report = StageReport(name=spec.name, placement="batch")
        ctx.reports.append(self.report)

    async def run(self) -> None:
        size, max_wait_s = self.spec.size, self.spec.max_wait_s
        loop = asyncio.get_running_loop()
        group: list[_Item] = []
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
            if item.value is _DROPPED:
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

    async def _send(self, group: list[_Item]) -> None:
        self.report.emitted += 1
        self.report.succeeded += len(group)
        now = asyncio.get_running_loop().time()
        await self.out.send(_Item(group[0].key, [item.value for item in group], now))


class ReduceRunner:
    """Folds every item into one value (``Reduce``)."""

    index = 0  # position in the pipeline, for progress

    def __init__(
        self, spec: Reduce, ctx: RunContext, inp: Channel[_Item], out: Channel[_Item]
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
            if item.value is _DROPPED:
                continue
            try:
                acc = await fn(acc, item.value) if is_async else fn(acc, item.value)
            except Exception as exc:
                self.ctx.fail(self.spec, self.report, item, 1, exc)
                continue
            self.report.succeeded += 1
        self.report.emitted = 1
        await self.out.send(_Item((0,), acc, asyncio.get_running_loop().time()))
        self.out.close()


class BranchesRunner:
    """Sends each item to every branch and joins their outputs per item (``Branches``)."""

    index = 0  # position in the pipeline, for progress

    def __init__(
        self, spec: Branches, ctx: RunContext, inp: Channel[_Item], out: Channel[_Item]
    ) -> None:
        self.spec, self.ctx, self.inp, self.out = spec, ctx, inp, out
        self.report = StageReport(name=spec.name, placement="branches")
        ctx.reports.append(self.report)
        self.heads: list[Channel[_Item]] = []
        self.tails: list[Channel[_Item]] = []
        self.runners: list[StageRunner] = []
        for chain in spec.branches:
            head: Channel[_Item] = Channel(channel_size(chain[0]))
            self.heads.append(head)
            current = head
            for stage in chain:
                nxt: Channel[_Item] = Channel(channel_size(stage))
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

    async def _collect(self, index: int, tail: Channel[_Item]) -> None:
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
        if any(v is _DROPPED for v in values):
            await self.out.send(_Item(key, _DROPPED))
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
            tomb = self.ctx.fail(self.spec, self.report, _Item(key, tuple(values)), 1, exc)
            await self.out.send(tomb)
            return
        self.report.succeeded += 1
        self.report.emitted += 1
        await self.out.send(_Item(key, joined, asyncio.get_running_loop().time()))


_MISSING: Any = object()


def channel_size(stage: AnyStage) -> int:
    """Room in the channel in front of ``stage``: enough to keep it busy, no more."""
    if isinstance(stage, Stage):
        if stage.placement == "cpu":
            return 2 * _CPU_MAX_BATCH
        return max(16, 2 * (stage.concurrency or 1))
    if isinstance(stage, Batch) and stage.size is not None:
        return max(16, stage.size)
    return 64


def make_runner(
    stage: AnyStage, ctx: RunContext, inp: Channel[_Item], out: Channel[_Item]
) -> StageRunner | BatchRunner | ReduceRunner | BranchesRunner:
    if isinstance(stage, Stage):
        return StageRunner(stage, ctx, inp, out)
    if isinstance(stage, Batch):
        return BatchRunner(stage, ctx, inp, out)
    if isinstance(stage, Reduce):
        return ReduceRunner(stage, ctx, inp, out)
    return BranchesRunner(stage, ctx, inp, out)


async def feed(items: Iterable[Any] | AsyncIterable[Any], out: Channel[_Item]) -> int:
    """Send the source items into the first channel; returns how many were sent."""
    count = 0
    now = asyncio.get_running_loop().time
    try:
        if isinstance(items, AsyncIterable):
            async for value in items:
                await out.send(_Item((count,), value, now()))
                count += 1
        else:
            send, send_nowait = out.send, out.send_nowait
            for value in items:
                item = _Item((count,), value, now())
                try:
                    send_nowait(item)
                except WouldBlock:
                    await send(item)
                count += 1
    finally:
        out.close()
    return count


async def collect(inp: Channel[_Item], into: list[_Item]) -> None:
    """Drain the last channel, keeping everything but tombstones."""
    while True:
        try:
            batch = await inp.receive_many(4096)
        except EndOfChannel:
            return
        into.extend(item for item in batch if item.value is not _DROPPED)


__all__ = [
    "FailFast",
    "RunContext",
    "channel_size",
    "collect",
    "feed",
    "item_id",
    "make_runner",
]
