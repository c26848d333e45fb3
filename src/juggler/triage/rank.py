"""Rank detector hits and template statistics into a few findings.

A finding is a small block of consecutive lines (at most :data:`MAX_FINDING_LINES`).
Candidates are the detectors' hits; the last paragraph a failing step printed before its
exit status (scripts that check something and ``exit 1`` print their reason there, in no
format a detector knows); and, when passing logs are given, runs of lines whose keys never
occur in them. Each candidate is scored on principled signals, all in 0..1:

* **severity** of its family and kind (a compiler error or failing test outranks a warning;
  lines that only say a child process failed, such as ``make: *** Error 1`` or
  ``npm ERR! Failed at``, rank low), with a bonus for the *first* failing test, compiler
  error or exception of a family in the failing step (later ones are often its cascade);
* **position**: inside the failing step, before its exit status, rises; after the exit
  status (cleanup, uploads) falls; without CI markers, late in the log rises;
* **rarity** of its templates in this log (a message printed once is more telling than one
  printed a thousand times);
* **novelty** against the baseline: the share of its lines whose keys never occur in the
  passing runs (logreduce's and LogJuicer's idea). With a baseline, novelty weighs most.

Repeats of one message collapse into its first occurrence (ranked by the best copy), and a
candidate overlapping a better one is dropped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .detect.generic import is_good_news

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from .analyse import Analysis
    from .detect import Hit

#: Longest block a finding shows; the head of a long block carries its message.
MAX_FINDING_LINES = 10
#: Severity added to the first block of each family inside the failing step.
FIRST_OF_FAMILY_BONUS = 0.1
# Kinds whose later blocks tend to be echoes or cascades of the first one.
_CASCADING_KINDS = frozenset({"test_failure", "compile_error", "exception"})
# Kinds that name a failure themselves, never only a child's status.
_FAILURE_KINDS = frozenset({"test_failure", "compile_error"})
#: Lines of a failing step's last paragraph offered as a candidate, and their severity.
TAIL_LINES = 5
#: How far before the exit status the tail is looked for, and in how many paragraphs.
TAIL_REACH = 60
TAIL_PARAGRAPHS = 3
# Words with which a tool reports what went wrong in its own format.
_TELLS = re.compile(
    r"\b(?:errors?|fail(?:ed|ing|ures?|s)?|issues?|problems?|invalid|missing|not found|cannot"
    r"|can't|could not|couldn't|unable|denied|refused|exceeded|mismatch(?:es)?|differ(?:s|ent)?"
    r"|expected|violations?|broken|unexpected|not ok|wrong)\b",
    re.IGNORECASE,
)
#: Severity of a run of novel lines that no detector recognised.
NOVEL_SEVERITY = 0.15
#: Hits at or below this severity only report that a child process failed.
EPILOGUE_SEVERITY = 0.3
_FRAME = re.compile(r"^\s+at |^npm ERR!|^\s*$|^\$ ")
# npm's echo of a script it runs: "> name@1.2.0 test /path/to/package", then "> the command".
# It announces what ran, never why it failed.
_NPM_SCRIPT = re.compile(r"^> \S+@\d\S* \S+")
# A message that only says a child process or a task failed: the cause was printed before it
# (``Error: Process exited with code: 5``, ``CalledProcessError: ... returned non-zero exit
# status 1``, ``rake aborted!``, ``error Command failed with exit code 3.``).
_CHILD_FAILED = re.compile(
    r"exit(?:ed)? (?:with )?(?:exit )?(?:code|status)\b|returned non-zero|non-zero exit"
    r"|process (?:exited|finished) with|command failed|calledprocesserror|\baborted!"
    r"|errored after|exited with \d",
    re.IGNORECASE,
)
#: Severity of an exception's message line printed without a stack: that of any line that
#: says "error" (the generic rule's).
BARE_ERROR_SEVERITY = 0.4
#: Severity of a tool's warning when the failing step treats warnings as errors.
WERROR_WARNING_SEVERITY = 0.7
# Candidates that re-present lines rather than detect a block.
_VIEW_FAMILIES = frozenset({"step_tail", "novel"})
#: Findings returned at most.
MAX_FINDINGS = 10

# A line its tool tags as a warning ("W: Failed to fetch ...", "WARNING: ... failed") did not
# fail the build, whatever words follow the tag.
_WARNING_TAG = re.compile(r"^\W{0,3}(?:W|WARN|WARNING)(?::|\]|\s+-)\s", re.IGNORECASE)
# ... unless a line of its own block is tagged as an error: git's "warning: Could not find
# remote branch x" is followed by "fatal: Remote branch x not found", and the block is fatal.
_ERROR_TAG = re.compile(r"^\W{0,3}(?:E|ERR|ERROR|FATAL)(?::|\]|\s+-)\s", re.IGNORECASE)

_KIND_BONUS = {
    "test_failure": 0.05,
    "compile_error": 0.05,
    "exception": 0.03,
    "build_error": 0.0,
    "dependency": 0.03,
    "infrastructure": 0.03,
    "lint": 0.0,
    "error": 0.0,
    "ci_marker": -0.15,
    "warning": -0.1,
}


@dataclass(frozen=True, slots=True)
class RankWeights:
    """How the signals combine into a score (chosen by cross-validation across projects,
    bench/triage_cv.py). Each tuple is (severity, position, rarity[, novelty])."""

    plain: tuple[float, float, float] = (0.8, 0.1, 0.1)
    #: Factor on the score of a block outside the failing step, when the step is known: a
    #: step that exited 0 printed it, so it did not fail the build however loud it is.
    outside_step: float = 1.0
    #: Severity of a failing step's last paragraph (no detector recognised it).
    tail_severity: float = 0.4
    with_baseline: tuple[float, float, float, float] = (0.32, 0.2, 0.08, 0.4)


DEFAULT_WEIGHTS = RankWeights()


class LineView(Protocol):
    """What ranking reads about lines: a whole log in memory, or what chunk scans kept.

    Only lines of candidate blocks, and the lines before an exit status, are ever asked for.
    """

    @property
    def total(self) -> int:
        """Number of lines in the log."""
        ...

    def text(self, n: int) -> str:
        """Visible text of 1-based line ``n``."""
        ...

    def template(self, n: int) -> str:
        """Template of line ``n`` within this log ("" for a blank line)."""
        ...

    def count(self, template: str) -> int:
        """How many lines of this log have ``template`` (at least 1)."""
        ...

    def novel(self, n: int) -> bool | None:
        """Whether line ``n``'s key never occurs in the baseline; ``None`` without one."""
        ...


