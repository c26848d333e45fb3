"""The whole triage pipeline with a stand-in LLM server: branches overlap, deadline falls back."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from juggler.triage._config import TriageConfig
from juggler.triage.pipeline import triage

from .test_deliver_webhooks import LocalServer, Reply
from .test_memo_llm import stream_reply

if TYPE_CHECKING:
    from pathlib import Path

LOG = """\
##[group]Run cargo test
   Compiling demo v0.1.0 (/home/runner/work/demo)
error[E0308]: mismatched types
  --> src/lib.rs:12:9
   |
12 |         "seven"
   |         ^^^^^^^ expected `u32`, found `&str`

error: could not compile `demo` (lib) due to 1 previous error
##[error]Process completed with exit code 101.
##[endgroup]
"""


def _config(url: str, out: Path, deadline_s: float) -> TriageConfig:
    return dataclasses.replace(
        TriageConfig(),
        llm_url=f"{url}/v1",
        llm_model="tiny",
        llm_deadline_s=deadline_s,
        out_dir=str(out),
        github="off",
    )


def test_retrieval_and_synthesis_overlap_and_the_memo_is_delivered(tmp_path: Path) -> None:
    """Recall and the LLM synthesis run side by side (their spans intersect); files appear."""
    log = tmp_path / "ci.log"
    log.write_text(LOG)
    out = tmp_path / "memo"
    with LocalServer(lambda n, s: stream_reply("A string literal where a u32 belongs.")) as llm:
        result = triage(
            [str(log)],
            kb=tmp_path / "kb.sqlite3",
            config=_config(llm.url, out, deadline_s=10),
            deliver=True,
        )
    assert result.memo is not None
    assert result.memo.summary == "A string literal where a u32 belongs."
    spans = {s.stage: s for s in result.report.trace.spans if s.stage in ("recall", "synthesise")}
    recall, synthesis = spans["recall"], spans["synthesise"]
    assert recall.start < synthesis.end
    assert synthesis.start < recall.end, "retrieval waited for synthesis (or the reverse)"
    assert sorted(p.name for p in out.iterdir()) == ["memo.html", "memo.json", "memo.md"]
    assert "mismatched types" in (out / "memo.md").read_text()
    assert [(d.channel, d.delivered) for d in result.deliveries] == [("file", True)]


def test_slow_llm_falls_back_to_the_extractive_memo_at_the_deadline(tmp_path: Path) -> None:
    """An LLM slower than the deadline: the run still ends soon, with the extractive memo."""
    log = tmp_path / "ci.log"
    log.write_text(LOG)
    with LocalServer(lambda n, s: Reply(hang_s=15.0)) as llm:
        result = triage(
            [str(log)],
            use_kb=False,
            config=_config(llm.url, tmp_path / "memo", deadline_s=0.5),
        )
    assert result.memo is not None
    assert result.memo.source == "extractive"
    assert any("deadline" in note for note in result.memo.notes)
    synthesis = next(s for s in result.report.trace.spans if s.stage == "synthesise")
    assert 0.5 <= synthesis.end - synthesis.start < 3.0
