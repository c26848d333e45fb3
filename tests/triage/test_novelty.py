"""Novelty against the baseline is judged by telling lines, not banners or progress."""

from __future__ import annotations

from typing import Any

from juggler.triage._findings import baseline_keys, scan_chunk
from juggler.triage._novelty import is_telling
from juggler.triage.pipeline import Scanned, merge_log
from juggler.triage.synth import build_memo
from juggler.triage.synth.render import render_markdown

BASELINE = [
    "$ python -m pytest -q tests",
    "tests/test_orders.py ....................                        [100%]",
    "============================== 20 passed in 1.10s ==============================",
    'The command "python -m pytest -q tests" exited with 0.',
    "Done. Your build exited with 0.",
]
FAILING = [
    "$ python -m pytest -q tests",
    "tests/test_orders.py ........F...........                        [100%]",
    "=================================== FAILURES ===================================",
    "_______________________________ test_order_total _______________________________",
    "",
    "    def test_order_total():",
    ">       assert order_total([3, 4]) == 7",
    "E       assert 12 == 7",
    "",
    "tests/test_orders.py:9: AssertionError",
    "=========================== short test summary info ============================",
    "FAILED tests/test_orders.py::test_order_total - assert 12 == 7",
    "========================= 1 failed, 19 passed in 1.12s =========================",
    'The command "python -m pytest -q tests" exited with 1.',
    "Done. Your build exited with 1.",
]


def _document(lines: list[str], baseline: list[str] | None) -> dict[str, Any]:
    keys = baseline_keys([baseline]) if baseline is not None else None
    scan = scan_chunk(lines, offset=0, baseline=keys)
    _, document = merge_log(Scanned(source="ci.log", scan=scan, causes=()))
    return document


def test_banners_and_progress_lines_are_not_telling() -> None:
    assert not is_telling("=================================== FAILURES ===")
    assert not is_telling("______ test_order_total ______")
    assert not is_telling("tests/test_orders.py ........F.......   [ 62%]")
    assert not is_telling("Received 71303168 of 314264396 (22.7%), 33.9 MBs/sec")
    assert not is_telling("   ")
    assert is_telling("E       assert 12 == 7")
    assert is_telling("FAILED tests/test_orders.py::test_order_total - assert 12 == 7")
    assert is_telling("error: ---- expected ')' ----")


def test_the_failing_test_is_new_and_banners_get_no_badge() -> None:
    document = _document(FAILING, BASELINE)
    failing = [f for f in document["findings"] if "test_order_total" in f["title"]]
    assert failing
    assert all(f["novel"] for f in failing)
    for f in document["findings"]:
        shown = f["excerpt"].split("\n")
        if not any(is_telling(t) for t in shown):
            assert f["novel"] is False, f  # a banner or progress line alone is never "new"
    memo = build_memo(document, baseline_used=True)
    md = render_markdown(memo)
    assert "No finding is new against the baseline" not in md
    assert memo.novel
    assert memo.novel[0].title.startswith(("test_order_total", "FAILED"))
    assert not any(f.title in ("FAILURES", "short test summary info") for f in memo.novel)


def test_without_a_baseline_no_finding_is_flagged() -> None:
    document = _document(FAILING, None)
    assert all("novel" not in f for f in document["findings"])


def test_a_document_without_flags_gets_no_badge_on_a_banner() -> None:
    """Older documents: a ranker's "novel" finding is news only if a line of it tells."""
    banner = {
        "line_start": 3,
        "line_end": 3,
        "family": "novel",
        "kind": "error",
        "title": "FAILURES",
        "excerpt": "=================================== FAILURES ===",
    }
    message = {**banner, "line_start": 8, "line_end": 8, "excerpt": "E       assert 12 == 7"}
    memo = build_memo({"findings": [banner, message], "analysis": {}}, baseline_used=True)
    assert [f.line_start for f in memo.novel] == [8]
