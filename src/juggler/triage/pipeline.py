"""``triage()``: the failure-finding pipeline, built on the public engine API.

::

    sources (io, flat) ─► chunks (io, flat) ─► scan (cpu) ─► group by log (reduce)
        ─► merge + rank per log (cpu) ─► one triage document

Large logs travel to the workers by reference (path + byte range), never as pickled text;
the parent only ever holds the compact scans the workers send back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import juggler

from ._errors import InputError
from ._findings import ChunkScan, baseline_keys, merge_scans, scan_chunk
from .ingest import DEFAULT_LIMITS, FileSource, Limits, MemorySource, iter_sources, read_document
from .scrape import Chunk, plan_chunks
from .scrape._chunks import read_chunk

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Sequence

    from .ingest import Source

#: Findings kept in the document, across every input.
MAX_FINDINGS = 20
_COUNT_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanJob:
    """One chunk for a worker: where to read it, its first line's number, the baseline."""

    chunk: Chunk
    first_line: int
    baseline: frozenset[str] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """What the planning stage learned of one input: its chunks, or why it was refused."""

    name: str
    jobs: tuple[ScanJob, ...] = ()
    lines: int = 0
    problems: tuple[str, ...] = ()
    error: str | None = None


@dataclass(slots=True, kw_only=True)
class TriageResult:
    """The triage document (the ``--json`` contract) and the engine's run report."""

    document: dict[str, Any]
    report: juggler.RunReport


def _count_newlines(chunk: Chunk) -> int:
    if chunk.data is not None:
        return chunk.data.count(b"\n", 0, chunk.end - chunk.start)
    assert chunk.path is not None
    total, left = 0, chunk.end - chunk.start
    with open(chunk.path, "rb") as fh:
        fh.seek(chunk.start)
        while left > 0:
            block = fh.read(min(_COUNT_BLOCK, left))
            if not block:
                break
            total += block.count(b"\n")
            left -= len(block)
    return total


def plan_source(source: Source | InputError, baseline: frozenset[str] | None) -> Planned:
    """Cut one input into chunks and number their first lines (an ``io`` stage)."""
    if isinstance(source, InputError):
        return Planned(name=source.source, error=str(source))
    problems = tuple(str(p) for p in getattr(source, "problems", ()))
    try:
        if isinstance(source, MemorySource) and source.kind != "text":
            # JUnit reports are rendered to text lines by ingest; scan those lines.
            doc = read_document(source)
            data = "\n".join(doc.lines).encode("utf-8")
            source = MemorySource(name=source.name, data=data, encoding="utf-8")
        chunks = plan_chunks(source)
    except InputError as err:
        return Planned(name=source.name, error=str(err))
    jobs, line = [], 1
    for chunk in chunks:
        jobs.append(ScanJob(chunk=chunk, first_line=line, baseline=baseline))
        line += _count_newlines(chunk)
    return Planned(name=source.name, jobs=tuple(jobs), lines=line - 1, problems=problems)


