"""Hybrid retrieval: FTS escaping (RELIABILITY.md M12), fusion, ranking, signatures."""

from __future__ import annotations

import asyncio
import collections
import json
import sqlite3
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juggler.triage.kb import (
    HashingEmbedder,
    Incident,
    Resolution,
    Signature,
    fts_query,
    open_store,
    signature_of,
    signature_of_lines,
)
from juggler.triage.kb._dense import DenseIndex
from juggler.triage.kb._migrations import migrate
from juggler.triage.kb._schema import LEXICAL_SQL
from juggler.triage.kb._search import (
    MAX_TERMS,
    POSTINGS_BUDGET,
    fuse,
    lexical_terms,
    pick_terms,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NASTY = [
    '"',
    '""',
    "NEAR(a b",
    "NEAR(",
    "*",
    "a*",
    "-",
    "-foo",
    ":col",
    "document:x",
    "AND OR NOT",
    "^start",
    "(a OR b",
    "{a b}",
    "'; DROP TABLE incidents; --",
    "\x00null\x00",
    "e\u0301 ﬁ ǅ",
    "a+b",
    "",
    "   ",
]


@pytest.fixture
def fts() -> Iterator[sqlite3.Connection]:
    """An in-memory KB at the current schema, holding three documents."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    docs = ["near error star col", "AND OR NOT document", "plain words here"]
    for n, doc in enumerate(docs, 1):
        conn.execute(
            "INSERT INTO incidents (id, project, created_at, signature, document)"
            " VALUES (?, 'p', 0, '{}', ?)",
            (n, doc),
        )
    df = collections.Counter(t for doc in docs for t in lexical_terms(doc))
    conn.executemany("INSERT INTO terms (term, df) VALUES (?, ?)", df.items())
    yield conn
    conn.close()


def _lexical(
    conn: sqlite3.Connection, text: str, *, budget: int = POSTINGS_BUDGET
) -> list[tuple[int, int]]:
    """The store's lexical statement, as it runs it; ``(id, list)`` rows, version row dropped."""
    params = (json.dumps(lexical_terms(text)), budget, MAX_TERMS, 50, "p", 50)
    return [r for r in conn.execute(LEXICAL_SQL, params).fetchall() if r[0] != -1]


@pytest.mark.parametrize("query", NASTY)
def test_fts_syntax_in_queries_is_inert(fts: sqlite3.Connection, query: str) -> None:
    """FTS5 operators in a query are searched as words, never parsed (M12)."""
    _lexical(fts, query)  # must not raise sqlite3.OperationalError
    raw = fts_query(query)
    if raw:
        fts.execute("SELECT rowid FROM incidents_fts WHERE incidents_fts MATCH ?", (raw,))


def test_operator_words_are_found_as_words(fts: sqlite3.Connection) -> None:
    """ "AND", "NEAR" and "col" match the documents holding those words."""
    assert {r[0] for r in _lexical(fts, "NEAR(error")} == {1}
    assert {r[0] for r in _lexical(fts, "AND NOT")} == {2}


@settings(
    max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text())
def test_any_text_is_a_safe_query(fts: sqlite3.Connection, text: str) -> None:
    """For any text, the lexical query runs without an OperationalError (M12)."""
    _lexical(fts, text)


def test_store_search_survives_nasty_queries(tmp_path: Path) -> None:
    """The whole async search path accepts FTS syntax and odd text as queries."""

    async def main() -> None:
        async with open_store(tmp_path / "kb.sqlite3", seed=False) as kb:
            await kb.add_incident(
                Incident(signature=signature_of_lines(["NEAR error * col"]), project="p")
            )
            for query in NASTY:
                await kb.search(query, project="p")
                await kb.search(Signature(templates=(query,), failed_step=query), project=query)

    asyncio.run(main())


def test_fuse_prefers_items_ranked_well_by_both() -> None:
    """Reciprocal rank fusion sums 1/(k + rank) over the lists."""
    scores = fuse([1, 2, 3], [2, 3, 1], k=60)
    assert max(scores, key=lambda i: scores[i]) == 2
    assert scores[1] == pytest.approx(1 / 61 + 1 / 63)


def test_sql_picks_the_same_terms_as_pick_terms(fts: sqlite3.Connection) -> None:
    """The statement keeps the rarest terms within the postings budget, like pick_terms."""
    df = {"alpha": 1, "bravo": 3, "charlie": 5, "delta": 8, "echo": 20, "foxtrot": 0}
    fts.execute("DELETE FROM incidents")
    fts.execute("DELETE FROM terms")
    for n, term in enumerate(df, 10):
        fts.execute(
            "INSERT INTO incidents (id, project, created_at, signature, document)"
            " VALUES (?, 'p', 0, '{}', ?)",
            (n, term),
        )
    fts.executemany("INSERT INTO terms (term, df) VALUES (?, ?)", df.items())
    ids = dict(enumerate(df, 10))
    for budget in (0, 1, 4, 10, 17, 100):
        found = {ids[i] for i, kind in _lexical(fts, " ".join(df), budget=budget) if kind == 0}
        assert found == set(pick_terms(df, budget=budget)), budget


def test_pick_terms_keeps_rare_terms_within_budget() -> None:
    """Rarest first; unknown terms dropped; a term past the budget ends the list."""
    df = {"common": 900, "rare": 2, "unknown": 0, "mid": 50}
    assert pick_terms(df, budget=100) == ["rare", "mid"]
    assert pick_terms(df, budget=1) == []
    assert pick_terms(df, budget=10_000, max_terms=1) == ["rare"]


def test_dense_index_ranks_by_cosine_and_by_project() -> None:
    """Exact cosine ranking overall and within the query's project."""
    index = DenseIndex(idf_weighted=False)
    vectors = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0]], dtype=np.float32)
    index.append([1, 2, 3], ["a", "b", "b"], [v.tobytes() for v in vectors])
    overall, same = index.search(np.array([1, 0, 0], dtype=np.float32), project="b")
    assert [i for i, _ in overall] == [1, 2]  # orthogonal vector 3 left out
    assert [i for i, _ in same] == [2]
    assert overall[0][1] == pytest.approx(1.0)


