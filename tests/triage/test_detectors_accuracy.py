"""Detector rules that keep false friends out and fold a test's two reports into one."""

from __future__ import annotations

from juggler.triage._findings import find_failures
from juggler.triage.detect import detect_visible


def test_a_file_named_error_is_not_an_error() -> None:
    hits = detect_visible(["Linting 'Error.swift' (11/53)", "compiling ErrorView.kt"])
    assert hits == []


def test_a_lint_summary_of_zero_errors_is_no_lint_failure() -> None:
    hits = detect_visible(["✖ 1 problem (0 errors, 1 warning)"])
    assert all(h.kind != "lint" for h in hits)
    assert any(h.kind == "lint" for h in detect_visible(["✖ 3 problems (2 errors, 1 warning)"]))


def test_xcpretty_failure_mark_and_detail_are_one_finding() -> None:
    log = [
        "##[group]Run xcodebuild test | xcpretty",
        "CartTests",
        "    ✓ testEmptyCart (0.001 seconds)",
        "    ✗ testTotalIncludesTax, XCTAssertEqual failed: (29) is not equal to (30)",
        "",
        "Failures:",
        "",
        "CartTests",
        "  testTotalIncludesTax, XCTAssertEqual failed: (29) is not equal to (30)",
        "  /src/Tests/CartTests.swift:14",
        "",
        "** TEST FAILED **",
        "##[error]Process completed with exit code 65.",
    ]
    findings = find_failures(log, path="ci.log")["findings"]
    tests = [f for f in findings if f["kind"] == "test_failure"]
    assert len(tests) == 1
    assert tests[0]["cites"], tests[0]


def test_the_step_tail_skips_a_closing_note_for_the_report_before_it() -> None:
    """A checker prints its issues, then where it wrote them: the issues are the reason."""
    log = [
        "##[group]Run link-check README.md",
        "Checking 120 links",
        "",
        "Issues :-(",
        "> Links",
        "  1. [L12] 404 https://example.test/gone",
        "  2. [L40] 500 https://example.test/broken",
        "",
        "Wrote results to results.json",
        "Wrote filtered results to results-filtered.json",
        "##[error]Process completed with exit code 1.",
    ]
    top = find_failures(log, path="ci.log")["findings"][0]
    assert top["line_start"] <= 6 <= top["line_end"]