def scan_job(job: ScanJob) -> tuple[str, ChunkScan]:
    """Read one chunk by reference and scan it for failures (a ``cpu`` stage)."""
    chunk = job.chunk
    text = read_chunk(chunk).decode(chunk.encoding, errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "" and text.endswith("\n"):
        lines.pop()  # the newline ends the chunk's last line; it starts no new one
    return chunk.source, scan_chunk(lines, offset=job.first_line - 1, baseline=job.baseline)


def merge_log(group: tuple[str, list[ChunkScan]]) -> tuple[str, dict[str, Any]]:
    """Merge the scans of one log into its findings and analysis (a ``cpu`` stage)."""
    name, scans = group
    return name, merge_scans(scans, path=name)


def _keys_of(lines: list[str]) -> frozenset[str]:
    return baseline_keys([lines])


def _group(acc: dict[str, list[ChunkScan]], item: tuple[str, ChunkScan]) -> dict[str, Any]:
    acc.setdefault(item[0], []).append(item[1])
    return acc


class _Plans:
    """Keeps each input's plan (line count, refusal) as its chunks go by to the workers."""

    def __init__(self, baseline: frozenset[str] | None) -> None:
        self.baseline = baseline
        self.plans: list[Planned] = []

    def expand(self, source: Source | InputError) -> list[ScanJob]:
        plan = plan_source(source, self.baseline)
        self.plans.append(plan)
        return list(plan.jobs)


def triage(
    logs: Sequence[str | os.PathLike[str]],
    *,
    baseline: Sequence[str | os.PathLike[str]] = (),
    limits: Limits = DEFAULT_LIMITS,
    workers: int | None = None,
    progress: bool | None = False,
) -> TriageResult:
    """Find why a build failed: ranked findings and a build analysis for ``logs``.

    Args:
        logs: Files, folders, archives, JUnit XML, ``"-"`` for stdin.
        baseline: Logs of passing runs of the same job; lines new against them rise.
        limits: Safety caps for reading inputs.
        workers: Worker processes (default: one per core).
        progress: Live progress bars on stderr (``None``: only on a terminal).

    Returns:
        The triage document (findings, analysis, inputs, rejected inputs) and the run report.
        Refused inputs are listed with a one-line reason; they never stop the others.
    """
    rejected: list[dict[str, Any]] = []
    known = _read_baseline(baseline, limits, rejected, workers) if baseline else None
    plans = _Plans(known)
    report = juggler.Pipeline(
        juggler.io(plans.expand, name="ingest", concurrency=4, flat=True),
        juggler.cpu(scan_job, name="scan"),
        juggler.reduce(_group, initial={}, name="group"),
        juggler.io(_split_groups, flat=True, name="split"),
        juggler.cpu(merge_log, name="merge"),
        workers=workers,
        progress=progress,
    ).run(iter_sources(logs, limits=limits))
    merged: dict[str, dict[str, Any]] = dict(report.results)
    rejected.extend(
        {"path": plan.name, "role": "log", "reason": plan.error}
        for plan in plans.plans
        if plan.error is not None
    )
    return TriageResult(document=_document(plans.plans, merged, rejected), report=report)


def _split_groups(groups: dict[str, list[ChunkScan]]) -> list[tuple[str, list[ChunkScan]]]:
    return sorted(groups.items())


def _read_baseline(
    paths: Sequence[str | os.PathLike[str]],
    limits: Limits,
    rejected: list[dict[str, Any]],
    workers: int | None,
) -> frozenset[str]:
    docs = []
    for source in iter_sources(paths, limits=limits):
        if isinstance(source, InputError):
            rejected.append({"path": source.source, "role": "baseline", "reason": str(source)})
            continue
        try:
            docs.append(_raw_lines(source))
        except InputError as err:
            rejected.append({"path": err.source, "role": "baseline", "reason": str(err)})
    report = juggler.Pipeline(juggler.cpu(_keys_of, name="baseline"), workers=workers).run(docs)
    keys: set[str] = set()
    for part in report.results:
        keys.update(part)
    return frozenset(keys)


def _raw_lines(source: Source) -> list[str]:
    if isinstance(source, FileSource):
        with open(source.path, "rb") as fh:
            data = fh.read(DEFAULT_LIMITS.max_bytes)
    else:
        data = source.data
    return data.decode(source.encoding, errors="replace").split("\n")


def _document(
    plans: Iterable[Planned], merged: dict[str, dict[str, Any]], rejected: list[dict[str, Any]]
) -> dict[str, Any]:
    inputs = []
    findings: list[dict[str, Any]] = []
    analyses: dict[str, Any] = {}
    for plan in plans:
        if plan.error is not None:
            continue
        inputs.append({"path": plan.name, "role": "log", "lines": plan.lines})
        rejected.extend(
            {"path": plan.name, "role": "log", "reason": p, "partial": True} for p in plan.problems
        )
        doc = merged.get(plan.name)
        if doc is None:
            continue
        findings.extend(doc["findings"])
        analyses[plan.name] = doc["analysis"]
    findings.sort(key=lambda f: -f["score"])
    for rank, finding in enumerate(findings[:MAX_FINDINGS], 1):
        finding["rank"] = rank
    top = findings[0]["path"] if findings else next(iter(analyses), None)
    return {
        "findings": findings[:MAX_FINDINGS],
        "analysis": analyses.get(top, {}) if top is not None else {},
        "inputs": inputs,
        "rejected_inputs": rejected,
    }
