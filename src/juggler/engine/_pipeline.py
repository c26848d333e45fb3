"""``Pipeline``: stages in a row, run from sync code or inside an event loop."""

from __future__ import annotations

import asyncio
import random
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, TypeVar, final

from ._channel import Channel
from ._errors import ConfigError, PipelineFailed
from ._report import RunReport
from ._run import FailFast, RunContext, channel_size, collect, feed, make_runner
from ._stage import AnyStage, Branches, Stage, as_stage
from ._trace._progress import open_progress
from ._trace._recorder import Recorder

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Callable, Coroutine, Iterable

    from ._backends._protocol import CpuBackend
    from ._placement._threads import ThreadPool
    from ._runtime import Runtime

T = TypeVar("T")

# How long workers get to finish their item when a run stops, before they are killed.
_GRACE_S = 1.5


def _default_backend(workers: int | None, preload: tuple[str, ...]) -> CpuBackend:
    from ._backends._procpool._supervisor import ProcessPool

    return ProcessPool(workers=workers, preload=preload)


def _process_modules(stages: tuple[AnyStage, ...]) -> tuple[str, ...]:
    """Modules of the functions that may run in worker processes, for the forkserver."""
    fns = [s.fn for s in stages if isinstance(s, Stage) and s.placement in ("cpu", "auto")]
    for branches in (s for s in stages if isinstance(s, Branches)):
        fns.extend(s.fn for b in branches.branches for s in b if s.placement in ("cpu", "auto"))
    modules = (getattr(fn, "__module__", None) or type(fn).__module__ for fn in fns)
    # __main__ is the forkserver's own business (it is preloaded only if safe to).
    return tuple(dict.fromkeys(m for m in modules if m and m != "__main__"))


