"""The run journal: what a triage run committed, so ``--resume RUN_ID`` redoes only the rest.

RELIABILITY.md Semantics §6, R9 and R10. Each chunk's scan is committed to SQLite (WAL,
one transaction per chunk, ``INSERT OR REPLACE``: a re-executed chunk overwrites, never
appends) as the parent receives it (an ``io`` stage, off the event loop), keyed by

    (what the scan depends on, the input's identity, the chunk's byte range)

— the juggler version, the baseline's keys and the known causes; the file's device, inode,
size and modification time (or a digest of the bytes held in memory); the range. A resumed
run plans its inputs again, takes every chunk whose key the journal holds, scans only the
others, and folds both: chunk scans fold in any order (:class:`~._findings.ScanFold`), so
the findings and the memo are those of an uninterrupted run. A changed file, baseline or
catalogue changes the keys, so nothing stale is reused.

Durability: ``synchronous=NORMAL`` in WAL survives the process being killed (SIGKILL
included); a power cut may lose the last commits, which are then simply scanned again.
The journal holds what the scan workers return, secrets already redacted
(:mod:`._secrets`). It is local state of the user who runs juggler, trusted like the KB:
results are stored pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from juggler import JugglerError, __version__

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .kb import Cause
    from .scrape import Chunk

__all__ = ["JournalFold", "ResumeError", "RunJournal", "default_journal_path", "new_run_id"]

#: Runs untouched for this long are pruned when a journal is opened.
KEEP_S: Final = 14 * 24 * 3600
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, started REAL NOT NULL, updated REAL NOT NULL, status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    run_id TEXT NOT NULL, key TEXT NOT NULL, result BLOB NOT NULL, PRIMARY KEY (run_id, key)
);
"""


class ResumeError(JugglerError):
    """``--resume`` named a run the journal cannot continue (unknown, or already finished)."""


def new_run_id() -> str:
    """A fresh run id: 16 hex digits (64 random bits)."""
    return uuid.uuid4().hex[:16]


def default_journal_path(kb: str | os.PathLike[str] | None = None) -> Path:
    """``$JUGGLER_JOURNAL``, else ``runs.sqlite3`` next to the knowledge base."""
    env = os.environ.get("JUGGLER_JOURNAL")
    if env:
        return Path(env)
    from .kb._paths import resolve_path

    return resolve_path(kb).with_name("runs.sqlite3")


def fingerprint(baseline: frozenset[str] | None, causes: Iterable[Cause]) -> str:
    """A digest of everything besides the input that a chunk's scan depends on."""
    h = hashlib.blake2b(digest_size=16)
    h.update(__version__.encode())
    if baseline is None:
        h.update(b"\0no-baseline")
    else:
        for key in sorted(baseline):
            h.update(key.encode("utf-8", "surrogatepass") + b"\0")
    h.update(json.dumps([c.to_json() for c in causes], sort_keys=True).encode())
    return h.hexdigest()


def _file_identity(path: str) -> str:
    st = os.stat(path)
    return f"{os.path.realpath(path)}|{st.st_dev}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}"


