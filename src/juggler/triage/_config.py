"""Triage options from the command line, the environment and a config file, in that order.

Precedence, highest first:

1. command-line options (a mapping from the CLI; ``None`` means "not given");
2. environment variables ``JUGGLER_<OPTION>`` (``JUGGLER_LLM_URL``, ``JUGGLER_FORMATS=md,html``);
3. the project's file: ``juggler.toml`` (top-level keys), or else the ``[tool.juggler]``
   table of ``pyproject.toml``, in the working directory or the nearest folder above it,
   up to the project root (the folder holding ``.git``) — or the file ``--config`` names;
4. the user's file: ``juggler.toml`` in the user config folder (``platformdirs``:
   ``~/.config/juggler`` on Linux, ``~/Library/Application Support/juggler`` on macOS),
   skipped when ``--config`` names a file;
5. the defaults of :class:`TriageConfig`.

Secrets are never options: the config names the environment variables that hold them
(``llm_api_key_env``, ``webhook_secret_env``), except for webhook URLs, whose token is in the
URL; those are kept out of ``repr`` and added to the :class:`Redactor`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, final

from juggler import ConfigError

from ._redact import Redactor

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .synth.llm import LlmSettings

ENV_PREFIX = "JUGGLER_"
FORMATS = frozenset({"md", "html", "json"})


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class TriageConfig:
    """Every triage option (see the module docstring for where each comes from).

    Attributes:
        out_dir: Directory for memo files and the timeline.
        formats: Memo formats to write: any of ``md``, ``html``, ``json``.
        baseline: Logs of passing runs to compare against.
        kb_path: Knowledge-base file, or ``None`` for the default.
        max_findings: Findings shown in the memo.
        log_url: Web address of the log; findings then link to ``#L<start>-L<end>``.
        timeline: Write the HTML timeline of the triage run and link it from the memo.
        llm_url: OpenAI-compatible API base URL; ``None`` keeps the memo offline.
        llm_model: Model name for the LLM.
        llm_api_key_env: Environment variable holding the LLM API key.
        llm_deadline_s: Deadline of the LLM call; after it the extractive memo is used.
        llm_max_input_chars: Cap on the extract sent to the LLM.
        llm_max_output_chars: Cap on the LLM text kept.
        github: ``auto`` (when ``GITHUB_ACTIONS=true``), ``on`` or ``off``.
        max_annotations: ``::error`` annotations emitted (GitHub shows at most 10).
        slack_webhook_url: Slack incoming webhook (a secret: its path is the token).
        webhook_urls: Generic JSON webhooks (secrets).
        webhook_secret_env: Environment variable holding the HMAC secret for webhooks.
        webhook_attempts: Tries per webhook, first included.
        webhook_timeout_s: Per-try timeout.
        webhook_backoff_s: Wait before the first retry; doubles after each.
        debug: More detail on stderr (still scrubbed).
    """

    out_dir: str = "triage-out"
    formats: tuple[str, ...] = ("md", "html", "json")
    baseline: tuple[str, ...] = ()
    kb_path: str | None = None
    max_findings: int = 5
    log_url: str | None = None
    timeline: bool = True
    llm_url: str | None = None
    llm_model: str | None = None
    llm_api_key_env: str = "JUGGLER_LLM_API_KEY"
    llm_deadline_s: float = 20.0
    llm_max_input_chars: int = 12_000
    llm_max_output_chars: int = 2_000
    github: Literal["auto", "on", "off"] = "auto"
    max_annotations: int = 10
    slack_webhook_url: str | None = field(default=None, repr=False)
    webhook_urls: tuple[str, ...] = field(default=(), repr=False)
    webhook_secret_env: str = "JUGGLER_WEBHOOK_SECRET"
    webhook_attempts: int = 4
    webhook_timeout_s: float = 10.0
    webhook_backoff_s: float = 0.5
    debug: bool = False

    def webhook_secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The HMAC secret from ``webhook_secret_env``, or ``None``."""
        env = os.environ if environ is None else environ
        return env.get(self.webhook_secret_env) or None

    def llm_api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The LLM API key from ``llm_api_key_env``, or ``None``."""
        env = os.environ if environ is None else environ
        return env.get(self.llm_api_key_env) or None

    def secret_values(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Every configured secret: webhook URLs, the HMAC secret, the LLM key."""
        values = [*self.webhook_urls, self.slack_webhook_url]
        values += [self.webhook_secret(environ), self.llm_api_key(environ)]
        return [v for v in values if v]

    def redactor(self, environ: Mapping[str, str] | None = None) -> Redactor:
        """The run's redactor: configured secrets plus every ``*_TOKEN``/``*_KEY``/... value."""
        env = os.environ if environ is None else environ
        return Redactor.from_environ(env, extra=self.secret_values(env))

    def llm_settings(self, environ: Mapping[str, str] | None = None) -> LlmSettings | None:
        """LLM settings, or ``None`` when no LLM is configured (the offline default)."""
        from .synth.llm import LlmSettings

        if not self.llm_url:
            return None
        return LlmSettings(
            url=self.llm_url,
            model=self.llm_model or "default",
            api_key=self.llm_api_key(environ),
            deadline_s=self.llm_deadline_s,
            max_input_chars=self.llm_max_input_chars,
            max_output_chars=self.llm_max_output_chars,
        )


