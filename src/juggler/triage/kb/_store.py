"""The SQLite knowledge base, reached from the event loop through aiosqlite.

One file holds the causes and the incidents. Every connection runs with WAL (readers and
one writer proceed together) and a 5 s busy timeout; writes take the lock up front
(``BEGIN IMMEDIATE``, so a read never has to be upgraded, which SQLite refuses with an
immediate ``SQLITE_BUSY``), and a write that still meets a locked database is retried with
backoff until a deadline, then reported as :class:`StoreBusy`. ``database is locked`` never
reaches the user (RELIABILITY.md R15).

Threads: aiosqlite runs every statement on one thread per connection; the numpy work of the
dense search runs in ``asyncio.to_thread``. The event loop only awaits.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import sqlite3
import time
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeAlias, TypeVar, final

import numpy as np

from ._dense import DenseIndex
from ._embed import default_embedder
from ._errors import CatalogueError, EmbeddingError, StoreBusy
from ._model import Cause, Incident, Signature, SimilarIncident
from ._paths import resolve_path
from ._schema import (
    BUSY_DEADLINE_S,
    BUSY_TIMEOUT_MS,
    INCIDENT_COLUMNS,
    LEXICAL_SQL,
    cause_of,
    cause_row,
    incident_of,
    is_busy,
    prepare_file,
    validate,
)
from ._search import MAX_TERMS, POSTINGS_BUDGET, fuse, lexical_terms, similarity
from ._signature import signature_of_lines

if TYPE_CHECKING:
    import os
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
    from pathlib import Path

    import aiosqlite

    from ._embed import Embedder

__all__ = ["KnowledgeStore", "Ranking", "SqliteStore", "open_store"]

# Which rankings a search fuses: both (the default), or one alone (for the ablation).
Ranking: TypeAlias = Literal["hybrid", "lexical", "dense"]

T = TypeVar("T")

# Candidates per ranked list before fusion.
_CANDIDATES: Final = 50
_BACKFILL_BATCH: Final = 500
# Dense searches over at most this many floats (8k incidents of 256 dimensions) run on the
# loop itself.
_INLINE_FLOATS: Final = 1 << 21


class KnowledgeStore(Protocol):
    """What triage, the CLI and the server need from a knowledge base.

    The SQLite store implements it; a PostgreSQL (+ pgvector) store could, for a team.
    """

    async def add_cause(self, cause: Cause, *, replace: bool = False) -> None:
        """Store a cause (validated); refuse a duplicate name unless ``replace``."""
        ...

    async def get_cause(self, name: str) -> Cause | None:
        """The cause called ``name``, if any."""
        ...

    async def list_causes(self) -> list[Cause]:
        """Every cause, by name."""
        ...

    async def remove_cause(self, name: str) -> bool:
        """Delete a cause; False if there was none."""
        ...

    async def add_incident(self, incident: Incident) -> int:
        """Store an incident; returns its id."""
        ...

    async def add_incidents(self, incidents: Iterable[Incident]) -> list[int]:
        """Store many incidents in one transaction; returns their ids."""
        ...

    async def get_incident(self, incident_id: int) -> Incident | None:
        """The incident with this id, if any."""
        ...

    async def list_incidents(
        self, *, project: str | None = None, limit: int = 100
    ) -> list[Incident]:
        """The newest incidents, optionally of one project."""
        ...

    async def remove_incident(self, incident_id: int) -> bool:
        """Delete an incident; False if there was none."""
        ...

    async def search(
        self, query: Signature | str, *, project: str = "", k: int = 5, ranking: Ranking = "hybrid"
    ) -> list[SimilarIncident]:
        """The ``k`` past incidents most like ``query``, same project first."""
        ...


@final
class SqliteStore:
    """The embedded knowledge base. Create it with :func:`open_store`.

    Safe for many tasks of one event loop at once (writes are serialised by a lock) and for
    many processes on one file (SQLite's locking, WAL, retries).
    """

    def __init__(self, conn: aiosqlite.Connection, *, path: Path, embedder: Embedder) -> None:
        self._conn = conn
        self.path = path
        self._embedder = embedder
        self._write_lock = asyncio.Lock()
        self._index_lock = asyncio.Lock()
        self._writes = 0
        self._index = DenseIndex(idf_weighted=embedder.idf_weighted)
        self._index_key: tuple[int, int] | None = None

    @property
    def embedder(self) -> Embedder:
        """The embedder of this store's queries and new incidents."""
        return self._embedder

    # -- transactions -------------------------------------------------------------------

    async def _retrying(self, op: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + BUSY_DEADLINE_S
        delay = 0.02
        while True:
            try:
                return await op()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                if time.monotonic() > deadline:
                    raise StoreBusy(str(self.path), "database stayed locked; retry later") from None
            await asyncio.sleep(delay)  # backoff: another process holds the lock
            delay = min(delay * 2, 0.5)

    async def _write(self, body: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        async def attempt() -> T:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = await body(self._conn)
                await self._conn.execute("COMMIT")
            except BaseException:
                # Not conn.in_transaction: that reads the sqlite3 object from this thread.
                # The ROLLBACK is shielded so that a cancelled task still releases the lock.
                with contextlib.suppress(sqlite3.OperationalError):  # no transaction left
                    await asyncio.shield(self._conn.execute("ROLLBACK"))
                raise
            self._writes += 1
            return result

        async with self._write_lock:
            return await self._retrying(attempt)

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        async def attempt() -> list[Any]:
            return list(await self._conn.execute_fetchall(sql, tuple(params)))

        return await self._retrying(attempt)

    # -- causes -------------------------------------------------------------------------

    async def add_cause(self, cause: Cause, *, replace: bool = False) -> None:
        """Store ``cause``.

        Raises:
            CatalogueError: An indication is not a valid regex, or the name exists and
                ``replace`` is false.
        """
        validate(cause)

        async def body(conn: aiosqlite.Connection) -> None:
            verb = "INSERT OR REPLACE" if replace else "INSERT"
            try:
                await conn.execute(
                    f"{verb} INTO causes VALUES (?, ?, ?, ?, ?, ?)", cause_row(cause)
                )
            except sqlite3.IntegrityError:
                raise CatalogueError(
                    cause.name, "a cause of this name exists (replace it)"
                ) from None

        await self._write(body)

    async def add_causes(self, causes: Iterable[Cause], *, replace: bool = False) -> int:
        """Store many causes in one transaction; returns how many were written.

        Raises:
            CatalogueError: As :meth:`add_cause`; nothing is written then.
        """
        items = list(causes)
        for cause in items:
            validate(cause)
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"

        async def body(conn: aiosqlite.Connection) -> int:
            count = "SELECT total_changes()"  # in SQL: runs on the connection's own thread
            before = next(iter(await conn.execute_fetchall(count)))[0]
            await conn.executemany(
                f"{verb} INTO causes VALUES (?, ?, ?, ?, ?, ?)", [cause_row(c) for c in items]
            )
            return int(next(iter(await conn.execute_fetchall(count)))[0] - before)

        return await self._write(body)

    async def get_cause(self, name: str) -> Cause | None:
        """The cause called ``name``, or None."""
        rows = await self._fetchall("SELECT * FROM causes WHERE name = ?", (name,))
        return cause_of(rows[0]) if rows else None

    async def list_causes(self) -> list[Cause]:
        """Every cause, ordered by name."""
        return [cause_of(r) for r in await self._fetchall("SELECT * FROM causes ORDER BY name")]

    async def remove_cause(self, name: str) -> bool:
        """Delete the cause ``name``; False if there was none."""

        async def body(conn: aiosqlite.Connection) -> bool:
            cursor = await conn.execute("DELETE FROM causes WHERE name = ?", (name,))
            return cursor.rowcount > 0

        return await self._write(body)

    # -- incidents ----------------------------------------------------------------------

    async def add_incident(self, incident: Incident) -> int:
        """Store ``incident`` (its ``id`` is ignored) and return the new id."""
        return (await self.add_incidents([incident]))[0]

    async def add_incidents(self, incidents: Iterable[Incident]) -> list[int]:
        """Store many incidents in one transaction; returns their ids, in order."""
        items = list(incidents)
        documents = [i.signature.text() for i in items]
        vectors = await self._embedder.embed(documents) if items else None
        now = time.time()

        df: collections.Counter[str] = collections.Counter()
        for document in documents:
            df.update(lexical_terms(document))

        async def body(conn: aiosqlite.Connection) -> list[int]:
            await conn.executemany(
                "INSERT INTO terms (term, df) VALUES (?, ?)"
                " ON CONFLICT (term) DO UPDATE SET df = df + excluded.df",
                sorted(df.items()),
            )
            ids = []
            for n, incident in enumerate(items):
                assert vectors is not None
                cursor = await conn.execute(
                    "INSERT INTO incidents (project, created_at, source, signature, cause, fix,"
                    " link, document, embedder, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        incident.project,
                        incident.created_at or now,
                        incident.source,
                        json.dumps(incident.signature.to_json()),
                        incident.resolution.cause,
                        incident.resolution.fix,
                        incident.resolution.link,
                        documents[n],
                        self._embedder.name,
                        vectors[n].astype(np.float32).tobytes(),
                    ),
                )
                assert cursor.lastrowid is not None
                ids.append(cursor.lastrowid)
            return ids

        return await self._write(body)

    async def get_incident(self, incident_id: int) -> Incident | None:
        """The incident with this id, or None."""
        rows = await self._fetchall(
            f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)
        )
        return incident_of(rows[0]) if rows else None

    async def list_incidents(
        self, *, project: str | None = None, limit: int = 100
    ) -> list[Incident]:
        """The newest incidents first, optionally of one project."""
        where, params = ("WHERE project = ?", [project]) if project is not None else ("", [])
        rows = await self._fetchall(
            f"SELECT {INCIDENT_COLUMNS} FROM incidents {where} ORDER BY id DESC LIMIT ?",
            [*params, limit],
        )
        return [incident_of(r) for r in rows]

    async def remove_incident(self, incident_id: int) -> bool:
        """Delete an incident; False if there was none."""

        async def body(conn: aiosqlite.Connection) -> bool:
            rows = list(
                await conn.execute_fetchall(
                    "SELECT document FROM incidents WHERE id = ?", (incident_id,)
                )
            )
            if not rows:
                return False
            terms = [(t,) for t in lexical_terms(rows[0][0])]
            await conn.executemany("UPDATE terms SET df = df - 1 WHERE term = ?", terms)
            await conn.execute("DELETE FROM terms WHERE df <= 0")
            await conn.execute("DELETE FROM incidents WHERE id = ?", (incident_id,))
            return True

        return await self._write(body)

    async def count_incidents(self) -> int:
        """How many incidents are stored."""
        rows = await self._fetchall("SELECT count(*) FROM incidents")
        return int(rows[0][0])

    async def embed_missing(self) -> int:
        """Compute vectors for incidents stored without one (older schema, other embedder).

        Returns:
            How many incidents were (re-)embedded.
        """
        done = 0
        while True:
            rows = await self._fetchall(
                "SELECT id, document FROM incidents WHERE embedder IS NULL OR embedder != ?"
                " ORDER BY id LIMIT ?",
                (self._embedder.name, _BACKFILL_BATCH),
            )
            if not rows:
                return done
            vectors = await self._embedder.embed([r[1] for r in rows])

            async def body(
                conn: aiosqlite.Connection, rows: list[Any] = rows, vectors: Any = vectors
            ) -> None:
                await conn.executemany(
                    "UPDATE incidents SET embedder = ?, vector = ? WHERE id = ?",
                    [
                        (self._embedder.name, vectors[n].astype(np.float32).tobytes(), r[0])
                        for n, r in enumerate(rows)
                    ],
                )

            await self._write(body)
            done += len(rows)

    # -- retrieval ----------------------------------------------------------------------

    async def _refresh_index(self, data_version: int) -> DenseIndex:
        """Bring the in-memory vectors up to date with the file (appends when it can).

        ``data_version`` (SQLite's counter of other connections' commits) and this store's
        own write count tell whether anything changed since the last search.
        """
        key = (data_version, self._writes)
        if key == self._index_key:
            return self._index
        name = self._embedder.name
        count = (
            await self._fetchall("SELECT count(*) FROM incidents WHERE embedder = ?", (name,))
        )[0][0]
        rows = await self._fetchall(
            "SELECT id, project, vector FROM incidents WHERE embedder = ? AND id > ? ORDER BY id",
            (name, self._index.max_id),
        )
        index = self._index
        if len(index) + len(rows) != count:  # deletions: start over
            index = DenseIndex(idf_weighted=self._embedder.idf_weighted)
            rows = await self._fetchall(
                "SELECT id, project, vector FROM incidents WHERE embedder = ? ORDER BY id", (name,)
            )
        if rows:
            await asyncio.to_thread(
                index.append, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
            )
        self._index, self._index_key = index, key
        return index

    async def _lexical(self, text: str, project: str) -> tuple[int, list[int], list[int]]:
        """``(data_version, ids overall, ids of the project)``, best first."""
        rows = await self._fetchall(
            LEXICAL_SQL,
            (
                json.dumps(lexical_terms(text)),
                POSTINGS_BUDGET,
                MAX_TERMS,
                _CANDIDATES,
                project,
                _CANDIDATES if project else 0,
            ),
        )
        version = next(int(r[1]) for r in rows if r[0] == -1)
        overall = [r[0] for r in rows if r[1] == 0 and r[0] != -1]
        same = [r[0] for r in rows if r[1] == 1 and r[0] != -1]
        return version, overall, same

    async def _dense(
        self, text: str, project: str, data_version: int
    ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        try:
            vector = (await self._embedder.embed([text]))[0]
        except EmbeddingError:
            return [], []  # the endpoint is down: lexical results alone are still useful
        async with self._index_lock:
            index = await self._refresh_index(data_version)
            if index.size <= _INLINE_FLOATS:
                # Under ~0.5 ms of work: cheaper than the GIL hand-off of a thread trip.
                return index.search(vector, project=project)
            # numpy releases the GIL in the product: the loop keeps running meanwhile.
            return await asyncio.to_thread(index.search, vector, project=project)

    async def search(
        self, query: Signature | str, *, project: str = "", k: int = 5, ranking: Ranking = "hybrid"
    ) -> list[SimilarIncident]:
        """The ``k`` past incidents most like ``query``: hybrid, fused, same project first.

        Lexical (FTS5 BM25 over the masked documents, with the query's rarest terms within
        a budget of postings, each escaped) and dense (cosine of the embedder's vectors,
        exact) rankings are fused by reciprocal rank. When
        ``project`` is given, its incidents that either ranking found are ranked among
        themselves and come first: a project's own history is the best predictor of its
        failures.

        Args:
            query: A signature (from :func:`signature_of`) or free text (masked first).
            project: The querying project, or ``""``.
            k: Results wanted.
            ranking: ``"hybrid"`` (both rankings fused), ``"lexical"`` or ``"dense"`` alone
                (``bench/kb_retrieval.py`` measures the three).

        If the embeddings endpoint fails, the results are lexical only (``dense_rank`` is
        ``None`` everywhere and ``cosine`` 0).

        Raises:
            StoreBusy: The database stayed locked past the deadline.
        """
        text = query.text() if isinstance(query, Signature) else query
        if isinstance(query, str):
            text = signature_of_lines(query.split("\n")).text() or query
        # In turn, not concurrently: the lexical trip also reads the data version the dense
        # index needs, and fewer threads at once means fewer GIL hand-offs for the loop.
        version, lex_all, lex_same = await self._lexical(text, project)
        dense_all: list[tuple[int, float]] = []
        dense_same: list[tuple[int, float]] = []
        if ranking != "lexical":
            dense_all, dense_same = await self._dense(text, project, version)
        if ranking == "dense":
            lex_all, lex_same = [], []
        cosine = dict(dense_all) | dict(dense_same)
        lex_rank = {i: n for n, i in enumerate(lex_all, 1)}
        dense_rank = {i: n for n, (i, _) in enumerate(dense_all, 1)}
        ordered: list[tuple[int, float, bool]] = []
        seen: set[int] = set()
        if project:
            same = fuse(lex_same, [i for i, _ in dense_same])
            for i, score in sorted(same.items(), key=lambda kv: (-kv[1], kv[0])):
                ordered.append((i, score, True))
                seen.add(i)
        rest = fuse(lex_all, [i for i, _ in dense_all])
        for i, score in sorted(rest.items(), key=lambda kv: (-kv[1], kv[0])):
            if i not in seen:
                ordered.append((i, score, False))
        ordered = ordered[:k]
        if not ordered:
            return []
        marks = ", ".join("?" * len(ordered))
        rows = await self._fetchall(
            f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id IN ({marks})",
            [i for i, _, _ in ordered],
        )
        found = {r[0]: incident_of(r) for r in rows}
        return [
            SimilarIncident(
                incident=found[i],
                score=score,
                same_project=same_flag and bool(project),
                lexical_rank=lex_rank.get(i),
                dense_rank=dense_rank.get(i),
                cosine=cosine.get(i, 0.0),
                similarity=similarity(text, found[i].signature.text(), cosine.get(i)),
            )
            for i, score, same_flag in ordered
            if i in found  # deleted meanwhile by another process
        ]


@contextlib.asynccontextmanager
async def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    embedder: Embedder | None = None,
    seed: bool = True,
) -> AsyncIterator[SqliteStore]:
    """Open (creating or migrating) the knowledge base, and close it on exit.

    Args:
        path: The file; ``None`` resolves ``$JUGGLER_KB`` then the XDG data directory.
        embedder: Vectors for new incidents and queries; default: the one
            ``$JUGGLER_EMBEDDER`` names (:func:`default_embedder`), :class:`HashingEmbedder`.
        seed: Fill a new file with the starter catalogue of causes.

    Raises:
        SchemaTooNew: The file was written by a newer juggler.
        StoreBusy: Another process kept the file locked past the deadline.
        EmbeddingError: ``$JUGGLER_EMBEDDER`` names an unknown or missing embedder.

    Example:
        ::

            async with open_store() as kb:
                causes = match_causes(lines, await kb.list_causes())
                similar = await kb.search(signature_of(result), project="acme/app")
    """
    import aiosqlite  # lazy: cpu workers import this package only to match causes

    embedder = embedder or default_embedder()  # a bad $JUGGLER_EMBEDDER fails before any I/O
    resolved = resolve_path(path)
    await asyncio.to_thread(prepare_file, resolved, seed=seed)
    conn = await aiosqlite.connect(resolved, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA synchronous = NORMAL")
        store = SqliteStore(conn, path=resolved, embedder=embedder)
        with contextlib.suppress(EmbeddingError):
            # An endpoint that is down must not keep the KB closed: those incidents are still
            # found lexically, and get their vectors on a later open.
            await store.embed_missing()
        yield store
    finally:
        await asyncio.shield(conn.close())
