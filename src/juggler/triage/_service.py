"""What every face of triage (CLI, server) needs besides the pipeline itself.

One triage as files (document, memos, timeline), the knowledge-base operations a person does
by hand (learn a cause, search, browse), written once so the web page and the command line
cannot drift apart.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import juggler

from ._config import TriageConfig
from ._present import headline
from ._present import printable as printable  # the pages show log text the same way
from .kb import Incident, Resolution, open_store, signature_of
from .synth import render_html, render_json, render_markdown
from .synth._escape import scrub_value

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .pipeline import TriageResult

#: The files :func:`write_outputs` leaves in a run's folder, by the name a URL uses.
OUTPUT_FILES = {
    "triage.json": "application/json",
    "memo.md": "text/markdown; charset=utf-8",
    "memo.html": "text/html; charset=utf-8",
    "memo.json": "application/json",
    "timeline.html": "text/html; charset=utf-8",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """A finished triage in a few words, for lists and progress events."""

    headline: str
    findings: int
    causes: tuple[str, ...]


def write_outputs(
    result: TriageResult, folder: str | os.PathLike[str], names: Mapping[str, str] | None = None
) -> Outcome:
    """Write a triage's document, its memo (md, html, json) and its timeline into ``folder``.

    Inputs were read from ``folder``; ``names`` maps their paths to what people called them
    (an upload's file name), so the document shows those and no server path. Secrets are
    scrubbed by the configured redactor in every memo format.
    """
    import json

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    prefix = str(out) + os.sep
    redactor = TriageConfig().redactor()
    document = scrub_value(_renamed(result.document, names or {}, prefix), redactor)
    result.document = document
    _write(out / "triage.json", json.dumps(document, ensure_ascii=False))
    if result.memo is not None:
        # Our own folder's path holds no markup, so dropping it from rendered text is safe.
        md = render_markdown(result.memo, redactor=redactor).replace(prefix, "")
        _write(out / "memo.md", md.replace(prefix.replace("_", "\\_"), ""))
        _write(out / "memo.html", render_html(result.memo, redactor=redactor).replace(prefix, ""))
        _write(out / "memo.json", render_json(document, result.memo, redactor=redactor))
    juggler.write_trace(result.report.trace, str(out / "timeline.html"))
    outcome = outcome_of(document)
    if result.memo is not None and result.memo.headline:
        said = redactor.scrub(result.memo.headline).replace(prefix, "")
        outcome = Outcome(headline=said, findings=outcome.findings, causes=outcome.causes)
    return outcome


def _renamed(value: Any, names: Mapping[str, str], prefix: str) -> Any:
    """``value`` with every input path written as its name (members ``a.zip!x`` too)."""
    if isinstance(value, str):
        if value.startswith(prefix):
            head, bang, member = value.partition("!")
            return names.get(head, head[len(prefix) :]) + bang + member
        return value
    if isinstance(value, dict):
        return {k: _renamed(v, names, prefix) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names, prefix) for v in value]
    return value


def outcome_of(document: dict[str, Any]) -> Outcome:
    """The headline, finding count and known causes of a triage document."""
    return Outcome(
        headline=headline(document),
        findings=len(document.get("findings", [])),
        causes=tuple(c.get("name", "") for c in document.get("causes", [])),
    )


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


async def learn_incident(
    kb: str | os.PathLike[str] | None,
    document: dict[str, Any],
    *,
    project: str,
    resolution: Resolution,
    source: str,
) -> int:
    """Remember a triaged failure and what caused it; returns how many incidents were stored.

    One incident per log with findings (a document with none teaches nothing).
    """
    by_path: dict[str, list[dict[str, Any]]] = {}
    for finding in document.get("findings", []):
        by_path.setdefault(finding["path"], []).append(finding)
    incidents = [
        Incident(
            signature=signature_of({**document, "findings": findings}),
            resolution=resolution,
            project=project,
            created_at=time.time(),
            source=source,
        )
        for _, findings in sorted(by_path.items())
    ]
    if not incidents:
        return 0
    async with open_store(kb) as store:
        await store.add_incidents(incidents)
    return len(incidents)


async def search_incidents(
    kb: str | os.PathLike[str] | None, query: str, *, project: str = "", k: int = 10
) -> list[dict[str, Any]]:
    """Past incidents like ``query`` (free text), as JSON rows, same project first."""
    if not query.strip():
        return []
    async with open_store(kb) as store:
        return [s.to_json() for s in await store.search(query, project=project, k=k)]


async def recent_incidents(
    kb: str | os.PathLike[str] | None, *, project: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest incidents (optionally of one project), as JSON rows."""
    async with open_store(kb) as store:
        return [i.to_json() for i in await store.list_incidents(project=project, limit=limit)]


async def known_causes(kb: str | os.PathLike[str] | None) -> list[dict[str, Any]]:
    """Every cause in the catalogue, as JSON rows."""
    async with open_store(kb) as store:
        return [c.to_json() for c in await store.list_causes()]
