"""The triage of one log: scan chunks (cpu workers), then merge, analyse and rank.

Two entry points share one code path:

* :func:`find_failures` triages a log held in memory (one chunk);
* :func:`scan_chunk` runs in a ``cpu`` worker on one chunk of a large log and returns a small
  picklable :class:`ChunkScan` (hits, marker events, key counts, and the text of only the
  lines a finding may show); :class:`ScanFold` folds the scans of all chunks as they
  arrive, in any order, into one scan, and :func:`merge_scans` turns scans into the JSON
  contract. The parent never holds the whole log, nor one scan per chunk of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .analyse import fold as fold_analysis
from .analyse import summary_lines
from .detect import Hit, visible_lines
from .detect._markers import Event, chunk_events
from .detect._scan import ALL_RULES, Blocks, scan_blocks
from .detect._templates import key_counter, keys, vocabulary
from .rank import DEFAULT_WEIGHTS, MAX_FINDING_LINES, TAIL_REACH, RankWeights, novel_runs, rank

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from .analyse import Analysis
    from .detect._templates import Vocabulary
    from .rank import Finding

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
        heads: For each hit, what makes it a copy of another: its test, else its first
            line's key. Repeats are thinned by it (:class:`ScanFold`).
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
    heads: tuple[str, ...] = ()


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
    # One compiled pass over a big chunk finds the blocks, marker lines and summary lines.
    found = scan_blocks(visible)
    events = chunk_events(lines, visible, offset, tells=found.markers)
    counter = key_counter()
    line_keys = counter.add_each(visible)
    hits, heads = _thinned(found, line_keys, offset)
    runs: tuple[tuple[int, int], ...] | None = None
    novel_lines: frozenset[int] = frozenset()
    if baseline is not None:
        flags = [bool(k) and k not in baseline for k in line_keys]
        first = offset + 1
        covered = {n for b in found.blocks for n in range(b[0] + first, b[1] + first + 1)}
        runs = tuple(novel_runs(visible, flags, covered, offset))
    wanted = {n for n in _shown_lines(hits, events, runs or ()) if n > offset}
    if baseline is not None:
        novel_lines = frozenset(n for n in wanted if flags[n - offset - 1])
    return ChunkScan(
        offset=offset,
        count=len(lines),
        hits=tuple(hits),
        events=tuple(events),
        # The last summary wins (Maven prints one per test class, then the total).
        summaries=tuple(summary_lines(visible, maybe=found.summaries)[-_SUMMARIES_KEPT:]),
        key_counts=counter.counts(),
        lines={n: (visible[n - offset - 1], line_keys[n - offset - 1]) for n in sorted(wanted)},
        novel=runs,
        novel_lines=novel_lines,
        heads=heads,
    )


def _thinned(found: Blocks, line_keys: list[str], offset: int) -> tuple[list[Hit], tuple[str, ...]]:
    """:class:`_Repeats`' thinning of the chunk's hits, and their heads.

    The same groups, firsts, lasts and copies, found on the plain blocks (in their order, by
    first then last line): only the kept blocks become :class:`Hit` objects. A hit-dense
    chunk has thousands of blocks and keeps a few hundred.
    """
    # (family, kind, head) -> [first, last or None, copies]
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for block in found.blocks:
        _, _, matched, rid, test = block
        rule = ALL_RULES[rid]
        name = (rule.family, rule.kind, test or line_keys[matched])
        group = groups.get(name)
        if group is None:
            groups[name] = [block, None, 1]
            continue
        group[2] += 1
        # Blocks of one family never share both lines, so in this order a later block
        # sorts after every earlier one: it is the group's last so far.
        group[1] = block
    kept: list[tuple[Hit, str]] = []
    for (_, _, head), (first, last, copies) in groups.items():
        if last is None:
            kept.append((found.hit(first, offset), head))
        else:
            kept.append((replace(found.hit(first, offset), copies=copies - 1), head))
            kept.append((found.hit(last, offset), head))
    kept.sort(key=lambda pair: (pair[0].start, pair[0].end))
    return [hit for hit, _ in kept], tuple(head for _, head in kept)


def _shown_lines(
    hits: Iterable[Hit], events: Iterable[Event], runs: Iterable[tuple[int, int]]
) -> set[int]:
    """Numbers of the lines a finding may show: hit blocks, failing steps' tails, novel runs."""
    wanted: set[int] = set()
    for hit in hits:
        wanted.update(range(hit.start, min(hit.end, hit.start + MAX_FINDING_LINES - 1) + 1))
    for ev in events:
        if ev.kind in _EXIT_KINDS and ev.code:  # a failing status: its step's tail may show
            wanted.update(range(max(1, ev.line - TAIL_REACH), ev.line + 1))
    for start, end in runs:
        wanted.update(range(start, end + 1))
    return wanted


