"""The Chrome Trace Event export: format fields, one track per worker, aio on one track."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import pytest

from juggler.engine._errors import ConfigError
from juggler.engine._trace._chrome import to_chrome_trace, write_chrome_trace
from juggler.engine._trace._export import check_trace_path, write_trace
from juggler.engine._trace._span import Span, Trace
from tests.engine._browser import mixed_trace

if TYPE_CHECKING:
    from pathlib import Path

PARENT = 1000
WORKERS = (2001, 2002)


def _events(trace: Trace) -> list[dict[str, Any]]:
    # Through JSON and back, as a viewer would read it.
    return list(json.loads(json.dumps(to_chrome_trace(trace)))["traceEvents"])


def _thread_names(events: list[dict[str, Any]]) -> dict[tuple[int, int], str]:
    return {
        (e["pid"], e["tid"]): e["args"]["name"]
        for e in events
        if e["ph"] == "M" and e["name"] == "thread_name"
    }


def _by_stage(events: list[dict[str, Any]], name: str, phases: str) -> list[dict[str, Any]]:
    return [e for e in events if e["ph"] in phases and e.get("name") == name]


def test_top_level_shape() -> None:
    data = to_chrome_trace(mixed_trace())
    assert data["displayTimeUnit"] == "ms"
    assert isinstance(data["traceEvents"], list)
    assert data["otherData"]["run_id"] == "0123456789abcdef"
    json.dumps(data)  # serialisable as is


def test_every_event_has_the_format_fields() -> None:
    events = _events(mixed_trace())
    phases = {e["ph"] for e in events}
    assert phases == {"M", "X", "b", "e"}
    for event in events:
        assert isinstance(event["name"], str)
        assert isinstance(event["pid"], int)
        assert isinstance(event["tid"], int)
        if event["ph"] == "M":
            assert event["name"] in {
                "process_name",
                "process_sort_index",
                "thread_name",
                "thread_sort_index",
            }
            assert isinstance(event["args"], dict)
        else:
            assert isinstance(event["ts"], int)
            assert event["ts"] >= 0
            assert isinstance(event["cat"], str)
        if event["ph"] == "X":
            assert isinstance(event["dur"], int)
            assert event["dur"] >= 0
        if event["ph"] in "be":
            assert isinstance(event["id"], str)


def test_complete_events_carry_the_span_in_microseconds_and_args() -> None:
    trace = mixed_trace()
    parse = next(s for s in trace.spans if s.stage == "parse" and s.item_id == "5")
    event = next(e for e in _by_stage(_events(trace), "parse", "X") if e["args"]["item_id"] == "5")
    assert event["cat"] == "cpu"
    assert event["pid"] == parse.pid
    assert event["ts"] == round(parse.start * 1e6)
    assert event["dur"] == round(parse.end * 1e6) - round(parse.start * 1e6)
    assert event["args"]["attempt"] == 1
    assert event["args"]["outcome"] == "ok"
    assert parse.queued is not None
    assert event["args"]["queue_wait_ms"] == round((parse.start - parse.queued) * 1e3, 3)


def test_one_process_track_per_worker_and_one_for_the_parent() -> None:
    events = _events(mixed_trace())
    names = {
        e["pid"]: e["args"]["name"]
        for e in events
        if e["ph"] == "M" and e["name"] == "process_name"
    }
    assert set(names) == {PARENT, *WORKERS}
    assert "event loop" in names[PARENT]
    assert all(str(pid) in names[pid] for pid in WORKERS)
    sort = {e["pid"]: e["args"]["sort_index"] for e in events if e["name"] == "process_sort_index"}
    assert sort[PARENT] == 0


def test_cpu_spans_use_at_least_two_pids_and_overlap_in_time() -> None:
    parse = _by_stage(_events(mixed_trace()), "parse", "X")
    assert {e["pid"] for e in parse} == set(WORKERS)
    first = [e for e in parse if e["pid"] == WORKERS[0]]
    second = [e for e in parse if e["pid"] == WORKERS[1]]
    assert any(
        a["ts"] < b["ts"] + b["dur"] and b["ts"] < a["ts"] + a["dur"] for a in first for b in second
    )


def test_aio_spans_share_the_event_loop_track() -> None:
    events = _events(mixed_trace())
    fetch = _by_stage(events, "fetch", "be")
    assert len(fetch) == 2 * 13  # 12 items, one retried: 13 attempts, a begin and an end each
    tracks = {(e["pid"], e["tid"]) for e in fetch}
    assert len(tracks) == 1
    assert _thread_names(events)[tracks.pop()] == "event loop"


def test_aio_async_events_pair_up_by_id() -> None:
    fetch = _by_stage(_events(mixed_trace()), "fetch", "be")
    begins = {e["id"]: e for e in fetch if e["ph"] == "b"}
    ends = {e["id"]: e for e in fetch if e["ph"] == "e"}
    assert begins.keys() == ends.keys()
    assert len(begins) == 13
    assert all(ends[i]["ts"] >= begins[i]["ts"] for i in begins)
    assert all(b["cat"] == ends[i]["cat"] == "aio" for i, b in begins.items())


def test_event_loop_busy_periods_do_not_overlap_and_count_every_item() -> None:
    events = _events(mixed_trace())
    busy = sorted((e for e in events if e.get("cat") == "busy"), key=lambda e: e["ts"])
    assert busy
    assert all(a["ts"] + a["dur"] <= b["ts"] for a, b in itertools.pairwise(busy))
    assert sum(e["args"]["items"] for e in busy) == 13


def test_one_thread_track_per_thread() -> None:
    events = _events(mixed_trace())
    store = _by_stage(events, "store", "X")
    tracks = {(e["pid"], e["tid"]) for e in store}
    assert {pid for pid, _ in tracks} == {PARENT}
    names = _thread_names(events)
    assert sorted(names[t] for t in tracks) == ["io-0", "io-1"]


def test_tids_are_unique_across_the_file() -> None:
    names = _thread_names(_events(mixed_trace()))
    tids = [tid for _, tid in names]
    assert len(tids) == len(set(tids))
    # A worker's main thread uses its pid, the event loop the parent's: Linux's convention.
    assert names[(PARENT, PARENT)] == "event loop"
    assert all(names[(pid, pid)] == "worker" for pid in WORKERS)


def test_complete_events_never_overlap_on_a_thread() -> None:
    # Perfetto drops "X" events that overlap on one thread without nesting.
    by_track: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for e in _events(mixed_trace()):
        if e["ph"] == "X":
            by_track[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
    for intervals in by_track.values():
        intervals.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(intervals))


def _span(lane: str, start: float, end: float, **kw: Any) -> Span:
    fields: dict[str, Any] = {
        "stage": "s",
        "placement": "io",
        "pid": PARENT,
        "lane": lane,
        "item_id": "1",
        "attempt": 1,
        "queued": None,
        "start": start,
        "end": end,
        "outcome": "ok",
    }
    fields.update(kw)
    return Span(**fields)


def _trace(spans: list[Span], stages: list[tuple[str, str]] | None = None) -> Trace:
    return Trace(
        run_id="r",
        started_at=0.0,
        wall_s=max((s.end for s in spans), default=0.0),
        parent_pid=PARENT,
        stages=stages or [("s", "io")],
        spans=spans,
        loop_lag_ms=[],
    )


def test_overlapping_spans_on_a_thread_become_async_events() -> None:
    # A clock step or a reused thread name must not produce a file that viewers mangle.
    events = _events(_trace([_span("t", 0.0, 2.0, item_id="1"), _span("t", 1.0, 3.0, item_id="2")]))
    assert not [e for e in events if e["ph"] == "X" and e["cat"] == "io"]
    assert len([e for e in events if e["ph"] == "b"]) == 2


def test_adjacent_spans_stay_complete_events_after_rounding() -> None:
    # 1.0000004 s and 1.0000006 s round to the same microsecond: touching, not overlapping.
    trace = _trace([_span("t", 0.0, 1.0000006), _span("t", 1.0000006, 2.0, item_id="2")])
    x = sorted((e for e in _events(trace) if e["ph"] == "X"), key=lambda e: e["ts"])
    assert len(x) == 2
    assert x[0]["ts"] + x[0]["dur"] <= x[1]["ts"]


def test_optional_args_appear_only_when_known() -> None:
    trace = _trace([_span("t", 0.0, 1.0, bytes_in=10, bytes_out=20, queued=0.0)])
    args = next(e for e in _events(trace) if e["ph"] == "X")["args"]
    assert args["bytes_in"] == 10
    assert args["bytes_out"] == 20
    assert args["queue_wait_ms"] == 0.0
    args = next(e for e in _events(_trace([_span("t", 0.0, 1.0)])) if e["ph"] == "X")["args"]
    assert "bytes_in" not in args
    assert "queue_wait_ms" not in args


def test_an_empty_run_still_names_its_event_loop() -> None:
    events = _events(_trace([], stages=[]))
    assert _thread_names(events) == {(PARENT, PARENT): "event loop"}
    assert all(e["ph"] == "M" for e in events)


def test_user_stage_names_survive_json() -> None:
    name = '</script>"quoted" \\ ünïcödé'
    events = _events(_trace([_span("t", 0.0, 1.0, stage=name)], stages=[(name, "io")]))
    assert next(e for e in events if e["ph"] == "X")["name"] == name


def test_write_chrome_trace_writes_json_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    write_chrome_trace(mixed_trace(), path)
    assert json.loads(path.read_text())["displayTimeUnit"] == "ms"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_write_trace_picks_the_format_by_suffix(tmp_path: Path) -> None:
    write_trace(mixed_trace(), tmp_path / "run.json")
    write_trace(mixed_trace(), tmp_path / "run.HTML")
    assert "traceEvents" in json.loads((tmp_path / "run.json").read_text())
    assert (tmp_path / "run.HTML").read_text().startswith("<!DOCTYPE html>")


def test_write_trace_refuses_an_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.json .* or \.html"):
        check_trace_path(tmp_path / "run.txt")
    with pytest.raises(ConfigError):
        write_trace(mixed_trace(), tmp_path / "run")
    assert list(tmp_path.iterdir()) == []
