"""The marker and clock lines of a big chunk, found in bulk: :func:`._markers.chunk_events`.

Almost no line of a log is a CI marker, so reading every line in Python to find the few
that are costs more than the markers are worth. Every marker has a tell a C-speed search
finds: how its line starts (``$ ``, ``##[``, ``Finished: ``, ...) or a phrase it holds
(``exited with``, ``exit code``, ``***``, ``travis_``, ``section_``); a clock reading starts
with a digit or ``[``, or is a tab-separated job/step layout. Only the lines with a tell are
read, by the same per-line code as the plain loop, so the events are exactly the same.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cached_property
from itertools import accumulate
from typing import TYPE_CHECKING

from . import _markers
from ._markers import Event, layout_of, line_events, stamp_of

if TYPE_CHECKING:
    from collections.abc import Iterable

#: A line break, then the start of some marker or build status line (one search for the
#: break, then a short alternation per line: far fewer lines than a first character lets by).
_MARKER_START = re.compile(r"\n(?:" + "|".join(map(re.escape, _markers.ALL_TELL_STARTS)) + ")")
#: Phrases a marker or a status line may hold anywhere in the visible line.
_MARKER_PHRASES = _markers.ALL_TELL_PHRASES
#: Phrases a raw line's timers and sections hold.
_RAW_PHRASES = ("travis_", "section_")
#: A line break, then the start of an ISO-8601 clock reading.
_STAMP_START = re.compile(r"\n\[?\d{4}-\d\d-\d\dT")
_LAYOUT = re.compile(r"\n[^\t\n]+\t[^\t\n]+\t")


class _Lines:
    """Maps positions in ``"\\n".join(lines)`` to line indexes.

    Patterns of line starts begin with the break before the line: the first line, which has
    none, is matched on its own (putting a break before 2 MB of text would copy it all).
    """

    def __init__(self, lines: list[str]) -> None:
        self.text = "\n".join(lines)
        self._lines = lines

    @cached_property
    def starts(self) -> list[int]:
        """Position of the break before each line, -1 for the first (built when first asked:
        most chunks of a big log hold no tell of the raw text, and then no position needs
        its line)."""
        return list(accumulate(map((1).__add__, map(len, self._lines[:-1])), initial=-1))

    def valid(self, count: int) -> bool:
        return self.text.count("\n") == count - 1

    def line_at(self, pos: int) -> int:
        return bisect_right(self.starts, pos) - 1

    def with_phrase(self, phrase: str, into: set[int]) -> None:
        find, at = self.text.find, self.text.find(phrase)
        while at != -1:
            into.add(self.line_at(at))
            at = find(phrase, at + 1)

    def breaks(self, pattern: re.Pattern[str]) -> list[int]:
        """Positions of the breaks before the lines ``pattern`` (``\\n`` + a line's start)
        matches, in order."""
        first = [-1] if self._lines and pattern.match("\n" + self._lines[0]) else []
        return first + [m.start() for m in pattern.finditer(self.text)]

    def starting(self, pattern: re.Pattern[str]) -> list[int]:
        return [self.line_at(pos) for pos in self.breaks(pattern)]


def bulk_chunk_events(
    raw: list[str], visible: list[str], offset: int, shown_tells: Iterable[int] | None = None
) -> list[Event] | None:
    """The chunk's events, or ``None`` when its lines hold line breaks (use the plain loop).

    ``shown_tells``: the visible lines that start with a marker's start or hold one of its
    phrases, when the scan's compiled pass found them already; else they are searched here.
    """
    if not raw:
        return []
    if shown_tells is not None:
        written = _Lines(raw)
        if not written.valid(len(raw)):
            return None
        tells = set(shown_tells)
    else:
        shown = _Lines(visible)
        # Clean logs show what they wrote: one joined text serves both searches.
        written = shown if raw == visible else _Lines(raw)
        if not (shown.valid(len(visible)) and written.valid(len(raw))):
            return None
        tells = set(shown.starting(_MARKER_START))
        for phrase in _MARKER_PHRASES:
            shown.with_phrase(phrase, tells)
    for phrase in _RAW_PHRASES:
        written.with_phrase(phrase, tells)
    found: dict[int, list[Event]] = {}
    for i in tells:
        if on_line := line_events(raw[i], visible[i], offset + i + 1):
            found[i] = on_line
    # Only the last clock reading is kept: the stamped lines' positions, mapped to lines
    # from the end until one reads (most chunks: the first).
    clocks: Iterable[int] = map(written.line_at, reversed(written.breaks(_STAMP_START)))
    if "\t" in written.text:
        layouts = written.starting(_LAYOUT)
        clocks = sorted({*clocks, *layouts}, reverse=True)
        step: str | None = None
        for i in layouts:
            name = layout_of(raw[i])
            if name is not None and name != step:
                step = name
                found.setdefault(i, []).insert(0, Event(offset + i + 1, "layout_step", name=name))
    events: list[Event] = []
    for i in sorted(found):
        n = offset + i + 1
        previous = stamp_of(raw[i - 1], n - 1) if i > 0 else None
        if previous is not None:
            events.append(previous)
        here = stamp_of(raw[i], n)
        if here is not None:
            events.append(here)
        events.extend(found[i])
    last_stamp = next(
        (e for i in clocks if (e := stamp_of(raw[i], offset + i + 1)) is not None), None
    )
    if last_stamp is not None and (not events or events[-1] != last_stamp):
        events.append(last_stamp)
    return events
