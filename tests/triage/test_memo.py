"""The extractive memo and its Markdown and JSON renderings.

``sample_triage()`` is the hand-written triage document the other memo/delivery tests share.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from juggler.triage.synth import build_memo
from juggler.triage.synth.render import MAX_MARKDOWN_CHARS, render_json, render_markdown

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXCERPT = """\
    def test_update_item_price(client):
>       assert resp.status_code == 200
E       assert 422 == 200

tests/test_api.py:57: AssertionError"""


def sample_triage(**overrides: Any) -> dict[str, Any]:
    """A triage document shaped like ``juggler triage --json``, causes and incidents included."""
    doc: dict[str, Any] = {
        "findings": [
            {
                "rank": 1,
                "path": "build.log",
                "line_start": 1406,
                "line_end": 1410,
                "kind": "test_failure",
                "family": "pytest",
                "title": "test_update_item_price",
                "excerpt": EXCERPT,
                "score": 0.93,
                "novel": True,
            },
            {
                "rank": 2,
                "path": "build.log",
                "line_start": 1500,
                "line_end": 1500,
                "kind": "test_failure",
                "family": "pytest",
                "title": "FAILED tests/test_api.py::test_bulk - KeyError: 'updated'",
                "excerpt": "FAILED tests/test_api.py::test_bulk - KeyError: 'updated'",
                "score": 0.81,
            },
            {
                "rank": 3,
                "path": "build.log",
                "line_start": 1530,
                "line_end": 1531,
                "kind": "error",
                "family": "generic",
                "title": "<script>alert('x')</script> @octocat ::add-mask::oops",
                "excerpt": "<script>alert('x')</script>\n::error::forged\n```\n# not a heading",
                "score": 0.4,
            },
        ],
        "analysis": {
            "failed_step": "test",
            "exit_code": 1,
            "first_error": {
                "line_start": 1406,
                "line_end": 1410,
                "family": "pytest",
                "kind": "test_failure",
                "text": "E       AssertionError: assert 422 == 200",
            },
            "failing_tests": [
                "tests/test_api.py::test_update_item_price",
                "tests/test_api.py::test_bulk",
                "tests/test_api.py::test_script",
            ],
            "test_counts": {"failed": 3, "passed": 45},
            "steps": [
                {"name": "checkout", "seconds": 1.5},
                {"name": "install", "seconds": 11.2},
                {"name": "test", "seconds": 12.5},
            ],
        },
        "inputs": ["build.log"],
        "rejected_inputs": [],
        "causes": [
            {
                "name": "fastapi-decimal-validation",
                "category": "tests",
                "description": "A request body was rejected with 422.",
                "fix": "Accept the price as Decimal in the model.",
                "links": ["https://docs.pydantic.dev/latest/", "javascript:alert(1)"],
                "evidence": [{"path": "build.log", "line_start": 1408, "line_end": 1408}],
            }
        ],
        "similar_incidents": [
            {
                "score": 0.8,
                "project": "acme/inventory-api",
                "cause": "price | sent as string",
                "fix": "use Decimal",
                "link": "https://github.com/acme/inventory-api/pull/12",
                "when": "2026-10-02",
            }
        ],
    }
    doc.update(overrides)
    return doc


def md_parser() -> MarkdownIt:
    """CommonMark plus GFM tables and strikethrough, with raw HTML disabled."""
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def test_headline_names_step_count_file_and_first_error() -> None:
    """The headline reads like the issue's example."""
    memo = build_memo(sample_triage())
    assert memo.headline == (
        "Build failed in step `test`: 3 pytest failures in tests/test_api.py; "
        "first error AssertionError at line 1406"
    )
    assert memo.failed
    assert memo.failed_step == "test"
    assert memo.exit_code == 1


