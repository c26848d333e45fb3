"""``auto`` placement: measure a stage in threads, then keep it there or move it to processes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._placement._threads import ThreadPool


class AutoPlacement:
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
