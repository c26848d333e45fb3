"""The runs store: one SQLite row per run, its files in ``runs/<id>/`` beside the database.

Ids are 128 random bits (S7); uploaded filenames are kept only as labels, never as paths.
A restart marks the runs that were queued or running as ``interrupted`` (their upload is
still on disk, so they can be submitted again).
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

#: A run's states; the last four are final.
STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
ACTIVE = ("queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    project TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT '',
    baseline_label TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    error TEXT NOT NULL DEFAULT '',
    headline TEXT NOT NULL DEFAULT '',
    findings INTEGER NOT NULL DEFAULT 0,
    causes TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_by_project ON runs (project, created_at);
CREATE INDEX IF NOT EXISTS runs_by_owner ON runs (owner, created_at);
"""
_COLUMNS = (
    "id, owner, project, label, baseline_label, state, created_at, started_at, finished_at, "
    "error, headline, findings, causes"
)


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run as stored."""

    id: str
    owner: str
    project: str
    label: str
    baseline_label: str
    state: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    error: str
    headline: str
    findings: int
    causes: str

    @property
    def final(self) -> bool:
        return self.state not in ACTIVE

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner": self.owner,
            "project": self.project,
            "label": self.label,
            "baseline_label": self.baseline_label,
            "state": self.state,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "headline": self.headline,
            "findings": self.findings,
            "causes": [c for c in self.causes.split("\n") if c],
        }


def new_run_id() -> str:
    """128 random bits, URL-safe (S7)."""
    return secrets.token_hex(16)


class RunStore:
    """SQLite rows of runs; every call runs in a thread so the event loop never waits on disk."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    async def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return await asyncio.to_thread(self._exec, sql, params)

    def mark_interrupted(self) -> int:
        """At start-up: runs left queued or running by the last process were interrupted."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE runs SET state = 'interrupted', finished_at = ?, "
                "error = 'the server stopped before this run finished; submit it again' "
                "WHERE state IN ('queued', 'running')",
                (time.time(),),
            )
            return cur.rowcount

    async def create(
        self, run_id: str, *, owner: str, project: str, label: str, baseline_label: str
    ) -> None:
        await self._run(
            "INSERT INTO runs (id, owner, project, label, baseline_label, state, created_at) "
            "VALUES (?, ?, ?, ?, ?, 'queued', ?)",
            (run_id, owner, project, label, baseline_label, time.time()),
        )

    async def started(self, run_id: str) -> None:
        await self._run(
            "UPDATE runs SET state = 'running', started_at = ? WHERE id = ?", (time.time(), run_id)
        )

    async def finish(
        self,
        run_id: str,
        state: str,
        *,
        error: str = "",
        headline: str = "",
        findings: int = 0,
        causes: tuple[str, ...] = (),
    ) -> None:
        await self._run(
            "UPDATE runs SET state = ?, finished_at = ?, error = ?, headline = ?, findings = ?, "
            "causes = ? WHERE id = ?",
            (state, time.time(), error, headline, findings, "\n".join(causes), run_id),
        )

    def finish_now(self, run_id: str, state: str, error: str) -> None:
        """Mark a run final from shutdown code, where no thread hop is wanted."""
        self._exec(
            "UPDATE runs SET state = ?, finished_at = ?, error = ? WHERE id = ? "
            "AND state IN ('queued', 'running')",
            (state, time.time(), error, run_id),
        )

    async def get(self, run_id: str) -> RunRow | None:
        rows = await self._run(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return RunRow(*rows[0]) if rows else None

    async def recent(self, *, project: str | None = None, limit: int = 50) -> list[RunRow]:
        """Newest runs first, optionally of one project (visibility is the caller's filter)."""
        if project is None:
            rows = await self._run(
                f"SELECT {_COLUMNS} FROM runs ORDER BY created_at DESC LIMIT ?", (limit * 20,)
            )
        else:
            rows = await self._run(
                f"SELECT {_COLUMNS} FROM runs WHERE project = ? ORDER BY created_at DESC LIMIT ?",
                (project, limit * 20),
            )
        return [RunRow(*r) for r in rows]

    async def count_by_state(self) -> dict[str, int]:
        rows = await self._run("SELECT state, COUNT(*) FROM runs GROUP BY state")
        return dict(rows)
