"""Run ``juggler`` in a subprocess with an isolated environment (no user config, no user KB)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import juggler

SRC = str(Path(juggler.__file__).resolve().parent.parent)
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
README_PATH = REPO / "README.md"


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment minus juggler's and GitHub's variables, with XDG folders in ``home``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUGGLER_", "GITHUB_", "XDG_")) and k != "CI"
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["XDG_DATA_HOME"] = str(home / "data")
    env.update(extra)
    return env


def juggler_cli(
    *args: str, home: Path, cwd: Path | None = None, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m juggler ARGS`` with :func:`isolated_env`; never raises on exit codes."""
    return subprocess.run(
        [sys.executable, "-m", "juggler", *args],
        cwd=cwd or home,
        env=isolated_env(home, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def python_code(code: str, *, home: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` in ``home`` with :func:`isolated_env`; never raises on exit codes."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env=isolated_env(home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused run (asserting there is exactly one)."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1, done.stderr
    return lines[0]
