"""Metrics computed from a run's spans: per stage, per lane, per pool, and for the run.

Definitions (they decide what the numbers mean, so they are spelled out here):

* **Percentiles** interpolate linearly between the closest ranks (numpy's default, and
  ``statistics.quantiles(method="inclusive")``): p50 of 1, 2, 3, 4 is 2.5.
* **Latency** of an item in a stage runs from its first attempt's start to its last attempt's
  end, so retries and their backoff count; queue waits do not (they are reported apart).
* **Queue wait** of an attempt is ``start - queued``; attempts with an unknown ``queued`` are left
  out.
* **Throughput** of a stage is the items it completed divided by its active window (its first
  start to its last end), not by the run's wall time: a late stage is not penalised for waiting
  on the stages before it.
* **Busy time** of a lane is the time covered by at least one of its spans. For a thread or a
  worker process that is the time it worked. For the event loop it is the time *some* item was
  in flight, which says nothing of CPU use; ``mean_in_flight`` (the summed span time over wall
  time) is the number that shows interleaving there.
* **Pool utilisation** sums the lanes of a placement: busy time / (lanes seen × wall time). Only
  lanes that ran something are seen, so an idle worker does not lower it.
* **Critical path**: the longest chain of dependent work through the run. Attempt B depends on
  A, when A ended before B started, if

  - *data*: A ran the same item (or the item B's item was split from, ``"17"`` for ``"17.3"``)
    in an earlier stage, or as an earlier attempt in the same stage;
  - *lane*: A ran just before B on the same thread or worker process, and B was already
    waiting when A ended (B's item was queued by then), so B waited for A's lane. The event
    loop is no such lane: its items interleave, none waits for another to finish;
  - *start-up*: A is the engine starting the worker processes (a :class:`Phase`) and B is a
    ``cpu`` attempt that was waiting for them.

  The chain's length is the sum of its steps' durations. With lanes counted, a run bound by
  its workers is one long chain through the busiest worker, and a run bound by starting them
  shows that phase on its chain, so the ratio to the wall time says how much of the wall the
  chain explains: near 1, nothing ran in the chain's gaps and only shortening the chain's
  steps helps; well below 1, the run waited on something no span records (dispatch, the
  parent's own work). Requiring A to end before B starts keeps the chain physically possible,
  so its length never exceeds the wall time.
* **Start-up** is the engine's own phases (:class:`Phase`) added up: time items waited for
  worker processes to start.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, final

from ._lanes import EVENT_LOOP, lane_key, lanes_of, union_s

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._span import Phase, Span, Trace

_FAILED = frozenset({"error", "timeout", "crash"})
# Clocks of worker processes are aligned to the parent's to within tens of microseconds; a
# dependent attempt may appear to start that much before its predecessor ended.
_CLOCK_SLACK_S = 1e-4


def quantile(ordered: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of sorted values, linearly interpolated; None when empty."""
    if not ordered:
        return None
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class StageMetrics:
    """What one stage did.

    Attributes:
        name: The stage's name.
        placement: Its placement.
        items: Distinct items that reached it.
        attempts: Attempts (spans) it ran.
        completed: Items whose last attempt succeeded.
        retries: Attempts after the first (``attempt > 1``).
        failures: Items whose last attempt failed (error, timeout or worker crash).
        cancelled: Items whose last attempt was cancelled (the run stopped around them).
        throughput_per_s: ``completed`` over the active window; None when it has no length.
        latency_p50_s: Median item latency (first start to last end).
        latency_p95_s: 95th percentile item latency.
        latency_p99_s: 99th percentile item latency.
        queue_wait_p50_s: Median wait in the input channel, per attempt.
        queue_wait_p99_s: 99th percentile wait in the input channel.
        queue_wait_total_s: All attempts' waits added up.
        active_s: From the stage's first start to its last end.
    """

    name: str
    placement: str
    items: int
    attempts: int
    completed: int
    retries: int
    failures: int
    cancelled: int
    throughput_per_s: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    latency_p99_s: float | None
    queue_wait_p50_s: float | None
    queue_wait_p99_s: float | None
    queue_wait_total_s: float
    active_s: float


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class LaneMetrics:
    """How busy one lane (the event loop, a thread, a worker process) was.

    Attributes:
        label: ``"event loop"``, ``"thread <name>"`` or ``"process <pid>"``.
        pid: The process it belongs to.
        lane: The lane name recorded on its spans.
        placement: The placement of most of its spans.
        spans: Attempts it ran.
        busy_s: Time covered by at least one of its spans.
        utilisation: ``busy_s`` over the run's wall time.
        mean_in_flight: Summed span time over wall time: above 1 only where work interleaves.
    """

    label: str
    pid: int
    lane: str
    placement: str
    spans: int
    busy_s: float
    utilisation: float
    mean_in_flight: float


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class PoolMetrics:
    """One placement's lanes taken together.

    Attributes:
        placement: ``"aio"``, ``"io"`` or ``"cpu"``.
        lanes: Lanes of this placement that ran something.
        busy_s: Their busy time added up.
        utilisation: ``busy_s`` over ``lanes`` × wall time.
    """

    placement: str
    lanes: int
    busy_s: float
    utilisation: float


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class PathStep:
    """One step of the critical path: an attempt, or an engine phase (``attempt`` 0, no item).

    Attributes:
        stage: The attempt's stage, or the phase's name (``"cpu pool start-up"``).
        item_id: The attempt's item; ``""`` for a phase.
        attempt: The attempt's number; 0 for a phase.
        start, end: When it ran, relative to the run's start.
        via: Why it follows the step before it: ``"data"`` (same item), ``"lane"`` (it waited
            for the same worker or thread), ``"start-up"`` (it waited for the workers to start),
            or ``""`` for the first step.
    """

    stage: str
    item_id: str
    attempt: int
    start: float
    end: float
    via: str = ""


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class CriticalPath:
    """The longest chain of dependent attempts (see the module docstring).

    Attributes:
        length_s: Summed duration of the chain's attempts: a lower bound on the wall time.
        wall_s: The run's actual wall time.
        ratio: ``length_s / wall_s`` (0 for a run of no length).
        span_indices: Positions of the chain's spans in ``Trace.spans``, earliest first.
        steps: The chain's attempts, earliest first.
    """

    length_s: float
    wall_s: float
    ratio: float
    span_indices: tuple[int, ...]
    steps: tuple[PathStep, ...]


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class TraceMetrics:
    """Everything ``compute_metrics`` derives from a trace.

    Attributes:
        wall_s: The run's wall time.
        stages: Per stage, in pipeline order.
        lanes: Per lane, in display order (event loop, threads, processes).
        pools: Per placement.
        loop_lag_p99_ms: 99th percentile event-loop lag; None without samples.
        loop_lag_max_ms: Worst event-loop lag; None without samples.
        critical_path: The critical path and its bound against the wall time.
        start_up_s: Time spent starting worker processes (the trace's phases added up).
    """

    wall_s: float
    stages: tuple[StageMetrics, ...]
    lanes: tuple[LaneMetrics, ...]
    pools: tuple[PoolMetrics, ...]
    loop_lag_p99_ms: float | None
    loop_lag_max_ms: float | None
    critical_path: CriticalPath
    start_up_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (the critical path's span indices are left out)."""
        data = asdict(self)
        del data["critical_path"]["span_indices"]
        return data


def compute_metrics(trace: Trace) -> TraceMetrics:
    """Derive stage, lane, pool and run metrics from ``trace`` (see the module docstring)."""
    lanes = _lane_metrics(trace)
    lags = sorted(trace.loop_lag_ms)
    return TraceMetrics(
        wall_s=trace.wall_s,
        stages=tuple(_stage_metrics(trace)),
        lanes=tuple(lanes),
        pools=tuple(_pool_metrics(lanes, trace.wall_s)),
        loop_lag_p99_ms=quantile(lags, 0.99),
        loop_lag_max_ms=lags[-1] if lags else None,
        critical_path=critical_path(trace),
        start_up_s=math.fsum(max(0.0, p.end - p.start) for p in trace.phases),
    )


def _stage_metrics(trace: Trace) -> list[StageMetrics]:
    by_stage: dict[str, list[Span]] = defaultdict(list)
    for span in trace.spans:
        by_stage[span.stage].append(span)
    placements = dict(trace.stages)
    names = [name for name, _ in trace.stages]
    names += [name for name in by_stage if name not in placements]
    return [_one_stage(name, placements, by_stage.get(name, [])) for name in names]


def _one_stage(name: str, placements: dict[str, str], spans: list[Span]) -> StageMetrics:
    by_item: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        by_item[span.item_id].append(span)
    latencies, completed, failures, cancelled = [], 0, 0, 0
    for attempts in by_item.values():
        last = max(attempts, key=lambda s: (s.attempt, s.end))
        latencies.append(last.end - min(s.start for s in attempts))
        if last.outcome == "ok":
            completed += 1
        elif last.outcome in _FAILED:
            failures += 1
        else:
            cancelled += 1
    latencies.sort()
    waits = sorted(s.start - s.queued for s in spans if s.queued is not None)
    active = max(s.end for s in spans) - min(s.start for s in spans) if spans else 0.0
    placement = placements.get(name) or (spans[0].placement if spans else "")
    return StageMetrics(
        name=name,
        placement=placement,
        items=len(by_item),
        attempts=len(spans),
        completed=completed,
        retries=sum(1 for s in spans if s.attempt > 1),
        failures=failures,
        cancelled=cancelled,
        throughput_per_s=completed / active if active > 0 else None,
        latency_p50_s=quantile(latencies, 0.50),
        latency_p95_s=quantile(latencies, 0.95),
        latency_p99_s=quantile(latencies, 0.99),
        queue_wait_p50_s=quantile(waits, 0.50),
        queue_wait_p99_s=quantile(waits, 0.99),
        queue_wait_total_s=math.fsum(waits),
        active_s=active,
    )


def _lane_metrics(trace: Trace) -> list[LaneMetrics]:
    intervals: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
    for span in trace.spans:
        intervals[lane_key(span)].append((span.start, span.end))
    wall = trace.wall_s
    result = []
    for lane in lanes_of(trace):
        spans = intervals.get(lane.key, [])
        busy = union_s(spans)
        summed = sum(end - start for start, end in spans)
        result.append(
            LaneMetrics(
                label=lane.label,
                pid=lane.key[0],
                lane=lane.key[1],
                placement=lane.placement,
                spans=len(spans),
                busy_s=busy,
                utilisation=busy / wall if wall > 0 else 0.0,
                mean_in_flight=summed / wall if wall > 0 else 0.0,
            )
        )
    return result


def _pool_metrics(lanes: list[LaneMetrics], wall_s: float) -> list[PoolMetrics]:
    grouped: dict[str, list[LaneMetrics]] = defaultdict(list)
    for lane in lanes:
        if lane.spans:
            grouped[lane.placement].append(lane)
    pools = []
    for placement in sorted(grouped, key=_placement_rank):
        members = grouped[placement]
        busy = sum(lane.busy_s for lane in members)
        capacity = len(members) * wall_s
        pools.append(
            PoolMetrics(
                placement=placement,
                lanes=len(members),
                busy_s=busy,
                utilisation=busy / capacity if capacity > 0 else 0.0,
            )
        )
    return pools


def _placement_rank(placement: str) -> tuple[int, str]:
    order = {"aio": 0, "io": 1, "cpu": 2}
    return (order.get(placement, 3), placement)


def _ancestors(item_id: str) -> list[str]:
    """``"17.3.1"`` -> ``["17.3.1", "17.3", "17"]``: the item and those it was split from."""
    parts = item_id.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _lane_predecessors(spans: Sequence[Span]) -> list[int]:
    """For each span, the span that ran just before it on its thread or worker, or -1.

    Only where the later span was already waiting when the earlier one ended: otherwise the
    lane was idle and the later span waited for something else.
    """
    by_lane: dict[tuple[int, str], list[int]] = defaultdict(list)
    for i, span in enumerate(spans):
        if span.lane != EVENT_LOOP:
            by_lane[lane_key(span)].append(i)
    before = [-1] * len(spans)
    for members in by_lane.values():
        members.sort(key=lambda i: (spans[i].start, spans[i].end))
        for u, v in itertools.pairwise(members):
            a, b = spans[u], spans[v]
            waiting = b.queued is None or b.queued <= a.end + _CLOCK_SLACK_S
            if a.end <= b.start + _CLOCK_SLACK_S and waiting:
                before[v] = u
    return before


def _waited_for(span: Span, phase: Phase) -> bool:
    """Whether a ``cpu`` attempt was waiting while the workers started."""
    queued = span.start if span.queued is None else span.queued
    return (
        span.placement == "cpu"
        and phase.end <= span.start + _CLOCK_SLACK_S
        and queued <= phase.end + _CLOCK_SLACK_S
    )


def critical_path(trace: Trace) -> CriticalPath:
    """The longest chain of dependent work in ``trace`` (see the module docstring).

    Dynamic programming over spans in start order, phases first; each span looks up its data
    predecessors by (item or ancestor, stage), its lane predecessor and the phases it waited
    for, so the cost is spans × (split depth × stages + phases).
    """
    spans = trace.spans
    phases = trace.phases
    stage_rank = {name: i for i, (name, _) in enumerate(trace.stages)}
    for span in spans:
        stage_rank.setdefault(span.stage, len(stage_rank))
    # Nodes: phases are -1, -2, ... ; spans are their index in ``trace.spans``.
    best: dict[int, float] = {-1 - k: max(0.0, p.end - p.start) for k, p in enumerate(phases)}
    prev: dict[int, tuple[int, str]] = {}
    lane_before = _lane_predecessors(spans)
    index: dict[tuple[str, int], list[int]] = defaultdict(list)
    for v in sorted(range(len(spans)), key=lambda i: (spans[i].start, spans[i].end)):
        span = spans[v]
        rank = stage_rank[span.stage]
        best_u, best_len, via = 0, 0.0, ""
        for item in _ancestors(span.item_id):
            for r in range(rank + 1):
                for u in index.get((item, r), ()):
                    before = spans[u]
                    if r == rank and (item != span.item_id or before.attempt >= span.attempt):
                        continue  # same stage: only an earlier attempt of the same item
                    if before.end <= span.start + _CLOCK_SLACK_S and best[u] > best_len:
                        best_u, best_len, via = u, best[u], "data"
        u = lane_before[v]
        if u >= 0 and best.get(u, 0.0) > best_len:
            best_u, best_len, via = u, best[u], "lane"
        for k, phase in enumerate(phases):
            if _waited_for(span, phase) and best[-1 - k] > best_len:
                best_u, best_len, via = -1 - k, best[-1 - k], "start-up"
        best[v] = best_len + max(0.0, span.end - span.start)
        if via:
            prev[v] = (best_u, via)
        index[(span.item_id, rank)].append(v)
    chain: list[tuple[int, str]] = []
    if best:
        v = max(best, key=lambda i: (best[i], _end(trace, i)))
        while True:
            step = prev.get(v)
            chain.append((v, step[1] if step else ""))
            if step is None:
                break
            v = step[0]
    chain.reverse()
    length = best[chain[-1][0]] if chain else 0.0
    wall = trace.wall_s
    return CriticalPath(
        length_s=length,
        wall_s=wall,
        ratio=length / wall if wall > 0 else 0.0,
        span_indices=tuple(i for i, _ in chain if i >= 0),
        steps=tuple(_step(trace, i, via) for i, via in chain),
    )


def _end(trace: Trace, node: int) -> float:
    return trace.spans[node].end if node >= 0 else trace.phases[-1 - node].end


def _step(trace: Trace, node: int, via: str) -> PathStep:
    if node < 0:
        phase = trace.phases[-1 - node]
        return PathStep(stage=phase.name, item_id="", attempt=0, start=phase.start, end=phase.end)
    span = trace.spans[node]
    return PathStep(
        stage=span.stage,
        item_id=span.item_id,
        attempt=span.attempt,
        start=span.start,
        end=span.end,
        via=via,
    )
