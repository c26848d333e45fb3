"""``juggler kb`` commands, in process through click's CliRunner."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import yaml
from click.testing import CliRunner, Result

from juggler.triage.kb import load_catalogue
from juggler.triage.kb._cli import kb

if TYPE_CHECKING:
    from pathlib import Path

TRIAGE = {
    "findings": [
        {
            "rank": 1,
            "path": "build.log",
            "line_start": 10,
            "line_end": 11,
            "kind": "oom",
            "title": "killed",
            "excerpt": "Out of memory: Killed process 4121 (java)\n##[error]exit code 137",
            "score": 0.9,
        }
    ],
    "analysis": {"failed_step": "Test", "exit_code": 137, "failing_tests": []},
}


def _kb(tmp_path: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(kb, ["--kb", str(tmp_path / "kb.sqlite3"), *args], input=input)


def test_add_list_show_remove_a_cause(tmp_path: Path) -> None:
    """A cause added from the shell is listed, shown as YAML and removed."""
    added = _kb(
        tmp_path,
        "add",
        "vpn-down",
        "--pattern",
        r"vpn gateway (?P<gw>\S+) unreachable",
        "--category",
        "network",
        "--description",
        "VPN {gw} down",
        "--fix",
        "page netops",
        "--link",
        "https://wiki/vpn",
    )
    assert added.exit_code == 0, added.output
    listed = _kb(tmp_path, "list")
    assert "vpn-down" in listed.output
    assert len(listed.output.splitlines()) == len(load_catalogue()) + 1
    shown = _kb(tmp_path, "show", "vpn-down")
    assert yaml.safe_load(shown.output)["indications"][0]["pattern"].startswith("vpn gateway")
    assert _kb(tmp_path, "remove", "vpn-down").exit_code == 0
    gone = _kb(tmp_path, "show", "vpn-down")
    assert gone.exit_code == 2
    assert "vpn-down: no such cause" in gone.output


def test_bad_regex_is_one_line_error(tmp_path: Path) -> None:
    """An invalid regex is refused with one line naming the cause and the reason."""
    result = _kb(tmp_path, "add", "broken", "--pattern", "(unclosed")
    assert result.exit_code == 2
    assert "broken: indication 1 is not a valid regex" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_learn_then_search(tmp_path: Path) -> None:
    """An incident learned from a triage result is found by a later, similar one."""
    run = tmp_path / "run.json"
    run.write_text(json.dumps(TRIAGE))
    learned = _kb(
        tmp_path,
        "learn",
        str(run),
        "--cause",
        "oom-killed",
        "--fix",
        "shard the tests",
        "--link",
        "https://ci/issue/7",
        "--project",
        "acme/app",
    )
    assert learned.exit_code == 0, learned.output
    assert "learned incident #1" in learned.output
    found = _kb(tmp_path, "search", "--triage", str(run), "--project", "acme/app", "--json")
    assert found.exit_code == 0, found.output
    [hit] = json.loads(found.output)
    assert hit["cause"] == "oom-killed"
    assert hit["same_project"] is True
    words = _kb(tmp_path, "search", "Killed process 99 out of memory")
    assert "oom-killed" in words.output
    listed = _kb(tmp_path, "list", "--incidents")
    assert "acme/app" in listed.output
    assert _kb(tmp_path, "show", "#1").exit_code == 0
    assert _kb(tmp_path, "remove", "#1").exit_code == 0
    assert "no similar incidents" in _kb(tmp_path, "search", "Killed process").output


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "invalid JSON"),
        ('{"findings": 3}', "not a triage result"),
        ('{"findings": []}', "no findings to learn from"),
    ],
)
def test_learn_refuses_bad_input_in_one_line(tmp_path: Path, content: str, reason: str) -> None:
    """A broken RUN.json is named with the reason, exit 2, no traceback."""
    run = tmp_path / "run.json"
    run.write_text(content)
    result = _kb(tmp_path, "learn", str(run))
    assert result.exit_code == 2
    assert f"{run}: {reason}" in result.output
    assert "Traceback" not in result.output


def test_export_import_round_trip(tmp_path: Path) -> None:
    """Causes and incidents exported as YAML or JSON import into another KB."""
    run = tmp_path / "run.json"
    run.write_text(json.dumps(TRIAGE))
    assert _kb(tmp_path, "learn", str(run), "--cause", "oom-killed").exit_code == 0
    for name in ("kb.yaml", "kb.json"):
        target = tmp_path / name
        exported = _kb(tmp_path, "export", str(target))
        assert exported.exit_code == 0, exported.output
        other = tmp_path / f"other-{name}"
        other.mkdir()
        empty_first = CliRunner().invoke(
            kb, ["--kb", str(other / "kb.sqlite3"), "remove", "oom-killed"]
        )
        assert empty_first.exit_code == 0
        imported = CliRunner().invoke(
            kb, ["--kb", str(other / "kb.sqlite3"), "import", str(target)]
        )
        assert imported.exit_code == 0, imported.output
        assert "imported 1 causes" in imported.output
        assert "1 incidents" in imported.output
        again = CliRunner().invoke(kb, ["--kb", str(other / "kb.sqlite3"), "export", "-"])
        data = json.loads(again.output)
        assert len(data["causes"]) == len(load_catalogue())
        assert data["incidents"][0]["resolution"]["cause"] == "oom-killed"


def test_import_from_stdin_and_errors(tmp_path: Path) -> None:
    """A YAML list of causes imports from stdin; broken documents fail in one line."""
    doc = "- name: my-cause\n  indications: ['my failure']\n"
    result = _kb(tmp_path, "import", "-", input=doc)
    assert result.exit_code == 0, result.output
    assert _kb(tmp_path, "show", "my-cause").exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("causes:\n  - name: x\n    indications: ['(']\n")
    result = _kb(tmp_path, "import", str(bad))
    assert result.exit_code == 3  # the input refused (README's exit codes)
    assert "x: indication 1 is not a valid regex" in result.output
    missing = _kb(tmp_path, "import", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 3
    assert "nope.yaml: cannot read" in missing.output
    shape = tmp_path / "shape.json"
    shape.write_text('{"causes": [{"category": "x"}]}')
    result = _kb(tmp_path, "import", str(shape))
    assert result.exit_code == 3
    assert "cause #1: missing field 'name'" in result.output


def test_unusable_kb_path_is_one_line(tmp_path: Path) -> None:
    """A KB path that cannot be a database fails with one line, not a traceback."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = CliRunner().invoke(kb, ["--kb", str(folder), "list"])
    assert result.exit_code == 2
    assert str(folder) in result.output
    assert "Traceback" not in result.output