@dataclass(frozen=True, slots=True)
class Finding:
    """One ranked block, 1-based inclusive lines."""

    start: int
    end: int
    kind: str
    family: str
    title: str
    score: float
    repeats: int = 1
    cites: tuple[int, ...] = ()


@dataclass
class _Candidate:
    start: int
    end: int
    kind: str
    family: str
    severity: float
    title: str
    score: float = 0.0
    key: str = ""
    repeats: int = 1
    head: int = 0
    test: str = ""
    cites: tuple[int, ...] = ()


def _warnings_fail(hits: Sequence[Hit], window: tuple[int, int] | None) -> bool:
    """Whether the failing step says its warnings are errors (``-Werror`` and kin)."""
    return any(
        h.family == "werror" and (window is None or window[0] <= h.start <= window[1]) for h in hits
    )


def _only_warnings(hits: Sequence[Hit], window: tuple[int, int] | None) -> bool:
    """Whether a tool's warnings are all the failing step reports (a linter run strictly).

    Then they are why it failed. Lines matched only by words ("generic") do not count as a
    report either way: a linter's closing tally says "violation" too.
    """
    if window is None:
        return False
    inside = [
        h
        for h in hits
        if window[0] <= h.start <= window[1] and h.family != "generic" and h.kind != "ci_marker"
    ]
    return any(h.kind == "warning" for h in inside) and all(
        h.kind == "warning" or h.severity <= EPILOGUE_SEVERITY for h in inside
    )


