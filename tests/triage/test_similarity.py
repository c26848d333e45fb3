"""Similar incidents read as a similarity people understand (0-100%), with when they happened."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from juggler.triage._findings import find_failures
from juggler.triage.kb import Incident, Resolution, open_store, signature_of
from juggler.triage.kb._cli import kb
from juggler.triage.kb._search import similarity
from juggler.triage.synth import build_memo
from juggler.triage.synth.render import render_html, render_markdown

if TYPE_CHECKING:
    from pathlib import Path

# 2026-03-04 05:06 UTC
LEARNED_AT = 1772600760.0

TIMEOUT_LOG = [
    "$ go test ./...",
    "--- FAIL: TestFetchInvoices (30.00s)",
    "    client_test.go:88: Get http://127.0.0.1:8080/invoices: context deadline exceeded",
    "FAIL\tgithub.com/acme/billing/client\t30.012s",
    'The command "go test ./..." exited with 1.',
]
UNRELATED_LOG = [
    "$ npm ci",
    "npm ERR! code ERESOLVE",
    "npm ERR! ERESOLVE unable to resolve dependency tree",
    "npm ERR! peer react@17 from react-dom@17.0.2",
    'The command "npm ci" exited with 1.',
]


def _learn(path: Path, lines: list[str], cause: str, project: str) -> None:
    async def body() -> None:
        async with open_store(path) as store:
            await store.add_incident(
                Incident(
                    signature=signature_of(find_failures(lines, path="ci.log")),
                    resolution=Resolution(cause=cause, fix=f"fix for {cause}"),
                    project=project,
                    created_at=LEARNED_AT,
                    source="ci.log",
                )
            )

    asyncio.run(body())


def _search(path: Path, lines: list[str]) -> list[dict[str, object]]:
    async def body() -> list[dict[str, object]]:
        async with open_store(path) as store:
            found = await store.search(signature_of(find_failures(lines, path="ci.log")), k=5)
            return [s.to_json() for s in found]

    return asyncio.run(body())


def test_the_same_failure_reads_as_100_percent_not_as_its_fusion_score(tmp_path: Path) -> None:
    store = tmp_path / "kb.sqlite3"
    _learn(store, TIMEOUT_LOG, "slow-invoice-api", "acme/billing")
    _learn(store, UNRELATED_LOG, "react-peer-deps", "acme/web")
    results = _search(store, TIMEOUT_LOG)
    by_cause = {r["cause"]: r for r in results}
    same = by_cause["slow-invoice-api"]
    assert isinstance(same["score"], float)
    assert same["score"] < 0.05  # the fusion score: an order, not a percentage
    assert same["similarity"] >= 0.99
    # Retrieval still returns the unrelated incident (shared words like "exited"), but it
    # cannot be mistaken for a match.
    other = by_cause["react-peer-deps"]
    assert isinstance(other["similarity"], float)
    assert other["similarity"] < 0.3


def test_memo_shows_the_match_as_a_percentage_and_fills_when(tmp_path: Path) -> None:
    store = tmp_path / "kb.sqlite3"
    _learn(store, TIMEOUT_LOG, "slow-invoice-api", "acme/billing")
    document = find_failures(TIMEOUT_LOG, path="ci.log")
    document["similar_incidents"] = _search(store, TIMEOUT_LOG)
    memo = build_memo(document)
    [incident] = memo.incidents
    assert incident.match == "100%"
    assert incident.when == "2026-03-04 05:06 UTC"
    md = render_markdown(memo)
    assert "| match | project | cause | fix | when | link |" in md
    assert "| 100% | acme/billing | slow-invoice-api |" in md
    assert "2026-03-04 05:06 UTC" in md
    assert "0.033" not in md
    assert "0.032" not in md
    html = render_html(memo)
    assert '<td class="num">100%</td>' in html
    assert "<td>2026-03-04 05:06 UTC</td>" in html


def test_kb_search_prints_the_similarity_and_when(tmp_path: Path) -> None:
    store = tmp_path / "kb.sqlite3"
    _learn(store, TIMEOUT_LOG, "slow-invoice-api", "acme/billing")
    log = tmp_path / "again.log"
    log.write_text("\n".join(TIMEOUT_LOG) + "\n", encoding="utf-8")
    result = CliRunner().invoke(kb, ["--kb", str(store), "search", "--log", str(log)])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert " 100% " in first
    assert "2026-03-04 05:06" in first
    as_json = CliRunner().invoke(kb, ["--kb", str(store), "search", "--log", str(log), "--json"])
    assert json.loads(as_json.output)[0]["similarity"] >= 0.99


def test_lexical_overlap_stands_in_without_a_cosine() -> None:
    """With the embedder down, the share of shared terms is the similarity."""
    assert similarity("disk quota exceeded", "disk quota exceeded", None) == 1.0
    assert similarity("disk quota exceeded", "quota exceeded on cache", None) == 2 / 5
    assert similarity("disk full", "network unreachable", None) == 0.0
    assert similarity("x", "y", 1.0000001) == 1.0
    assert similarity("x", "y", -0.2) == 0.0


def test_only_a_close_match_is_offered_as_the_next_step() -> None:
    """A 30% match shares words, not a cause: listed in the table, never the thing to do."""
    document = find_failures(TIMEOUT_LOG, path="ci.log")
    incident = {"project": "acme/billing", "cause": "slow API", "fix": "raise the timeout"}
    document["similar_incidents"] = [{**incident, "similarity": 0.3, "created_at": LEARNED_AT}]
    weak = build_memo(document)
    assert weak.incidents[0].match == "30%"
    assert not any("similar past incident" in s for s in weak.next_steps)
    document["similar_incidents"] = [{**incident, "similarity": 0.9, "created_at": LEARNED_AT}]
    close = build_memo(document)
    assert any(s.endswith("raise the timeout") for s in close.next_steps)


def test_the_new_keys_are_in_the_json_schemas(tmp_path: Path) -> None:
    """verdict, verdict_evidence, novel and similarity are part of the documented contract."""
    import jsonschema
    import referencing

    from juggler.triage._findings import baseline_keys, scan_chunk
    from juggler.triage.pipeline import Scanned, merge_log
    from juggler.triage.schema import load_schema
    from juggler.triage.synth.render import render_json

    store = tmp_path / "kb.sqlite3"
    _learn(store, TIMEOUT_LOG, "slow-invoice-api", "acme/billing")
    scan = scan_chunk(TIMEOUT_LOG, offset=0, baseline=baseline_keys([TIMEOUT_LOG[:1]]))
    _, document = merge_log(Scanned(source="ci.log", scan=scan, causes=()))
    document["similar_incidents"] = _search(store, TIMEOUT_LOG)
    document["inputs"] = [{"path": "ci.log", "role": "log", "lines": len(TIMEOUT_LOG)}]
    document["rejected_inputs"] = []
    assert document["analysis"]["verdict"] == "failed"
    assert any(f["novel"] for f in document["findings"])
    assert document["similar_incidents"][0]["similarity"] >= 0.99
    schemas = [load_schema("triage"), load_schema("memo")]
    registry = referencing.Registry().with_resources(
        (s["$id"], referencing.Resource.from_contents(s)) for s in schemas
    )

    def validate(document: object, name: str) -> None:
        validator = jsonschema.Draft202012Validator(load_schema(name), registry=registry)
        validator.validate(document)

    validate(document, "triage")
    memo = json.loads(render_json(document, build_memo(document, baseline_used=True)))
    assert memo["memo"]["verdict"] == "failed"
    assert memo["memo"]["similar_incidents"][0]["similarity"] >= 0.99
    validate(memo, "memo")
    # A wrong value is refused by the schemas, so the keys are really described there.
    document["analysis"]["verdict"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        validate(document, "triage")
    document["analysis"]["verdict"] = "failed"
    document["similar_incidents"][0]["similarity"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        validate(document, "triage")
