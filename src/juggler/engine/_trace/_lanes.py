"""Who ran what: the lanes of a trace (the event loop, each thread, each worker process).

Exporters, metrics and the timeline all need the same answer to "which lane is this span on,
and in what order are lanes shown", so it is computed here once.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias, final

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._span import Span, Trace

EVENT_LOOP = "event loop"

LaneKey: TypeAlias = tuple[int, str]
LaneKind: TypeAlias = Literal["loop", "thread", "process"]


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Lane:
    """One place where spans ran.

    Attributes:
        key: ``(pid, lane)`` as recorded on the spans.
        kind: ``"loop"`` for the event loop, ``"thread"`` for a thread of the parent,
            ``"process"`` for a worker process.
        label: What a person reads: ``"event loop"``, ``"thread io-0"``, ``"process 4121"``.
        placement: The placement most of its spans had (``"aio"``, ``"io"``, ``"cpu"``).
    """

    key: LaneKey
    kind: LaneKind
    label: str
    placement: str


def lane_key(span: Span) -> LaneKey:
    """The lane a span ran on."""
    return (span.pid, span.lane)


def lanes_of(trace: Trace) -> list[Lane]:
    """Every lane that has spans: the event loop first, then threads, then processes.

    The event loop lane is listed even when no ``aio`` span ran, because it is the anchor a
    reader looks for; threads and processes appear only when they ran something.
    """
    placements: dict[LaneKey, Counter[str]] = {}
    for span in trace.spans:
        placements.setdefault(lane_key(span), Counter())[span.placement] += 1
    loop_key: LaneKey = (trace.parent_pid, EVENT_LOOP)
    placements.setdefault(loop_key, Counter({"aio": 1}))

    lanes = []
    for key, counts in placements.items():
        pid, name = key
        placement = counts.most_common(1)[0][0]
        kind: LaneKind
        if key == loop_key:
            kind, label = "loop", EVENT_LOOP
        elif pid == trace.parent_pid:
            kind, label = "thread", f"thread {name}"
        else:
            kind = "process"
            label = f"process {pid}" if name == "worker" else f"process {pid} {name}"
        lanes.append(Lane(key=key, kind=kind, label=label, placement=placement))
    rank = {"loop": 0, "thread": 1, "process": 2}
    lanes.sort(key=lambda lane: (rank[lane.kind], _natural(lane.key[1]), lane.key[0]))
    return lanes


def _natural(text: str) -> list[tuple[int, int | str]]:
    # "io-10" after "io-9": thread names carry counters and people read them as numbers.
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text)]


def union_s(intervals: Iterable[tuple[float, float]]) -> float:
    """Total length covered by ``intervals`` (overlaps counted once)."""
    total = 0.0
    current_start = current_end = None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None and current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_end is not None and current_start is not None:
        total += current_end - current_start
    return total


def busy_periods(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float, int]]:
    """Merge overlapping intervals into ``(start, end, how many intervals)`` periods."""
    periods: list[tuple[float, float, int]] = []
    for start, end in sorted(intervals):
        if periods and start <= periods[-1][1]:
            p_start, p_end, count = periods[-1]
            periods[-1] = (p_start, max(p_end, end), count + 1)
        else:
            periods.append((start, end, 1))
    return periods


def pack_rows(intervals: list[tuple[float, float]]) -> list[int]:
    """Give each interval the lowest row where it overlaps nothing (greedy interval colouring).

    Returns the row of each interval, in the input's order. The number of rows is the lane's
    peak concurrency, which is what a reader should see on the event loop's lane.
    """
    order = sorted(range(len(intervals)), key=lambda i: intervals[i])
    busy: list[tuple[float, int]] = []  # (end, row) of rows in use, soonest free first
    free: list[int] = []  # rows free again, lowest first
    rows = [0] * len(intervals)
    for i in order:
        start, end = intervals[i]
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        row = heapq.heappop(free) if free else len(busy)
        rows[i] = row
        heapq.heappush(busy, (end, row))
    return rows
