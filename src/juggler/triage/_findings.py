"""The triage of one log: scan chunks (cpu workers), then merge, analyse and rank.

Two entry points share one code path:

* :func:`find_failures` triages a log held in memory (one chunk);
* :func:`scan_chunk` runs in a ``cpu`` worker on one chunk of a large log and returns a small
  picklable :class:`ChunkScan` (hits, marker events, key counts, and the text of only the
  lines a finding may show); :func:`merge_scans` folds the scans of all chunks, in any
  order, into the JSON contract. The parent never holds the whole log.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .analyse import fold, summary_lines
from .detect import Hit, detect_visible, visible_lines
from .detect._markers import Event, chunk_events
from .detect._templates import key_counter, keys, merge_counts, vocabulary
from .rank import MAX_FINDING_LINES, TAIL_REACH, novel_runs, rank

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from .detect._templates import Vocabulary

#: Longest excerpt line kept in the JSON, so one minified line cannot flood a report.
_EXCERPT_LINE_CHARS = 400
_EXIT_KINDS = frozenset({"exit", "step_exit", "exit_hint"})
_SUMMARIES_KEPT = 3


@dataclass(frozen=True, slots=True)
class ChunkScan:
    """What a worker returns for one chunk; everything is plain data and pickles cheaply.

    Attributes:
        offset: Whole-log number of the line before the chunk's first line.
        count: Lines in the chunk.
        hits: Detector hits, whole-log line numbers.
        events: CI marker events (:mod:`.detect._markers`).
        summaries: Test summary lines, in order.
        key_counts: Lines per key (mergeable by adding).
        lines: Visible text and key of each line a finding may show, by line number.
        novel: Runs of lines unseen in the baseline, or ``None`` without a baseline.
        novel_lines: Which of ``lines`` are unseen in the baseline.
    """

    offset: int
    count: int
    hits: tuple[Hit, ...]
    events: tuple[Event, ...]
    summaries: tuple[str, ...]
    key_counts: dict[str, int]
    lines: dict[int, tuple[str, str]]
    novel: tuple[tuple[int, int], ...] | None = None
    novel_lines: frozenset[int] = field(default_factory=frozenset)


def baseline_keys(baseline: Iterable[Sequence[str]]) -> frozenset[str]:
    """Keys of every line of the passing logs, for novelty."""
    seen: set[str] = set()
    for log in baseline:
        seen.update(keys(visible_lines(list(log))))
    seen.discard("")
    return frozenset(seen)


def scan_chunk(
    lines: list[str], *, offset: int = 0, baseline: frozenset[str] | None = None
) -> ChunkScan:
    """Scan one chunk of a log (pure; safe in a ``cpu`` worker).

    Args:
        lines: The chunk's lines as decoded, split on ``\\n``; chunks must end at line ends.
        offset: Whole-log number of the line before ``lines[0]``.
        baseline: Keys of passing logs (:func:`baseline_keys`), or ``None``.

    Returns:
        The chunk's scan. A step's tail that starts in the previous chunk is cut at the
        chunk's first line.
    """
    visible = visible_lines(lines)
    found = detect_visible(visible, offset=offset)
    events = chunk_events(lines, visible, offset)
    counter = key_counter()
    line_keys = [counter.add(text) if text.strip() else "" for text in visible]
    hits = _thin(found, line_keys, offset)
    wanted: set[int] = set()
    for hit in hits:
        wanted.update(range(hit.start, min(hit.end, hit.start + MAX_FINDING_LINES - 1) + 1))
    for ev in events:
        if ev.kind in _EXIT_KINDS and ev.code:  # a failing status: its step's tail may show
            wanted.update(range(max(offset + 1, ev.line - TAIL_REACH), ev.line + 1))
    runs: tuple[tuple[int, int], ...] | None = None
    novel_lines: frozenset[int] = frozenset()
    if baseline is not None:
        flags = [bool(k) and k not in baseline for k in line_keys]
        covered = {n for h in found for n in range(h.start, h.end + 1)}
        runs = tuple(novel_runs(visible, flags, covered, offset))
        for start, end in runs:
            wanted.update(range(start, end + 1))
        novel_lines = frozenset(n for n in wanted if flags[n - offset - 1])
    return ChunkScan(
        offset=offset,
        count=len(lines),
        hits=tuple(hits),
        events=tuple(events),
        # The last summary wins (Maven prints one per test class, then the total).
        summaries=tuple(summary_lines(visible)[-_SUMMARIES_KEPT:]),
        key_counts=counter.counts(),
        lines={n: (visible[n - offset - 1], line_keys[n - offset - 1]) for n in sorted(wanted)},
        novel=runs,
        novel_lines=novel_lines,
    )


def _thin(hits: list[Hit], line_keys: list[str], offset: int) -> list[Hit]:
    """Keep the first and last block of each repeated message; count the rest as copies.

    A log that prints one error a million times must not ship a million hits to the parent.
    Ranking shows a repeated message at its first occurrence and scores it by its best copy,
    which the last one (nearest the exit status) stands for. Test failures are grouped by
    test name, so no failing test is lost.
    """
    groups: dict[tuple[str, str, str], list[Hit]] = {}
    for hit in hits:
        head = hit.test or line_keys[(hit.head or hit.start) - offset - 1]
        groups.setdefault((hit.family, hit.kind, head), []).append(hit)
    kept: list[Hit] = []
    for group in groups.values():
        if len(group) <= 2:
            kept.extend(group)
        else:
            kept.append(replace(group[0], copies=sum(h.copies for h in group[:-1])))
            kept.append(group[-1])
    kept.sort(key=lambda h: (h.start, h.end))
    return kept


class _ScanView:
    """Ranking's view of the lines the chunk scans kept."""

    def __init__(self, scans: Sequence[ChunkScan], words: Vocabulary, baseline: bool) -> None:
        self.total = sum(s.count for s in scans)
        self._lines: dict[int, tuple[str, str]] = {}
        self._novel: set[int] = set()
        for scan in scans:
            self._lines.update(scan.lines)
            self._novel.update(scan.novel_lines)
        self._words = words
        self._baseline = baseline

    def text(self, n: int) -> str:
        entry = self._lines.get(n)
        return entry[0] if entry else ""

    def template(self, n: int) -> str:
        entry = self._lines.get(n)
        return self._words.template(entry[1]) if entry and entry[1] else ""

    def count(self, template: str) -> int:
        return self._words.count(template)

    def novel(self, n: int) -> bool | None:
        return (n in self._novel) if self._baseline else None


