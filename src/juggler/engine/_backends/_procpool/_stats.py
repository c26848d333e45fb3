"""What :meth:`ProcessPool.statistics` returns: frozen snapshots, safe to keep and compare."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DeathRecord", "PoolStatistics"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeathRecord:
    """One worker death the supervisor did not cause.

    Times are ``time.monotonic()`` seconds (the event loop's clock), so a test can compare
    them with the moment it sent a signal.
    """

    pid: int
    signal: str | None
    exit_code: int | None
    reason: str | None
    detected_at: float
    replacement_pid: int | None
    replacement_ready_at: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolStatistics:
    """A snapshot of :class:`ProcessPool` (``statistics()``)."""

    worker_pids: tuple[int, ...]
    """Live worker processes (including ones still starting)."""
    busy_worker_pids: tuple[int, ...]
    """Workers holding at least one batch."""
    busy: int
    idle: int
    starting: int
    deaths: int
    """Worker deaths not caused by the pool (crashes, out of memory, external kills)."""
    kills: int
    """Workers the pool killed itself: timeouts and cancelled items."""
    restarts: int
    """Replacement workers started."""
    quarantined: int
    """Items reported as ``PoisonItem``."""
    timeouts: int
    items_done: int
    batches_done: int
    batch_size_last: int
    batch_size_mean: float
    pending_items: int
    """Items accepted by ``run_many`` and not yet finished."""
    recent_deaths: tuple[DeathRecord, ...]
    """The last 64 deaths, oldest first."""