def test_memo_has_every_section() -> None:
    """Tests, findings, causes, incidents, novel lines, timings and next steps are all there."""
    memo = build_memo(sample_triage(), timings={"scrape": 0.4, "rank": 0.1}, baseline_used=True)
    assert len(memo.failing_tests) == 3
    assert [f.rank for f in memo.findings] == [1, 2, 3]
    assert memo.findings[0].location == "build.log:1406-1410"
    assert memo.causes[0].fix.startswith("Accept the price")
    assert memo.causes[0].evidence == ((1408, 1408),)
    assert memo.incidents[0].project == "acme/inventory-api"
    assert [f.rank for f in memo.novel] == [1]
    assert [(t.name, t.source, t.failed) for t in memo.timings] == [
        ("checkout", "step", False),
        ("install", "step", False),
        ("test", "step", True),
        ("scrape", "stage", False),
        ("rank", "stage", False),
    ]
    assert memo.next_steps[0].startswith("Apply the known fix for `fastapi-decimal-validation`")
    assert any("python -m pytest" in s for s in memo.next_steps)


def test_memo_is_deterministic() -> None:
    """The same document gives the same memo, field for field."""
    assert build_memo(sample_triage()) == build_memo(sample_triage())


def test_novel_lines_only_with_a_baseline() -> None:
    """Without a baseline nothing is called new, and the next steps suggest one."""
    memo = build_memo(sample_triage())
    assert memo.novel == ()
    assert any("baseline" in s for s in memo.next_steps)


def test_log_url_makes_line_links() -> None:
    """With the log's URL, each finding links to its line range."""
    memo = build_memo(sample_triage(), log_url="https://ci.example.com/run/7/log")
    assert memo.findings[0].href == "https://ci.example.com/run/7/log#L1406-L1410"
    md = render_markdown(memo)
    assert "(https://ci.example.com/run/7/log#L1406-L1410)" in md


def test_passing_build_and_missing_keys() -> None:
    """An empty or odd document still gives a memo: an undecided one, or one with less detail."""
    empty = build_memo({})
    assert empty.headline == "No failure found in the log"
    assert empty.verdict == "unknown"
    assert not empty.failed
    odd = {"findings": [{"line_start": "x"}, 3, {"line_start": 5}], "analysis": [], "causes": 7}
    memo = build_memo(odd)
    assert memo.failed
    assert [f.line_start for f in memo.findings] == [5]
    assert memo.headline.startswith("Build failed")


def test_json_is_the_triage_plus_the_memo() -> None:
    """The JSON output keeps the triage document and adds the memo."""
    triage = sample_triage()
    doc = json.loads(render_json(triage, build_memo(triage)))
    assert doc["findings"] == triage["findings"]
    assert doc["analysis"] == triage["analysis"]
    assert doc["memo"]["headline"].startswith("Build failed in step `test`")
    assert doc["memo"]["source"] == "extractive"


def test_markdown_is_valid_gfm_with_a_table_and_balanced_fences() -> None:
    """Parsed as GFM: tables render, every excerpt is one fence holding it verbatim, no HTML."""
    memo = build_memo(sample_triage(), baseline_used=True, timings={"scrape": 0.4})
    md = render_markdown(memo)
    tokens = md_parser().parse(md)
    types = [t.type for t in tokens]
    assert types.count("table_open") == 2  # incidents and timings
    fences = [t for t in tokens if t.type == "fence"]
    assert [f.content.rstrip("\n") for f in fences] == [f.excerpt for f in memo.findings]
    assert "html_block" not in types
    html = md_parser().render(md)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html  # shown as text
    assert "<h1>" not in html  # "# not a heading" stayed inside its fence
    # The javascript: link is shown as code, never linked; the https one is.
    assert 'href="javascript' not in html
    assert 'href="https://docs.pydantic.dev/latest/"' in html
    assert "@\u2060octocat" in md  # no mention


def test_markdown_table_cell_pipe_is_escaped() -> None:
    """A ``|`` in an incident's text stays in its cell (GFM table)."""
    html = md_parser().render(render_markdown(build_memo(sample_triage())))
    assert "<td>price | sent as string</td>" in html