def _as_str(value: object) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {type(value).__name__}")


def _as_opt_str(value: object) -> str | None:
    return None if value in (None, "") else _as_str(value)


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        result = int(value)
    else:
        raise ValueError(f"expected an integer, got {value!r}")
    if result < 0:
        raise ValueError(f"expected a non-negative integer, got {result}")
    return result


def _as_float(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    try:
        result = float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        result = None
    if result is None or result != result or result <= 0:  # NaN fails result == result
        raise ValueError(f"expected a positive number, got {value!r}")
    return result


def _as_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _as_list(value: object) -> tuple[str, ...]:
    # Environment variables carry lists comma-separated; TOML and the CLI as lists.
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected a list, got {type(value).__name__}")
    return tuple(_as_str(v).strip() for v in items if not isinstance(v, str) or v.strip())


def _as_formats(value: object) -> tuple[str, ...]:
    formats = _as_list(value)
    unknown = sorted(set(formats) - FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(unknown)} (use md, html, json)")
    return formats


def _as_github(value: object) -> str:
    text = _as_str(value).strip().lower()
    if text not in {"auto", "on", "off"}:
        raise ValueError(f"expected auto, on or off, got {value!r}")
    return text


_PARSERS: dict[str, Callable[[object], object]] = {
    "out_dir": _as_str,
    "formats": _as_formats,
    "baseline": _as_list,
    "kb_path": _as_opt_str,
    "max_findings": _as_int,
    "log_url": _as_opt_str,
    "timeline": _as_bool,
    "llm_url": _as_opt_str,
    "llm_model": _as_opt_str,
    "llm_api_key_env": _as_str,
    "llm_deadline_s": _as_float,
    "llm_max_input_chars": _as_int,
    "llm_max_output_chars": _as_int,
    "github": _as_github,
    "max_annotations": _as_int,
    "slack_webhook_url": _as_opt_str,
    "webhook_urls": _as_list,
    "webhook_secret_env": _as_str,
    "webhook_attempts": _as_int,
    "webhook_timeout_s": _as_float,
    "webhook_backoff_s": _as_float,
    "debug": _as_bool,
}
ENV_VARIABLES: dict[str, str] = {
    ENV_PREFIX + "KB": "knowledge base file (as --kb)",
    ENV_PREFIX + "CONFIG": "config file (as --config)",
    # The default names of the variables holding secrets (llm_api_key_env, webhook_secret_env).
    ENV_PREFIX + "LLM_API_KEY": "the LLM API key",
    ENV_PREFIX + "WEBHOOK_SECRET": "the webhooks' HMAC secret",
    **{ENV_PREFIX + name.upper(): f"the {name} option" for name in _PARSERS},
}
"""Every ``JUGGLER_*`` variable juggler reads, for ``--help``; secrets' names come from options."""

# Options whose values are secrets: an error message must not quote them.
_SECRET_OPTIONS = frozenset({"slack_webhook_url", "webhook_urls"})


PROJECT_ROOT_MARKERS = (".git", ".hg")


def user_config_path() -> Path:
    """The user-level config file (it need not exist)."""
    import platformdirs  # lazy: only the CLI's config loading needs it

    return platformdirs.user_config_path("juggler", appauthor=False) / "juggler.toml"


def find_project_config(cwd: Path) -> Path | None:
    """The nearest ``juggler.toml``, or ``pyproject.toml`` with ``[tool.juggler]``, upwards.

    The walk starts in ``cwd`` and stops after the project root (a folder holding ``.git``
    or ``.hg``), so a config of an unrelated folder above the project is never read.
    """
    for folder in (cwd, *cwd.parents):
        candidate = folder / "juggler.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _read_toml(pyproject, table=True, quiet=True):
            return pyproject
        if any((folder / marker).exists() for marker in PROJECT_ROOT_MARKERS):
            return None
    return None


def _file_layers(cwd: Path, config_file: Path | None) -> list[tuple[str, dict[str, Any]]]:
    """(name for messages, options) of each config file, lowest precedence first."""
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file {config_file} not found")
        return [_layer(config_file)]
    layers = []
    user = user_config_path()
    if user.is_file():
        layers.append(_layer(user))
    project = find_project_config(cwd)
    if project is not None:
        layers.append(_layer(project))
    return layers


def _layer(path: Path) -> tuple[str, dict[str, Any]]:
    if path.name == "pyproject.toml":
        return f"{path} [tool.juggler]", _read_toml(path, table=True)
    return str(path), _read_toml(path, table=False)


def _read_toml(path: Path, *, table: bool, quiet: bool = False) -> dict[str, Any]:
    """The file's options; with ``quiet``, an unreadable file reads as having none."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        if quiet:
            return {}
        raise ConfigError(f"{path}: cannot read ({type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        if quiet:
            return {}
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    if table:
        tool = data.get("tool")
        section = tool.get("juggler") if isinstance(tool, dict) else None
        return section if isinstance(section, dict) else {}
    return data


def _parse(name: str, value: object, source: str) -> object:
    try:
        return _PARSERS[name](value)
    except ValueError as exc:
        detail = "invalid value" if name in _SECRET_OPTIONS else str(exc)
        raise ConfigError(f"{source}: {detail}") from None


def load_config(
    cli: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> TriageConfig:
    """Merge the options: command line > ``JUGGLER_*`` environment > config files > defaults.

    Args:
        cli: Options given on the command line, by option name (dashes or underscores);
            ``None`` values mean "not given" and fall through to the next source.
        environ: The environment (``os.environ`` by default).
        cwd: Where the search for ``juggler.toml`` / ``pyproject.toml`` starts (the working
            directory); it goes up to the project root.
        config_file: An explicit config file (a ``pyproject.toml`` is read at
            ``[tool.juggler]``); it must exist, and replaces the project and user files.

    Returns:
        The frozen configuration.

    Raises:
        ConfigError: An unknown option in the file or on the command line, or a value of
            the wrong type; the message names the source and the option (never its value
            when the option holds a secret).
    """
    env = os.environ if environ is None else environ
    layers = _file_layers(
        Path(cwd) if cwd is not None else Path.cwd(),
        Path(config_file) if config_file is not None else None,
    )
    values: dict[str, object] = {}
    for where, from_file in layers:
        for key, value in from_file.items():
            name = key.replace("-", "_")
            if name not in _PARSERS:
                raise ConfigError(f"{where}: unknown option {key!r}")
            values[name] = _parse(name, value, f"{where}: {key}")
    for name in _PARSERS:
        var = ENV_PREFIX + name.upper()
        if var in env:
            values[name] = _parse(name, env[var], var)
    for key, value in (cli or {}).items():
        name = key.replace("-", "_")
        if name not in _PARSERS:
            raise ConfigError(f"unknown option --{key.replace('_', '-')}")
        if value is not None:
            values[name] = _parse(name, value, f"--{name.replace('_', '-')}")
    return TriageConfig(**values)  # type: ignore[arg-type]
