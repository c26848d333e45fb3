"""``juggler triage`` end to end, in a real subprocess: output contract and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

FAILED_BUILD = """\
##[group]Run pip install -e .
Successfully installed demo-0.1
##[endgroup]
##[group]Run pytest -q
............F.....
=================================== FAILURES ===================================
_______________________________ test_parse_dates _______________________________

    def test_parse_dates():
>       assert parse("2024-13-01") is None
E       ValueError: month must be in 1..12

tests/test_dates.py:14: ValueError
=========================== short test summary info ============================
FAILED tests/test_dates.py::test_parse_dates - ValueError: month must be in 1..12
1 failed, 17 passed in 0.42s
##[error]Process completed with exit code 1.
##[endgroup]
"""


def _triage(*args: str, kb: Path | None = None) -> subprocess.CompletedProcess[str]:
    kb_args = ["--kb", str(kb)] if kb is not None else ["--no-kb"]
    return subprocess.run(
        [sys.executable, "-m", "juggler", "triage", "--quiet", *kb_args, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_json_is_the_only_stdout_and_points_at_the_failure(tmp_path: Path) -> None:
    """``--json`` prints one JSON document whose top finding covers the failing assertion."""
    log = tmp_path / "build.log"
    log.write_text(FAILED_BUILD)
    result = _triage(str(log), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # the whole of stdout is one document
    top = document["findings"][0]
    lines = FAILED_BUILD.split("\n")
    covered = lines[top["line_start"] - 1 : top["line_end"]]
    assert any("ValueError" in line for line in covered)
    assert document["analysis"]["failing_tests"] == ["tests/test_dates.py::test_parse_dates"]
    assert document["inputs"] == [{"path": str(log), "role": "log", "lines": len(lines) - 1}]
    assert document["rejected_inputs"] == []


def test_every_input_rejected_exits_3_with_one_line_reasons(tmp_path: Path) -> None:
    """Only bad inputs: exit 3, a one-line reason per input on stderr, no traceback."""
    missing = tmp_path / "nope.log"
    binary = tmp_path / "blob.log"
    binary.write_bytes(bytes(range(256)) * 4000)
    result = _triage(str(missing), str(binary), "--json")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    reasons = [line for line in result.stderr.splitlines() if line.startswith("juggler:")]
    assert len(reasons) == 2
    assert any("nope.log" in r for r in reasons)
    assert any("blob.log" in r for r in reasons)
    assert json.loads(result.stdout)["inputs"] == []


def test_one_bad_input_among_good_ones_is_partial(tmp_path: Path) -> None:
    """A refused input does not stop the others; the exit code says the run was partial."""
    log = tmp_path / "build.log"
    log.write_text(FAILED_BUILD)
    result = _triage(str(log), str(tmp_path / "missing.log"), "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["findings"]
    assert [r["path"] for r in document["rejected_inputs"]] == [str(tmp_path / "missing.log")]


def test_summary_carries_no_terminal_control_sequences(tmp_path: Path) -> None:
    """A log cannot retitle the terminal or write the clipboard through our output (M11)."""
    log = tmp_path / "evil.log"
    hostile = "\x1b]52;c;ZXZpbA==\x07\x1b]0;owned\x07\x1b[2Jmonth must"
    log.write_text(FAILED_BUILD.replace("month must", hostile))
    result = _triage(str(log))
    assert result.returncode == 0, result.stderr
    assert not any(ch in result.stdout for ch in "\x1b\x07\x9b")
    assert "month must be in 1..12" in result.stdout
    assert result.stdout.startswith("✗ Build failed in step")  # the verdict's mark, uncoloured


def test_empty_log_reports_no_failure(tmp_path: Path) -> None:
    """An empty input is fine: no findings, exit 0 (M4)."""
    log = tmp_path / "empty.log"
    log.write_text("")
    result = _triage(str(log), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["findings"] == []


def test_trace_option_writes_a_timeline(tmp_path: Path) -> None:
    """``--trace run.html`` writes the run's self-contained timeline."""
    log = tmp_path / "build.log"
    log.write_text(FAILED_BUILD)
    page = tmp_path / "run.html"
    result = _triage(str(log), "--trace", str(page))
    assert result.returncode == 0, result.stderr
    html = page.read_text()
    assert "scan" in html
    assert "http" not in html.lower().replace("http-equiv", "")


def test_known_causes_and_learned_incidents_come_back(tmp_path: Path) -> None:
    """A starter cause matches; a failure learned with --learn is recalled by the next triage."""
    kb = tmp_path / "kb.sqlite3"
    first = tmp_path / "monday.log"
    first.write_text(FAILED_BUILD)
    learned = _triage(
        str(first), "--json", "--learn", "--cause", "bad-date-fixture", "--fix", "pin tz", kb=kb
    )
    assert learned.returncode == 0, learned.stderr
    [cause] = json.loads(learned.stdout)["causes"]
    assert cause["name"] == "pytest-failures"
    assert cause["evidence"][0]["path"] == str(first)
    second = tmp_path / "tuesday.log"
    second.write_text(FAILED_BUILD.replace("0.42s", "0.51s").replace("17 passed", "19 passed"))
    recalled = _triage(str(second), "--json", kb=kb)
    assert recalled.returncode == 0, recalled.stderr
    similar = json.loads(recalled.stdout)["similar_incidents"]
    assert similar[0]["cause"] == "bad-date-fixture"
    assert similar[0]["fix"] == "pin tz"
