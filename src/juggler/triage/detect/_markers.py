"""CI step and exit-status markers, read line by line into small events.

A scrape worker turns its chunk's lines into :class:`Event` records (a handful per step,
none for ordinary output), and the analysis folds the events of all chunks, in line order,
into steps, durations and the failing exit status. Splitting it this way keeps the worker
pure and the parent's memory independent of the log's size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from . import _status
from ._normalise import strip_ansi, timestamp_prefix
from ._status import status_of, status_text

if TYPE_CHECKING:
    from collections.abc import Iterable

_TRAVIS_TIME_END = re.compile(r"travis_time:end:\w+:start=(\d+),finish=(\d+)")
_TRAVIS_CMD = re.compile(r"^\$ (.+)$")
_TRAVIS_EXIT = re.compile(r'^The command "(.*)" (?:failed and )?exited with (\d+)\.?')
# A multi-line command's exit line ends the quote on a later line.
_TRAVIS_EXIT_TAIL = re.compile(r'^(.*)" (?:failed and )?exited with (\d+)\.$')
_GH_GROUP = re.compile(r"^##\[group\]Run (.+)$")
_GH_EXIT = re.compile(r"^##\[error\]Process completed with exit code (\d+)")
_GITLAB_SECTION = re.compile(r"section_(start|end):(\d+):([\w.-]+)")
_GITLAB_EXIT = re.compile(r"^ERROR: Job failed: exit code (\d+)")
_JENKINS_STAGE = re.compile(r"^\[Pipeline\] \{ \((.+)\)$")
_JENKINS_SHELL = re.compile(r"^\[[^\]]+\] \$ (/bin/\w+ .+)$")
_JENKINS_MARKED = re.compile(r"^Build step '(.+)' marked build as failure")
_JENKINS_STEP_FAILED = re.compile(r"^ERROR: (?:Step|Build step) [‘'](.+?)[’'] failed")
_JENKINS_EXIT = re.compile(r"script returned exit code (\d+)|^Finished: (FAILURE|ABORTED)")
# GitHub Actions logs downloaded per job: "job<TAB>step<TAB>timestamp text".
_JOB_STEP = re.compile(r"^[^\t]+\t([^\t]+)\t\ufeff?(\d{4}-\d\d-\d\dT[\d:.]+Z)")
_GENERIC_EXIT = re.compile(
    r"(?:make(?:\[\d+\])?: \*\*\* .*Error (\d+))|(?:exited with (?:exit )?code (\d+))|"
    r"(?:Process finished with exit code (\d+))"
)

#: Every line a marker regex above can match starts with one of these or holds one of the
#: phrases (visible text; a raw line's timers and sections hold ``travis_``/``section_``):
#: what the bulk search for marker lines must let through (:mod:`._marker_lines`).
TELL_STARTS = ("$ ", "##[", "[Pipeline] { (", "Build step '", "ERROR: ", "Finished: ")
TELL_PHRASES = ("exited with", "exit code", "***", "] $ /bin/")
#: The markers' tells and the build statuses' (:mod:`._status`) together.
ALL_TELL_STARTS = tuple(sorted({*TELL_STARTS, *_status.TELL_STARTS}))
ALL_TELL_PHRASES = tuple(sorted({*TELL_PHRASES, *_status.TELL_PHRASES}))


@dataclass(frozen=True, slots=True)
class Event:
    """One marker.

    Attributes:
        line: 1-based line number in the whole log.
        kind: ``start`` (a step begins); ``layout_step`` (the step a line's prefix names,
            a new step only when the name changes); ``timer`` (the open step's measured
            duration); ``section_start``/``section_end`` (GitLab); ``step_exit`` (a Travis
            command's status, which also ends its step); ``exit`` (a failing status for the
            build); ``exit_hint`` (a tool's status, used when no CI marker says more);
            ``stamp`` (the wall clock of this line, in seconds); ``ci_passed``/``ci_failed``
            and ``tool_passed``/``tool_failed`` (a line stating how the build or a build
            tool ended, its text in ``name``: :mod:`._status`).
        name: The step or section name, when the marker carries one.
        code: The exit status, for the exit kinds.
        value: Seconds, for ``timer``, ``stamp`` and the GitLab section kinds.
    """

    line: int
    kind: str
    name: str = ""
    code: int = 0
    value: float = 0.0


def iso_seconds(stamp: str) -> float | None:
    """Seconds since the epoch of an ISO-8601 ``...Z`` timestamp, or ``None``."""
    try:
        # Python 3.11 parses at most 6 fractional digits; GitHub writes 7.
        head, _, frac = stamp.rstrip("Z").partition(".")
        value = datetime.fromisoformat(head + "+00:00").timestamp()
        return value + (float("0." + frac) if frac else 0.0)
    except ValueError:
        return None


def line_events(raw: str, text: str, n: int) -> list[Event]:
    """The markers on one line.

    Args:
        raw: The line as decoded (Travis timers and GitLab sections hide behind ``\\r``).
        text: The visible line (:func:`._normalise.visible`).
        n: Its 1-based line number in the whole log.
    """
    events: list[Event] = []
    if "travis_" in raw or "section_" in raw:
        for seg in strip_ansi(raw).split("\r"):
            timer = _TRAVIS_TIME_END.search(seg)
            if timer:
                seconds = (int(timer.group(2)) - int(timer.group(1))) / 1e9
                events.append(Event(n, "timer", value=seconds))
            for kind, ts, name in _GITLAB_SECTION.findall(seg):
                events.append(Event(n, "section_" + kind, name=name, value=float(ts)))
    if text:
        marker = _marker(text, n)
        if marker is not None:
            events.append(marker)
        status = status_of(text)
        if status is not None:  # how the build or a tool ended: the verdict's evidence
            events.append(Event(n, status[0], name=status_text(text), code=status[1]))
    return events


def _marker(text: str, n: int) -> Event | None:
    first = text[:1]
    if first == "$":
        cmd = _TRAVIS_CMD.match(text)
        return Event(n, "start", name=cmd.group(1)) if cmd else None
    if first == "#":
        group = _GH_GROUP.match(text)
        if group:
            return Event(n, "start", name=group.group(1))
        exit_ = _GH_EXIT.match(text)
        return Event(n, "exit", code=int(exit_.group(1))) if exit_ else None
    if first == "T" or (text.endswith(".") and "exited with" in text):
        exit_ = _TRAVIS_EXIT.match(text) or _TRAVIS_EXIT_TAIL.match(text)
        if exit_:
            return Event(n, "step_exit", name=exit_.group(1), code=int(exit_.group(2)))
    if first == "[":
        stage = _JENKINS_STAGE.match(text) or _JENKINS_SHELL.match(text)
        if stage:
            return Event(n, "start", name=stage.group(1))
    if text.startswith(("Build step", "ERROR: ")):
        failed = _JENKINS_MARKED.match(text) or _JENKINS_STEP_FAILED.match(text)
        if failed:
            return Event(n, "exit", name=failed.group(1), code=1)
        gitlab = _GITLAB_EXIT.match(text)
        if gitlab:
            return Event(n, "exit", code=int(gitlab.group(1)))
    jenkins = _JENKINS_EXIT.search(text)
    if jenkins:
        return Event(n, "exit", code=int(jenkins.group(1) or 1))
    if "rror" in text or "exit" in text:
        generic = _GENERIC_EXIT.search(text)
        if generic:
            code = int(next(g for g in generic.groups() if g is not None))
            if code:
                return Event(n, "exit_hint", code=code)
    return None


def chunk_events(
    raw: list[str], visible: list[str], offset: int = 0, *, tells: Iterable[int] | None = None
) -> list[Event]:
    """All markers of a chunk, with the clock readings the analysis needs.

    A step's duration, when no marker measures it, runs from the clock of its first line to
    the clock of the line before the next step: so the chunk keeps the readings of every
    marker line, of the line before it, and of its own last stamped line (the line before
    the next chunk's first marker).

    A big chunk is searched in bulk for the few lines that can hold a marker or a clock
    (:mod:`._marker_lines`); only those are read line by line, with the same code.
    ``tells``: the visible lines a marker may be on, when the scan's compiled pass found
    them (:func:`._scan.scan_blocks`).
    """
    if len(raw) >= _BULK_MIN_LINES:
        from ._marker_lines import bulk_chunk_events

        found = bulk_chunk_events(raw, visible, offset, tells)
        if found is not None:
            return found
    return plain_chunk_events(raw, visible, offset)


#: Below this many lines the line-by-line loop is as fast as the bulk search.
_BULK_MIN_LINES = 2000


def stamp_of(line: str, n: int) -> Event | None:
    """The clock reading of a raw line (ISO prefix, else a job/step layout), if any."""
    stamp = timestamp_prefix(line) if line[:1].isdigit() or line[:1] == "[" else None
    if stamp is None and "\t" in line:
        layout = _JOB_STEP.match(line)
        if layout:
            stamp = layout.group(2)
    reading = iso_seconds(stamp) if stamp else None
    return Event(n, "stamp", value=reading) if reading is not None else None


def layout_of(line: str) -> str | None:
    """The step a job/step layout line names, unless an ISO prefix stamps it first."""
    stamped = line[:1].isdigit() or line[:1] == "["
    if (stamped and timestamp_prefix(line) is not None) or "\t" not in line:
        return None
    layout = _JOB_STEP.match(line)
    return layout.group(1) if layout else None


def plain_chunk_events(raw: list[str], visible: list[str], offset: int = 0) -> list[Event]:
    """:func:`chunk_events`, line by line."""
    events: list[Event] = []
    last_stamp: Event | None = None
    previous: Event | None = None
    step_name: str | None = None
    for i, line in enumerate(raw):
        n = offset + i + 1
        stamp = timestamp_prefix(line) if line[:1].isdigit() or line[:1] == "[" else None
        found = line_events(line, visible[i], n)
        if stamp is None and "\t" in line:
            layout = _JOB_STEP.match(line)
            if layout:
                stamp = layout.group(2)
                if layout.group(1) != step_name:
                    step_name = layout.group(1)
                    found.insert(0, Event(n, "layout_step", name=step_name))
        reading = iso_seconds(stamp) if stamp else None
        here = Event(n, "stamp", value=reading) if reading is not None else None
        if found:
            if previous is not None and previous.line == n - 1:
                events.append(previous)
            if here is not None:
                events.append(here)
            events.extend(found)
        if here is not None:
            last_stamp = here
        previous = here
    if last_stamp is not None and (not events or events[-1] != last_stamp):
        events.append(last_stamp)
    return events