def test_markdown_fits_a_pr_comment_and_stays_balanced() -> None:
    """A huge triage is cut to ≤ 65,536 characters without cutting a fence in half."""
    big = "x" * 300 + "\n"
    findings = [
        {"line_start": n, "line_end": n + 200, "title": f"f{n}", "excerpt": big * 200}
        for n in range(1, 60)
    ]
    memo = build_memo(sample_triage(findings=findings), max_findings=60)
    md = render_markdown(memo)
    assert len(md) <= MAX_MARKDOWN_CHARS
    tokens = md_parser().parse(md)
    for fence in (t for t in tokens if t.type == "fence"):
        assert fence.markup.startswith("```")
    assert md.count("```") % 2 == 0
    tiny = render_markdown(memo, max_chars=3000)
    assert len(tiny) <= 3000
    assert "truncated" in tiny


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.text(min_size=1, max_size=200))
def test_any_excerpt_is_one_verbatim_fence(text: str) -> None:
    """Whatever the log says (backticks, tildes, HTML), it renders as one code block of itself."""
    triage = {"findings": [{"line_start": 1, "excerpt": text, "title": text}]}
    memo = build_memo(triage)
    tokens = md_parser().parse(render_markdown(memo))
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1
    assert "html_block" not in [t.type for t in tokens]
    assert "html_inline" not in [c.type for t in tokens for c in (t.children or [])]


def test_examples_triage_into_memos() -> None:
    """The bundled example logs go through the real detectors into sensible memos."""
    from juggler.triage._findings import find_failures

    def lines(name: str) -> list[str]:
        return (EXAMPLES / name).read_text(encoding="utf-8").split("\n")

    triage = find_failures(
        lines("pytest-gha.log"), path="pytest-gha.log", baseline=[lines("pytest-gha.baseline.log")]
    )
    memo = build_memo(triage, baseline_used=True)
    assert "3 pytest failures in tests/test_api.py" in memo.headline
    assert "AssertionError" in memo.headline
    assert any(t.seconds for t in memo.timings)
    for name in ("maven-compile.log", "npm-jest.log"):
        memo = build_memo(find_failures(lines(name), path=name))
        assert memo.failed
        assert memo.findings
    kb = json.loads((EXAMPLES / "kb.json").read_text(encoding="utf-8"))
    assert {"name", "category", "description", "fix", "links", "indications"} <= set(kb[0])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="@\r"), max_size=80))
def test_escaped_text_renders_as_itself(text: str) -> None:
    """md_text() output renders to exactly the input's characters: no markup survives."""
    import html
    import re

    from juggler.triage.synth._escape import md_text, visible_controls

    rendered = md_parser().render(md_text(text)).strip()
    expected = re.sub(r"\s+", " ", visible_controls(text)).strip(" \t")
    if not expected:
        return
    assert rendered.startswith("<p>"), rendered
    assert rendered.endswith("</p>"), rendered
    assert html.unescape(rendered[3:-4]) == expected


def test_rejected_inputs_are_noted() -> None:
    """Inputs the ingest refused are named in the memo's notes."""
    rejected = [{"path": "bomb.zip", "reason": "archive bomb"}, "x"]
    memo = build_memo(sample_triage(rejected_inputs=rejected))
    assert "Inputs not (fully) triaged: bomb.zip (archive bomb); x." in memo.notes


def test_backticks_in_a_step_name_keep_the_headline_balanced() -> None:
    """A step named with backticks still renders as one code span in the headline."""
    triage = sample_triage()
    triage["analysis"]["failed_step"] = "echo `date`"
    memo = build_memo(triage)
    assert memo.headline.startswith("Build failed in step `echo 'date'`:")
    html = md_parser().render(render_markdown(memo))
    assert "<code>echo 'date'</code>" in html
