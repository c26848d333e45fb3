"""A plain process pool behind the ``CpuBackend`` seam, on ``ProcessPoolExecutor``.

It keeps the engine usable where the supervised pool is not wanted; it does not survive a
worker crash (one dead worker breaks the executor) and cannot kill a stuck item.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, final

from .._errors import ItemTimeout
from ._backend import Failed, Ok, Outcome, Raised
from ._fnref import FunctionRef

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class SimplePoolStatistics:
    workers: int
    batches: int


def _ignore_sigint() -> None:
    # The parent owns shutdown: a terminal's Ctrl-C reaches the whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_batch(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[tuple[bool, Any, str]]:
    out: list[tuple[bool, Any, str]] = []
    for item in items:
        try:
            out.append((True, fn(item), ""))
        except Exception as exc:
            out.append((False, exc, traceback.format_exc()))
    return out


@final
class SimpleProcessPool:
    """``ProcessPoolExecutor`` (forkserver) adapted to :class:`CpuBackend`."""

    def __init__(self, *, workers: int | None = None) -> None:
        self._workers = workers or os.cpu_count() or 1
        self._executor: ProcessPoolExecutor | None = None
        self._batches = 0

    @property
    def workers(self) -> int:
        return self._workers

    async def start(self) -> None:
        self._executor = ProcessPoolExecutor(
            self._workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_ignore_sigint,
        )

    async def run_many(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        item_ids: Sequence[str],
        timeout_s: float | None,
    ) -> list[Outcome]:
        assert self._executor is not None
        loop = asyncio.get_running_loop()
        ref = fn if isinstance(fn, FunctionRef) else FunctionRef(fn)
        size = max(1, min(256, len(items) // (2 * self._workers)))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        self._batches += len(chunks)
        futures = [loop.run_in_executor(self._executor, _run_batch, ref, c) for c in chunks]
        try:
            async with asyncio.timeout(None if timeout_s is None else timeout_s * size):
                done = await asyncio.gather(*futures)
        except TimeoutError:
            error = ItemTimeout(stage=getattr(fn, "__name__", "?"), timeout_s=timeout_s or 0)
            return [Failed(error=error, attempts=1) for _ in items]
        outcomes: list[Outcome] = []
        for chunk in done:
            for ok, value, tb in chunk:
                outcomes.append(Ok(value) if ok else Raised(error=value, traceback=tb))
        return outcomes

    async def aclose(self, *, grace_s: float = 1.5) -> None:
        if self._executor is None:
            return
        executor, self._executor = self._executor, None
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()  # cancel_futures alone would wait for running items
        executor.shutdown(wait=False, cancel_futures=True)

    def statistics(self) -> SimplePoolStatistics:
        return SimplePoolStatistics(workers=self._workers, batches=self._batches)