def _from_hits(
    hits: Sequence[Hit], window: tuple[int, int] | None, *, warnings_fail: bool = False
) -> list[_Candidate]:
    out = []
    first_seen: set[tuple[str, str]] = set()
    for hit in hits:
        base = hit.severity
        if hit.family == "node" and hit.kind == "exception" and hit.end == hit.start:
            # Node's exception is known by its stack; an "Error: ..." line without one is
            # any tool's message (a package manager's "Error: x is already installed").
            base = BARE_ERROR_SEVERITY
        failing_warning = warnings_fail and hit.kind == "warning" and hit.family != "generic"
        if failing_warning:
            base = WERROR_WARNING_SEVERITY
        severity = base * (0.7 + 0.3 * hit.confidence)
        # The first block of a family (in the failing step) is usually the cause; later
        # ones of the same family are often its echoes (summaries, cascades). Warnings that
        # fail the step are its errors, and cascade like them.
        key = (hit.family, hit.kind)
        if (
            (hit.kind in _CASCADING_KINDS or failing_warning)
            and base >= 0.5  # summaries ("Tests run: ...") are not the first failure
            and key not in first_seen
            and (window is None or window[0] <= hit.start <= window[1])
        ):
            first_seen.add(key)
            severity += FIRST_OF_FAMILY_BONUS
        candidate = _Candidate(hit.start, hit.end, hit.kind, hit.family, severity, hit.title)
        candidate.repeats = hit.copies
        candidate.head = hit.head
        candidate.test = failure_key(hit.test) if hit.kind == "test_failure" else ""
        out.append(candidate)
    return out


def novel_runs(
    visible: Sequence[str], novel: Sequence[bool], covered: Collection[int], offset: int = 0
) -> list[tuple[int, int]]:
    """Runs of novel lines (gaps of up to two lines allowed) that no hit already covers.

    Args:
        visible: Visible lines of a log or of one chunk.
        novel: One flag per line: its key never occurs in the baseline.
        covered: Whole-log line numbers inside detector hits.
        offset: Whole-log number of the line before ``visible[0]``.

    Returns:
        1-based inclusive whole-log ranges, each at most :data:`MAX_FINDING_LINES` long.
    """
    out: list[tuple[int, int]] = []
    run: list[int] = []
    for i, is_novel in enumerate(novel):
        n = offset + i + 1
        if is_novel and n not in covered and visible[i].strip():
            if run and (n - run[-1] > 2 or len(run) >= MAX_FINDING_LINES):
                out.append((run[0], run[-1]))
                run.clear()
            run.append(n)
        elif run and n - run[-1] > 2:
            out.append((run[0], run[-1]))
            run.clear()
    if run:
        out.append((run[0], run[-1]))
    return out


