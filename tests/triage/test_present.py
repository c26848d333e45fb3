"""The terminal summary: control characters escaped, headline from the analysis."""

from __future__ import annotations

from juggler.triage._present import headline, printable, summary
from juggler.triage._terminal import terminal_summary


def test_printable_escapes_control_characters_but_keeps_tabs_and_newlines() -> None:
    """ESC, BEL, C1 controls and NUL become visible escapes; tab and newline stay."""
    assert printable("a\x1b]0;t\x07b\x9bc\x00\td\n") == "a\\x1b]0;t\\x07b\\x9bc\\x00\td\n"


def _doc(**analysis: object) -> dict[str, object]:
    finding = {
        "rank": 1,
        "path": "ci.log",
        "line_start": 40,
        "line_end": 41,
        "kind": "compiler_error",
        "title": "error[E0308]: mismatched types",
        "excerpt": "error[E0308]: mismatched types\n  --> src/main.rs:4:5",
        "score": 0.9,
    }
    return {"findings": [finding], "analysis": analysis, "rejected_inputs": []}


def test_headline_names_step_tests_and_top_finding() -> None:
    """The headline says which step failed, how many tests, and where to look first."""
    line = headline(_doc(failed_step="cargo test", failing_tests=["a::b", "a::c"]))
    assert line == (
        "Build failed in step 'cargo test': 2 failing test(s); "
        "top finding: error[E0308]: mismatched types (ci.log:40)"
    )


def test_summary_numbers_excerpt_lines_from_the_finding_start() -> None:
    """Each excerpt line is shown with its own line number in the log."""
    text = terminal_summary(_doc())
    assert summary(_doc()) == text  # the name callers used before the rich summary
    assert "        40 │ error[E0308]: mismatched types" in text
    assert "        41 │   --> src/main.rs:4:5" in text


def test_no_findings_says_so() -> None:
    """An empty document gets a plain 'no failure' headline."""
    assert headline({"findings": [], "analysis": {}}) == "No failure found in the logs."