class _Repeats:
    """Keeps the first and last block of each repeated message; counts the rest as copies.

    A log that prints one error a million times must not ship a million hits to the parent,
    nor keep them there. Ranking shows a repeated message at its first occurrence and scores
    it by its best copy, which the last one (nearest the exit status) stands for. Test
    failures are told apart by test name, so no failing test is lost. Hits may come in any
    order, and may be thinned already (a hit standing for ``copies`` blocks): thinning the
    thinned hits of every chunk gives what thinning the whole log at once would.
    """

    def __init__(self) -> None:
        # (family, kind, head) -> [first, last or None, copies of all the group's blocks]
        self._groups: dict[tuple[str, str, str], list[Any]] = {}

    def add(self, hit: Hit, head: str) -> None:
        group = self._groups.get((hit.family, hit.kind, head))
        if group is None:
            self._groups[(hit.family, hit.kind, head)] = [hit, None, hit.copies]
            return
        group[2] += hit.copies
        first, last = group[0], group[1]
        if (hit.start, hit.end) < (first.start, first.end):
            group[0], hit = hit, first  # the old first may still be the last one
        if last is None or (hit.start, hit.end) > (last.start, last.end):
            group[1] = hit

    def kept(self) -> tuple[list[Hit], tuple[str, ...]]:
        """The kept hits in line order, and the head of each."""
        kept: list[tuple[Hit, str]] = []
        for (_, _, head), (first, last, copies) in self._groups.items():
            if last is None:
                kept.append((first, head))
            else:
                kept.append((replace(first, copies=copies - last.copies), head))
                kept.append((last, head))
        kept.sort(key=lambda pair: (pair[0].start, pair[0].end))
        return [hit for hit, _ in kept], tuple(head for _, head in kept)