def test_hashing_embedder_is_deterministic() -> None:
    """Same text, same vector, in any process (CRC32, not Python's salted hash)."""
    embedder = HashingEmbedder(dim=64)
    a = embedder.embed_one("error: Connection refused to db.internal")
    assert np.array_equal(a, embedder.embed_one("error: Connection refused to db.internal"))
    assert a.shape == (64,)
    assert a.dtype == np.float32
    assert float(np.abs(a).sum()) > 0


def test_same_project_incidents_come_first(tmp_path: Path) -> None:
    """A matching incident of the query's project outranks a closer one of another project."""
    text = "error: test_upload failed: timeout talking to storage"

    async def main() -> list[tuple[str, bool]]:
        async with open_store(tmp_path / "kb.sqlite3", seed=False) as kb:
            await kb.add_incidents(
                [
                    Incident(signature=signature_of_lines([text]), project="other/x"),
                    Incident(
                        signature=signature_of_lines(["error: test_upload failed: bad gateway"]),
                        project="acme/app",
                        resolution=Resolution(cause="gateway"),
                    ),
                    Incident(signature=signature_of_lines(["all good"]), project="acme/app"),
                ]
            )
            found = await kb.search(signature_of_lines([text]), project="acme/app", k=5)
            return [(s.incident.project, s.same_project) for s in found]

    assert asyncio.run(main()) == [("acme/app", True), ("other/x", False)]


def test_signature_of_a_triage_result() -> None:
    """Masked templates of the top findings, the failing step and tests, the kinds."""
    triage = {
        "findings": [
            {"rank": 2, "kind": "pytest", "excerpt": "FAILED tests/test_b.py::test_x - 3 != 4"},
            {"rank": 1, "kind": "oom", "excerpt": "\x1b[31mKilled process 4121\x1b[0m\n\n42"},
            {"rank": 9, "kind": "noise", "excerpt": "ignored: beyond the top 3"},
            {"rank": 3, "kind": "x", "excerpt": "Killed process 777"},
            "not a finding",
        ],
        "analysis": {"failed_step": "Run tests 3", "failing_tests": ["t2", "t1", 7]},
    }
    sig = signature_of(triage)
    assert sig.templates == ("Killed process <*>", "FAILED tests/test_b.py::test_x - <*> != <*>")
    assert sig.failed_step == "Run tests <*>"
    assert sig.failing_tests == ("t1", "t2")
    assert sig.kinds == ("oom", "pytest", "x")
    assert signature_of({}) == Signature()
    assert signature_of({"findings": "nope", "analysis": []}) == Signature()