def _step_tail(
    view: LineView,
    analysis: Analysis,
    epilogue: Collection[int],
    child_failed: Collection[int] = (),
    reported: Collection[int] = (),
) -> _Candidate | None:
    """The last few lines a failing step printed before its exit status.

    Scripts that check something and ``exit 1`` (a diff, a link checker, a linter with its
    own format) print their reason last and in no format a detector knows.
    """
    window = analysis.failure_window()
    if window is None or analysis.exit_line is None:
        return None
    first, last = window
    paragraphs: list[list[int]] = []  # latest first, each with its lines latest first
    current: list[int] = []
    n = last - 1  # 1-based line before the exit status
    while n >= first and n >= last - TAIL_REACH and len(paragraphs) < TAIL_PARAGRAPHS:
        if is_banner(view.text(n)):
            pass  # a section frame, inside or around a paragraph
        elif n in child_failed:
            # What follows a child's failure report is the wrapper's trailer ("info Visit
            # ... for documentation"): the tool's own last words come before it.
            paragraphs.clear()
            current = []
        elif not _is_epilogue(view, n, epilogue):
            current.append(n)
        elif current:
            # Wrappers' epilogue ("npm ERR! ...", "make: *** ... Error 1", the runner's stack
            # frames) and blank lines separate paragraphs.
            paragraphs.append(current)
            current = []
        n -= 1
    if current and len(paragraphs) < TAIL_PARAGRAPHS:
        paragraphs.append(current)
    paragraphs = [p for p in paragraphs if not all(k in reported for k in p)]
    if not paragraphs:
        return None  # nothing a detector did not already report
    # The tool's reason is the last paragraph that speaks of a failure ("Issues :-(", "size
    # limit exceeded"), not a closing note ("Wrote results to report.json") after it.
    chosen = next((p for p in paragraphs if any(_TELLS.search(view.text(k)) for k in p)), None)
    if chosen is None or chosen is paragraphs[0]:
        picked = paragraphs[0][:TAIL_LINES]  # its last lines, nearest the exit status
    else:
        lines = sorted(chosen)
        telling = next(k for k in lines if _TELLS.search(view.text(k)))
        picked = [k for k in lines if k >= telling][:TAIL_LINES]
    start, end = min(picked), max(picked)
    title = view.text(start).strip()[:200]
    return _Candidate(start, end, "error", "step_tail", DEFAULT_WEIGHTS.tail_severity, title)


def _is_epilogue(view: LineView, n: int, epilogue: Collection[int]) -> bool:
    text = view.text(n)
    return (
        n in epilogue
        or bool(_FRAME.match(text))
        or bool(_NPM_SCRIPT.match(text))
        or (text.startswith("> ") and bool(_NPM_SCRIPT.match(view.text(n - 1))))
    )


def _position(c: _Candidate, analysis: Analysis, total: int) -> float:
    window = analysis.failure_window()
    if window is None:
        # No CI markers: builds usually die near the end of their output.
        return 0.3 + 0.7 * (c.end / max(total, 1)) ** 2
    first, last = window
    if c.start > last:
        # After the exit status: cleanup and post-build steps, rarely the cause.
        return 0.15 if c.start - last > 3 else 0.3
    if c.end < first:
        return 0.25
    # Inside the failing step what matters is being there; closeness to the exit status only
    # breaks ties (consequence lines sit closest to it and are demoted by severity instead).
    distance = max(0, last - c.end)
    return 0.75 + 0.25 * math.exp(-distance / 200.0)


def rank(
    view: LineView,
    hits: Sequence[Hit],
    analysis: Analysis,
    novel: Sequence[tuple[int, int]] | None = None,
    *,
    weights: RankWeights = DEFAULT_WEIGHTS,
) -> list[Finding]:
    """Rank hits into findings.

    Args:
        view: The log's lines (text, template, template counts, novelty).
        hits: Detector hits (1-based inclusive line ranges), sorted by line.
        analysis: The build analysis (failing step, exit line).
        novel: Runs of novel lines (:func:`novel_runs`) when a baseline was given, else
            ``None``; novelty then also weighs every candidate.

    Returns:
        At most :data:`MAX_FINDINGS` findings, best first, duplicates collapsed.
    """
    window = analysis.failure_window()
    candidates = _from_hits(
        hits, window, warnings_fail=_warnings_fail(hits, window) or _only_warnings(hits, window)
    )
    exit_line = analysis.exit_line
    for c in candidates:
        # A block that runs on into the CI's exit status ("error while loading shared
        # libraries" and, on the next line, "The command ... exited with 127") ends before
        # it: the status is the CI's line, not the tool's, and would mark the block as a
        # mere child's failure below.
        if exit_line is not None and c.start < exit_line <= c.end:
            c.end = exit_line - 1
    child_failed = {h.head or h.start for h in hits if _CHILD_FAILED.search(h.title)}
    for c in candidates:
        # A block whose message, or whose last line (a traceback ending in the child's
        # status), only reports a child's failure is the wrapper's epilogue, not the cause.
        if c.kind not in _FAILURE_KINDS and (
            (c.head or c.start) in child_failed or c.end in child_failed
        ):
            c.severity = min(c.severity, EPILOGUE_SEVERITY)
            child_failed.update(range(c.start, c.end + 1))
    # Warnings are low but no wrapper's words: a tool's last warnings can be its reason.
    epilogue = {
        n
        for h in hits
        if h.severity <= EPILOGUE_SEVERITY and h.kind != "warning"
        for n in range(h.start, h.end + 1)
    }
    epilogue.update(child_failed)
    reported = {
        n for h in hits if h.severity > EPILOGUE_SEVERITY for n in range(h.start, h.end + 1)
    }
    tail = _step_tail(view, analysis, epilogue, child_failed, reported)
    if tail is not None:
        tail.severity = weights.tail_severity
        candidates.append(tail)
    for start, end in novel or ():
        title = view.text(start).strip()[:200]
        candidates.append(_Candidate(start, end, "error", "novel", NOVEL_SEVERITY, title))
    candidates = [c for c in candidates if not _only_banners(view, c)]
    for c in candidates:
        _score(c, view, analysis, weights, with_baseline=novel is not None)
    return _collapse(_one_per_test(candidates))


