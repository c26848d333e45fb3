"""The semantic embedder (WordLlama, ``juggler[semantic]``), the search's ranking modes, and
``$JUGGLER_EMBEDDER``: on a real SQLite store, offline."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

import numpy as np
import pytest

from juggler.triage.kb import (
    EmbeddingError,
    HashingEmbedder,
    Incident,
    Resolution,
    SemanticEmbedder,
    default_embedder,
    open_store,
    signature_of_lines,
)

from ..cli._run import juggler_cli

if TYPE_CHECKING:
    from pathlib import Path

MISSING_MODULE = "ModuleNotFoundError: No module named 'yaml'"
IMPORT_FAILED = "ImportError: cannot import a package the build did not install"
DISK_FULL = "OSError: [Errno 28] No space left on device"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection attempt fails the test: the model must come from the wheel alone."""

    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"the embedder tried the network: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.usefixtures("no_network")
def test_semantic_embedder_knows_paraphrases_offline() -> None:
    """Two wordings of "a module is missing" are nearer each other than a full disk."""
    vectors = asyncio.run(SemanticEmbedder().embed([MISSING_MODULE, IMPORT_FAILED, DISK_FULL]))
    assert vectors.shape == (3, 256)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.1
    # Feature hashing cannot see it: the two share no word, so their hashed vectors are
    # nearly orthogonal (the reason a learned model is offered at all).
    hashed = asyncio.run(HashingEmbedder().embed([MISSING_MODULE, IMPORT_FAILED]))
    cosine = hashed[0] @ hashed[1] / np.linalg.norm(hashed[0]) / np.linalg.norm(hashed[1])
    assert cosine < similar


def _kb_with_two_incidents(path: Path) -> list[list[tuple[str, int | None, int | None]]]:
    """Search with each ranking; (cause, lexical rank, dense rank) per result."""

    async def main() -> list[list[tuple[str, int | None, int | None]]]:
        async with open_store(path, seed=False) as kb:
            await kb.add_incidents(
                [
                    Incident(
                        signature=signature_of_lines([MISSING_MODULE]),
                        project="acme/app",
                        resolution=Resolution(cause="missing module"),
                    ),
                    Incident(
                        signature=signature_of_lines([DISK_FULL]),
                        project="acme/app",
                        resolution=Resolution(cause="disk full"),
                    ),
                ]
            )
            out = []
            for ranking, query in (
                ("hybrid", IMPORT_FAILED),
                ("lexical", "No module named 'requests'"),
                ("dense", IMPORT_FAILED),
            ):
                found = await kb.search(query, k=2, ranking=ranking)
                out.append(
                    [
                        (
                            s.incident.resolution.cause if s.incident.resolution else "",
                            s.lexical_rank,
                            s.dense_rank,
                        )
                        for s in found
                    ]
                )
            assert kb.embedder.name == "wordllama-l2_supercat-256"
            return out

    return asyncio.run(main())


@pytest.mark.usefixtures("no_network")
def test_juggler_embedder_semantic_finds_a_paraphrased_incident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUGGLER_EMBEDDER", "semantic")
    hybrid, lexical, dense = _kb_with_two_incidents(tmp_path / "kb.sqlite3")
    # Dense alone: both incidents ranked by cosine, the paraphrase first, no lexical ranks.
    assert [cause for cause, _, _ in dense] == ["missing module", "disk full"]
    assert all(lex is None for _, lex, _ in dense)
    # Lexical alone: the incident sharing words, with no dense rank.
    assert lexical[0] == ("missing module", 1, None)
    assert all(rank is None for _, _, rank in lexical)
    # Hybrid: the paraphrase shares no word with its incident, and is found by meaning.
    assert hybrid[0] == ("missing module", None, 1)


def test_the_default_embedder_is_hashing_and_bad_names_say_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JUGGLER_EMBEDDER", raising=False)
    assert isinstance(default_embedder(), HashingEmbedder)
    monkeypatch.setenv("JUGGLER_EMBEDDER", "Semantic ")
    assert isinstance(default_embedder(), SemanticEmbedder)
    monkeypatch.setenv("JUGGLER_EMBEDDER", "bert")
    with pytest.raises(EmbeddingError, match="JUGGLER_EMBEDDER=bert: unknown embedder"):
        default_embedder()


def test_cli_refuses_an_unknown_embedder_in_one_line(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text(f"collecting\n{MISSING_MODULE}\nError: Process completed with exit code 1.\n")
    done = juggler_cli(
        "triage", str(log), "--kb", str(tmp_path / "kb.sqlite3"), home=tmp_path,
        JUGGLER_EMBEDDER="bert",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "juggler: JUGGLER_EMBEDDER=bert: unknown embedder: use hashing or semantic"
    ]