class RunJournal:
    """One run's record in the journal file; thread-safe (planning threads, the loop)."""

    def __init__(self, path: str | os.PathLike[str], run_id: str, *, resume: bool) -> None:
        self.path = Path(path)
        self.run_id = run_id
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            # A finished run's chunks are deleted; zero their pages rather than leave them.
            self._conn.execute("PRAGMA secure_delete=ON")
            self._conn.executescript(_SCHEMA)
            self._done = self._open_run(resume)
        except BaseException:
            self._conn.close()
            raise
        self._fingerprint = ""
        self._identities: dict[str, str] = {}
        #: Chunks taken from the journal, and chunks committed by this process.
        self.reused = 0
        self.committed = 0
        #: Why the journal stopped recording (a full disk...), or ``None``.
        self.failed: str | None = None

    def _open_run(self, resume: bool) -> dict[str, bytes]:
        now = time.time()
        with self._conn:
            stale = now - KEEP_S
            self._conn.execute(
                "DELETE FROM chunks WHERE run_id IN (SELECT run_id FROM runs WHERE updated < ?)",
                (stale,),
            )
            self._conn.execute("DELETE FROM runs WHERE updated < ?", (stale,))
            row = self._conn.execute(
                "SELECT status FROM runs WHERE run_id = ?", (self.run_id,)
            ).fetchone()
            if resume and row is None:
                raise ResumeError(f"--resume {self.run_id}: no such run in {self.path}")
            if resume and row[0] == "done":
                raise ResumeError(f"--resume {self.run_id}: that run finished; nothing to resume")
            if not resume and row is not None:
                raise ResumeError(f"run id {self.run_id} is taken in {self.path}")
            self._conn.execute(
                "INSERT OR REPLACE INTO runs (run_id, started, updated, status) "
                "VALUES (?, COALESCE((SELECT started FROM runs WHERE run_id = ?), ?), ?, ?)",
                (self.run_id, self.run_id, now, now, "running"),
            )
        rows = self._conn.execute(
            "SELECT key, result FROM chunks WHERE run_id = ?", (self.run_id,)
        ).fetchall()
        return {key: bytes(blob) for key, blob in rows}

    @property
    def journaled(self) -> int:
        """Chunks the journal held for this run when it was opened."""
        return len(self._done)

    def begin(self, baseline: frozenset[str] | None, causes: Iterable[Cause]) -> None:
        """Fix what the keys depend on, once the baseline and causes are known."""
        self._fingerprint = fingerprint(baseline, causes)

    def key(self, chunk: Chunk) -> str:
        """The journal key of ``chunk``: scan settings, input identity, byte range."""
        if chunk.data is not None:
            identity = hashlib.blake2b(chunk.data, digest_size=16).hexdigest()
        else:
            assert chunk.path is not None
            identity = self._identities.get(chunk.path) or ""
            if not identity:
                try:
                    identity = _file_identity(chunk.path)
                except OSError:
                    identity = new_run_id()  # unreadable now: never matches, scanned again
                self._identities[chunk.path] = identity
        raw = f"{self._fingerprint}|{chunk.source}|{identity}|{chunk.start}|{chunk.end}"
        return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()

    def take(self, key: str) -> Any | None:
        """The committed result for ``key``, or ``None`` (then the chunk is scanned)."""
        blob = self._done.get(key)
        if blob is None:
            return None
        try:
            value = pickle.loads(blob)  # our own local state: see the module doc
        except Exception:  # written by another juggler version: scan it again
            return None
        with self._lock:
            self.reused += 1
        return value

    def commit(self, key: str, result: Any) -> None:
        """Record one chunk's result (one transaction; a repeat overwrites).

        Never raises: a journal that cannot be written (a full disk) must not cost the run
        its findings. It stops recording and says why in :attr:`failed`.
        """
        if self.failed is not None:
            return
        try:
            blob = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            with self._lock, self._conn:
                self._conn.execute(
                    "INSERT OR REPLACE INTO chunks (run_id, key, result) VALUES (?, ?, ?)",
                    (self.run_id, key, blob),
                )
                self._conn.execute(
                    "UPDATE runs SET updated = ? WHERE run_id = ?", (time.time(), self.run_id)
                )
                self.committed += 1
        except (sqlite3.Error, OSError, pickle.PicklingError) as exc:
            self.failed = f"{type(exc).__name__}: {exc}"

    def finish(self, status: str) -> None:
        """Mark the run ``done`` (its chunks are dropped) or ``interrupted`` (kept)."""
        with self._lock, self._conn:
            if status == "done":
                self._conn.execute("DELETE FROM chunks WHERE run_id = ?", (self.run_id,))
            self._conn.execute(
                "UPDATE runs SET status = ?, updated = ? WHERE run_id = ?",
                (status, time.time(), self.run_id),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class JournalFold:
    """Journals the fold stage's inputs and feeds it the journaled ones.

    Planning asks :meth:`pending` which of an input's jobs still need a worker; the rest
    wait here until the fold stage (which always runs, and emits even with no input) takes
    them in.
    """

    def __init__(
        self,
        journal: RunJournal,
        fold: Callable[[Any, Any], Any],
        split: Callable[[Any], Any],
    ) -> None:
        self.journal = journal
        self._fold = fold
        self._split = split
        self._lock = threading.Lock()
        self._ready: list[Any] = []

    def pending(self, jobs: Iterable[Any], *, keyed: Callable[[Any, str], Any]) -> list[Any]:
        """The jobs to scan (each given its key by ``keyed``); journaled results wait here."""
        todo = []
        for job in jobs:
            key = self.journal.key(job.chunk)
            done = self.journal.take(key)
            if done is None:
                todo.append(keyed(job, key))
            else:
                with self._lock:
                    self._ready.append(done)
        return todo

    def _drain(self, acc: Any) -> Any:
        with self._lock:
            ready, self._ready = self._ready, []
        for item in ready:
            acc = self._fold(acc, item)
        return acc

    def record(self, item: Any) -> Any:
        """Commit ``item`` to the journal and pass it on (an ``io`` stage before the fold:
        pickling and writing a chunk's scan, and SQLite's occasional checkpoint, must not
        hold the event loop that keeps the workers fed)."""
        if getattr(item, "key", ""):
            self.journal.commit(item.key, item)
        return item

    def fold(self, acc: Any, item: Any) -> Any:
        """Fold ``item`` (and any journaled results)."""
        return self._fold(self._drain(acc), item)

    def split(self, acc: Any) -> Any:
        """Fold the journaled results no scan brought in, then split as usual."""
        return self._split(self._drain(acc))
