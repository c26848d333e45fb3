"""Metrics from spans, on hand-made traces with known answers."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from juggler.engine._trace._metrics import compute_metrics, critical_path, quantile
from juggler.engine._trace._span import Span, Trace
from tests.engine._browser import mixed_trace

PARENT = 1000


def span(stage: str, item: str, start: float, end: float, **kw: Any) -> Span:
    fields: dict[str, Any] = {
        "stage": stage,
        "placement": "aio",
        "pid": PARENT,
        "lane": "event loop",
        "item_id": item,
        "attempt": 1,
        "queued": None,
        "start": start,
        "end": end,
        "outcome": "ok",
    }
    fields.update(kw)
    return Span(**fields)


def trace_of(
    spans: list[Span],
    *,
    wall_s: float = 4.0,
    stages: list[tuple[str, str]] | None = None,
    lags: list[float] | None = None,
) -> Trace:
    return Trace(
        run_id="r",
        started_at=0.0,
        wall_s=wall_s,
        parent_pid=PARENT,
        stages=stages if stages is not None else [("a", "aio"), ("b", "cpu"), ("c", "io")],
        spans=spans,
        loop_lag_ms=lags or [],
    )


def test_quantile_interpolates_between_ranks() -> None:
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.0) == 1.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 1.0) == 4.0
    assert quantile([0.0, 100.0], 0.99) == 99.0
    assert quantile([7.0], 0.95) == 7.0
    assert quantile([], 0.5) is None


def test_stage_counts_retries_failures_and_cancellations() -> None:
    spans = [
        span("a", "1", 0.0, 0.5),
        span("a", "2", 0.0, 0.25, outcome="error"),
        span("a", "2", 0.5, 1.0, attempt=2),  # retried, then fine
        span("a", "3", 0.0, 0.5, outcome="timeout"),
        span("a", "3", 1.0, 1.5, attempt=2, outcome="crash"),  # failed for good
        span("a", "4", 0.0, 2.0, outcome="cancelled"),
    ]
    (a, b, c) = compute_metrics(trace_of(spans)).stages
    assert (a.items, a.attempts, a.completed) == (4, 6, 2)
    assert (a.retries, a.failures, a.cancelled) == (2, 1, 1)
    # active from 0.0 to 2.0, two items completed
    assert a.active_s == 2.0
    assert a.throughput_per_s == 1.0
    assert (b.items, c.items) == (0, 0)
    assert b.throughput_per_s is None
    assert b.latency_p50_s is None


def test_stage_latency_spans_first_start_to_last_end() -> None:
    spans = [
        span("a", "1", 0.0, 1.0),
        span("a", "2", 0.0, 0.5, outcome="error"),
        span("a", "2", 1.0, 3.0, attempt=2),  # latency 3.0 including the backoff
        span("a", "3", 1.0, 3.0),
        span("a", "4", 2.0, 2.5),
    ]
    a = compute_metrics(trace_of(spans)).stages[0]
    # latencies sorted: 0.5, 1.0, 2.0, 3.0
    assert a.latency_p50_s == 1.5
    assert a.latency_p95_s == pytest.approx(2.85)  # 2.0 + 0.85 of the way to 3.0
    assert a.latency_p99_s == pytest.approx(2.97)


def test_stage_queue_waits() -> None:
    spans = [
        span("b", "1", 1.0, 2.0, queued=0.0),  # waited 1.0
        span("b", "2", 2.0, 3.0, queued=0.0),  # waited 2.0
        span("b", "3", 3.0, 3.5, queued=3.0),  # waited 0.0
        span("b", "4", 3.0, 3.5),  # unknown: left out
    ]
    b = compute_metrics(trace_of(spans)).stages[1]
    assert b.queue_wait_p50_s == 1.0
    assert b.queue_wait_p99_s == pytest.approx(1.98)
    assert b.queue_wait_total_s == 3.0


def test_stages_follow_pipeline_order_then_unknown_names() -> None:
    spans = [span("zzz", "1", 0.0, 1.0), span("a", "1", 1.0, 2.0)]
    names = [s.name for s in compute_metrics(trace_of(spans)).stages]
    assert names == ["a", "b", "c", "zzz"]


def test_lane_utilisation_counts_overlap_once() -> None:
    spans = [
        span("a", "1", 0.0, 1.0),
        span("a", "2", 0.5, 1.5),  # overlaps: busy 0.0 to 1.5
        span("b", "1", 1.0, 2.0, placement="cpu", pid=7, lane="worker"),
        span("b", "2", 2.0, 3.0, placement="cpu", pid=8, lane="worker"),
        span("c", "1", 2.0, 3.0, placement="io", lane="io-0"),
    ]
    metrics = compute_metrics(trace_of(spans, wall_s=4.0))
    lanes = {lane.label: lane for lane in metrics.lanes}
    assert list(lanes) == ["event loop", "thread io-0", "process 7", "process 8"]
    loop = lanes["event loop"]
    assert (loop.spans, loop.busy_s, loop.utilisation) == (2, 1.5, 0.375)
    assert loop.mean_in_flight == 0.5
    assert lanes["process 7"].utilisation == 0.25
    assert lanes["thread io-0"].placement == "io"
    pools = {pool.placement: pool for pool in metrics.pools}
    assert list(pools) == ["aio", "io", "cpu"]
    assert (pools["cpu"].lanes, pools["cpu"].busy_s, pools["cpu"].utilisation) == (2, 2.0, 0.25)
    assert pools["aio"].utilisation == 0.375


def test_event_loop_lane_is_listed_even_without_aio_work() -> None:
    metrics = compute_metrics(trace_of([], wall_s=1.0))
    assert [lane.label for lane in metrics.lanes] == ["event loop"]
    assert metrics.lanes[0].utilisation == 0.0
    assert metrics.pools == ()


def test_loop_lag_p99_and_max() -> None:
    lags = [float(i) for i in range(101)]  # 0..100 ms
    metrics = compute_metrics(trace_of([], lags=lags))
    assert metrics.loop_lag_p99_ms == 99.0
    assert metrics.loop_lag_max_ms == 100.0
    empty = compute_metrics(trace_of([]))
    assert empty.loop_lag_p99_ms is None
    assert empty.loop_lag_max_ms is None


def test_critical_path_follows_an_item_through_stages() -> None:
    spans = [
        span("a", "1", 0.0, 1.0),
        span("a", "2", 0.0, 0.5),
        span("b", "2", 0.5, 1.0),
        span("b", "1", 1.0, 3.0),
        span("c", "2", 1.0, 1.5),
        span("c", "1", 3.0, 3.5),
    ]
    path = critical_path(trace_of(spans, wall_s=4.0))
    assert [(s.stage, s.item_id) for s in path.steps] == [("a", "1"), ("b", "1"), ("c", "1")]
    assert path.span_indices == (0, 3, 5)
    assert path.length_s == 3.5
    assert path.wall_s == 4.0
    assert path.ratio == 0.875


def test_critical_path_counts_waits_out() -> None:
    # Item 1 waits 2 s between stages: the bound is its work, 1.5 s, not its 3.5 s latency.
    spans = [span("a", "1", 0.0, 1.0), span("b", "1", 3.0, 3.5)]
    assert critical_path(trace_of(spans)).length_s == 1.5


def test_critical_path_includes_retries_of_the_same_item() -> None:
    spans = [
        span("a", "1", 0.0, 1.0, outcome="error"),
        span("a", "1", 1.5, 2.0, attempt=2),
        span("b", "1", 2.0, 3.0),
    ]
    path = critical_path(trace_of(spans))
    assert [(s.stage, s.attempt) for s in path.steps] == [("a", 1), ("a", 2), ("b", 1)]
    assert path.length_s == 2.5


def test_critical_path_follows_flat_map_children_to_their_parent() -> None:
    spans = [
        span("a", "7", 0.0, 1.0),
        span("b", "7.0", 1.0, 1.5),
        span("b", "7.1", 1.0, 2.0),
        span("c", "7.1", 2.0, 2.5),
        span("c", "8", 2.0, 3.5),  # longer alone, but depends on nothing
    ]
    path = critical_path(trace_of(spans))
    assert [s.item_id for s in path.steps] == ["7", "7.1", "7.1"]
    assert path.length_s == 2.5


def test_critical_path_does_not_chain_spans_that_ran_side_by_side() -> None:
    # Two branches ("b" and "c") of item 1 ran at the same time: not a chain.
    spans = [span("a", "1", 0.0, 1.0), span("b", "1", 1.0, 2.0), span("c", "1", 1.0, 2.5)]
    path = critical_path(trace_of(spans))
    assert [s.stage for s in path.steps] == ["a", "c"]
    assert path.length_s == 2.5


def test_critical_path_of_an_empty_run() -> None:
    path = critical_path(trace_of([], wall_s=0.0))
    assert (path.length_s, path.ratio, path.steps) == (0.0, 0.0, ())


def test_mixed_trace_critical_path_runs_through_the_busiest_worker() -> None:
    """parse (2 workers, 50 ms an item) bounds the run: the chain queues through one worker.

    Following items alone, the longest chain was item 3's, 0.18 s of a 0.415 s run (43%);
    with the lane waits counted it explains 96% of the wall time.
    """
    path = compute_metrics(mixed_trace()).critical_path
    assert [(s.stage, s.item_id, s.via) for s in path.steps] == [
        ("fetch", "1", ""),
        ("parse", "1", "data"),
        ("parse", "4", "lane"),
        ("parse", "6", "lane"),
        ("parse", "7", "lane"),
        ("parse", "9", "lane"),
        ("parse", "11", "lane"),
        ("store", "11", "data"),
    ]
    assert abs(path.length_s - (0.08 + 6 * 0.05 + 0.02)) < 1e-9
    assert path.ratio > 0.95


def test_to_dict_is_json_ready() -> None:
    data = compute_metrics(mixed_trace()).to_dict()
    text = json.dumps(data)
    assert json.loads(text)["stages"][0]["name"] == "fetch"
    assert "span_indices" not in data["critical_path"]
    assert set(data) == {
        "wall_s",
        "stages",
        "lanes",
        "pools",
        "loop_lag_p99_ms",
        "loop_lag_max_ms",
        "critical_path",
        "start_up_s",
    }


_times = st.floats(min_value=0.0, max_value=10.0, allow_nan=False)


@st.composite
def _spans(draw: st.DrawFn) -> list[Span]:
    result = []
    for _ in range(draw(st.integers(0, 25))):
        start = draw(_times)
        result.append(
            span(
                draw(st.sampled_from(["a", "b", "c"])),
                draw(st.sampled_from(["1", "2", "1.0", "1.1", "2.0"])),
                start,
                start + draw(st.floats(min_value=0.0, max_value=2.0)),
                attempt=draw(st.integers(1, 3)),
            )
        )
    return result


@given(_spans())
def test_critical_path_never_exceeds_the_time_the_spans_cover(spans: list[Span]) -> None:
    path = critical_path(trace_of(spans, wall_s=12.0))
    if not spans:
        return
    first = min(s.start for s in spans)
    last = max(s.end for s in spans)
    slack = 1e-4 * len(path.steps)  # the clock slack allowed between dependent attempts
    assert path.length_s <= last - first + slack + 1e-9
    steps = path.steps
    assert all(a.end <= b.start + 1e-4 for a, b in itertools.pairwise(steps))
