"""Value objects of the knowledge base: causes, their indications, matches, incidents.

All are frozen dataclasses of plain strings, numbers and tuples, so they pickle to ``cpu``
workers and compare by value. ``to_json``/``from_json`` give the shapes used by the store,
the CLI's import/export and ``juggler triage --json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, final

__all__ = [
    "Cause",
    "CauseMatch",
    "Incident",
    "Indication",
    "Resolution",
    "Signature",
    "SimilarIncident",
]


def _strings(value: object, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{what} must be a string or a list of strings")


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise ValueError(f"missing field {key!r}")
        return ""
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string")
    return value


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Indication:
    """One regular expression that shows a cause (Build Failure Analyzer's "indication").

    Attributes:
        pattern: A Python regex. Named (``(?P<file>...)``) and numbered groups fill the
            cause's ``{file}`` / ``{1}`` placeholders.
        multiline: False: matched against each line alone (``^``/``$`` are the line's ends).
            True: matched against the whole log joined by ``\\n``, with ``re.MULTILINE``, so
            the regex can span lines (use ``\\n`` or ``[\\s\\S]`` to cross them).
    """

    pattern: str
    multiline: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON form: ``{"pattern": ..., "multiline": ...}``."""
        return {"pattern": self.pattern, "multiline": self.multiline}

    @classmethod
    def from_json(cls, data: object) -> Indication:
        """Build from a JSON/YAML value: a bare pattern string or a mapping."""
        if isinstance(data, str):
            return cls(pattern=data)
        if not isinstance(data, dict):
            raise ValueError("an indication must be a pattern string or a mapping")
        return cls(
            pattern=_text(data, "pattern", required=True), multiline=bool(data.get("multiline"))
        )


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Cause:
    """A known cause of failure: what it is, how to fix it, and how to recognise it.

    Attributes:
        name: Unique, short and stable (``oom-killed``); the key in the store.
        category: A coarse family (``infrastructure``, ``tests``, ``build``, ...).
        description: What happened; may hold ``{placeholders}`` filled from capture groups.
        fix: What to do about it.
        links: Where to read more.
        indications: Regexes; the cause matches when any of them does.
    """

    name: str
    category: str = ""
    description: str = ""
    fix: str = ""
    links: tuple[str, ...] = ()
    indications: tuple[Indication, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form, as imported and exported by ``juggler kb``."""
        return {
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "fix": self.fix,
            "links": list(self.links),
            "indications": [i.to_json() for i in self.indications],
        }

    @classmethod
    def from_json(cls, data: object) -> Cause:
        """Build from a JSON/YAML mapping; unknown keys (``examples``) are ignored.

        Raises:
            ValueError: A field is missing or of the wrong type (one line, names the field).
        """
        if not isinstance(data, dict):
            raise ValueError("a cause must be a mapping")
        name = _text(data, "name", required=True).strip()
        if not name:
            raise ValueError("a cause needs a non-empty name")
        raw = data.get("indications") or []
        if not isinstance(raw, list):
            raise ValueError(f"cause {name!r}: indications must be a list")
        return cls(
            name=name,
            category=_text(data, "category"),
            description=_text(data, "description"),
            fix=_text(data, "fix"),
            links=_strings(data.get("links"), f"cause {name!r}: links"),
            indications=tuple(Indication.from_json(i) for i in raw),
        )


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class CauseMatch:
    """A known cause found in a log.

    Attributes:
        name, category, fix, links: Copied from the cause.
        description: The cause's description with placeholders filled from the first match.
        evidence: Line ranges ``(first, last)``, 1-based and inclusive, in log order.
    """

    name: str
    category: str
    description: str
    fix: str
    links: tuple[str, ...]
    evidence: tuple[tuple[int, int], ...]

    def to_json(self) -> dict[str, Any]:
        """The entry of ``"causes"`` in ``juggler triage --json``."""
        return {
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "fix": self.fix,
            "links": list(self.links),
            "evidence": [{"line_start": a, "line_end": b} for a, b in self.evidence],
        }


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """What identifies a failure independently of its run: masked, ordered, compact.

    Attributes:
        templates: Masked lines of the top findings (variables written ``<*>``), deduplicated.
        failed_step: The failing step's name, or ``""``.
        failing_tests: Names of failing tests, sorted.
        kinds: Kinds of the top findings (``pytest_failure``, ``oom``...), deduplicated.
    """

    templates: tuple[str, ...] = ()
    failed_step: str = ""
    failing_tests: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()

    def text(self) -> str:
        """The document indexed for lexical and dense search."""
        parts = [*self.templates]
        if self.failed_step:
            parts.append(f"step {self.failed_step}")
        parts.extend(f"test {t}" for t in self.failing_tests)
        parts.extend(f"kind {k}" for k in self.kinds)
        return "\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "templates": list(self.templates),
            "failed_step": self.failed_step,
            "failing_tests": list(self.failing_tests),
            "kinds": list(self.kinds),
        }

    @classmethod
    def from_json(cls, data: object) -> Signature:
        """Build from :meth:`to_json`'s shape."""
        if not isinstance(data, dict):
            raise ValueError("a signature must be a mapping")
        return cls(
            templates=_strings(data.get("templates"), "templates"),
            failed_step=_text(data, "failed_step"),
            failing_tests=_strings(data.get("failing_tests"), "failing_tests"),
            kinds=_strings(data.get("kinds"), "kinds"),
        )


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """How an incident was resolved: its cause (a catalogue name or free text), fix, link."""

    cause: str = ""
    fix: str = ""
    link: str = ""

    def to_json(self) -> dict[str, str]:
        """JSON form."""
        return {"cause": self.cause, "fix": self.fix, "link": self.link}

    @classmethod
    def from_json(cls, data: object) -> Resolution:
        """Build from :meth:`to_json`'s shape."""
        if not isinstance(data, dict):
            raise ValueError("a resolution must be a mapping")
        return cls(cause=_text(data, "cause"), fix=_text(data, "fix"), link=_text(data, "link"))


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """A past failure of a project, with its signature and resolution.

    Attributes:
        id: The store's id; ``None`` before it is stored.
        project: ``owner/repo`` or any stable project name; ``""`` if unknown.
        created_at: Unix time of the failure (or of learning it).
        signature: What the failure looked like.
        resolution: What it turned out to be.
        source: Where it was learned from (a log path or run id), for people.
    """

    signature: Signature
    resolution: Resolution = field(default_factory=Resolution)
    project: str = ""
    created_at: float = 0.0
    source: str = ""
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form, as exported by ``juggler kb export``."""
        return {
            "id": self.id,
            "project": self.project,
            "created_at": self.created_at,
            "source": self.source,
            "signature": self.signature.to_json(),
            "resolution": self.resolution.to_json(),
        }

    @classmethod
    def from_json(cls, data: object) -> Incident:
        """Build from :meth:`to_json`'s shape (``id`` is ignored: the store assigns one)."""
        if not isinstance(data, dict):
            raise ValueError("an incident must be a mapping")
        created = data.get("created_at") or 0.0
        if not isinstance(created, int | float):
            raise ValueError("field 'created_at' must be a number")
        return cls(
            project=_text(data, "project"),
            created_at=float(created),
            source=_text(data, "source"),
            signature=Signature.from_json(data.get("signature") or {}),
            resolution=Resolution.from_json(data.get("resolution") or {}),
        )


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class SimilarIncident:
    """One retrieval result.

    Attributes:
        incident: The stored incident.
        score: Reciprocal-rank-fusion score (higher is closer); comparable within one query
            only, and no percentage: an identical incident scores about 0.03.
        same_project: The incident belongs to the query's project (such results come first).
        lexical_rank, dense_rank: 1-based ranks in the BM25 and cosine lists, or ``None``.
        cosine: Cosine similarity of the query's and the incident's vectors.
        similarity: How alike the two failures are, 0..1, for people (shown as a
            percentage): the cosine when the dense half ranked the incident, else the share
            of lexical terms the two signatures have in common (Jaccard). 1 is identical.
    """

    incident: Incident
    score: float
    same_project: bool
    lexical_rank: int | None
    dense_rank: int | None
    cosine: float
    similarity: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The entry of ``"similar_incidents"`` in ``juggler triage --json``."""
        res = self.incident.resolution
        return {
            "id": self.incident.id,
            "project": self.incident.project,
            "score": round(self.score, 6),
            "same_project": self.same_project,
            "cosine": round(self.cosine, 4),
            "similarity": round(self.similarity, 4),
            "cause": res.cause,
            "fix": res.fix,
            "link": res.link,
            "created_at": self.incident.created_at,
            "source": self.incident.source,
        }
