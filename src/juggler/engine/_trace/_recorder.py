"""Records spans during a run as plain tuples; ``Span`` objects are built only on demand.

A frozen dataclass costs about a microsecond to build, which is a fifth of an ``aio`` item's
whole overhead, so the hot path appends a tuple and the report builds spans when asked.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, final

from ._span import Phase, Span, Trace

# (stage, placement, pid, lane, item key, attempt, queued, start, end, outcome, in, out);
# the key tuple becomes an item id string only when spans are built.
Row = tuple[str, str, int, str, tuple[int, ...], int, "float | None", float, float, str, Any, Any]

# Loop lag is sampled two ways. A probe rides on work the loop does anyway: when a stage
# finishes an item, at most every _LAG_PROBE_S, it queues a callback and times how long the
# loop takes to reach it. A timer of its own would wake the loop between the timers of an I/O
# fan-out, and each extra wake-up costs the fan-out up to a millisecond (epoll rounds the
# next wait up to whole milliseconds). So the only timer is a backstop that each probe pushes
# back: it fires, and measures how late, only when nothing has finished for _LAG_TIMER_S,
# which is when a blocked loop would otherwise go unseen.
_LAG_PROBE_S = 0.01
_LAG_TIMER_S = 0.1


class _Discard(list[Row]):
    """A row list that keeps nothing: recording switched off (``Pipeline(trace=False)``)."""

    def append(self, row: Row) -> None:
        pass


@final
class Recorder:
    """Collects the rows of one run and samples the event loop's lag."""

    __slots__ = (
        "_backstop",
        "_loop",
        "_next_probe",
        "lag_ms",
        "phases",
        "pid",
        "rows",
        "run_id",
        "started_at",
        "t0",
    )

    def __init__(self, t0: float, *, enabled: bool = True) -> None:
        self.t0 = t0
        self.started_at = time.time()
        self.run_id = os.urandom(8).hex()
        self.pid = os.getpid()
        self.rows: list[Row] = [] if enabled else _Discard()
        self.lag_ms: list[float] = []
        self.phases: list[tuple[str, float, float]] = []
        self._loop = asyncio.get_running_loop()
        self._next_probe = t0
        self._backstop: asyncio.TimerHandle | None = None

    def tick(self, now: float) -> None:
        """A stage finished an item at ``now`` (loop clock): probe the lag if one is due."""
        if now >= self._next_probe:
            self._next_probe = now + _LAG_PROBE_S
            self._loop.call_soon(self._probed, now)
            if self._backstop is not None:
                self._arm_backstop(now)

    def phase(self, name: str, start: float, end: float) -> None:
        """The engine's own work from ``start`` to ``end`` (loop clock), e.g. workers starting."""
        self.phases.append((name, start, end))

    def _probed(self, queued: float) -> None:
        self.lag_ms.append((self._loop.time() - queued) * 1000)

    def start_watching(self) -> None:
        """Start the backstop timer (call :meth:`stop_watching` when the run ends)."""
        self._arm_backstop(self._loop.time())

    def stop_watching(self) -> None:
        if self._backstop is not None:
            self._backstop.cancel()
            self._backstop = None

    def _arm_backstop(self, now: float) -> None:
        # A cancelled timer never wakes the loop: asyncio drops it before choosing a timeout.
        if self._backstop is not None:
            self._backstop.cancel()
        due = now + _LAG_TIMER_S
        self._backstop = self._loop.call_at(due, self._backstop_fired, due)

    def _backstop_fired(self, due: float) -> None:
        now = self._loop.time()
        self.lag_ms.append(max(0.0, now - due) * 1000)
        self._arm_backstop(now)

    def trace(self, stages: list[tuple[str, str]], wall_s: float) -> Trace:
        t0 = self.t0
        spans = [
            Span(
                stage=stage,
                placement=placement,
                pid=pid,
                lane=lane,
                item_id=".".join(map(str, key)),
                attempt=attempt,
                queued=None if queued is None else queued - t0,
                start=start - t0,
                end=end - t0,
                outcome=outcome,  # type: ignore[arg-type]
                bytes_in=bytes_in,
                bytes_out=bytes_out,
            )
            for (
                stage,
                placement,
                pid,
                lane,
                key,
                attempt,
                queued,
                start,
                end,
                outcome,
                bytes_in,
                bytes_out,
            ) in self.rows
        ]
        return Trace(
            run_id=self.run_id,
            started_at=self.started_at,
            wall_s=wall_s,
            parent_pid=self.pid,
            stages=stages,
            spans=spans,
            loop_lag_ms=list(self.lag_ms),
            phases=[Phase(name=n, start=a - t0, end=b - t0) for n, a, b in self.phases],
        )
