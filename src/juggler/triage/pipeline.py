"""``triage()``: the failure-finding pipeline, built on the public engine API.

::

    sources ─► chunks (io, flat) ─► scan + match causes (cpu) ─► fold by log (reduce)
        ─► rank per log (cpu) ─► assemble one document (reduce)
        ─┬► recall similar incidents (aio) ─┐
         └► synthesise the memo (aio) ──────┴► join ─► deliver memo files, GitHub... (io)

Large logs travel to the workers by reference (path + byte range), never as pickled text;
the parent folds the compact scans the workers send back as they arrive, so what it holds is
bounded by what a report can show, not by the size of the log.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import juggler

from ._config import TriageConfig
from ._errors import InputError
from ._findings import ChunkScan, ScanFold, baseline_keys, merge_scans, scan_chunk
from ._inline import place, runs_inline
from ._journal import JournalFold, RunJournal
from ._novelty import mark_novelty
from ._secrets import redact_matches, redact_scan
from .ingest import (
    DEFAULT_LIMITS,
    FileSource,
    Limits,
    MemorySource,
    SpillArea,
    aiter_sources,
    iter_sources,
    read_document,
)

# The knowledge base's models only: its matcher and store (numpy, SQLite) load when a run
# uses them, so ``--no-kb`` on a small log never imports them.
from .kb._model import Cause, CauseMatch, Incident, Resolution
from .scrape import Chunk, plan_chunks
from .scrape._lines import count_lines, scan_lines
from .synth import Memo, adopt_summary, build_memo, synthesise

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from .deliver import DeliveryResult
    from .ingest import Source
    from .kb import KnowledgeStore

#: Findings kept in the document, across every input.
MAX_FINDINGS = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanJob:
    """One chunk for a worker: where to read it, its first line's number, what to look for."""

    chunk: Chunk
    first_line: int
    baseline: frozenset[str] | None
    causes: tuple[Cause, ...] = ()
    key: str = ""  # the run journal's key for the chunk ("" when not journaled)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scanned:
    """A worker's answer for one chunk: the failure scan and the known causes it matched."""

    source: str
    scan: ChunkScan
    causes: tuple[CauseMatch, ...]
    key: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """What the planning stage learned of one input: its chunks, or why it was refused."""

    name: str
    jobs: tuple[ScanJob, ...] = ()
    lines: int = 0
    truncated: tuple[int, ...] = ()
    problems: tuple[str, ...] = ()
    error: str | None = None


@dataclass(slots=True, kw_only=True)
class TriageResult:
    """The triage document (the ``--json`` contract), its memo, deliveries and run report."""

    document: dict[str, Any]
    report: juggler.RunReport
    memo: Memo | None = None
    deliveries: tuple[DeliveryResult, ...] = ()
    learned: tuple[int, ...] = ()
    """Ids of the incidents ``learn=`` stored (one per log with findings)."""

    @property
    def delivery_failed(self) -> bool:
        """True when a configured delivery (file, GitHub, Slack, webhook) did not go through."""
        return any(not d.delivered for d in self.deliveries)


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
        chunks = plan_chunks(source, whole_lines=True)
        count = count_lines(chunks)
    except InputError as err:
        return Planned(name=source.name, error=str(err))
    jobs = tuple(
        ScanJob(chunk=chunk, first_line=line, baseline=baseline, causes=causes)
        for chunk, line in zip(chunks, count.first_lines, strict=True)
    )
    return Planned(
        name=source.name,
        jobs=jobs,
        lines=count.lines,
        truncated=tuple(count.truncated),
        problems=problems,
    )


def _match_causes(lines: Sequence[str], causes: tuple[Cause, ...]) -> list[CauseMatch]:
    from .kb import match_causes  # numpy: loaded only where causes are matched

    return match_causes(lines, causes)


def scan_job(job: ScanJob) -> Scanned:
    """Read one chunk by reference, scan it for failures and known causes (a ``cpu`` stage)."""
    chunk = job.chunk
    lines = scan_lines(chunk)  # long lines as head … tail: both ends are scanned
    offset = job.first_line - 1
    scan = scan_chunk(lines, offset=offset, baseline=job.baseline)
    matches = tuple(
        replace(m, evidence=tuple((a + offset, b + offset) for a, b in m.evidence))
        for m in (_match_causes(lines, job.causes) if job.causes else ())
    )
    # Credentials written in the log leave the worker as typed markers, never as text.
    return Scanned(
        source=chunk.source,
        scan=redact_scan(scan, lines),
        causes=redact_matches(matches),
        key=job.key,
    )


