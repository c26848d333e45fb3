"""What the runners of one run share: the item envelope, tombstones and the run's context.

Items travel as ``Item(key, value)``: ``key`` is the item's position (a tuple, one more level
per flat-map), which gives ordered results and item ids for free. An item that failed under
``on_error="skip"`` travels on as a tombstone (value ``DROPPED``), so that an ordered stage or
a join downstream never waits for it.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import TYPE_CHECKING, Any

from ._backends._procpool._protocol import RemoteError
from ._errors import ItemError
from ._report import ItemFailure, StageReport
from ._stage import AnyStage, Batch, Branches, Reduce, Stage
from ._trace._progress import Progress
from ._trace._span import POOL_START_UP

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

    from ._backends._protocol import CpuBackend
    from ._placement._threads import ThreadPool
    from ._trace._recorder import Recorder

DROPPED: Any = object()  # the value of a tombstone
CPU_MAX_BATCH = 1024
# How long one hand-over of items to the process backend should take: long enough that
# per-call overhead vanishes, short enough that results stream on to the next stage.
CPU_CALL_TARGET_S = 0.05


class Item:
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
        item: Item,
        attempts: int,
        error: BaseException,
        tb: str = "",
    ) -> Item:
        """Record that ``item`` failed for good; return its tombstone (or stop the run)."""
        report.failed += 1
        failure = ItemFailure(
            stage=stage.name,
            item_id=item_id(item.key),
            item=short_repr(item.value),
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
        return Item(item.key, DROPPED)


def short_repr(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not hide the real failure
        text = f"<unrepresentable {type(value).__name__}: {exc}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def channel_size(stage: AnyStage) -> int:
    """Room in the channel in front of ``stage``: enough to keep it busy, no more."""
    if isinstance(stage, Stage):
        if stage.placement == "cpu":
            return 2 * CPU_MAX_BATCH
        return max(16, 2 * (stage.concurrency or 1))
    if isinstance(stage, Batch) and stage.size is not None:
        return max(16, stage.size)
    return 64
