"""What the engine reports adds up: busy time, the critical path, start-up, idle stages."""

from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Any

from hypothesis import given
from hypothesis import strategies as st

import juggler
from juggler.engine._trace._html import render_timeline
from juggler.engine._trace._metrics import compute_metrics, critical_path
from juggler.engine._trace._span import POOL_START_UP, Phase, Span, Trace

if TYPE_CHECKING:
    from pathlib import Path

PARENT = 1000


def _crunch(x: int) -> int:
    deadline = time.thread_time() + 0.02
    while time.thread_time() < deadline:
        pass
    return x


def _double(x: int) -> int:
    return 2 * x


def _cpu_run(items: int = 24) -> juggler.RunReport:
    return juggler.Pipeline(juggler.cpu(_crunch, name="crunch"), workers=2).run(range(items))


def test_cpu_busy_time_is_the_workers_time_not_the_batches_wait() -> None:
    """Batches wait in the parent side by side; busy time counts each item's own run once."""
    report = _cpu_run()
    crunch = report.stage("crunch")
    spans = [s for s in report.trace.spans if s.stage == "crunch"]
    assert len(spans) == 24
    assert abs(crunch.busy_s - sum(s.end - s.start for s in spans)) < 1e-6
    # Two workers can be busy at most twice the wall time.
    assert crunch.busy_s <= 2 * report.wall_s + 1e-3


def test_pool_start_up_is_a_span_of_its_own_in_trace_and_timeline(tmp_path: Path) -> None:
    report = _cpu_run(4)
    trace = report.trace
    [phase] = trace.phases
    assert phase.name == POOL_START_UP
    assert 0 <= phase.start < phase.end <= trace.wall_s
    # No cpu item started before the workers were up.
    assert all(s.start >= phase.end - 1e-4 for s in trace.spans if s.placement == "cpu")
    metrics = compute_metrics(trace)
    assert abs(metrics.start_up_s - (phase.end - phase.start)) < 1e-9
    page = render_timeline(trace)
    assert "worker start-up" in page
    data = json.loads(page.split('id="timeline-data">', 1)[1].split("</script>", 1)[0])
    assert data["lanes"][0]["label"] == "engine"
    assert [POOL_START_UP, "engine"] == data["stages"][-1][:2]
    drawn = [s for s in data["spans"] if data["stages"][s[1]][0] == POOL_START_UP]
    assert len(drawn) == 1
    assert drawn[0][0] == 0  # on the engine lane
    chrome = tmp_path / "run.json"
    juggler.write_trace(trace, chrome)
    events = json.loads(chrome.read_text())["traceEvents"]
    [start_up] = [e for e in events if e.get("name") == POOL_START_UP]
    assert start_up["ph"] == "X"
    assert start_up["cat"] == "engine"


def _span(stage: str, item: str, start: float, end: float, **kw: Any) -> Span:
    fields: dict[str, Any] = {
        "stage": stage,
        "placement": "cpu",
        "pid": 2001,
        "lane": "worker",
        "item_id": item,
        "attempt": 1,
        "queued": 0.0,
        "start": start,
        "end": end,
        "outcome": "ok",
    }
    fields.update(kw)
    return Span(**fields)


def _trace(spans: list[Span], *, wall_s: float, phases: list[Phase] | None = None) -> Trace:
    return Trace(
        run_id="r",
        started_at=0.0,
        wall_s=wall_s,
        parent_pid=PARENT,
        stages=[("crunch", "cpu"), ("store", "io")],
        spans=spans,
        loop_lag_ms=[],
        phases=phases or [],
    )


def test_critical_path_runs_through_a_worker_that_items_queued_for() -> None:
    """Four independent items on one worker: each waited for the one before it."""
    spans = [_span("crunch", str(n), 1.0 + n, 2.0 + n) for n in range(4)]
    path = critical_path(_trace(spans, wall_s=5.0))
    # Item by item, the longest chain was one item: 1 s of 5 s (20%).
    assert [s.item_id for s in path.steps] == ["0", "1", "2", "3"]
    assert [s.via for s in path.steps] == ["", "lane", "lane", "lane"]
    assert path.length_s == 4.0


