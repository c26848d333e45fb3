"""Options: command line > JUGGLER_* environment > juggler.toml / [tool.juggler] > defaults."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from juggler import ConfigError
from juggler.triage._config import _PARSERS, TriageConfig, load_config

if TYPE_CHECKING:
    from pathlib import Path


def test_defaults_without_any_source(tmp_path: Path) -> None:
    """No file, no env, no flags: the dataclass defaults (offline, all formats)."""
    config = load_config(environ={}, cwd=tmp_path)
    assert config == TriageConfig()
    assert config.llm_settings({}) is None


def test_precedence_cli_over_env_over_file(tmp_path: Path) -> None:
    """Each source overrides the one below it, option by option."""
    (tmp_path / "juggler.toml").write_text(
        'out_dir = "from-file"\nmax_findings = 3\nllm-model = "file-model"\nformats = ["md"]\n'
    )
    env = {"JUGGLER_OUT_DIR": "from-env", "JUGGLER_MAX_FINDINGS": "7"}
    config = load_config({"out_dir": "from-cli", "max_findings": None}, environ=env, cwd=tmp_path)
    assert config.out_dir == "from-cli"  # cli > env > file
    assert config.max_findings == 7  # env > file (cli None = not given)
    assert config.llm_model == "file-model"  # file > default
    assert config.formats == ("md",)


def test_pyproject_tool_table_is_read(tmp_path: Path) -> None:
    """Without juggler.toml, [tool.juggler] of pyproject.toml is used."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.juggler]\nllm_deadline_s = 2.5\ngithub = "off"\n'
    )
    config = load_config(environ={}, cwd=tmp_path)
    assert config.llm_deadline_s == 2.5
    assert config.github == "off"


def test_juggler_toml_wins_over_pyproject(tmp_path: Path) -> None:
    """Only one file is read: juggler.toml when present."""
    (tmp_path / "pyproject.toml").write_text("[tool.juggler]\nout_dir = 'py'\n")
    (tmp_path / "juggler.toml").write_text("out_dir = 'jt'\n")
    assert load_config(environ={}, cwd=tmp_path).out_dir == "jt"


def test_explicit_config_file(tmp_path: Path) -> None:
    """--config points at a file anywhere; a missing one is an error."""
    path = tmp_path / "conf" / "pyproject.toml"
    path.parent.mkdir()
    path.write_text("[tool.juggler]\nmax_annotations = 4\n")
    assert load_config(environ={}, cwd=tmp_path, config_file=path).max_annotations == 4
    with pytest.raises(ConfigError, match="not found"):
        load_config(environ={}, cwd=tmp_path, config_file=tmp_path / "nope.toml")


def test_environment_values_are_parsed(tmp_path: Path) -> None:
    """Lists are comma-separated, booleans accept 1/0/yes/no, numbers are numbers."""
    env = {
        "JUGGLER_FORMATS": "md, json",
        "JUGGLER_TIMELINE": "no",
        "JUGGLER_DEBUG": "1",
        "JUGGLER_LLM_DEADLINE_S": "0.75",
        "JUGGLER_BASELINE": "a.log,b.log",
        "JUGGLER_LLM_URL": "http://127.0.0.1:8080/v1",
        "MY_LLM_KEY": "k-123456",
        "JUGGLER_LLM_API_KEY_ENV": "MY_LLM_KEY",
    }
    config = load_config(environ=env, cwd=tmp_path)
    assert config.formats == ("md", "json")
    assert config.timeline is False
    assert config.debug is True
    assert config.llm_deadline_s == 0.75
    assert config.baseline == ("a.log", "b.log")
    llm = config.llm_settings(env)
    assert llm is not None
    assert llm.api_key == "k-123456"
    assert llm.deadline_s == 0.75


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"JUGGLER_MAX_FINDINGS": "many"}, "JUGGLER_MAX_FINDINGS: expected an integer"),
        ({"JUGGLER_LLM_DEADLINE_S": "-1"}, "JUGGLER_LLM_DEADLINE_S: expected a positive"),
        ({"JUGGLER_LLM_DEADLINE_S": "nan"}, "expected a positive number"),
        ({"JUGGLER_FORMATS": "md,pdf"}, "unknown format"),
        ({"JUGGLER_GITHUB": "maybe"}, "expected auto, on or off"),
        ({"JUGGLER_TIMELINE": "perhaps"}, "expected true or false"),
    ],
)
def test_bad_values_name_their_source(tmp_path: Path, env: dict[str, str], message: str) -> None:
    """A bad value is a ConfigError naming where it came from."""
    with pytest.raises(ConfigError, match=message):
        load_config(environ=env, cwd=tmp_path)


def test_unknown_keys_and_bad_toml_are_errors(tmp_path: Path) -> None:
    """A typo in the file or on the command line is caught, not ignored."""
    (tmp_path / "juggler.toml").write_text("out_dri = 'x'\n")
    with pytest.raises(ConfigError, match="unknown option 'out_dri'"):
        load_config(environ={}, cwd=tmp_path)
    (tmp_path / "juggler.toml").write_text("out_dir = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(environ={}, cwd=tmp_path)
    (tmp_path / "juggler.toml").unlink()
    with pytest.raises(ConfigError, match="unknown option --colour"):
        load_config({"colour": True}, environ={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="expected an integer, got a boolean"):
        load_config({"max_findings": True}, environ={}, cwd=tmp_path)


def test_secret_options_stay_out_of_repr_and_errors(tmp_path: Path) -> None:
    """Webhook URLs are secrets: not in repr, not quoted in an error, in the redactor."""
    url = "https://hooks.example.com/services/T/B/cfgToken123456"
    config = load_config({"webhook_urls": [url]}, environ={}, cwd=tmp_path)
    assert "cfgToken123456" not in repr(config)
    assert "cfgToken123456" not in config.redactor({}).scrub(f"failed {url}")
    (tmp_path / "juggler.toml").write_text("slack_webhook_url = 12345678901\n")
    with pytest.raises(ConfigError) as info:
        load_config(environ={}, cwd=tmp_path)
    assert "12345678901" not in str(info.value)


def test_config_is_frozen_and_every_field_has_a_parser() -> None:
    """TriageConfig is immutable, and every option can come from env/file."""
    config = TriageConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.out_dir = "x"  # type: ignore[misc]
    assert set(_PARSERS) == {f.name for f in dataclasses.fields(TriageConfig)}


def test_secrets_are_collected_from_their_variables() -> None:
    """secret_values() gathers the HMAC secret, the LLM key and the webhook URLs."""
    config = TriageConfig(webhook_urls=("https://h/x/tok123456789",), llm_url="http://l/v1")
    env = {"JUGGLER_WEBHOOK_SECRET": "hmac-123456", "JUGGLER_LLM_API_KEY": "key-123456"}
    assert set(config.secret_values(env)) == {
        "https://h/x/tok123456789",
        "hmac-123456",
        "key-123456",
    }