def merge_log(folded: Scanned) -> tuple[str, dict[str, Any]]:
    """Rank one log's folded scan into its findings, analysis and causes (a ``cpu`` stage)."""
    name = folded.source
    document = merge_scans([folded.scan], path=name)
    scan = folded.scan
    mark_novelty(document["findings"], scan.novel_lines if scan.novel is not None else None)
    document["causes"] = _merge_causes(name, list(folded.causes))
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


class _LogFold:
    """One log's chunk scans and known-cause matches, folded as they arrive."""

    __slots__ = ("causes", "scans")

    def __init__(self) -> None:
        self.scans = ScanFold()
        self.causes: list[CauseMatch] = []


def _fold(acc: dict[str, _LogFold], item: Scanned) -> dict[str, _LogFold]:
    log = acc.get(item.source)
    if log is None:
        log = acc[item.source] = _LogFold()
    log.scans.add(item.scan)
    log.causes.extend(item.causes)
    return acc


def _split_folds(folds: dict[str, _LogFold]) -> list[Scanned]:
    return [
        Scanned(source=name, scan=log.scans.result(), causes=tuple(log.causes))
        for name, log in sorted(folds.items())
    ]


class _Plans:
    """Keeps each input's plan (line count, refusal) as its chunks go by to the workers."""

    def __init__(
        self,
        baseline: frozenset[str] | None,
        causes: tuple[Cause, ...],
        journal: JournalFold | None = None,
    ) -> None:
        self.baseline = baseline
        self.causes = causes
        self.plans: list[Planned] = []
        self.journal = journal

    def expand(self, source: Source | InputError) -> list[ScanJob]:
        plan = plan_source(source, self.baseline, self.causes)
        self.plans.append(plan)
        if self.journal is not None:  # resuming: chunks already committed skip the workers
            return self.journal.pending(plan.jobs, keyed=lambda job, key: replace(job, key=key))
        return list(plan.jobs)