def test_critical_path_starts_with_the_start_up_the_items_waited_for() -> None:
    spans = [_span("crunch", str(n), 1.0 + n, 2.0 + n) for n in range(2)]
    spans.append(_span("store", "1", 3.0, 3.5, placement="io", pid=PARENT, lane="io-0"))
    phases = [Phase(name=POOL_START_UP, start=0.0, end=1.0)]
    path = critical_path(_trace(spans, wall_s=3.5, phases=phases))
    assert [(s.stage, s.item_id, s.via) for s in path.steps] == [
        (POOL_START_UP, "", ""),
        ("crunch", "0", "start-up"),
        ("crunch", "1", "lane"),
        ("store", "1", "data"),
    ]
    assert path.length_s == 3.5
    assert path.ratio == 1.0
    assert path.span_indices == (0, 1, 2)


def test_a_lane_idle_between_two_items_is_no_dependency() -> None:
    """Item 1 was queued after item 0 had finished: it did not wait for the worker."""
    spans = [_span("crunch", "0", 0.0, 1.0), _span("crunch", "1", 2.5, 3.0, queued=2.0)]
    path = critical_path(_trace(spans, wall_s=3.0))
    assert [s.item_id for s in path.steps] == ["0"]
    assert path.length_s == 1.0


def test_event_loop_items_never_chain_by_lane() -> None:
    """aio items interleave on the loop: one finishing does not let the next start."""
    spans = [
        _span(
            "crunch", str(n), n * 0.5, n * 0.5 + 0.4, placement="aio", pid=PARENT, lane="event loop"
        )
        for n in range(3)
    ]
    path = critical_path(_trace(spans, wall_s=1.5))
    assert len(path.steps) == 1


def test_stages_with_no_spans_say_so_instead_of_0_of_0() -> None:
    spans = [_span("crunch", "0", 0.0, 1.0)]
    trace = Trace(
        run_id="r",
        started_at=0.0,
        wall_s=1.0,
        parent_pid=PARENT,
        stages=[("crunch", "cpu"), ("total", "reduce"), ("never", "io")],
        spans=spans,
        loop_lag_ms=[],
    )
    page = render_timeline(trace)
    assert "0/0" not in page
    assert "never (not run)" in page
    assert "total (runs inline)" in page
    legend = page.split('<div class="legend">', 1)[1].split("</div>", 1)[0]
    assert "crunch" in legend.split("no spans:")[0]
    assert "never" not in legend.split("no spans:")[0]  # no colour key for what drew nothing


def test_a_triage_sized_run_shows_its_start_up_on_the_critical_path() -> None:
    """A run too small to keep the workers busy waits mostly for them to start: it says so."""
    report = juggler.Pipeline(juggler.cpu(_double, name="double"), workers=2).run([1, 2])
    metrics = compute_metrics(report.trace)
    assert metrics.start_up_s > 0
    assert metrics.critical_path.steps[0].stage == POOL_START_UP
    assert metrics.critical_path.steps[1].via == "start-up"


_times = st.floats(min_value=0.0, max_value=10.0, allow_nan=False)


@st.composite
def _runs(draw: st.DrawFn) -> tuple[list[Span], list[Phase]]:
    spans = []
    for _ in range(draw(st.integers(0, 25))):
        start = draw(_times)
        placement, lane = draw(
            st.sampled_from([("aio", "event loop"), ("io", "io-0"), ("cpu", "worker")])
        )
        queued = draw(st.one_of(st.none(), st.floats(min_value=0.0, max_value=start)))
        spans.append(
            _span(
                draw(st.sampled_from(["crunch", "store"])),
                draw(st.sampled_from(["1", "2", "1.0", "2.0"])),
                start,
                start + draw(st.floats(min_value=0.0, max_value=2.0)),
                placement=placement,
                lane=lane,
                pid=PARENT if placement != "cpu" else draw(st.sampled_from([2001, 2002])),
                queued=queued,
            )
        )
    phase_end = draw(st.floats(min_value=0.0, max_value=3.0))
    phases = [Phase(name=POOL_START_UP, start=0.0, end=phase_end)] if draw(st.booleans()) else []
    return spans, phases


@given(_runs())
def test_any_critical_path_is_a_possible_sequence_within_the_run(
    run: tuple[list[Span], list[Phase]],
) -> None:
    spans, phases = run
    path = critical_path(_trace(spans, wall_s=12.0, phases=phases))
    if not spans and not phases:
        assert path.steps == ()
        return
    steps = path.steps
    # Each step ends before the next starts (up to the clock slack): the chain could happen.
    assert all(a.end <= b.start + 1e-4 for a, b in itertools.pairwise(steps))
    first = min([s.start for s in spans] + [p.start for p in phases])
    last = max([s.end for s in spans] + [p.end for p in phases])
    assert path.length_s <= last - first + 1e-4 * len(steps) + 1e-9
    assert abs(path.length_s - sum(s.end - s.start for s in steps)) < 1e-9
