"""``--learn`` confirms what it stored; ``--kb`` anywhere; ``--config``; config and KB locations;
``--help`` texts; shell completion."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import platformdirs
import pytest
from click.testing import CliRunner

from juggler.cli import app
from juggler.triage._config import ENV_VARIABLES, load_config
from juggler.triage.kb import resolve_path

from ._run import EXAMPLES, isolated_env, juggler_cli, one_line_error

LOG = str(EXAMPLES / "npm-jest.log")


def _incidents(kb: Path, home: Path) -> list[dict[str, object]]:
    done = juggler_cli("kb", "list", "--incidents", "--json", "--kb", str(kb), home=home)
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, object]] = json.loads(done.stdout)
    return rows


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_learn_prints_the_stored_incident_id(tmp_path: Path) -> None:
    kb = tmp_path / "kb.sqlite3"
    done = juggler_cli(
        "triage", LOG, "--quiet", "--kb", str(kb), "--learn", "--cause", "jest-timeout",
        "--fix", "raise the timeout", home=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    match = re.search(r"learned incident #(\d+) \(cause: jest-timeout\) in (\S+)", done.stderr)
    assert match, done.stderr
    assert Path(match.group(2)) == kb
    [stored] = _incidents(kb, tmp_path)
    assert stored["id"] == int(match.group(1))
    assert stored["resolution"] == {"cause": "jest-timeout", "fix": "raise the timeout", "link": ""}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--learn"], "--learn needs --cause"),
        (["--learn", "--cause", "  "], "--learn needs --cause"),
        (["--learn", "--cause", "x", "--no-kb"], "drop --no-kb"),
        (["--cause", "x"], "--cause only make sense with --learn"),
        (["--fix", "y", "--link", "z"], "--fix, --link only make sense with --learn"),
    ],
)
def test_learn_contradictions_are_usage_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    kb = tmp_path / "kb.sqlite3"
    done = juggler_cli("triage", LOG, "--quiet", "--kb", str(kb), *args, home=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not kb.exists()  # refused before anything was opened or stored


def test_kb_option_works_after_the_subcommand(tmp_path: Path) -> None:
    team, other = tmp_path / "team.sqlite3", tmp_path / "other.sqlite3"
    done = juggler_cli(
        "kb", "import", str(EXAMPLES / "kb.json"), "--replace", "--kb", str(team), home=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert team.is_file()
    # After the subcommand it wins over the group's --kb (and over $JUGGLER_KB).
    done = juggler_cli(
        "kb", "--kb", str(other), "list", "--json", "--kb", str(team),
        home=tmp_path, JUGGLER_KB=str(other),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    names = {cause["name"] for cause in json.loads(done.stdout)}
    assert "fastapi-decimal-validation" in names  # imported from examples/kb.json
    assert not other.exists()


def test_every_kb_subcommand_accepts_kb() -> None:
    kb_group = app.get_command(click.Context(app), "kb")
    assert isinstance(kb_group, click.Group)
    for name, command in kb_group.commands.items():
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert "--kb" in options, name


def test_config_flag_reads_the_named_file(tmp_path: Path) -> None:
    config = tmp_path / "ci-juggler.toml"
    config.write_text('formats = ["md"]\nout_dir = "from-config"\n', encoding="utf-8")
    done = juggler_cli("triage", LOG, "--no-kb", "--quiet", "--config", str(config), home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "from-config").iterdir()) == ["memo.md"]
    missing = juggler_cli("triage", LOG, "--no-kb", "--config", "nope.toml", home=tmp_path)
    assert missing.returncode == 2
    assert one_line_error(missing) == "juggler: config file nope.toml not found"


def test_config_discovery_walks_up_to_the_project_root(tmp_path: Path) -> None:
    outside = tmp_path / "juggler.toml"
    outside.write_text("max_findings = 2\nlog_url = 'https://outside'\n", encoding="utf-8")
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n\n[tool.juggler]\nmax_findings = 7\n", encoding="utf-8"
    )
    deep = project / "services" / "api"
    deep.mkdir(parents=True)
    config = load_config(cwd=deep, environ={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert config.max_findings == 7
    assert config.log_url is None  # the file above the project root was not read
    nested = deep / "juggler.toml"
    nested.write_text("max_findings = 3\n", encoding="utf-8")
    assert load_config(cwd=deep, environ={}).max_findings == 3  # the nearest file wins


def test_user_config_is_the_lowest_file_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    user = platformdirs.user_config_path("juggler", appauthor=False) / "juggler.toml"
    assert user.parent == tmp_path / "config" / "juggler"
    user.parent.mkdir(parents=True)
    user.write_text("max_findings = 9\nlog_url = 'https://ci.example/log'\n", encoding="utf-8")
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    assert load_config(cwd=project, environ={}).max_findings == 9
    (project / "juggler.toml").write_text("max_findings = 4\n", encoding="utf-8")
    config = load_config(cwd=project, environ={})
    assert (config.max_findings, config.log_url) == (4, "https://ci.example/log")
    explicit = tmp_path / "only.toml"
    explicit.write_text("timeline = false\n", encoding="utf-8")
    config = load_config(cwd=project, environ={}, config_file=explicit)
    assert (config.max_findings, config.log_url, config.timeline) == (5, None, False)


def test_default_kb_lives_in_the_platform_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JUGGLER_KB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert resolve_path() == tmp_path / "data" / "juggler" / "kb.sqlite3"
    # Whatever platformdirs says for this platform (macOS: ~/Library/Application Support).
    mac = tmp_path / "Library" / "Application Support" / "juggler"
    monkeypatch.setattr(platformdirs, "user_data_path", lambda *a, **k: mac)
    assert resolve_path() == mac / "kb.sqlite3"


def test_help_texts_give_examples_variables_and_notification_settings() -> None:
    root = CliRunner().invoke(app, ["--help"], terminal_width=100).output
    assert "Examples:" in root
    assert "_JUGGLER_COMPLETE=bash_source juggler" in root
    assert "juggler.toml" in root
    triage = CliRunner().invoke(app, ["triage", "--help"], terminal_width=100).output
    assert "juggler triage build.log --baseline" in triage
    for variable in ENV_VARIABLES:
        assert variable in triage, variable
    for setting in ("slack_webhook_url", "webhook_urls", "JUGGLER_WEBHOOK_SECRET", "--config"):
        assert setting in triage, setting
    kb = CliRunner().invoke(app, ["kb", "--help"], terminal_width=100).output
    assert "juggler kb list --incidents --kb" in kb


def test_documented_shell_completion_works(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "juggler"
    assert script.is_file(), "juggler's console script is installed next to the interpreter"
    done = subprocess.run(
        [str(script)],
        env=isolated_env(tmp_path, _JUGGLER_COMPLETE="bash_source"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "complete -o nosort -F _juggler_completion juggler" in done.stdout
    words = subprocess.run(
        [str(script)],
        env=isolated_env(
            tmp_path, _JUGGLER_COMPLETE="bash_complete", COMP_WORDS="juggler kb li", COMP_CWORD="2"
        ),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert "plain,list" in words.stdout
