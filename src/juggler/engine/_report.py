"""What a run hands back: results, failures as data, and per-stage numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._channel_stats import ChannelStatistics
    from ._trace._metrics import TraceMetrics
    from ._trace._span import Trace


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class ItemFailure:
    """One item that failed for good in one stage.

    Attributes:
        stage: The stage's name.
        item_id: Where the item came from: its input index, with ``.k`` per flat-map output.
        item: A short ``repr`` of the item (at most 200 characters).
        attempts: How many times the item was started in that stage.
        error_type: The exception's class name (``"ValueError"``, ``"PoisonItem"``, ...).
        message: The exception's message.
        traceback: Formatted traceback text, where there is one.
        signal: The signal that killed the worker, for crashes (``"SIGSEGV"``).
        exit_code: The worker's exit code, for crashes without a signal.
    """

    stage: str
    item_id: str
    item: str
    attempts: int
    error_type: str
    message: str
    traceback: str = ""
    signal: str | None = None
    exit_code: int | None = None


@final
@dataclass(slots=True, kw_only=True)
class StageReport:
    """Counts and timings of one stage in one run.

    ``busy_s`` sums the time attempts spent running (so ``busy_s / wall_s`` is the average
    number of items in flight); ``wall_s`` runs from the stage's first item to its last.
    ``decision`` says where an ``auto`` stage ran and why; ``input_channel`` is the final
    state of the channel that fed the stage (its ``peak_buffered`` shows the backpressure).
    """

    name: str
    placement: str
    received: int = 0
    emitted: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    busy_s: float = 0.0
    first_start: float | None = None
    last_finish: float | None = None
    decision: str | None = None
    input_channel: ChannelStatistics | None = None
    backend: dict[str, Any] = field(default_factory=dict)

    @property
    def wall_s(self) -> float:
        if self.first_start is None or self.last_finish is None:
            return 0.0
        return self.last_finish - self.first_start


@final
@dataclass(slots=True, kw_only=True)
class RunReport:
    """The outcome of ``Pipeline.run``.

    Attributes:
        results: The last stage's outputs (in input order when the pipeline is ``ordered``).
        failures: One record per item that failed for good.
        stages: Per-stage counts and timings, in pipeline order.
        wall_s: The run's wall time in seconds.
    """

    results: list[Any]
    failures: list[ItemFailure]
    stages: list[StageReport]
    wall_s: float
    trace_factory: Callable[[], Trace] = field(repr=False)
    _trace: Trace | None = field(default=None, repr=False)

    @property
    def metrics(self) -> TraceMetrics:
        """Throughput, latency percentiles, queue waits, utilisation, loop lag, critical path."""
        from ._trace._metrics import compute_metrics

        return compute_metrics(self.trace)

    @property
    def trace(self) -> Trace:
        """Every attempt of the run as spans (built on first access: recording stays cheap)."""
        if self._trace is None:
            self._trace = self.trace_factory()
        return self._trace

    @property
    def ok(self) -> bool:
        """True when no item failed."""
        return not self.failures

    def stage(self, name: str) -> StageReport:
        """The report of the stage called ``name``."""
        for report in self.stages:
            if report.name == name:
                return report
        raise KeyError(name)
