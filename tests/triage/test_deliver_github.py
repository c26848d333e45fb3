"""GitHub Actions delivery: job summary, annotations, and neutralised workflow commands (M11)."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from juggler.triage.deliver import deliver_github, write_untrusted
from juggler.triage.deliver.github import (
    MAX_SUMMARY_BYTES,
    annotation,
    append_step_summary,
    build_annotations,
    escape_data,
    escape_property,
)
from juggler.triage.synth import build_memo

from .test_memo import sample_triage

if TYPE_CHECKING:
    from pathlib import Path

_COMMAND = re.compile(r"^::([\w-]+)(?: [^:]*)?::", re.MULTILINE)


def gha_env(tmp_path: Path) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_WORKSPACE": "/home/runner/work/app/app",
    }


def test_escaping_follows_the_toolkit() -> None:
    """Data escapes %, CR, LF; properties also escape ':' and ','."""
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = annotation("boom\n::add-mask::x", file="src/a,b.py", line=3, end_line=5, title="t:1")
    assert line == "::error file=src/a%2Cb.py,line=3,endLine=5,title=t%3A1::boom%0A::add-mask::x"


def test_annotations_are_one_line_each_and_at_most_ten(tmp_path: Path) -> None:
    """Twelve findings give ten annotations, each a single line starting with ::error."""
    findings = [
        {"line_start": n, "title": f"t{n}", "excerpt": "x\n::add-mask::secret\n::error::forged"}
        for n in range(1, 13)
    ]
    memo = build_memo(sample_triage(findings=findings), max_findings=12)
    lines = build_annotations(memo, max_annotations=50, environ=gha_env(tmp_path))
    assert len(lines) == 10
    for line in lines:
        assert "\n" not in line
        assert "\r" not in line
        assert line.startswith("::error ")
        assert [m.group(1) for m in _COMMAND.finditer(line)] == ["error"]


def test_annotations_point_at_source_files_when_the_excerpt_names_them(tmp_path: Path) -> None:
    """pytest's "tests/test_api.py:57:" pins the annotation there; else the log lines."""
    memo = build_memo(sample_triage())
    lines = build_annotations(memo, environ=gha_env(tmp_path))
    assert lines[0].startswith("::error file=tests/test_api.py,line=57,title=")
    assert lines[2].startswith("::error file=build.log,line=1530,endLine=1531,")


def test_workspace_prefix_is_stripped(tmp_path: Path) -> None:
    """Absolute paths inside the checkout become repository-relative."""
    excerpt = "/home/runner/work/app/app/src/Main.java:[84,31] cannot find symbol"
    memo = build_memo({"findings": [{"line_start": 9, "excerpt": excerpt}]})
    (line,) = build_annotations(memo, environ=gha_env(tmp_path))
    assert line.startswith("::error file=src/Main.java,line=84,")


def test_deliver_appends_summary_and_prints_annotations(tmp_path: Path) -> None:
    """In Actions: the summary file grows by the memo and stdout gets the annotations."""
    env = gha_env(tmp_path)
    (tmp_path / "summary.md").write_text("# earlier step\n")
    out = io.StringIO()
    result = deliver_github(build_memo(sample_triage()), environ=env, stream=out)
    assert result.delivered, result
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("# earlier step\n")
    assert "Build failed in step" in summary
    printed = out.getvalue().splitlines()
    assert len(printed) == 3
    assert all(p.startswith("::error ") for p in printed)
    assert dict(result.detail)["annotations"] == "3"


def test_outside_actions_nothing_happens(tmp_path: Path) -> None:
    """Without GITHUB_ACTIONS=true: no output, no file, a clear 'not delivered'."""
    out = io.StringIO()
    result = deliver_github(build_memo(sample_triage()), environ={}, stream=out)
    assert not result.delivered
    assert result.error == "not in GitHub Actions"
    assert out.getvalue() == ""


def test_summary_respects_the_one_mebibyte_cap(tmp_path: Path) -> None:
    """A nearly full summary file gets a shortened memo or none, never more than 1 MiB."""
    env = gha_env(tmp_path)
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * (MAX_SUMMARY_BYTES - 5000))
    result = append_step_summary(build_memo(sample_triage()), environ=env)
    assert result.delivered
    assert path.stat().st_size <= MAX_SUMMARY_BYTES
    path.write_bytes(b"x" * (MAX_SUMMARY_BYTES - 10))
    full = append_step_summary(build_memo(sample_triage()), environ=env)
    assert not full.delivered
    assert "full" in (full.error or "")
    assert path.stat().st_size == MAX_SUMMARY_BYTES - 10


def test_missing_summary_variable_is_reported() -> None:
    """No GITHUB_STEP_SUMMARY: a failed result naming it."""
    result = append_step_summary(build_memo(sample_triage()), environ={})
    assert not result.delivered
    assert "GITHUB_STEP_SUMMARY" in (result.error or "")


def test_untrusted_text_is_wrapped_in_stop_commands() -> None:
    """Log text is printed between ::stop-commands::<token> and ::<token>::, token unguessable."""
    text = "::add-mask::x\n::stop-commands::pause\n::pause::\n::error::forged"
    out = io.StringIO()
    write_untrusted(text, out)
    first, *middle, last = out.getvalue().splitlines()
    token = first.removeprefix("::stop-commands::")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert last == f"::{token}::"
    assert "\n".join(middle) == text
    other = io.StringIO()
    write_untrusted(text, other)
    assert other.getvalue().splitlines()[0] != first  # a fresh token per call


def test_enabled_overrides_detection(tmp_path: Path) -> None:
    """github = "on" delivers without GITHUB_ACTIONS; "off" stays silent inside Actions."""
    env = {k: v for k, v in gha_env(tmp_path).items() if k != "GITHUB_ACTIONS"}
    out = io.StringIO()
    assert deliver_github(
        build_memo(sample_triage()), environ=env, stream=out, enabled=True
    ).delivered
    assert out.getvalue().startswith("::error ")
    off = deliver_github(build_memo(sample_triage()), environ=gha_env(tmp_path), enabled=False)
    assert not off.delivered
