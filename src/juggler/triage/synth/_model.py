"""The memo: plain frozen data that every renderer and delivery channel reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, final


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class MemoFinding:
    """One ranked block of the log, as the memo shows it.

    Attributes:
        rank: 1 is the most likely cause.
        path: The log the lines are in.
        line_start, line_end: 1-based inclusive lines.
        kind, family: What the detector saw (``test_failure``, ``pytest``).
        title: One line.
        excerpt: The lines themselves (untrusted log text; renderers escape it).
        score: The ranker's score in [0, 1].
        novel: True when the lines never occur in the passing baseline.
        href: A link to the lines (``<log_url>#L12-L20``), or ``None`` without a log URL.
    """

    rank: int
    path: str
    line_start: int
    line_end: int
    kind: str
    family: str
    title: str
    excerpt: str
    score: float
    novel: bool = False
    href: str | None = None

    @property
    def location(self) -> str:
        """``path:start`` or ``path:start-end``."""
        if self.line_end > self.line_start:
            return f"{self.path}:{self.line_start}-{self.line_end}"
        return f"{self.path}:{self.line_start}"


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class MemoCause:
    """A known cause the knowledge base matched, with its fix."""

    name: str
    category: str
    description: str
    fix: str
    links: tuple[str, ...] = ()
    evidence: tuple[tuple[int, int], ...] = ()


#: Below this similarity a past incident is too unlike the failure to act on: the memo's table
#: lists it, but the terminal and the next steps do not offer it. Chosen leaving each LogChunks
#: repository out in turn (``bench/similarity.py``): 0.6 every time. At 0.6, 92% of the best
#: matches of the same repository and failure category clear it, and 12% of the best matches
#: from other repositories (while at 0.2, 84% of those strangers would).
WEAK_MATCH = 0.6


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class MemoIncident:
    """A similar past incident and how it was resolved.

    Attributes:
        score: The retrieval's rank-fusion score: it orders results, it is no percentage.
        similarity: How alike the two failures are, 0..1 (shown as a percentage), or
            ``None`` when the knowledge base did not say.
        when: When the incident was recorded (``2026-12-03 07:05 UTC``), or ``""``.
    """

    score: float
    project: str
    cause: str
    fix: str
    link: str
    when: str
    similarity: float | None = None

    @property
    def relevant(self) -> bool:
        """Alike enough to act on (or of unknown similarity, from an older document)."""
        return self.similarity is None or self.similarity >= WEAK_MATCH

    @property
    def match(self) -> str:
        """The similarity as people read it (``"87%"``), or ``""`` when unknown."""
        return "" if self.similarity is None else f"{round(self.similarity * 100)}%"


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class TimingRow:
    """One row of the timing table.

    Attributes:
        name: A CI step or a triage stage.
        source: ``"step"`` (from the log) or ``"stage"`` (this triage run).
        seconds: Duration, or ``None`` when the log has no timestamps.
        failed: True for the step that failed.
    """

    name: str
    source: Literal["step", "stage"]
    seconds: float | None
    failed: bool = False


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Memo:
    """What a triage concludes, ready to render.

    Everything that came from the log, the knowledge base or an LLM is untrusted text: the
    renderers escape it for their format (RELIABILITY.md M11, S9).

    Attributes:
        headline: One line, e.g. "Build failed in step `test`: 3 pytest failures ...".
        failed: Whether the build failed (``verdict == "failed"``).
        verdict: ``failed``, ``passed`` or ``unknown`` (``analysis.verdict``); when not
            given, ``failed`` or ``passed`` after ``failed``.
        failed_step: The name of the failing CI step, if known.
        exit_code: The build's exit code, if known.
        first_error: One line: the first error and where it is.
        failing_tests: Test ids, in log order.
        findings: The top findings.
        causes: Known causes that matched, with fixes.
        incidents: Similar past incidents.
        novel: Findings whose lines are new against the baseline.
        baseline_used: Whether a passing baseline was compared.
        timings: Steps of the build and stages of this triage run.
        next_steps: Suggested actions, most useful first.
        summary: A narrative from the LLM (untrusted, capped), or ``None``.
        source: ``"extractive"`` or ``"llm"``.
        notes: Things the reader should know (an LLM fallback, truncation).
    """

    headline: str
    failed: bool
    verdict: Literal["failed", "passed", "unknown"] | None = None
    failed_step: str | None = None
    exit_code: int | None = None
    first_error: str | None = None
    failing_tests: tuple[str, ...] = ()
    findings: tuple[MemoFinding, ...] = ()
    causes: tuple[MemoCause, ...] = ()
    incidents: tuple[MemoIncident, ...] = ()
    novel: tuple[MemoFinding, ...] = ()
    baseline_used: bool = False
    timings: tuple[TimingRow, ...] = ()
    next_steps: tuple[str, ...] = ()
    summary: str | None = None
    source: Literal["extractive", "llm"] = "extractive"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict is None:
            object.__setattr__(self, "verdict", "failed" if self.failed else "passed")

    @property
    def outcome(self) -> str:
        """The verdict, never ``None``."""
        return self.verdict or ("failed" if self.failed else "passed")

    def to_json(self) -> dict[str, Any]:
        """The ``memo`` object of the JSON output (plain JSON types only)."""

        def finding(f: MemoFinding) -> dict[str, Any]:
            return {
                "rank": f.rank,
                "path": f.path,
                "line_start": f.line_start,
                "line_end": f.line_end,
                "kind": f.kind,
                "family": f.family,
                "title": f.title,
                "excerpt": f.excerpt,
                "score": f.score,
                "novel": f.novel,
                "href": f.href,
            }

        return {
            "headline": self.headline,
            "failed": self.failed,
            "verdict": self.verdict,
            "failed_step": self.failed_step,
            "exit_code": self.exit_code,
            "first_error": self.first_error,
            "failing_tests": list(self.failing_tests),
            "findings": [finding(f) for f in self.findings],
            "causes": [
                {
                    "name": c.name,
                    "category": c.category,
                    "description": c.description,
                    "fix": c.fix,
                    "links": list(c.links),
                    "evidence": [{"line_start": a, "line_end": b} for a, b in c.evidence],
                }
                for c in self.causes
            ],
            "similar_incidents": [
                {
                    "score": i.score,
                    "similarity": i.similarity,
                    "project": i.project,
                    "cause": i.cause,
                    "fix": i.fix,
                    "link": i.link,
                    "when": i.when,
                }
                for i in self.incidents
            ],
            "novel": [finding(f) for f in self.novel],
            "baseline_used": self.baseline_used,
            "timings": [
                {"name": t.name, "source": t.source, "seconds": t.seconds, "failed": t.failed}
                for t in self.timings
            ],
            "next_steps": list(self.next_steps),
            "summary": self.summary,
            "source": self.source,
            "notes": list(self.notes),
        }
