"""The exceptions juggler raises on purpose.

::

    JugglerError                      base for everything juggler raises on purpose
    ├── ConfigError(ValueError)       bad arguments or config, raised before anything runs
    ├── PipelineFailed                a run stopped (fail-fast); .failures, .report, __cause__
    ├── ItemError                     one item failed for good (kept in the report when skipping)
    │   ├── ItemTimeout(TimeoutError) an attempt ran past its ``timeout_s``
    │   ├── WorkerCrashed             the worker process died while holding the item
    │   └── PoisonItem                the item killed ``max_worker_deaths`` workers: quarantined
    ├── ChannelClosed                 send on a channel that was already closed
    ├── PoolClosed                    a process pool was closed (or broke) with items unfinished
    └── RuntimeBusy                   a shared Runtime is full and the caller would not wait

Cancellation (``asyncio.CancelledError``) and ``KeyboardInterrupt`` are never wrapped: they
propagate untouched, after every stage has been stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._report import ItemFailure, RunReport

__all__ = [
    "ChannelClosed",
    "ConfigError",
    "ItemError",
    "ItemTimeout",
    "JugglerError",
    "PipelineFailed",
    "PoisonItem",
    "PoolClosed",
    "RuntimeBusy",
    "WorkerCrashed",
]


class JugglerError(Exception):
    """Base class of every exception juggler raises on purpose."""


class ConfigError(JugglerError, ValueError):
    """A stage or pipeline was configured wrongly; raised before any item runs.

    Fix the argument named in the message.
    """


class PipelineFailed(JugglerError):
    """A run stopped early because a fail-fast stage could not process an item.

    Every stage has been stopped and every worker released when this is raised. The first
    cause is chained as ``__cause__``; ``failures`` lists what failed and ``report`` holds what
    was counted up to the stop.
    """

    def __init__(self, failures: list[ItemFailure], report: RunReport) -> None:
        self.failures = failures
        self.report = report
        first = failures[0]
        super().__init__(
            f"pipeline stopped: stage {first.stage!r} failed on item {first.item_id} "
            f"after {first.attempts} attempt(s): {first.error_type}: {first.message}"
        )


class ItemError(JugglerError):
    """One item failed for good in one stage.

    Under ``on_error="skip"`` it is recorded in ``RunReport.failures`` and the run goes on.
    """


class ItemTimeout(ItemError, TimeoutError):
    """An attempt ran longer than its stage's ``timeout_s``.

    ``aio`` attempts are cancelled, ``io`` threads are abandoned (threads cannot be killed) and
    ``cpu`` workers are killed and replaced.
    """

    def __init__(self, *, stage: str, timeout_s: float, item_id: str | None = None) -> None:
        self.stage = stage
        self.timeout_s = timeout_s
        self.item_id = item_id
        where = f" on item {item_id}" if item_id is not None else ""
        super().__init__(f"stage {stage!r}: attempt{where} exceeded timeout_s={timeout_s:g}")


class WorkerCrashed(ItemError):
    """The worker process died (signal or exit code) while it held the item.

    The supervisor retries the item on a fresh worker; this is only final when the item
    could not be retried.
    """

    def __init__(
        self,
        *,
        pid: int,
        item_id: str,
        signal: str | None = None,
        exit_code: int | None = None,
        attempt: int = 1,
    ) -> None:
        self.pid = pid
        self.item_id = item_id
        self.signal = signal
        self.exit_code = exit_code
        self.attempt = attempt
        cause = signal if signal is not None else f"exit code {exit_code}"
        super().__init__(
            f"worker {pid} died of {cause} while running item {item_id} (attempt {attempt})"
        )


class PoisonItem(ItemError):
    """The item killed ``max_worker_deaths`` workers and is quarantined, never run again.

    Look at the item: it crashes the interpreter (a segfault in a C extension, memory blow-up,
    ``os._exit``). The rest of the run is unaffected.
    """

    def __init__(
        self,
        *,
        item_id: str,
        deaths: int,
        signal: str | None = None,
        exit_code: int | None = None,
        reason: str | None = None,
    ) -> None:
        self.item_id = item_id
        self.deaths = deaths
        self.signal = signal
        self.exit_code = exit_code
        self.reason = reason
        if reason is not None:
            cause = reason
        elif signal is not None:
            cause = f"signal={signal}"
        else:
            cause = f"exit_code={exit_code}"
        super().__init__(f"item {item_id} quarantined after killing {deaths} worker(s) ({cause})")


class ChannelClosed(JugglerError):
    """``send`` was called on a channel that had already been closed by our own code."""


class PoolClosed(JugglerError):
    """A process pool was closed, or broke, while ``run_many`` still had items unfinished.

    Raised by ``run_many`` after ``aclose`` (shutdown is under way: stop submitting) or when
    worker processes keep dying before they are ready (a broken environment: look at the
    workers' stderr).
    """


class RuntimeBusy(JugglerError):
    """A shared ``Runtime`` is at its bound on runs in flight or queued items.

    Raised by ``run_async(..., wait=False)`` instead of waiting; a service answers 503.
    ``runs_in_flight`` and ``queued_items`` say how full it was.
    """

    def __init__(self, message: str, *, runs_in_flight: int, queued_items: int) -> None:
        super().__init__(message)
        self.runs_in_flight = runs_in_flight
        self.queued_items = queued_items
