"""``analysis.verdict``: failed, passed or unknown, with evidence; never "failed" without it."""

from __future__ import annotations

from typing import Any

import pytest

from juggler.triage._findings import find_failures
from juggler.triage._present import headline
from juggler.triage.synth import build_memo
from juggler.triage.synth.render import render_markdown

# A passing Jenkins job that still prints error-looking lines (a retried download, a test of
# error handling): its closing status is what counts.
JENKINS_PASSING = [
    "Started by an SCM change",
    "[INFO] Downloading from central: https://repo.example.org/junit.pom",
    "[ERROR] Failed to transfer file https://mirror.example.org/junit.pom. Retrying.",
    "Running com.acme.ParserTest",
    "java.lang.IllegalStateException: expected in this test",
    "\tat com.acme.Parser.parse(Parser.java:12)",
    "Tests run: 12, Failures: 0, Errors: 0, Skipped: 0",
    "[INFO] BUILD SUCCESS",
    "Finished: SUCCESS",
]

GITHUB_PASSING = [
    "2026-01-05T10:00:00.0000000Z ##[group]Run npm test",
    "2026-01-05T10:00:01.0000000Z npm warn deprecated glob@7.2.3",
    "2026-01-05T10:00:02.0000000Z Error: connect ECONNREFUSED (expected by the retry test)",
    "2026-01-05T10:00:03.0000000Z ##[endgroup]",
    "2026-01-05T10:00:04.0000000Z Post job cleanup.",
    "2026-01-05T10:00:05.0000000Z Cleaning up orphan processes",
]


def _triage(lines: list[str]) -> dict[str, Any]:
    return find_failures(lines, path="build.log")


def test_jenkins_success_is_passed_with_its_closing_line_as_evidence() -> None:
    """Error-looking lines do not make a passing build fail; the closing line is quoted."""
    doc = _triage(JENKINS_PASSING)
    analysis = doc["analysis"]
    assert doc["findings"], "the error lines are still findings worth a look"
    assert analysis["verdict"] == "passed"
    assert analysis["verdict_evidence"][0]["line"] == len(JENKINS_PASSING)
    assert analysis["verdict_evidence"][0]["text"] == "Finished: SUCCESS"
    assert not headline(doc).startswith("Build failed")
    assert headline(doc).startswith("Build passed: Finished: SUCCESS")
    memo = build_memo(doc)
    assert memo.verdict == "passed"
    assert not memo.failed
    assert memo.headline.startswith("Build passed")
    assert render_markdown(memo).startswith("## ✅")


def test_the_ci_closing_line_overrides_a_build_tool_banner() -> None:
    """Maven says BUILD SUCCESS, then a later step fails the job: the job failed."""
    lines = [
        *JENKINS_PASSING[:-1],
        "Build step 'Publish' marked build as failure",
        "Finished: FAILURE",
    ]
    doc = _triage(lines)
    assert doc["analysis"]["verdict"] == "failed"
    assert doc["analysis"]["verdict_evidence"][0]["text"] == "Finished: FAILURE"
    assert headline(doc).startswith("Build failed")


@pytest.mark.parametrize(
    ("closing", "verdict"),
    [("Done. Your build exited with 0.", "passed"), ("Done. Your build exited with 2.", "failed")],
)
def test_travis_closing_line(closing: str, verdict: str) -> None:
    doc = _triage(["$ make check", "error: flaky network, retrying", closing])
    assert doc["analysis"]["verdict"] == verdict


def test_github_job_that_ran_to_its_cleanup_without_errors_passed() -> None:
    """GitHub prints no verdict: a job log ending in cleanup with no ##[error] line passed."""
    doc = _triage(GITHUB_PASSING)
    assert doc["analysis"]["verdict"] == "passed"
    assert not headline(doc).startswith("Build failed")
    failing = [
        *GITHUB_PASSING[:3],
        "2026-01-05T10:00:03Z ##[error]Process completed with exit code 1.",
    ]
    failing += GITHUB_PASSING[4:]
    doc = _triage(failing)
    assert doc["analysis"]["verdict"] == "failed"
    assert doc["analysis"]["verdict_evidence"][0]["reason"] == "a step exited with code 1"


def test_failing_tests_make_a_failed_verdict_without_any_ci_marker() -> None:
    doc = _triage(
        [
            "FAILED tests/test_a.py::test_one - assert 1 == 2",
            "========================= 1 failed, 3 passed in 0.12s =========================",
        ]
    )
    assert doc["analysis"]["verdict"] == "failed"


def test_errors_without_any_statement_of_outcome_are_unknown_never_failed() -> None:
    """A fragment with an error line but no exit status or test result: undecided."""
    doc = _triage(["compiling...", "error: could not open config.yml", "continuing with defaults"])
    assert doc["findings"]
    assert doc["analysis"]["verdict"] == "unknown"
    assert doc["analysis"]["verdict_evidence"] == []
    line = headline(doc)
    assert not line.startswith("Build failed")
    assert line.startswith("Build status unknown")
    memo = build_memo(doc)
    assert memo.verdict == "unknown"
    assert not memo.failed
    assert not memo.headline.startswith("Build failed")
    assert not memo.next_steps
    assert render_markdown(memo).startswith("## ❔")


def test_a_passing_test_summary_alone_is_passed() -> None:
    doc = _triage(["collected 48 items", "============ 48 passed in 7.61s ============"])
    assert doc["analysis"]["verdict"] == "passed"
    assert doc["analysis"]["verdict_evidence"][0]["reason"] == "48 test(s) ran, none failed"


STATUS_LINES = [
    "Finished: SUCCESS",
    "Finished: UNSTABLE",
    "Done. Your build exited with 0.",
    "Job succeeded",
    "ERROR: Job failed: exit code 1",
    "Cleaning up orphan processes",
    "##[error]Process completed with exit code 2.",
    "##[endgroup]",
    "[INFO] BUILD SUCCESS",
    "BUILD SUCCESSFUL in 41s",
    "BUILD FAILED in 3s",
    "** BUILD SUCCEEDED **",
]


def test_every_status_line_is_read_and_has_a_tell_for_bulk_search() -> None:
    """A bulk search that lets through only TELL_* lines still finds every status line."""
    from juggler.triage.detect._status import TELL_PHRASES, TELL_STARTS, status_of

    for line in STATUS_LINES:
        assert status_of(line) is not None, line
        assert line.startswith(TELL_STARTS) or any(p in line for p in TELL_PHRASES), line


@pytest.mark.parametrize("closing", ["Job succeeded", "** BUILD SUCCEEDED **", "Finished: SUCCESS"])
def test_a_big_passing_log_reads_passed(closing: str) -> None:
    """Chunks of thousands of lines find markers in bulk; status lines must get through too."""
    body = [f"compiling module_{i}.c" for i in range(3000)]
    doc = _triage([*body, closing])
    assert doc["analysis"]["verdict"] == "passed", closing
