"""Prometheus metrics: runs by state, queue depth, triage latency, event-loop lag."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from collections.abc import Callable

_LAG_PERIOD_S = 0.1


class Metrics:
    """One server's metrics, in a registry of its own (two servers in a process stay apart)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Gauge("juggler_runs", "Runs in this process by state", ["state"], registry=r)
        self.queue_depth = Gauge("juggler_queue_depth", "Runs waiting for a slot", registry=r)
        self.finished = Counter(
            "juggler_runs_finished", "Runs finished, by final state", ["state"], registry=r
        )
        self.refused = Counter("juggler_runs_refused", "Uploads refused: queue full", registry=r)
        self.latency = Histogram(
            "juggler_triage_seconds",
            "Wall time of one triage",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=r,
        )
        self.loop_lag = Histogram(
            "juggler_event_loop_lag_seconds",
            "How late the event loop woke a 100 ms timer",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
            registry=r,
        )
        self.loop_lag_max = Gauge(
            "juggler_event_loop_lag_max_seconds", "Largest loop lag seen", registry=r
        )
        self._recent: list[float] = []

    def typical_seconds(self) -> float:
        """A recent run's length (median of the last few), 5 s before any finished."""
        if not self._recent:
            return 5.0
        ordered = sorted(self._recent)
        return ordered[len(ordered) // 2]

    def observe_run(self, seconds: float) -> None:
        self.latency.observe(seconds)
        self._recent = [*self._recent[-19:], seconds]

    def render(self, running: int, queued: int) -> bytes:
        self.runs.labels(state="running").set(running)
        self.runs.labels(state="queued").set(queued)
        self.queue_depth.set(queued)
        return generate_latest(self.registry)

    async def watch_loop(self, stop: Callable[[], bool]) -> None:
        """Sample event-loop lag until ``stop()``: a timer's lateness is time the loop was busy."""
        worst = 0.0
        while not stop():
            before = time.monotonic()
            await asyncio.sleep(_LAG_PERIOD_S)
            lag = max(0.0, time.monotonic() - before - _LAG_PERIOD_S)
            self.loop_lag.observe(lag)
            if lag > worst:
                worst = lag
                self.loop_lag_max.set(worst)
