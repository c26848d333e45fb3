"""``triage()``: the failure-finding pipeline, built on the public engine API.

::

    sources ─► chunks (io, flat) ─► scan + match causes (cpu) ─► group by log (reduce)
        ─► merge + rank per log (cpu) ─► recall similar incidents (aio) ─► one document

Large logs travel to the workers by reference (path + byte range), never as pickled text;
the parent only ever holds the compact scans the workers send back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import juggler

from ._errors import InputError
from ._findings import ChunkScan, baseline_keys, merge_scans, scan_chunk
from .ingest import DEFAULT_LIMITS, FileSource, Limits, MemorySource, iter_sources, read_document
from .kb import (
    Cause,
    CauseMatch,
    Incident,
    KnowledgeStore,
    Resolution,
    match_causes,
    open_store,
    signature_of,
)
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
    """One chunk for a worker: where to read it, its first line's number, what to look for."""

    chunk: Chunk
    first_line: int
    baseline: frozenset[str] | None
    causes: tuple[Cause, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Scanned:
    """A worker's answer for one chunk: the failure scan and the known causes it matched."""

    source: str
    scan: ChunkScan
    causes: tuple[CauseMatch, ...]


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


def plan_source(
    source: Source | InputError,
    baseline: frozenset[str] | None,
    causes: tuple[Cause, ...] = (),
) -> Planned:
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
        jobs.append(ScanJob(chunk=chunk, first_line=line, baseline=baseline, causes=causes))
        line += _count_newlines(chunk)
    return Planned(name=source.name, jobs=tuple(jobs), lines=line - 1, problems=problems)


def scan_job(job: ScanJob) -> Scanned:
    """Read one chunk by reference, scan it for failures and known causes (a ``cpu`` stage)."""
    chunk = job.chunk
    text = read_chunk(chunk).decode(chunk.encoding, errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "" and text.endswith("\n"):
        lines.pop()  # the newline ends the chunk's last line; it starts no new one
    offset = job.first_line - 1
    scan = scan_chunk(lines, offset=offset, baseline=job.baseline)
    matches = tuple(
        replace(m, evidence=tuple((a + offset, b + offset) for a, b in m.evidence))
        for m in (match_causes(lines, job.causes) if job.causes else ())
    )
    return Scanned(source=chunk.source, scan=scan, causes=matches)


def merge_log(group: tuple[str, list[Scanned]]) -> tuple[str, dict[str, Any]]:
    """Merge the scans of one log into its findings, analysis and causes (a ``cpu`` stage)."""
    name, parts = group
    document = merge_scans([p.scan for p in parts], path=name)
    document["causes"] = _merge_causes(name, [m for p in parts for m in p.causes])
    return name, document


def _merge_causes(path: str, matches: list[CauseMatch]) -> list[dict[str, Any]]:
    """One entry per cause, with its evidence from every chunk, in log order."""
    by_name: dict[str, list[CauseMatch]] = {}
    for match in matches:
        by_name.setdefault(match.name, []).append(match)
    merged = []
    for found in by_name.values():
        found.sort(key=lambda m: m.evidence[0] if m.evidence else (0, 0))
        evidence = sorted({span for m in found for span in m.evidence})
        entry = replace(found[0], evidence=tuple(evidence)).to_json()
        for span in entry["evidence"]:
            span["path"] = path
        merged.append(entry)
    merged.sort(key=lambda c: c["evidence"][0]["line_start"] if c["evidence"] else 0)
    return merged


def _keys_of(lines: list[str]) -> frozenset[str]:
    return baseline_keys([lines])


def _group(acc: dict[str, list[Scanned]], item: Scanned) -> dict[str, list[Scanned]]:
    acc.setdefault(item.source, []).append(item)
    return acc


class _Plans:
    """Keeps each input's plan (line count, refusal) as its chunks go by to the workers."""

    def __init__(self, baseline: frozenset[str] | None, causes: tuple[Cause, ...]) -> None:
        self.baseline = baseline
        self.causes = causes
        self.plans: list[Planned] = []

    def expand(self, source: Source | InputError) -> list[ScanJob]:
        plan = plan_source(source, self.baseline, self.causes)
        self.plans.append(plan)
        return list(plan.jobs)


class _Recall:
    """Looks up past incidents like each log's failure (an ``aio`` stage)."""

    def __init__(self, store: KnowledgeStore | None, project: str) -> None:
        self.store = store
        self.project = project

    async def __call__(self, item: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        name, document = item
        similar: list[dict[str, Any]] = []
        if self.store is not None and document["findings"]:
            found = await self.store.search(signature_of(document), project=self.project, k=5)
            similar = [s.to_json() for s in found]
        document["similar_incidents"] = similar
        return name, document


def triage(
    logs: Sequence[str | os.PathLike[str]],
    *,
    baseline: Sequence[str | os.PathLike[str]] = (),
    kb: str | os.PathLike[str] | None = None,
    use_kb: bool = True,
    project: str = "",
    learn: Resolution | None = None,
    limits: Limits = DEFAULT_LIMITS,
    workers: int | None = None,
    progress: bool | None = False,
) -> TriageResult:
    """Find why a build failed: ranked findings, build analysis, known causes, past incidents.

    Args:
        logs: Files, folders, archives, JUnit XML, ``"-"`` for stdin.
        baseline: Logs of passing runs of the same job; lines new against them rise.
        kb: The knowledge base file (default: ``$JUGGLER_KB``, else the XDG data directory).
        use_kb: Set False to triage without causes or incidents (no database touched).
        project: The project the logs come from; its own past incidents rank first.
        learn: Remember each log's failure as an incident with this resolution.
        limits: Safety caps for reading inputs.
        workers: Worker processes (default: one per core).
        progress: Live progress bars on stderr (``None``: only on a terminal).

    Returns:
        The triage document (findings, analysis, causes, similar incidents, inputs, rejected
        inputs) and the run report. Refused inputs are listed with a one-line reason; they
        never stop the others.
    """
    return juggler.run(
        triage_async(
            logs,
            baseline=baseline,
            kb=kb,
            use_kb=use_kb,
            project=project,
            learn=learn,
            limits=limits,
            workers=workers,
            progress=progress,
        )
    )


async def triage_async(
    logs: Sequence[str | os.PathLike[str]],
    *,
    baseline: Sequence[str | os.PathLike[str]] = (),
    kb: str | os.PathLike[str] | None = None,
    use_kb: bool = True,
    project: str = "",
    learn: Resolution | None = None,
    limits: Limits = DEFAULT_LIMITS,
    workers: int | None = None,
    progress: bool | None = False,
) -> TriageResult:
    """:func:`triage` inside a running event loop."""
    if not use_kb:
        return await _triage(logs, baseline, None, project, limits, workers, progress)
    async with open_store(kb) as store:
        result = await _triage(logs, baseline, store, project, limits, workers, progress)
        if learn is not None:
            await _learn(store, result, project, learn)
        return result


async def _learn(
    store: KnowledgeStore, result: TriageResult, project: str, resolution: Resolution
) -> None:
    """Store each triaged log's failure as an incident, so later triages recall it."""
    incidents = [
        Incident(
            signature=signature_of(document),
            resolution=resolution,
            project=project,
            created_at=time.time(),
            source=name,
        )
        for name, document in result.report.results
        if document["findings"]
    ]
    if incidents:
        await store.add_incidents(incidents)


async def _triage(
    logs: Sequence[str | os.PathLike[str]],
    baseline: Sequence[str | os.PathLike[str]],
    store: KnowledgeStore | None,
    project: str,
    limits: Limits,
    workers: int | None,
    progress: bool | None,
) -> TriageResult:
    rejected: list[dict[str, Any]] = []
    known = await _read_baseline(baseline, limits, rejected, workers) if baseline else None
    causes = tuple(await store.list_causes()) if store is not None else ()
    plans = _Plans(known, causes)
    report = await juggler.Pipeline(
        juggler.io(plans.expand, name="ingest", concurrency=4, flat=True),
        juggler.cpu(scan_job, name="scan"),
        juggler.reduce(_group, initial={}, name="group"),
        juggler.io(_split_groups, flat=True, name="split"),
        juggler.cpu(merge_log, name="merge"),
        juggler.aio(_Recall(store, project), name="recall"),
        workers=workers,
        progress=progress,
    ).run_async(iter_sources(logs, limits=limits))
    merged: dict[str, dict[str, Any]] = dict(report.results)
    rejected.extend(
        {"path": plan.name, "role": "log", "reason": plan.error}
        for plan in plans.plans
        if plan.error is not None
    )
    return TriageResult(document=_document(plans.plans, merged, rejected), report=report)


def _split_groups(groups: dict[str, list[Scanned]]) -> list[tuple[str, list[Scanned]]]:
    return sorted(groups.items())


async def _read_baseline(
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
    baseline = juggler.Pipeline(juggler.cpu(_keys_of, name="baseline"), workers=workers)
    report = await baseline.run_async(docs)
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
    causes: list[dict[str, Any]] = []
    similar: list[dict[str, Any]] = []
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
        causes.extend(doc.get("causes", []))
        similar.extend(doc.get("similar_incidents", []))
        analyses[plan.name] = doc["analysis"]
    findings.sort(key=lambda f: -f["score"])
    for rank, finding in enumerate(findings[:MAX_FINDINGS], 1):
        finding["rank"] = rank
    top = findings[0]["path"] if findings else next(iter(analyses), None)
    return {
        "findings": findings[:MAX_FINDINGS],
        "analysis": analyses.get(top, {}) if top is not None else {},
        "causes": causes,
        "similar_incidents": sorted(similar, key=lambda s: -s.get("score", 0))[:5],
        "inputs": inputs,
        "rejected_inputs": rejected,
    }