def merge_scans(scans: Iterable[ChunkScan], *, path: str) -> dict[str, Any]:
    """Fold the scans of every chunk of one log into the triage JSON contract.

    Args:
        scans: One scan per chunk, in any order, together covering the log.
        path: The name reported in each finding.

    Returns:
        ``{"findings": [...], "analysis": {...}}``.
    """
    ordered = sorted(scans, key=lambda s: s.offset)
    hits = [h for s in ordered for h in s.hits]
    events = [e for s in ordered for e in s.events]
    summaries = [t for s in ordered for t in s.summaries]
    total = sum(s.count for s in ordered)
    analysis = fold(events, hits, summaries, total)
    with_baseline = any(s.novel is not None for s in ordered)
    words = vocabulary(merge_counts([s.key_counts for s in ordered]))
    view = _ScanView(ordered, words, with_baseline)
    runs = [r for s in ordered for r in (s.novel or ())] if with_baseline else None
    findings = []
    for n, f in enumerate(rank(view, hits, analysis, runs), 1):
        excerpt = "\n".join(view.text(i)[:_EXCERPT_LINE_CHARS] for i in range(f.start, f.end + 1))
        findings.append(
            {
                "rank": n,
                "path": path,
                "line_start": f.start,
                "line_end": f.end,
                "kind": f.kind,
                "family": f.family,
                "title": f.title,
                "excerpt": excerpt,
                "score": f.score,
                "repeats": f.repeats,
            }
        )
    return {"findings": findings, "analysis": analysis.to_json()}


def find_failures(
    lines: list[str], *, path: str, baseline: Sequence[Sequence[str]] = ()
) -> dict[str, Any]:
    """Triage one failed log held in memory.

    Pure and picklable: a ``cpu`` worker can run it on decoded lines.

    Args:
        lines: The log as decoded, split on ``\\n`` (raw: ANSI and timestamps allowed).
        path: The name reported in each finding.
        baseline: Lines of logs of passing runs of the same job, if any.

    Returns:
        ``{"findings": [...], "analysis": {...}}``: findings ranked best first, each with
        1-based inclusive ``line_start``/``line_end`` in ``lines``.
    """
    known = baseline_keys(baseline) if baseline else None
    return merge_scans([scan_chunk(lines, offset=0, baseline=known)], path=path)
