"""Build analysis: the verdict and its evidence, steps and their durations, the failing step,
the exit status, the first error, failing tests and counts, warnings counted apart from errors.

Steps come from the CI's own markers (Travis folds and timers, GitHub Actions groups, GitLab
sections, Jenkins stages and shell steps), read by :mod:`.detect._markers` into events that a
scrape worker can return per chunk; :func:`fold` turns the events of a whole log into the
analysis. Durations come from the markers' clocks where they have one (Travis timers, GitLab
sections) and from per-line timestamps otherwise (GitHub Actions).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._verdict import Verdict, decide
from .detect._bulk import MIN_LINES, lines_that_may_match
from .detect._markers import Event, chunk_events
from .detect._status import LISTING_END, STATUS_KINDS
from .detect._summaries import SUMMARY as _SUMMARY

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from .detect import Hit

# A shell command as the log shows it ("echo ERROR: ...", "+ echo ...", "$ echo ..."): the text
# of the script, not what it printed (echo's output never contains the word "echo").
_COMMAND_ECHO = re.compile(r"^\s*(?:[+$>]+\s+)?echo\b")
# A failing "test" that is a whole file ("FAIL src/a.test.ts" in jest, "FAIL: tests/x.py"):
# it contains the failing tests that the runner names next, and is not one of them.
_TEST_FILE = re.compile(
    r"[/\\]|\.(?:[cm]?[jt]sx?|py|rb|go|java|kt|scala|cs|php|rs|swift|exs?|dart)(?::\d+)?$"
)
_COUNT_AFTER = re.compile(
    r"(\d+) (failed|failures?|failing|passed|passing|errors?|total|examples?|tests?)\b", re.I
)
_COUNT_BEFORE = re.compile(
    r"\b(Tests run|Failures|Errors|Passed|Failed|Total|failures|errors)[:=]\s*(\d+)"
)
_COUNT_FIELD = {
    "failed": "failed",
    "failure": "failed",
    "failures": "failed",
    "failing": "failed",
    "error": "failed",
    "errors": "failed",
    "passed": "passed",
    "passing": "passed",
    "total": "total",
    "example": "total",
    "examples": "total",
    "tests run": "total",
    "test": "total",
    "tests": "total",
}


@dataclass
class Step:
    """One CI step: a name, its 1-based inclusive line range and its duration if known."""

    name: str
    start: int
    end: int
    seconds: float | None = None
    exit_code: int | None = None


@dataclass
class Analysis:
    """What the markers and hits say about the build as a whole."""

    steps: list[Step] = field(default_factory=list)
    failed_step: Step | None = None
    exit_code: int | None = None
    exit_line: int | None = None
    first_error: Hit | None = None
    failing_tests: list[str] = field(default_factory=list)
    test_counts: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    warnings: int = 0
    listings: list[tuple[int, int]] = field(default_factory=list)
    verdict: Verdict = field(default_factory=Verdict)

    def failure_window(self) -> tuple[int, int] | None:
        """Lines most likely to hold the cause: the failing step, ending at the exit status."""
        if self.failed_step is not None:
            end = self.exit_line or self.failed_step.end
            return self.failed_step.start, max(self.failed_step.start, end)
        if self.exit_line is not None:
            return 1, self.exit_line
        return None

    def to_json(self) -> dict[str, Any]:
        """The ``analysis`` object of the triage JSON contract."""
        first: dict[str, Any] | None = None
        if self.first_error is not None:
            hit = self.first_error
            first = {
                "line_start": hit.start,
                "line_end": hit.end,
                "family": hit.family,
                "kind": hit.kind,
                "text": hit.title,
            }
        return {
            "verdict": self.verdict.outcome,
            "verdict_evidence": self.verdict.evidence_json(),
            "failed_step": self.failed_step.name if self.failed_step else None,
            "exit_code": self.exit_code,
            "first_error": first,
            "failing_tests": self.failing_tests,
            "test_counts": self.test_counts,
            "errors": self.errors,
            "warnings": self.warnings,
            "steps": [
                {
                    "name": s.name,
                    "line_start": s.start,
                    "line_end": s.end,
                    "seconds": None if s.seconds is None else round(s.seconds, 3),
                    **({"exit_code": s.exit_code} if s.exit_code is not None else {}),
                }
                for s in self.steps
            ],
        }


class _StepBuilder:
    """Collects steps as markers appear; closes the open step when a new one starts."""

    def __init__(self, clock: Callable[[int], float | None]) -> None:
        self.steps: list[Step] = []
        self.open: Step | None = None
        self.clock = clock

    def start(self, name: str, line: int) -> None:
        # A step that closes because the next one starts ended on the previous line.
        self.close(line - 1)
        self.open = Step(name=name[:200], start=line, end=line)

    def close(self, line: int) -> None:
        step = self.open
        if step is None:
            return
        step.end = max(step.start, line)
        if step.seconds is None:
            began, ended = self.clock(step.start), self.clock(step.end)
            if began is not None and ended is not None:
                step.seconds = max(0.0, ended - began)
        self.steps.append(step)
        self.open = None


def analyse(raw: list[str], visible: list[str], hits: list[Hit]) -> Analysis:
    """Analyse a whole log held in memory.

    Args:
        raw: The decoded lines as read (markers such as Travis timers hide behind ``\\r``).
        visible: The same lines as a reader sees them (:func:`detect.visible_lines`).
        hits: The detectors' hits for the log.

    Returns:
        The steps, failing step, exit status, first error, failing tests and counts.
    """
    return fold(chunk_events(raw, visible), hits, summary_lines(visible), len(raw))


def summary_lines(visible: Iterable[str], *, maybe: Sequence[int] | None = None) -> list[str]:
    """The test runners' summary lines among ``visible``, in order.

    ``maybe``: the indexes, in order, of every line that may be one (a superset, e.g. from
    the scan's compiled pass), when known; else a big chunk is searched for them here.
    """
    lines = visible if isinstance(visible, list) else list(visible)
    # A big chunk: only the lines a one-pass compiled search cannot rule out are read here.
    if maybe is None and len(lines) >= MIN_LINES:
        maybe = lines_that_may_match(lines, _SUMMARY)
    # Every summary shape names tests, failures, passes, totals or examples.
    return [
        text
        for text in (lines if maybe is None else [lines[i] for i in maybe])
        if ("est" in text or "ail" in text or "ass" in text or "xampl" in text)
        and _SUMMARY.search(text)
    ]


def fold(
    events: Iterable[Event], hits: Sequence[Hit], summaries: Iterable[str], total: int
) -> Analysis:
    """Fold the markers of a whole log (all chunks, in any order) into its analysis.

    Args:
        events: Marker events of every chunk (:func:`detect._markers.chunk_events`).
        hits: The detectors' hits for the whole log, sorted by line.
        summaries: Test summary lines in log order (:func:`summary_lines`).
        total: Number of lines in the log.

    Returns:
        The steps, failing step, exit status, first error, failing tests and counts.
    """
    ordered = sorted(events, key=lambda e: e.line)  # stable: a line's events keep their order
    readings = sorted({e.line: e.value for e in ordered if e.kind == "stamp"}.items())
    stamp_lines = [n for n, _ in readings]

    def clock(line: int) -> float | None:
        at = bisect_right(stamp_lines, line) - 1
        return readings[at][1] if at >= 0 else None

    out = Analysis()
    builder = _StepBuilder(clock)
    sections: dict[str, float] = {}
    hint: int | None = None
    hint_line: int | None = None
    statuses: list[Event] = []
    listing_from: int | None = None
    for ev in ordered:
        step = builder.open
        if ev.kind == LISTING_END:
            if listing_from is not None:
                out.listings.append((listing_from, ev.line))
            listing_from = None
        elif ev.kind in STATUS_KINDS:
            statuses.append(ev)
        elif ev.kind == "start" or (
            ev.kind == "layout_step" and (step is None or step.name != ev.name)
        ):
            builder.start(ev.name, ev.line)
            listing_from = ev.line if ev.kind == "start" else None
        elif ev.kind == "timer" and step is not None:
            step.seconds = ev.value
        elif ev.kind == "section_start":
            sections[ev.name] = ev.value
            builder.start(ev.name, ev.line)
        elif ev.kind == "section_end" and ev.name in sections:
            started = sections.pop(ev.name)
            if step is not None and step.name == ev.name:
                step.seconds = ev.value - started
                builder.close(ev.line)
        elif ev.kind == "step_exit":
            if step is not None and step.name == ev.name:
                step.exit_code = ev.code
                builder.close(ev.line)
            if ev.code:
                _set_exit(out, builder, ev.code, ev.line, name=ev.name)
        elif ev.kind == "exit":
            _set_exit(out, builder, ev.code, ev.line, name=ev.name or None)
        elif ev.kind == "exit_hint" and hint is None:
            hint, hint_line = ev.code, ev.line
    builder.close(total)
    out.steps = builder.steps
    if out.exit_line is None and hint is not None:
        out.exit_code = hint  # a tool's own status, when no CI marker says more
    if out.failed_step is None and out.exit_line is not None:
        out.failed_step = next((s for s in out.steps if s.start <= out.exit_line <= s.end), None)
    _summarise_hits(out, hits, summaries)
    exit_line = out.exit_line if out.exit_line is not None else hint_line
    out.verdict = decide(
        statuses,
        exit_code=out.exit_code,
        exit_line=exit_line,
        exit_from_ci=out.exit_line is not None,
        failing_tests=len(out.failing_tests),
        test_counts=out.test_counts,
    )
    return out


def _set_exit(
    out: Analysis,
    builder: _StepBuilder,
    code: int,
    line: int,
    *,
    name: str | None = None,
) -> None:
    """Record the first failing exit status; later ones are consequences of it."""
    if out.exit_line is not None:
        return
    out.exit_code = code
    out.exit_line = line
    step = builder.open
    if step is not None and (name is None or step.name == name or name in step.name):
        step.exit_code = code
        out.failed_step = step
    elif builder.steps and name is not None:
        out.failed_step = next((s for s in reversed(builder.steps) if s.name == name), None)


def _distinct_tests(names: list[str]) -> list[str]:
    """Drop a short test name when a fuller id of the same test is also listed.

    pytest names a failure twice: ``test_x`` in the ``____ test_x ____`` header and
    ``tests/test_a.py::test_x`` in the short summary; one test must count once.
    """
    full = [n for n in names if "::" in n or "." in n or "/" in n]
    return [
        n
        for n in names
        if not any(other != n and other.endswith(("::" + n, "." + n, "/" + n)) for other in full)
    ]


def _is_script_text(out: Analysis, hit: Hit) -> bool:
    """Whether ``hit`` is a command as the log lists it, not something a command printed."""
    head = hit.head or hit.start
    if any(a <= head <= b for a, b in out.listings):
        return True
    return bool(_COMMAND_ECHO.match(hit.title))


def _containers(hits: Sequence[Hit]) -> set[int]:
    """Indices of test-file hits whose failing tests the same runner names after them.

    Counting per framework: jest prints ``FAIL file`` and then one ``●`` block per failing
    test; the file is the tests' container, so the tests count, not the file. A file with no
    test named after it (a suite that failed to load) still counts as one failure.
    """
    containers: set[int] = set()
    open_file: dict[str, int] = {}
    for index, hit in enumerate(hits):
        if hit.kind != "test_failure" or not hit.test:
            continue
        if "::" not in hit.test and _TEST_FILE.search(hit.test):
            open_file[hit.family] = index
        elif hit.family in open_file:
            containers.add(open_file[hit.family])
    return containers


def _summarise_hits(out: Analysis, hits: Sequence[Hit], summaries: Iterable[str]) -> None:
    seen: set[str] = set()
    window = out.failure_window()
    containers = _containers(hits)
    for index, hit in enumerate(hits):
        if hit.kind == "warning":
            out.warnings += hit.copies
            continue
        if hit.kind == "ci_marker":
            continue
        out.errors += hit.copies
        if index in containers:
            continue  # its tests are counted, and the first of them is the better first error
        if hit.test and hit.kind == "test_failure" and hit.test not in seen:
            seen.add(hit.test)
            out.failing_tests.append(hit.test)
        if out.first_error is None and hit.severity >= 0.5 and not _is_script_text(out, hit):
            if window is None or window[0] <= hit.start <= window[1]:
                out.first_error = hit
    if out.first_error is None:
        out.first_error = next(
            (
                h
                for h in hits
                if h.kind not in ("warning", "ci_marker") and not _is_script_text(out, h)
            ),
            None,
        )
    out.failing_tests = _distinct_tests(out.failing_tests)
    for text in summaries:
        _count_tests(text, out.test_counts)


def _count_tests(text: str, counts: dict[str, int]) -> None:
    """Replace ``counts`` with the figures of one summary line (the last summary wins)."""
    found: dict[str, int] = {}
    pairs = [(w, n) for n, w in _COUNT_AFTER.findall(text)] + _COUNT_BEFORE.findall(text)
    for word, number in pairs:
        field_name = _COUNT_FIELD.get(word.lower())
        if field_name is not None:
            # Failures and errors both count as failed tests (JUnit reports them apart).
            found[field_name] = (
                found.get(field_name, 0) + int(number) if field_name == "failed" else int(number)
            )
    if found:
        counts.clear()
        counts.update(found)