def _score(
    c: _Candidate, view: LineView, analysis: Analysis, weights: RankWeights, *, with_baseline: bool
) -> None:
    lines = range(c.start, min(c.end, c.start + MAX_FINDING_LINES - 1) + 1)
    head_line = c.head or c.start
    head = view.template(head_line)
    shown = [n for n in lines if view.template(n)] or [head_line]
    c.key = f"{c.kind}:{head}"
    head_rarity = 1.0 / view.count(head) if head else 0.0
    mean_rarity = sum(1.0 / view.count(view.template(n)) for n in shown) / len(shown)
    rarity = 0.6 * head_rarity + 0.4 * mean_rarity
    severity = min(1.0, c.severity + _KIND_BONUS.get(c.kind, 0.0))
    if c.family == "generic" and is_good_news(c.title):
        severity *= 0.3
    if _WARNING_TAG.match(view.text(head_line)) and not any(
        _ERROR_TAG.match(view.text(n)) for n in lines
    ):
        severity *= 0.5
    position = _position(c, analysis, view.total)
    if with_baseline:
        share = sum(1 for n in shown if view.novel(n)) / len(shown)
        novelty = 0.5 * share + 0.5 * (1.0 if view.novel(head_line) else 0.0)
        ws, wp, wr, wn = weights.with_baseline
        c.score = ws * severity + wp * position + wr * rarity + wn * novelty
    else:
        ws, wp, wr = weights.plain
        c.score = ws * severity + wp * position + wr * rarity
    window = analysis.failure_window()
    if window is not None and (c.end < window[0] or c.start > window[1] + 3):
        c.score *= weights.outside_step


# A banner: a line of rule characters, or a short title framed by them
# ("===== short test summary info =====", "----- FAILURES -----"). It announces, never explains.
_BANNER = re.compile(r"^\s*(?:[=\-_*#~+]{3,}\s*(?:[^=\-_*#~+].{0,78}?\s*[=\-_*#~+]{3,})?)\s*$")
# "1) ", "2) " numbering of listed failures, and a trailing colon, are no part of a test's name.
_TEST_NUMBER = re.compile(r"^\s*\d+\)\s*|:\s*$")


# A progress line ("tests/test_a.py ..F.  [ 62%]", "[ 40%] Building CXX object"): it counts
# work done, and the failures it marks are reported in full elsewhere.
_PROGRESS = re.compile(r"\[\s*\d{1,3}%\]\s*$|^\s*\[\s*\d{1,3}%\]")


def is_banner(text: str) -> bool:
    """Whether a line only frames a section (rule characters around a short title)."""
    return bool(_BANNER.match(text))