class _Recall:
    """Looks up past incidents like the failure (an ``aio`` branch)."""

    def __init__(self, store: KnowledgeStore | None, project: str) -> None:
        self.store = store
        self.project = project

    async def __call__(
        self, document: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        if self.store is None or not document["findings"]:
            return document, []
        from .kb import signature_of

        found = await self.store.search(signature_of(document), project=self.project, k=5)
        return document, [s.to_json() for s in found]


class _Synthesis:
    """Writes the memo while retrieval runs (an ``aio`` branch), then joins the two."""

    def __init__(self, config: TriageConfig, baseline_used: bool) -> None:
        self.config = config
        self.baseline_used = baseline_used
        self.redactor = config.redactor()
        self.started = time.monotonic()

    async def synthesise(self, document: dict[str, Any]) -> Memo:
        return await synthesise(
            document,
            llm=self.config.llm_settings(),
            baseline_used=self.baseline_used,
            log_url=self.config.log_url,
            redactor=self.redactor,
        )

    def join(self, document: dict[str, Any], similar: list[dict[str, Any]], memo: Memo) -> Any:
        document["similar_incidents"] = similar
        timings = {"triage so far": time.monotonic() - self.started}
        full = build_memo(
            document,
            timings=timings,
            baseline_used=self.baseline_used,
            max_findings=self.config.max_findings,
            log_url=self.config.log_url,
        )
        return document, adopt_summary(full, memo)


class _Assembly:
    """Collects every log's result into the one triage document."""

    def __init__(self, plans: _Plans, rejected: list[dict[str, Any]]) -> None:
        self.plans = plans
        self.rejected = rejected

    def add(self, merged: dict[str, Any], item: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        merged[item[0]] = item[1]
        return merged

    def document(self, merged: dict[str, dict[str, Any]]) -> dict[str, Any]:
        rejected = list(self.rejected)
        rejected.extend(
            {"path": plan.name, "role": "log", "reason": plan.error}
            for plan in self.plans.plans
            if plan.error is not None
        )
        return _document(self.plans.plans, merged, rejected)


def triage(
    logs: Sequence[str | os.PathLike[str]],
    *,
    baseline: Sequence[str | os.PathLike[str]] = (),
    kb: str | os.PathLike[str] | None = None,
    use_kb: bool = True,
    project: str = "",
    learn: Resolution | None = None,
    config: TriageConfig | None = None,
    deliver: bool = False,
    timeline: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    workers: int | None = None,
    progress: bool | None = False,
    journal: RunJournal | None = None,
    runtime: juggler.Runtime | None = None,
    cluster: Any = None,
) -> TriageResult:
    """Find why a build failed: ranked findings, build analysis, known causes, past incidents.

    Args:
        logs: Files, folders, archives, JUnit XML, ``"-"`` for stdin.
        baseline: Logs of passing runs of the same job; lines new against them rise.
        kb: The knowledge base file (default: ``$JUGGLER_KB``, else the XDG data directory).
        use_kb: Set False to triage without causes or incidents (no database touched).
        project: The project the logs come from; its own past incidents rank first.
        learn: Remember each log's failure as an incident with this resolution.
        config: Memo and delivery options (LLM, formats, output folder, GitHub, webhooks).
        deliver: Write the memo files and send the configured notifications.
        timeline: Where the run's HTML timeline will be written, for the HTML memo to link.
        limits: Safety caps for reading inputs.
        workers: Worker processes (default: one per core).
        progress: Live progress bars on stderr (``None``: only on a terminal).
        journal: Commit each chunk's scan to this run journal, and reuse what it already
            holds (``--resume``; :mod:`juggler.triage._journal`). The caller finishes it.
        runtime: A started :class:`juggler.Runtime` to share (a server passes its own).
        cluster: Without ``runtime``: run the cpu stages on this Dask cluster (an address,
            a ``distributed.Client`` or ``"local"``).

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
            config=config,
            deliver=deliver,
            timeline=timeline,
            limits=limits,
            workers=workers,
            progress=progress,
            journal=journal,
            runtime=runtime,
            cluster=cluster,
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
    config: TriageConfig | None = None,
    deliver: bool = False,
    timeline: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    workers: int | None = None,
    progress: bool | None = False,
    journal: RunJournal | None = None,
    runtime: juggler.Runtime | None = None,
    cluster: Any = None,
) -> TriageResult:
    """:func:`triage` inside a running event loop."""
    async with contextlib.AsyncExitStack() as stack:
        if runtime is None and cluster is not None:
            # A cluster without a runtime: one for this triage, closed when it ends.
            runtime = await stack.enter_async_context(
                juggler.Runtime(workers=workers, cluster=cluster)
            )
        options = _Options(
            baseline=baseline,
            project=project,
            config=config or TriageConfig(),
            deliver=deliver,
            limits=limits,
            workers=workers,
            progress=progress,
            timeline=timeline,
            journal=journal,
            runtime=runtime,
        )
        if not use_kb:
            return await _triage(logs, None, options)
        from .kb import open_store

        store = await stack.enter_async_context(open_store(kb))
        result = await _triage(logs, store, options)
        if learn is not None:
            result.learned = await _learn(store, result, project, learn)
        return result


async def _learn(
    store: KnowledgeStore, result: TriageResult, project: str, resolution: Resolution
) -> tuple[int, ...]:
    """Store each triaged log's failure as an incident, so later triages recall it."""
    from .kb import signature_of

    incidents = [
        Incident(
            signature=signature_of(document),
            resolution=resolution,
            project=project,
            created_at=time.time(),
            source=name,
        )
        for name, document in _per_log(result.document)
        if document["findings"]
    ]
    return tuple(await store.add_incidents(incidents)) if incidents else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Options:
    baseline: Sequence[str | os.PathLike[str]]
    project: str
    config: TriageConfig
    deliver: bool
    limits: Limits
    workers: int | None
    progress: bool | None
    timeline: str | None
    journal: RunJournal | None = None
    runtime: juggler.Runtime | None = None


async def _triage(
    logs: Sequence[str | os.PathLike[str]], store: KnowledgeStore | None, options: _Options
) -> TriageResult:
    rejected: list[dict[str, Any]] = []
    # Small inputs run without a worker pool, unless workers or a shared runtime were given
    # (a runtime has its workers started already, and keeps CPU work off its loop's process).
    inline = (
        options.workers is None
        and options.runtime is None
        and runs_inline([*logs, *options.baseline])
    )
    known = (
        await _read_baseline(
            options.baseline,
            options.limits,
            rejected,
            options.workers,
            options.runtime,
            inline,
        )
        if options.baseline
        else None
    )
    causes = tuple(await store.list_causes()) if store is not None else ()
    journaled = None
    if options.journal is not None:
        options.journal.begin(known, causes)
        journaled = JournalFold(options.journal, _fold, _split_folds)
    plans = _Plans(known, causes, journaled)
    assembly = _Assembly(plans, rejected)
    synthesis = _Synthesis(options.config, baseline_used=known is not None)
    stages: list[Any] = [
        juggler.io(plans.expand, name="ingest", concurrency=4, flat=True),
        place(scan_job, name="scan", inline=inline),
        *([juggler.io(journaled.record, name="journal")] if journaled else []),
        juggler.reduce(journaled.fold if journaled else _fold, initial={}, name="fold"),
        juggler.io(journaled.split if journaled else _split_folds, flat=True, name="split"),
        place(merge_log, name="merge", inline=inline),
        juggler.reduce(assembly.add, initial={}, name="assemble"),
        juggler.aio(_document_of(assembly), name="document"),
        juggler.branches(
            juggler.aio(_Recall(store, options.project), name="recall"),
            juggler.aio(synthesis.synthesise, name="synthesise"),
            join=_join_with(synthesis),
            name="recall+synthesise",
        ),
    ]
    if options.deliver:
        delivery = _Delivery(options.config, options.timeline)
        stages.append(juggler.io(delivery.deliver, name="deliver"))
    # Decompressed inputs and stdin are spooled here; removed however the run ends.
    with SpillArea() as spill:
        report = await juggler.Pipeline(
            *stages, workers=options.workers, progress=options.progress
        ).run_async(
            aiter_sources(logs, limits=options.limits, spill=spill), runtime=options.runtime
        )
    [outcome] = report.results
    document, memo = outcome[0], outcome[1]
    deliveries = outcome[2] if options.deliver else ()
    if options.deliver:
        document["deliveries"] = [d.to_json() for d in deliveries]
    return TriageResult(document=document, report=report, memo=memo, deliveries=deliveries)


def _document_of(assembly: _Assembly) -> Any:
    async def document(merged: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return assembly.document(merged)

    return document


def _join_with(synthesis: _Synthesis) -> Any:
    def join(pair: tuple[dict[str, Any], Any], memo: Memo) -> Any:
        # The join gets each branch's output: recall's (document, incidents), then the memo.
        return synthesis.join(*pair, memo)

    return join


class _Delivery:
    """Writes the memo files and notifies (an ``io`` stage: blocking, in a thread)."""

    def __init__(self, config: TriageConfig, timeline: str | None) -> None:
        self.config = config
        self.timeline = timeline

    def deliver(self, outcome: tuple[dict[str, Any], Memo]) -> Any:

        document, memo = outcome
        href = None
        if self.timeline is not None and self.timeline.endswith((".html", ".htm")):
            href = os.path.relpath(self.timeline, self.config.out_dir)
        from .deliver import deliver_memo  # httpx loads only when a memo is delivered

        results = deliver_memo(document, memo, self.config, timeline_href=href)
        return document, memo, results


def _per_log(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each input's own findings, for learning one incident per log."""
    by_path: dict[str, list[dict[str, Any]]] = {}
    for finding in document["findings"]:
        by_path.setdefault(finding["path"], []).append(finding)
    return [
        (path, {**document, "findings": findings}) for path, findings in sorted(by_path.items())
    ]


async def _read_baseline(
    paths: Sequence[str | os.PathLike[str]],
    limits: Limits,
    rejected: list[dict[str, Any]],
    workers: int | None,
    runtime: juggler.Runtime | None = None,
    inline: bool = False,
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
    baseline = juggler.Pipeline(place(_keys_of, name="baseline", inline=inline), workers=workers)
    report = await baseline.run_async(docs, runtime=runtime)
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
        entry: dict[str, Any] = {"path": plan.name, "role": "log", "lines": plan.lines}
        if plan.truncated:  # lines over the length cap: scanned as head … tail (M3, M13)
            entry["line_truncated"] = list(plan.truncated)
        inputs.append(entry)
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
