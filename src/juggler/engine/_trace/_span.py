"""Spans: one record per attempt of one item in one stage, cheap enough to keep always."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias, final

Outcome: TypeAlias = Literal["ok", "error", "timeout", "crash", "cancelled"]


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """One attempt of one item in one stage.

    Times are seconds on the parent's monotonic clock, relative to the run's start; spans
    measured in worker processes are shifted onto that clock before they are stored.

    Attributes:
        stage: The stage's name.
        placement: ``"aio"``, ``"io"``, ``"cpu"`` (``auto`` stages record where they ran).
        pid: The process that ran the attempt (the parent for ``aio`` and ``io``).
        lane: Who ran it inside that process: ``"event loop"``, a thread's name, or
            ``"worker"`` for a worker process' main thread.
        item_id: The item's id (``"17"``, ``"17.3"`` after a flat-map).
        attempt: 1 for the first attempt.
        queued: When the item entered the stage's input channel (None when unknown).
        start: When the attempt started running.
        end: When it finished.
        outcome: How it finished.
        bytes_in: Size of the pickled input, where it was pickled (``cpu``).
        bytes_out: Size of the pickled output, where it was pickled.
    """

    stage: str
    placement: str
    pid: int
    lane: str
    item_id: str
    attempt: int
    queued: float | None
    start: float
    end: float
    outcome: Outcome
    bytes_in: int | None = None
    bytes_out: int | None = None


#: The one phase the engine records today: starting the worker processes of the ``cpu`` pool.
POOL_START_UP = "cpu pool start-up"


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Phase:
    """A stretch of the engine's own work that items wait for, not an item's attempt.

    Attributes:
        name: What it was (:data:`POOL_START_UP`).
        start: When it began, in seconds relative to the run's start.
        end: When it ended.
    """

    name: str
    start: float
    end: float


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    """Everything recorded about one run, for exporters and metrics.

    Attributes:
        run_id: A random id for the run.
        started_at: Wall-clock time (``time.time()``) of the run's start, for display.
        wall_s: The run's duration in seconds.
        parent_pid: The pid of the process that ran the event loop.
        stages: Stage names in pipeline order, with their placements.
        spans: Every attempt, in the order they finished.
        loop_lag_ms: Samples of the event loop's lag in ms: how long a queued callback
            waited, and how late a 100 ms timer fired.
        phases: The engine's own work that items waited for (the worker processes starting).
    """

    run_id: str
    started_at: float
    wall_s: float
    parent_pid: int
    stages: list[tuple[str, str]]
    spans: list[Span]
    loop_lag_ms: list[float]
    phases: list[Phase] = field(default_factory=list)
