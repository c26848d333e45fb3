"""Export a trace as Chrome Trace Event JSON, for Perfetto and chrome://tracing.

Tracks: one process per worker process, and in the parent process one thread per thread that
ran ``io`` work, one thread named ``"event loop"``, and one named ``"engine"`` for the engine's
own phases (the worker processes starting) when the run had any.

Why ``aio`` spans are not "X" events: the Trace Event format requires complete ("X") events on
one thread to nest perfectly, and ``aio`` items interleave on the event loop, so their spans
overlap without nesting; Perfetto drops such events (``slice_drop_overlapping_complete_event``)
and chrome://tracing draws them wrongly. The format's answer for durations that do not nest is
async events, so every ``aio`` attempt becomes a nestable async pair ("b"/"e") with its own id,
emitted on the event loop's pid and tid. The event loop's thread track also gets one "X" event
per busy period (a stretch of time with at least one item in flight, labelled with how many
items ran in it), which never overlap. Lanes whose spans do overlap for another reason (a clock
step, a lane name reused) get the same treatment, so the file always loads cleanly.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from ._files import write_text_atomic
from ._lanes import EVENT_LOOP, busy_periods, lane_key, lanes_of

if TYPE_CHECKING:
    import os

    from ._lanes import Lane, LaneKey
    from ._span import Span, Trace

_US = 1e6


def to_chrome_trace(trace: Trace) -> dict[str, Any]:
    """Convert ``trace`` to a Trace Event Format object.

    Returns:
        ``{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}``; timestamps are
        microseconds since the run's start. ``json.dump`` it, or use ``write_chrome_trace``.
    """
    lanes = lanes_of(trace)
    tids = _thread_ids(trace, lanes)
    events: list[dict[str, Any]] = [*_metadata(trace, lanes, tids)]
    by_lane: dict[LaneKey, list[tuple[int, Span]]] = {}
    for index, span in enumerate(trace.spans):
        by_lane.setdefault(lane_key(span), []).append((index, span))
    for lane in lanes:
        spans = by_lane.get(lane.key, [])
        pid, tid = lane.key[0], tids[lane.key]
        if lane.kind == "loop" or _overlaps([s for _, s in spans]):
            events.extend(_async_events(spans, pid, tid))
            events.extend(_busy_events(spans, pid, tid))
        else:
            events.extend(_complete_event(span, pid, tid) for _, span in spans)
    events.extend(_phase_events(trace, max([trace.parent_pid, *tids.values()]) + 1))
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "producer": "juggler",
            "run_id": trace.run_id,
            "started_at": trace.started_at,
            "wall_s": trace.wall_s,
        },
    }


def write_chrome_trace(trace: Trace, path: str | os.PathLike[str]) -> None:
    """Write ``trace`` as Chrome Trace Event JSON to ``path`` (atomically: temp file + rename)."""
    write_text_atomic(path, json.dumps(to_chrome_trace(trace), separators=(",", ":")))


def _thread_ids(trace: Trace, lanes: list[Lane]) -> dict[LaneKey, int]:
    """A tid per lane, unique across the whole file.

    Viewers key threads by tid (Perfetto even across processes), and threads of the parent are
    known only by name, so they get synthetic tids above every real pid. The event loop uses
    the parent's pid and a worker's main thread its own pid: Linux's main-thread convention.
    """
    top = max([trace.parent_pid, *(lane.key[0] for lane in lanes)])
    tids: dict[LaneKey, int] = {}
    for lane in lanes:
        pid, name = lane.key
        if lane.kind == "loop" or (lane.kind == "process" and name == "worker"):
            tids[lane.key] = pid
        else:
            top += 1
            tids[lane.key] = top
    return tids


def _metadata(trace: Trace, lanes: list[Lane], tids: dict[LaneKey, int]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    pids = [trace.parent_pid]
    pids += sorted({lane.key[0] for lane in lanes if lane.key[0] != trace.parent_pid})
    for order, pid in enumerate(pids):
        if pid == trace.parent_pid:
            name = f"juggler {trace.run_id[:8]} (event loop + threads)"
        else:
            name = f"worker process {pid}"
        events.append(_meta("process_name", pid, pid, {"name": name}))
        events.append(_meta("process_sort_index", pid, pid, {"sort_index": order}))
    for order, lane in enumerate(lanes):
        pid, name = lane.key
        thread = EVENT_LOOP if lane.kind == "loop" else name
        events.append(_meta("thread_name", pid, tids[lane.key], {"name": thread}))
        events.append(_meta("thread_sort_index", pid, tids[lane.key], {"sort_index": order}))
    return events


def _meta(name: str, pid: int, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"ph": "M", "name": name, "pid": pid, "tid": tid, "args": args}


def _args(span: Span) -> dict[str, Any]:
    args: dict[str, Any] = {
        "item_id": span.item_id,
        "attempt": span.attempt,
        "outcome": span.outcome,
        "placement": span.placement,
    }
    if span.queued is not None:
        args["queue_wait_ms"] = round((span.start - span.queued) * 1e3, 3)
    if span.bytes_in is not None:
        args["bytes_in"] = span.bytes_in
    if span.bytes_out is not None:
        args["bytes_out"] = span.bytes_out
    return args


def _ts(seconds: float) -> int:
    # Whole microseconds: exact in every parser, so rounding can never make a span overlap the
    # next one on its thread (viewers drop "X" events that overlap).
    return round(seconds * _US)


def _complete_event(span: Span, pid: int, tid: int) -> dict[str, Any]:
    return {
        "ph": "X",
        "name": span.stage,
        "cat": span.placement,
        "pid": pid,
        "tid": tid,
        "ts": _ts(span.start),
        "dur": max(0, _ts(span.end) - _ts(span.start)),
        "args": _args(span),
    }


def _async_events(spans: list[tuple[int, Span]], pid: int, tid: int) -> list[dict[str, Any]]:
    events = []
    for index, span in spans:
        common = {"name": span.stage, "cat": span.placement, "pid": pid, "tid": tid}
        # One id per attempt: async events with equal ids would be nested into each other.
        span_id = f"0x{index:x}"
        events.append(
            {**common, "ph": "b", "id": span_id, "ts": _ts(span.start), "args": _args(span)}
        )
        events.append({**common, "ph": "e", "id": span_id, "ts": _ts(max(span.start, span.end))})
    return events


def _busy_events(spans: list[tuple[int, Span]], pid: int, tid: int) -> list[dict[str, Any]]:
    periods = busy_periods((s.start, s.end) for _, s in spans)
    return [
        {
            "ph": "X",
            "name": f"{count} in flight",
            "cat": "busy",
            "pid": pid,
            "tid": tid,
            "ts": _ts(start),
            "dur": _ts(end) - _ts(start),
            "args": {"items": count},
        }
        for start, end, count in periods
    ]


def _phase_events(trace: Trace, tid: int) -> list[dict[str, Any]]:
    """The engine's own phases (workers starting) on a thread track of their own: "engine"."""
    if not trace.phases:
        return []
    pid = trace.parent_pid
    events = [
        _meta("thread_name", pid, tid, {"name": "engine"}),
        _meta("thread_sort_index", pid, tid, {"sort_index": -1}),
    ]
    events.extend(
        {
            "ph": "X",
            "name": phase.name,
            "cat": "engine",
            "pid": pid,
            "tid": tid,
            "ts": _ts(phase.start),
            "dur": max(0, _ts(phase.end) - _ts(phase.start)),
            "args": {"note": "cpu items could not start before it ended"},
        }
        for phase in trace.phases
    )
    return events


def _overlaps(spans: list[Span]) -> bool:
    ordered = sorted((s.start, s.end) for s in spans)
    return any(nxt[0] < cur[1] for cur, nxt in itertools.pairwise(ordered))
