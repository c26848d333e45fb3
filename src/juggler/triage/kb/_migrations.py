"""Schema versions of the SQLite knowledge base and the steps between them.

Each step runs in its own ``BEGIN IMMEDIATE`` transaction on a plain ``sqlite3`` connection
(called from a worker thread at open time), re-reading the version inside the transaction,
so two processes opening the same old file migrate it once. A file newer than
:data:`SCHEMA_VERSION` is refused rather than guessed at.

History:
    1. causes and incidents (signature as JSON, resolution columns).
    2. searchable ``document`` column, FTS5 index kept in sync by triggers, vectors
       (``embedder`` names the vector space; ``vector`` is float32 bytes), index on project,
       document frequency of each lexical term (to pick a query's informative terms).
"""

from __future__ import annotations

import collections
import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ._errors import SchemaTooNew
from ._model import Signature
from ._search import lexical_terms

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SCHEMA_VERSION", "STEPS", "configure", "migrate", "schema_version"]

_V1: Final = """
CREATE TABLE causes (
    name        TEXT PRIMARY KEY,
    category    TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    fix         TEXT NOT NULL DEFAULT '',
    links       TEXT NOT NULL DEFAULT '[]',
    indications TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE incidents (
    id         INTEGER PRIMARY KEY,
    project    TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    source     TEXT NOT NULL DEFAULT '',
    signature  TEXT NOT NULL,
    cause      TEXT NOT NULL DEFAULT '',
    fix        TEXT NOT NULL DEFAULT '',
    link       TEXT NOT NULL DEFAULT ''
);
"""

_V2: Final = """
ALTER TABLE incidents ADD COLUMN document TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN embedder TEXT;
ALTER TABLE incidents ADD COLUMN vector BLOB;
CREATE INDEX incidents_project ON incidents(project);
CREATE INDEX incidents_embedder ON incidents(embedder, id);
CREATE TABLE terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
"""

# Created after v1 rows have their documents: the update trigger deletes the old document
# from the external-content index, and deleting an entry never indexed corrupts it.
_V2_INDEX: Final = """
CREATE VIRTUAL TABLE incidents_fts USING fts5(
    document, content='incidents', content_rowid='id', tokenize='unicode61'
);
CREATE TRIGGER incidents_ai AFTER INSERT ON incidents BEGIN
    INSERT INTO incidents_fts(rowid, document) VALUES (new.id, new.document);
END;
CREATE TRIGGER incidents_ad AFTER DELETE ON incidents BEGIN
    INSERT INTO incidents_fts(incidents_fts, rowid, document)
        VALUES ('delete', old.id, old.document);
END;
CREATE TRIGGER incidents_au AFTER UPDATE OF document ON incidents BEGIN
    INSERT INTO incidents_fts(incidents_fts, rowid, document)
        VALUES ('delete', old.id, old.document);
    INSERT INTO incidents_fts(rowid, document) VALUES (new.id, new.document);
END;
"""


def _fill_documents(conn: sqlite3.Connection) -> None:
    """v2: derive the searchable document of incidents stored by v1, then index them."""
    rows = conn.execute("SELECT id, signature FROM incidents").fetchall()
    df: collections.Counter[str] = collections.Counter()
    for row_id, raw in rows:
        try:
            document = Signature.from_json(json.loads(raw)).text()
        except ValueError:
            document = ""  # unreadable v1 row: kept, but not searchable
        df.update(lexical_terms(document))
        conn.execute("UPDATE incidents SET document = ? WHERE id = ?", (document, row_id))
    for statement in _statements(_V2_INDEX):
        conn.execute(statement)
    conn.execute("INSERT INTO incidents_fts(incidents_fts) VALUES ('rebuild')")
    conn.executemany("INSERT INTO terms (term, df) VALUES (?, ?)", sorted(df.items()))


@dataclass(frozen=True, slots=True)
class Step:
    """One migration: SQL, then an optional Python fix-up, in the same transaction."""

    version: int
    sql: str
    after: Callable[[sqlite3.Connection], None] | None = None


STEPS: Final = (Step(1, _V1), Step(2, _V2, _fill_documents))
SCHEMA_VERSION: Final = STEPS[-1].version


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT first; split instead, keeping trigger bodies whole.
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out


def configure(conn: sqlite3.Connection, *, busy_timeout_ms: int = 5000) -> None:
    """Pragmas every connection needs: busy timeout first, then WAL and durability."""
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    # WAL: readers never block the writer nor each other (RELIABILITY.md R15).
    conn.execute("PRAGMA journal_mode = WAL")
    # NORMAL is durable against a killed process in WAL mode (only power loss may lose the
    # last transactions), and much faster than FULL.
    conn.execute("PRAGMA synchronous = NORMAL")


def schema_version(conn: sqlite3.Connection) -> int:
    """The file's schema version; 0 for a new, empty file."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, *, path: str = "") -> tuple[int, int]:
    """Bring the database to :data:`SCHEMA_VERSION`, one transaction per step.

    Args:
        conn: A connection in autocommit mode (``isolation_level=None``).
        path: For error messages.

    Returns:
        ``(version before, version after)``.

    Raises:
        SchemaTooNew: The file was written by a newer juggler.
    """
    before = schema_version(conn)
    if before > SCHEMA_VERSION:
        raise SchemaTooNew(path, f"schema version {before} is newer than {SCHEMA_VERSION}")
    for step in STEPS:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            if schema_version(conn) >= step.version:
                conn.execute("ROLLBACK")
                continue
            for statement in _statements(step.sql):
                conn.execute(statement)
            if step.after is not None:
                step.after(conn)
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (step.version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return before, schema_version(conn)
