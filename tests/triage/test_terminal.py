"""The terminal summary shows what juggler knows: cause, fix, past incidents, tests, next step."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from juggler.triage._terminal import ago, telling_lines, terminal_summary, wants_color

ROOT = Path(__file__).resolve().parents[2]
NOW = 1780000000.0


def _finding(rank: int, line: int, title: str, excerpt: str) -> dict[str, Any]:
    return {
        "rank": rank,
        "path": "ci.log",
        "line_start": line,
        "line_end": line + excerpt.count("\n"),
        "kind": "infrastructure",
        "family": "disk",
        "title": title,
        "excerpt": excerpt,
        "score": 1.0 - rank / 10,
    }


def _document() -> dict[str, Any]:
    findings = [
        _finding(
            n,
            10 * n,
            f"finding number {n}",
            f"finding number {n}\n\n    detail of {n}\nE   error in {n}",
        )
        for n in range(1, 6)
    ]
    return {
        "findings": findings,
        "analysis": {
            "verdict": "failed",
            "verdict_evidence": [
                {"reason": "the CI's closing status", "line": 99, "text": "Finished: FAILURE"}
            ],
            "failed_step": "docker build",
            "exit_code": 1,
            "failing_tests": ["tests/test_io.py::test_write", "tests/test_io.py::test_flush"],
            "test_counts": {"failed": 2, "passed": 40},
            "steps": [],
        },
        "causes": [
            {
                "name": "disk-full",
                "category": "resources",
                "description": "The runner's disk is full.",
                "fix": "Free space before the step or use a larger disk.",
                "links": [],
                "evidence": [{"line_start": 10, "line_end": 10, "path": "ci.log"}],
            }
        ],
        "similar_incidents": [
            {
                "id": 7,
                "project": "acme/shop",
                "score": 0.0328,
                "similarity": 1.0,
                "cause": "docker layer cache filled the disk",
                "fix": "prune the builder cache in the job",
                "link": "https://example.org/acme/shop/pull/42",
                "created_at": NOW - 3 * 86400,
            },
            {
                "id": 9,
                "project": "acme/web",
                "score": 0.0161,
                "similarity": 0.04,
                "cause": "unrelated flake",
                "fix": "retry",
                "link": "",
                "created_at": NOW - 86400,
            },
        ],
        "inputs": [{"path": "ci.log", "role": "log", "lines": 99}],
        "rejected_inputs": [],
    }


def test_shows_verdict_cause_fix_incident_tests_findings_and_next_step() -> None:
    text = terminal_summary(_document(), top=2, now=NOW)
    lines = text.splitlines()
    assert lines[0].startswith("✗ Build failed in step docker build")
    assert "failed because the CI's closing status: Finished: FAILURE (line 99)" in text
    # The known cause and its fix.
    assert "disk-full  The runner's disk is full." in text
    assert "fix: Free space before the step or use a larger disk." in text
    # The past incident: how alike, what, where, when, and its fix.
    seen = next(n for n, t in enumerate(lines) if t.startswith("Seen before"))
    assert "1 weaker match(es) in the memo" in lines[seen]
    assert re.search(
        r"100%  docker layer cache filled the disk  \(acme/shop; .+, 3 days ago\)", text
    )
    assert "fix: prune the builder cache in the job" in text
    assert "unrelated flake" not in text  # a 4% match is no news
    # Failing tests with the runner's count.
    assert "Failing tests (2)" in text
    assert "  tests/test_io.py::test_flush" in lines
    # --top 2: two findings of five, and it says so.
    assert "Top findings  2 of 5; --top N shows more" in text
    assert "#1 finding number 1" in text
    assert "#2 finding number 2" in text
    assert "#3" not in text
    assert "E   error in 2" in text
    # The next step comes last.
    assert lines[-2].startswith("Next: Apply the known fix for disk-full")


def test_top_zero_shows_no_findings_and_top_large_shows_all() -> None:
    assert "Top findings" not in terminal_summary(_document(), top=0, now=NOW)
    everything = terminal_summary(_document(), top=50, now=NOW)
    assert "#5 finding number 5" in everything
    assert "--top N shows more" not in everything


def test_log_text_cannot_inject_control_sequences_or_markup() -> None:
    """Log text is escaped and never parsed as rich markup, in colour or not (M11)."""
    document = _document()
    hostile = "\x1b]52;c;ZXZpbA==\x07[bold red]fake[/bold red] \x9b2J"
    document["findings"][0]["title"] = hostile
    document["findings"][0]["excerpt"] = hostile + "\nE   boom"
    document["causes"][0]["fix"] = "[link=https://evil.example]click[/link]\x1b[2J"
    plain = terminal_summary(document, now=NOW)
    assert not any(ch in plain for ch in "\x1b\x07\x9b")
    assert "\\x1b]52;c;ZXZpbA==\\x07[bold red]fake[/bold red] \\x9b2J" in plain
    assert "[link=https://evil.example]click[/link]\\x1b[2J" in plain
    coloured = terminal_summary(document, color=True, now=NOW)
    # In colour, the only escape sequences are rich's own SGR colour codes.
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain
    assert "\x07" not in coloured
    assert "\x9b" not in coloured


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert wants_color(Tty())
    assert not wants_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_color(Tty())


def test_telling_lines_prefer_the_error_over_banners_and_blanks() -> None:
    lines = [
        "______ test_x ______",
        "",
        "client = <Client>",
        "",
        "    def test_x(client):",
        ">       assert client.get().status == 200",
        "E       assert 500 == 200",
        "",
        "tests/test_x.py:9: AssertionError",
    ]
    shown = telling_lines(lines, 4)
    assert shown == [0, 5, 6, 8]


def test_ago_reads_like_a_person() -> None:
    assert ago(NOW - 30, NOW) == "just now"
    assert ago(NOW - 600, NOW) == "10 min ago"
    assert ago(NOW - 5 * 3600, NOW) == "5 h ago"
    assert ago(NOW - 4 * 86400, NOW) == "4 days ago"
    assert ago(NOW + 60, NOW) == ""


DISK_FULL_LOG = """\
$ docker build -t shop .
Step 3/7 : RUN apt-get install -y texlive-full
E: Write error - write (28: No space left on device)
The command "docker build -t shop ." exited with 100.
Done. Your build exited with 1.
"""


def _juggler(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "juggler", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.timeout(120)
def test_cli_shows_the_known_cause_and_after_learn_the_incident(tmp_path: Path) -> None:
    """End to end: the KB's cause and fix show; after --learn, the same log recalls it."""
    kb = str(tmp_path / "kb.sqlite3")
    log = tmp_path / "build.log"
    log.write_text(DISK_FULL_LOG)
    env = {"GITHUB_ACTIONS": "", "NO_COLOR": ""}
    first = _juggler("triage", str(log), "--kb", kb, "--quiet", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert "disk-full" in [c["name"] for c in json.loads(first.stdout)["causes"]]
    shown = _juggler("triage", str(log), "--kb", kb, "--quiet", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout  # a pipe gets no colour
    assert "Known cause" in shown.stdout
    assert "disk-full  The runner's disk is full." in shown.stdout
    assert "fix: Free space before the step" in shown.stdout
    assert "Seen before" not in shown.stdout
    learn = _juggler(
        "triage", str(log), "--kb", kb, "--quiet", "--project", "acme/shop", "--learn",
        "--cause", "texlive-full fills the runner", "--fix", "install texlive-latex-base only",
        env=env,
    )  # fmt: skip
    assert learn.returncode == 0, learn.stderr
    again = _juggler("triage", str(log), "--kb", kb, "--quiet", "--project", "acme/shop", env=env)
    assert again.returncode == 0, again.stderr
    assert re.search(
        r"Seen before\n\s+100%  texlive-full fills the runner  \(acme/shop; \d{4}-\d\d-\d\d "
        r"\d\d:\d\d UTC, just now\)\n\s+fix: install texlive-latex-base only",
        again.stdout,
    ), again.stdout


@pytest.mark.timeout(120)
def test_cli_inside_github_actions_pauses_workflow_commands(tmp_path: Path) -> None:
    """A log line "::add-mask::..." reaches stdout only between stop-commands markers."""
    log = tmp_path / "build.log"
    log.write_text(DISK_FULL_LOG.replace("E: Write error", "::add-mask::x E: Write error"))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    result = _juggler("triage", str(log), "--no-kb", "--quiet", "--top", "1", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    end = lines.index(f"::{token}::")
    # The summary, which quotes the log, is all inside the paused block; after it come only
    # juggler's own annotations ("::error file=...::message", the log text in the message).
    assert any("::add-mask::x" in t for t in lines[1:end])
    assert all(t.startswith("::error ") for t in lines[end + 1 :])


def test_a_passing_build_is_never_shown_as_failed() -> None:
    document = _document()
    document["analysis"]["verdict"] = "passed"
    document["analysis"]["verdict_evidence"] = [
        {"reason": "the CI's closing status", "line": 99, "text": "Finished: SUCCESS"}
    ]
    document["analysis"]["failing_tests"] = []
    document["analysis"]["test_counts"] = {"passed": 42}
    text = terminal_summary(document, now=NOW)
    assert text.startswith("✓ Build passed: Finished: SUCCESS at line 99")
    assert "Build failed" not in text
    assert "Next:" not in text  # nothing to fix


def test_a_huge_log_line_is_cut_not_printed_whole() -> None:
    document = _document()
    document["findings"][0]["excerpt"] = "SyntaxError: " + "x" * 10_000
    text = terminal_summary(document, now=NOW)
    assert max(len(line) for line in text.splitlines()) < 400
    assert "SyntaxError: xxx" in text
