"""The SQLite knowledge base: location, causes, incidents, migrations, concurrency."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from juggler.triage.kb import (
    SCHEMA_VERSION,
    CatalogueError,
    Cause,
    Incident,
    Indication,
    Resolution,
    SchemaTooNew,
    Signature,
    load_catalogue,
    open_store,
    resolve_path,
    signature_of_lines,
)
from juggler.triage.kb._migrations import STEPS


def _incident(text: str, project: str = "acme/app", cause: str = "") -> Incident:
    return Incident(
        signature=signature_of_lines(text.split("\n")),
        project=project,
        resolution=Resolution(cause=cause, fix=f"fix {cause}", link="https://example.org/1"),
    )


def test_location_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit path wins over $JUGGLER_KB, which wins over the XDG data directory."""
    monkeypatch.delenv("JUGGLER_KB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_path() == tmp_path / "xdg" / "juggler" / "kb.sqlite3"
    monkeypatch.setenv("JUGGLER_KB", str(tmp_path / "env.sqlite3"))
    assert resolve_path() == tmp_path / "env.sqlite3"
    assert resolve_path(tmp_path / "x.sqlite3") == tmp_path / "x.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("JUGGLER_KB")
    assert resolve_path() == Path.home() / ".local" / "share" / "juggler" / "kb.sqlite3"


def test_new_store_is_wal_seeded_and_current(tmp_path: Path) -> None:
    """A new file is created with its folder, in WAL mode, at the current schema, seeded."""
    path = tmp_path / "deep" / "kb.sqlite3"

    async def main() -> int:
        async with open_store(path) as kb:
            return len(await kb.list_causes())

    assert asyncio.run(main()) == len(load_catalogue())
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_causes_round_trip(tmp_path: Path) -> None:
    """Causes are added, listed, replaced, fetched and removed; bad regexes are refused."""
    cause = Cause(
        name="flaky-dns",
        category="network",
        description="DNS failed for {host}",
        fix="retry",
        links=("https://example.org/dns",),
        indications=(Indication(pattern=r"lookup (?P<host>\S+) failed"),),
    )

    async def main() -> None:
        async with open_store(tmp_path / "kb.sqlite3", seed=False) as kb:
            await kb.add_cause(cause)
            assert await kb.get_cause("flaky-dns") == cause
            with pytest.raises(CatalogueError, match="exists"):
                await kb.add_cause(cause)
            await kb.add_cause(cause, replace=True)
            with pytest.raises(CatalogueError, match="not a valid regex"):
                await kb.add_cause(Cause(name="bad", indications=(Indication(pattern="("),)))
            assert [c.name for c in await kb.list_causes()] == ["flaky-dns"]
            assert await kb.remove_cause("flaky-dns")
            assert not await kb.remove_cause("flaky-dns")
            assert await kb.get_cause("flaky-dns") is None

    asyncio.run(main())


def test_incidents_round_trip(tmp_path: Path) -> None:
    """Incidents keep their signature, project and resolution; removal updates search."""

    async def main() -> None:
        async with open_store(tmp_path / "kb.sqlite3", seed=False) as kb:
            first = await kb.add_incident(_incident("error: disk quota exceeded", cause="quota"))
            second = await kb.add_incident(_incident("npm ERR! ERESOLVE", project="other/x"))
            got = await kb.get_incident(first)
            assert got is not None
            assert got.resolution.cause == "quota"
            assert got.signature.templates == ("error: disk quota exceeded",)
            assert [i.id for i in await kb.list_incidents()] == [second, first]
            assert [i.id for i in await kb.list_incidents(project="other/x")] == [second]
            assert (await kb.search("disk quota exceeded"))[0].incident.id == first
            assert await kb.remove_incident(first)
            assert not await kb.remove_incident(first)
            assert all(s.incident.id != first for s in await kb.search("disk quota exceeded"))
            assert await kb.count_incidents() == 1

    asyncio.run(main())


def _make_v1(path: Path) -> None:
    """A database exactly as schema version 1 left it, with one cause and one incident."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(STEPS[0].sql)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.execute(
        "INSERT INTO causes VALUES ('old', 'build', 'an old cause', 'fix it', '[]',"
        ' \'[{"pattern": "old failure", "multiline": false}]\')'
    )
    signature = Signature(templates=("fatal: linker ran out of <*> slots",), failed_step="link")
    conn.execute(
        "INSERT INTO incidents (project, created_at, source, signature, cause, fix, link)"
        " VALUES ('acme/app', 1.5, 'run-7.json', ?, 'linker-slots', 'bump slots', '')",
        (json.dumps(signature.to_json()),),
    )
    conn.close()


def test_migrates_a_version_1_database(tmp_path: Path) -> None:
    """A v1 file is migrated in place: data kept, documents indexed, vectors filled."""
    path = tmp_path / "kb.sqlite3"
    _make_v1(path)

    async def main() -> None:
        async with open_store(path) as kb:
            # seeding happens only for new files: the old catalogue is left as it was
            assert [c.name for c in await kb.list_causes()] == ["old"]
            [incident] = await kb.list_incidents()
            assert incident.resolution.cause == "linker-slots"
            assert incident.signature.failed_step == "link"
            [hit] = await kb.search("linker ran out of slots", project="acme/app")
            assert hit.incident.id == incident.id
            assert hit.lexical_rank == 1
            assert hit.dense_rank == 1

    asyncio.run(main())
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM incidents WHERE vector IS NULL").fetchone() == (
            0,
        )
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    """A file from a newer juggler is refused with a one-line error, and left untouched."""
    path = tmp_path / "kb.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (99)")
    conn.commit()
    conn.close()

    async def main() -> None:
        async with open_store(path):
            pass

    with pytest.raises(SchemaTooNew, match="newer"):
        asyncio.run(main())


def test_concurrent_readers_with_one_writer(tmp_path: Path) -> None:
    """Four reader connections search while a writer adds incidents: no locked errors."""
    path = tmp_path / "kb.sqlite3"
    texts = [f"error: test_{n} failed with code {n}\nAssertionError: case {n}" for n in range(40)]

    async def writer() -> list[int]:
        async with open_store(path, seed=False) as kb:
            # one transaction per incident: the most lock traffic
            return [
                await kb.add_incident(_incident(t, project=f"p{n % 3}"))
                for n, t in enumerate(texts)
            ]

    async def reader(n: int) -> int:
        seen = 0
        async with open_store(path, seed=False) as kb:
            for round_ in range(30):
                found = await kb.search(texts[(n + round_) % len(texts)], project="p1", k=3)
                seen = max(seen, await kb.count_incidents())
                assert len(found) <= 3
                await asyncio.sleep(0)
        return seen

    async def main() -> list[int]:
        async with open_store(path, seed=False):
            pass  # create the file first, so that every connection sees the same schema
        async with asyncio.TaskGroup() as tg:
            written = tg.create_task(writer())
            readers = [tg.create_task(reader(n)) for n in range(4)]
        assert all(r.result() <= len(texts) for r in readers)
        return written.result()

    ids = asyncio.run(main())
    assert len(set(ids)) == len(texts)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == len(texts)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_writer_waits_for_another_connections_lock(tmp_path: Path) -> None:
    """A write meeting a held write lock waits (busy timeout + retries) instead of failing."""
    path = tmp_path / "kb.sqlite3"

    async def main() -> int:
        async with open_store(path, seed=False) as kb:
            blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            blocker.execute("BEGIN IMMEDIATE")
            loop = asyncio.get_running_loop()
            loop.call_later(0.3, blocker.execute, "COMMIT")
            try:
                return await kb.add_incident(_incident("error: waited for the lock"))
            finally:
                blocker.close()

    assert asyncio.run(main()) == 1


def test_external_writes_are_seen_by_the_dense_index(tmp_path: Path) -> None:
    """Incidents added by another connection are found by a store that already searched."""
    path = tmp_path / "kb.sqlite3"

    async def main() -> None:
        async with open_store(path, seed=False) as a, open_store(path, seed=False) as b:
            await a.add_incident(_incident("error: first thing broke"))
            assert len(await b.search("first thing broke")) == 1
            await a.add_incident(_incident("error: second thing broke"))
            found = await b.search("second thing broke")
            assert found[0].incident.signature.templates == ("error: second thing broke",)
            assert found[0].dense_rank == 1

    asyncio.run(main())