def _announces(text: str) -> bool:
    """A banner, a blank or a progress line: it frames or counts, never explains."""
    return not text.strip() or is_banner(text) or bool(_PROGRESS.search(text))


def failure_key(name: str) -> str:
    """A test's name as both its summary line and its report block spell it.

    ``tests/test_api.py::test_x`` (a summary) and ``test_x`` (a block header) are one test, so
    the key is the last ``::``-separated part, without mocha's ``1)`` numbering.
    """
    name = _TEST_NUMBER.sub("", name.strip()).strip()
    return name.rsplit("::", 1)[-1].split(" - ", 1)[0].strip()


def _only_banners(view: LineView, c: _Candidate) -> bool:
    """A candidate whose every line is a banner, blank or progress line: never a finding.

    A block that opens with a banner (pytest's ``____ test_x ____``) and goes on to explain
    is kept; a lone ``==== short test summary info ====`` or ``=== 3 failed in 2s ===`` is not.
    """
    lines = range(c.start, min(c.end, c.start + MAX_FINDING_LINES - 1) + 1)
    return all(_announces(view.text(n)) for n in lines)


def _one_per_test(candidates: list[_Candidate]) -> list[_Candidate]:
    """One finding per failing test: its detailed block, citing the summary lines that echo it.

    A test runner reports a failure twice: a block with the assertion and traceback, and a
    one-line summary (``FAILED tests/x.py::test_y - assert ...``). The block is kept (it has
    the most lines; ties keep the earlier), ranked by the best score of the pair, and the
    summary's line is cited in it.
    """
    by_test: dict[str, list[_Candidate]] = {}
    for c in candidates:
        if c.test:
            by_test.setdefault(c.test, []).append(c)
    dropped: set[int] = set()
    for group in by_test.values():
        if len(group) < 2:
            continue
        keep = max(group, key=lambda c: (c.end - c.start, -c.start))
        for c in group:
            if c is not keep:
                dropped.add(id(c))
                keep.cites = (*keep.cites, c.start)
                keep.score = max(keep.score, c.score)
        keep.cites = tuple(sorted(set(keep.cites)))
    return [c for c in candidates if id(c) not in dropped]


def _collapse(candidates: list[_Candidate]) -> list[Finding]:
    """Collapse repeats of one message into its first occurrence, then drop overlaps.

    A repeated message is shown where it first appeared (later copies are echoes or the same
    failure again) and ranked by its best-scoring copy.
    """
    groups: dict[str, _Candidate] = {}
    for c in sorted(candidates, key=lambda c: (c.start, c.end)):
        first = groups.get(c.key)
        if first is None:
            groups[c.key] = c
        else:
            if c.family not in _VIEW_FAMILIES:  # a tail or novel run is no extra copy
                first.repeats += c.repeats
            first.score = max(first.score, c.score)
    ordered = sorted(groups.values(), key=lambda c: (-c.score, c.start, c.end))
    kept: list[_Candidate] = []
    for c in ordered:
        end = min(c.end, c.start + MAX_FINDING_LINES - 1)
        # Blocks that touch a better one are usually its continuation; a step's tail is not:
        # it ends where the wrappers' epilogue begins.
        gap = 0 if c.family in _VIEW_FAMILIES else 1
        if any(
            c.start <= k.end + gap
            and k.start <= end + gap
            # Two failing tests reported back to back are two failures, not one.
            and not (c.test and k.test and c.test != k.test and c.start > k.end)
            and not (c.test and k.test and c.test != k.test and k.start > end)
            for k in kept
        ):
            continue
        c.end = end
        kept.append(c)
        if len(kept) >= MAX_FINDINGS:
            break
    return [
        Finding(
            c.start,
            c.end,
            c.kind,
            c.family,
            c.title,
            round(min(1.0, c.score), 4),
            c.repeats,
            c.cites,
        )
        for c in kept
    ]
