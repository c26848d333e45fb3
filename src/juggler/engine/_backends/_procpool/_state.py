"""The supervisor's bookkeeping: one ``run_many`` call, one batch, one worker handle.

Plain mutable records, touched only on the event-loop thread by ``_supervisor``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from ._protocol import PROGRESS, FrameReader

if TYPE_CHECKING:
    import asyncio
    import mmap
    from collections.abc import Sequence
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from .._protocol import Outcome
    from ._protocol import FnRef

__all__ = ["MAX_BATCH", "TARGET_BATCH_S", "Batch", "Job", "WorkerHandle"]

TARGET_BATCH_S = 0.02
"""Aim of adaptive batching: ~20 ms of measured work per batch (joblib's ``auto`` idea)."""
MAX_BATCH = 8192


class Job:
    """One ``run_many`` call."""

    __slots__ = (
        "batch_size",
        "future",
        "item_ids",
        "items",
        "last_cause",
        "measured",
        "next_fresh",
        "outcomes",
        "owner",
        "redo",
        "ref",
        "remaining",
        "retried",
        "strikes",
        "timeout_s",
    )

    def __init__(
        self,
        ref: FnRef,
        items: list[Any],
        item_ids: Sequence[str],
        timeout_s: float | None,
        batch_size: int,
        future: asyncio.Future[None],
    ) -> None:
        self.ref = ref
        self.items = items
        self.item_ids = item_ids
        self.timeout_s = timeout_s
        self.batch_size = batch_size
        self.future = future
        self.outcomes: list[Outcome | None] = [None] * len(items)
        self.remaining = len(items)
        self.next_fresh = 0
        self.measured = False
        self.redo: deque[list[int]] = deque()
        self.strikes: dict[int, int] = {}
        self.retried: dict[int, int] = {}
        self.last_cause: dict[int, tuple[str | None, int | None, str | None]] = {}
        self.owner: str | None = None  # the run it belongs to, in a shared Runtime

    @property
    def finished(self) -> bool:
        return self.future.done()

    def has_work(self) -> bool:
        return bool(self.redo) or self.next_fresh < len(self.items)

    def attempts(self, index: int) -> int:
        # Every strike is one start that killed its worker; the current start is one more.
        return 1 + self.strikes.get(index, 0)

    def learn(self, n: int, elapsed_s: float) -> None:
        """Size the next batches from a measured one (``elapsed_s`` is pure item time)."""
        self.measured = True
        per_item = max(elapsed_s / n, 1e-7)
        ideal = int(TARGET_BATCH_S / per_item)
        # Grow at most 2x per measurement so a slow tail item is not hidden in a huge batch.
        self.batch_size = max(1, min(ideal, 2 * max(n, self.batch_size), MAX_BATCH))


class Batch:
    __slots__ = ("indices", "job", "seq")

    def __init__(self, job: Job, indices: Sequence[int], seq: int) -> None:
        self.job = job
        self.indices = indices
        self.seq = seq


class WorkerHandle:
    """Parent-side handle of one worker process."""

    __slots__ = (
        "cell",
        "death_record",
        "kill_reason",
        "oom",
        "out",
        "outstanding",
        "pid",
        "proc",
        "reader",
        "ready",
        "req",
        "req_fd",
        "res",
        "res_fd",
        "res_open",
        "sentinel",
        "spawned_at",
        "timeout_blame",
        "timer",
    )

    def __init__(
        self,
        proc: BaseProcess,
        req: Connection,
        res: Connection,
        cell: mmap.mmap,
        spawned_at: float,
    ) -> None:
        self.proc = proc
        self.pid: int = proc.pid or 0
        self.req = req
        self.res = res
        self.req_fd = req.fileno()
        self.res_fd = res.fileno()
        self.res_open = True
        self.sentinel: int = proc.sentinel
        self.cell = cell
        self.spawned_at = spawned_at
        self.reader = FrameReader()
        self.out = bytearray()
        self.outstanding: deque[Batch] = deque()
        self.ready = False
        self.kill_reason: str | None = None
        self.timeout_blame: tuple[Batch, int] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.oom: tuple[int, int] | None = None
        self.death_record: dict[str, Any] | None = None

    def progress(self) -> tuple[int, int, float]:
        seq, index, started = PROGRESS.unpack_from(self.cell, 0)
        return int(seq), int(index), float(started)