class ScanFold:
    """Folds the scans of one log's chunks, as they arrive and in any order, into one scan.

    What it holds is bounded by what a report can show, not by the log's size: repeated
    messages are thinned across chunks as within one, key counts are added up, and of the
    lines only those the kept hits, failing steps and novel runs may show are kept.
    """

    def __init__(self) -> None:
        self._repeats = _Repeats()
        self._offset: int | None = None
        self._count = 0
        self._events: list[Event] = []
        self._summaries: list[tuple[int, int, str]] = []  # (chunk offset, position, text)
        self._key_counts: dict[str, int] = {}
        self._lines: dict[int, tuple[str, str]] = {}
        self._novel: list[tuple[int, int]] | None = None
        self._novel_lines: set[int] = set()
        self._pruned_at = 0  # how many lines were left after the last pruning

    def add(self, scan: ChunkScan) -> None:
        self._offset = scan.offset if self._offset is None else min(self._offset, scan.offset)
        self._count += scan.count
        heads = scan.heads or tuple(h.test or h.title for h in scan.hits)
        for hit, head in zip(scan.hits, heads, strict=True):
            self._repeats.add(hit, head)
        self._events.extend(scan.events)
        self._summaries.extend((scan.offset, i, t) for i, t in enumerate(scan.summaries))
        self._summaries = sorted(self._summaries)[-_SUMMARIES_KEPT:]
        counts = self._key_counts
        for key, n in scan.key_counts.items():
            counts[key] = counts.get(key, 0) + n
        if scan.novel is not None:
            if self._novel is None:
                self._novel = []
            self._novel.extend(scan.novel)
        self._lines.update(scan.lines)
        self._novel_lines.update(scan.novel_lines)
        if len(self._lines) > 2 * self._pruned_at + 4096:
            self._prune()

    def _prune(self) -> None:
        """Drop the lines of hits that later copies replaced (amortised: the dict doubled)."""
        hits, _ = self._repeats.kept()
        wanted = _shown_lines(hits, self._events, self._novel or ())
        self._lines = {n: v for n, v in self._lines.items() if n in wanted}
        self._novel_lines &= wanted
        self._pruned_at = len(self._lines)

    def result(self) -> ChunkScan:
        """The whole log's scan so far, as if it had been scanned in one piece."""
        self._prune()
        hits, heads = self._repeats.kept()
        return ChunkScan(
            offset=self._offset or 0,
            count=self._count,
            hits=tuple(hits),
            events=tuple(sorted(self._events, key=lambda e: e.line)),
            summaries=tuple(t for _, _, t in self._summaries),
            key_counts=self._key_counts,
            lines=dict(sorted(self._lines.items())),
            novel=None if self._novel is None else tuple(sorted(self._novel)),
            novel_lines=frozenset(self._novel_lines),
            heads=heads,
        )


class _ScanView:
    """Ranking's view of the lines a scan kept."""

    def __init__(self, scan: ChunkScan, words: Vocabulary) -> None:
        self.total = scan.count
        self._lines = scan.lines
        self._novel = scan.novel_lines
        self._words = words
        self._baseline = scan.novel is not None

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


@dataclass(frozen=True, slots=True)
class PreparedScan:
    """Everything ranking reads about one log, so it can be ranked again with other weights."""

    view: _ScanView
    hits: tuple[Hit, ...]
    analysis: Analysis
    novel: tuple[tuple[int, int], ...] | None

    def rank(self, weights: RankWeights = DEFAULT_WEIGHTS) -> list[Finding]:
        """The ranked findings (see :func:`.rank.rank`)."""
        return rank(self.view, self.hits, self.analysis, self.novel, weights=weights)


def prepare_scans(scans: Iterable[ChunkScan]) -> PreparedScan:
    """Fold the scans of one log's chunks and analyse the build, ready for ranking."""
    fold = ScanFold()
    for part in scans:
        fold.add(part)
    scan = fold.result()
    analysis = fold_analysis(scan.events, scan.hits, scan.summaries, scan.count)
    view = _ScanView(scan, vocabulary(scan.key_counts))
    return PreparedScan(view, scan.hits, analysis, scan.novel)


def merge_scans(scans: Iterable[ChunkScan], *, path: str) -> dict[str, Any]:
    """Turn the scans of one log's chunks into the triage JSON contract.

    Args:
        scans: One scan per chunk, in any order, together covering the log (or the one
            scan a :class:`ScanFold` made of them).
        path: The name reported in each finding.

    Returns:
        ``{"findings": [...], "analysis": {...}}``.
    """
    prepared = prepare_scans(scans)
    view, analysis = prepared.view, prepared.analysis
    findings = []
    for n, f in enumerate(prepared.rank(), 1):
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
                # Summary lines elsewhere in the log that report this same failure.
                "cites": [{"line": n, "text": view.text(n)[:_EXCERPT_LINE_CHARS]} for n in f.cites],
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
        1-based inclusive ``line_start``/``line_end`` in ``lines``; credentials in their
        text are replaced by ``[redacted:KIND]`` markers.
    """
    from ._secrets import redact_scan  # it imports this module's types

    known = baseline_keys(baseline) if baseline else None
    # Redacted as the pipeline's workers do: no caller of the library sees a credential.
    scan = redact_scan(scan_chunk(lines, offset=0, baseline=known), lines)
    return merge_scans([scan], path=path)
