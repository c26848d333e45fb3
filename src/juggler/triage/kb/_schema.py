"""Rows and statements of the SQLite store: converters, the lexical query, file setup.

The schema itself (tables, FTS index, triggers) and its history live in ``_migrations``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import TYPE_CHECKING, Any, Final

from ._catalogue import load_catalogue
from ._errors import CatalogueError, StoreBusy
from ._match import compile_indication
from ._migrations import configure, migrate
from ._model import Cause, Incident, Indication, Resolution, Signature

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

__all__ = [
    "BUSY_DEADLINE_S",
    "BUSY_TIMEOUT_MS",
    "INCIDENT_COLUMNS",
    "LEXICAL_SQL",
    "cause_of",
    "cause_row",
    "incident_of",
    "is_busy",
    "prepare_file",
    "validate",
]

# How long a write keeps retrying a locked database before giving up (on top of SQLite's
# own 5 s busy wait per attempt).
BUSY_DEADLINE_S: Final = 30.0
BUSY_TIMEOUT_MS: Final = 5000


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """The error is SQLite's "database is locked" / "busy" (worth retrying)."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def validate(cause: Cause) -> None:
    """Raise :class:`CatalogueError` if an indication is not a valid regex."""
    for n, indication in enumerate(cause.indications, 1):
        try:
            compile_indication(indication)
        except re.error as exc:
            raise CatalogueError(
                cause.name, f"indication {n} is not a valid regex: {exc}"
            ) from None


def cause_row(cause: Cause) -> tuple[str, str, str, str, str, str]:
    """The ``causes`` row of ``cause``."""
    return (
        cause.name,
        cause.category,
        cause.description,
        cause.fix,
        json.dumps(list(cause.links)),
        json.dumps([i.to_json() for i in cause.indications]),
    )


def cause_of(row: Iterable[Any]) -> Cause:
    """The cause of a ``causes`` row."""
    name, category, description, fix, links, indications = row
    return Cause(
        name=name,
        category=category,
        description=description,
        fix=fix,
        links=tuple(json.loads(links)),
        indications=tuple(Indication.from_json(i) for i in json.loads(indications)),
    )


# The whole lexical search in one statement, so one trip to the connection's thread (each
# trip is a GIL hand-off that the event loop waits for):
# - picked: the query's terms known to the index, rarest first, while their document
#   frequencies sum to at most the postings budget (a term found in most incidents adds
#   almost nothing to BM25 but costs a posting per incident);
# - expr: those terms as FTS5 strings ("..." with " doubled: no query text is ever parsed
#   as FTS syntax, RELIABILITY.md M12); '""' (matches nothing) when there are none;
# - m: one FTS evaluation (MATERIALIZED) serves both lists; joining the FTS table to the
#   project's rows directly made SQLite re-run the match per row (50-80 ms at 20k);
# - the first row (id -1) carries PRAGMA data_version, for the dense index's freshness.
# Parameters: terms (JSON list), postings budget, max terms, limit, project, project limit.
LEXICAL_SQL: Final = """
WITH q(term) AS (SELECT value FROM json_each(?1)),
picked AS (
    SELECT t.term AS term, sum(t.df) OVER w AS cum, row_number() OVER w AS n
    FROM terms AS t JOIN q ON q.term = t.term
    WHERE t.df > 0
    WINDOW w AS (ORDER BY t.df, t.term ROWS UNBOUNDED PRECEDING)
),
expr(e) AS (
    SELECT coalesce(group_concat('"' || replace(term, '"', '""') || '"', ' OR '), '""')
    FROM picked WHERE cum <= ?2 AND n <= ?3
),
m AS MATERIALIZED (
    SELECT rowid AS id, rank AS r FROM incidents_fts
    WHERE incidents_fts MATCH (SELECT e FROM expr)
)
SELECT -1, data_version FROM pragma_data_version()
UNION ALL SELECT * FROM (SELECT id, 0 FROM m ORDER BY r LIMIT ?4)
UNION ALL SELECT * FROM (
    SELECT m.id, 1 FROM m JOIN incidents AS i ON i.id = m.id
    WHERE i.project = ?5 ORDER BY m.r LIMIT ?6
)
"""
INCIDENT_COLUMNS: Final = "id, project, created_at, source, signature, cause, fix, link"


def incident_of(row: Iterable[Any]) -> Incident:
    """The incident of a row of :data:`INCIDENT_COLUMNS`."""
    row_id, project, created_at, source, signature, cause, fix, link = row
    try:
        parsed = Signature.from_json(json.loads(signature))
    except ValueError:
        parsed = Signature()
    return Incident(
        id=row_id,
        project=project,
        created_at=created_at,
        source=source,
        signature=parsed,
        resolution=Resolution(cause=cause, fix=fix, link=link),
    )


def prepare_file(path: Path, *, seed: bool) -> tuple[int, int]:
    """Create/migrate the file (runs in a worker thread, blocking)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + BUSY_DEADLINE_S
    while True:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            configure(conn, busy_timeout_ms=BUSY_TIMEOUT_MS)
            before, after = migrate(conn, path=str(path))
            if before == 0 and seed:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT OR IGNORE INTO causes VALUES (?, ?, ?, ?, ?, ?)",
                    [cause_row(c) for c in load_catalogue()],
                )
                conn.execute("COMMIT")
            return before, after
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() > deadline:
                if is_busy(exc):
                    raise StoreBusy(str(path), "database stayed locked; retry later") from None
                raise
        finally:
            conn.close()
        time.sleep(0.1)  # another process is migrating or checkpointing; wait our turn