@final
class Pipeline:
    """Stages connected by bounded channels; items stream through them.

    Example::

        report = juggler.Pipeline(fetch, parse, store).run(urls)
        for failure in report.failures:
            print(failure.stage, failure.item_id, failure.message)

    Args:
        *stages: Placed stages (``aio``/``io``/``cpu``/``auto``), ``batch``, ``reduce`` or
            ``branches``. A plain function is placed for you: ``aio`` for coroutine
            functions, ``auto`` for the rest.
        ordered: Return ``results`` in input order (by each item's position, flat-map
            outputs after their parent). Stages still run as items complete.
        workers: Worker processes for ``cpu`` stages (default: one per core).
        seed: Seed for the retry jitter, for reproducible runs.
        progress: Live bars per stage on stderr: ``True``/``False``, or ``None`` to show
            them only when stderr is a terminal (and the run lasts over a second).
        trace: Record a span per attempt (``report.trace``); off, the trace is empty. Spans
            cost a tuple each; ``bench/engine.py`` measures the difference.

    Cancellation: if the run is cancelled or interrupted, every stage stops, worker
    processes are killed and threads released before the cancellation propagates.
    """

    def __init__(
        self,
        *stages: AnyStage | Callable[..., Any],
        ordered: bool = True,
        workers: int | None = None,
        seed: int | None = None,
        progress: bool | None = False,
        trace: bool = True,
        _backend_factory: Callable[[], CpuBackend] | None = None,
    ) -> None:
        if not stages:
            raise ConfigError("a pipeline needs at least one stage")
        if workers is not None and workers < 1:
            raise ConfigError(f"workers must be >= 1, got {workers}")
        self.stages: tuple[AnyStage, ...] = tuple(as_stage(s) for s in stages)
        self.ordered = ordered
        self.workers = workers
        self._seed = seed
        self._progress = progress
        self._trace = trace
        preload = _process_modules(self.stages)
        self._backend_factory = _backend_factory or (lambda: _default_backend(workers, preload))
        names = [getattr(s, "name", "") for s in self.stages]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(
                f"stage names must be unique, {duplicates} repeat: pass name=... to tell them apart"
            )

    def run(
        self, items: Iterable[Any] | AsyncIterable[Any], *, runtime: Runtime | None = None
    ) -> RunReport:
        """Run the pipeline to completion from synchronous code.

        Ctrl-C and SIGTERM stop the run cleanly and raise ``KeyboardInterrupt``.

        Args:
            items: The input items.
            runtime: A started :class:`Runtime` whose workers the run shares; without it the
                run starts (and stops) workers of its own.

        Raises:
            PipelineFailed: a fail-fast stage could not process an item.
            ConfigError: called from inside a running event loop (use ``run_async``).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if runtime is not None:
                return runtime.run_blocking(lambda: self._run_in(runtime, items, True), items)
            return run(self.run_async(items))
        raise ConfigError("Pipeline.run() inside an event loop: use await run_async()")

    async def run_async(
        self,
        items: Iterable[Any] | AsyncIterable[Any],
        *,
        runtime: Runtime | None = None,
        wait: bool = True,
    ) -> RunReport:
        """Run the pipeline inside the running event loop; see :meth:`run`.

        Args:
            items: The input items.
            runtime: A started :class:`Runtime` to share; the run gets its own run id, report
                and trace, and its failures or cancellation touch no other run.
            wait: With a ``runtime`` at its bounds, wait for room (default) or raise
                ``RuntimeBusy`` at once.
        """
        if runtime is not None:
            return await runtime.run_here_or_there(
                lambda: self._run_in(runtime, items, wait), items
            )
        return await self._execute(items, self._backend_factory, None)

    async def _run_in(
        self, runtime: Runtime, items: Iterable[Any] | AsyncIterable[Any], wait: bool
    ) -> RunReport:
        async with runtime.lease(wait=wait) as lease:
            return await self._execute(
                items, lambda: lease, lease.run_id, threads=runtime.io_thread_pool
            )

    async def _execute(
        self,
        items: Iterable[Any] | AsyncIterable[Any],
        backend_factory: Callable[[], CpuBackend],
        run_id: str | None,
        *,
        threads: ThreadPool | None = None,
    ) -> RunReport:
        started = time.perf_counter()
        recorder = Recorder(asyncio.get_running_loop().time(), enabled=self._trace)
        if run_id is not None:
            recorder.run_id = run_id
        ctx = RunContext(backend_factory, random.Random(self._seed), recorder, threads=threads)
        channels: list[Channel[Any]] = [Channel(channel_size(s)) for s in self.stages]
        channels.append(Channel(4096))
        results: list[Any] = []
        recorder.start_watching()
        names = [getattr(stage, "name", "") for stage in self.stages]
        try:
            try:
                with open_progress(names, enabled=self._progress) as ctx.progress:
                    async with asyncio.TaskGroup() as tasks:
                        tasks.create_task(feed(items, channels[0]))
                        for i, stage in enumerate(self.stages):
                            runner = make_runner(stage, ctx, channels[i], channels[i + 1])
                            runner.index = i
                            tasks.create_task(runner.run())
                        tasks.create_task(collect(channels[-1], results))
            finally:
                recorder.stop_watching()
                await ctx.aclose(grace_s=_GRACE_S)
        except BaseExceptionGroup as group:
            fail_fast, rest = group.split(FailFast)
            if rest is not None:
                raise _unwrap(rest) from None
            assert fail_fast is not None
            first = _leaves(fail_fast)[0]
            report = self._report(ctx, [], started)
            raise PipelineFailed(report.failures, report) from first.__cause__
        if self.ordered:
            results.sort(key=lambda item: item.key)
        return self._report(ctx, [item.value for item in results], started)

    def _report(self, ctx: RunContext, results: list[Any], started: float) -> RunReport:
        backend = ctx.backend
        if backend is not None:
            snapshot = backend.statistics()
            for report in ctx.reports:
                if report.placement in ("cpu", "auto→cpu"):
                    report.backend["processes"] = snapshot
        wall_s = time.perf_counter() - started
        stages = [(r.name, r.placement) for r in ctx.reports]
        return RunReport(
            results=results,
            failures=list(ctx.failures),
            stages=list(ctx.reports),
            wall_s=wall_s,
            trace_factory=lambda: ctx.recorder.trace(stages, wall_s),
        )


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on a fresh event loop from synchronous code, owning Ctrl-C and SIGTERM.

    The first Ctrl-C or SIGTERM cancels ``main``: every pipeline inside it stops its stages,
    kills its worker processes and releases its threads; then ``KeyboardInterrupt`` is
    raised here. A second Ctrl-C interrupts at once.

    Raises:
        ConfigError: called from inside a running event loop (``await`` the coroutine).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        main.close()
        raise ConfigError("juggler.run() inside an event loop: await the coroutine instead")
    terminated = False

    async def guarded() -> T:
        nonlocal terminated
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        on_main_thread = threading.current_thread() is threading.main_thread()

        def on_sigterm() -> None:
            nonlocal terminated
            terminated = True
            task.cancel()

        if on_main_thread:
            previous = signal.getsignal(signal.SIGTERM)
            loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        try:
            return await main
        finally:
            if on_main_thread:
                # remove_signal_handler leaves SIG_DFL behind; a caller's own handler (the
                # CLI's, say) must still answer a SIGTERM that lands after the run.
                loop.remove_signal_handler(signal.SIGTERM)
                signal.signal(signal.SIGTERM, previous)

    with asyncio.Runner() as runner:
        try:
            return runner.run(guarded())
        except asyncio.CancelledError:
            if terminated:
                raise KeyboardInterrupt("terminated by SIGTERM") from None
            raise


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            leaves.extend(_leaves(exc))
        else:
            leaves.append(exc)
    return leaves


def _unwrap(group: BaseExceptionGroup[Any]) -> BaseException:
    """Give callers the one exception that stopped the run, not a group of one."""
    leaves = _leaves(group)
    return leaves[0] if len(leaves) == 1 else group
