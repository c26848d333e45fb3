"""Every code block of README.md and docs/**/*.md is executed or checked, so the docs cannot rot.

New pages under docs/ are picked up on their own. What happens to a block depends on the
language tag of its fence; a block without a tag, or with a tag no rule below knows, fails
(tag it, or add a rule here):

``python``
    A complete program: written to ``example.py`` in a fresh temporary folder that links the
    repository's ``examples/``, and run as ``python example.py`` there (this checkout's
    ``src`` first on ``PYTHONPATH``, no network needed); it must exit 0. A block whose
    first line starts with ``>>>`` is a doctest session instead, and its outputs must match.

``sh``, ``bash``, ``shell``, ``console``
    Split into commands (``#`` comments dropped, ``\\`` continuations joined; in a
    ``console`` block only the lines after a ``$ `` prompt, the rest being their output).
    Commands run in the order written, in one temporary folder per block that holds a link
    to the repository's ``examples/``, with fresh XDG folders (so the default knowledge base
    is a throwaway one) and no ``JUGGLER_*``/``GITHUB_*`` variables:

    * ``juggler ...`` (also after ``VAR=value`` prefixes, inside ``eval "$(...)"``, and
      before a ``>`` redirection or a pipe): the subcommand path and every option must exist
      in the command tree that ``--help`` prints, and the arguments must parse. The command
      then *runs for real* through ``bash`` when it is ``triage``, ``kb`` or ``demo`` (the
      subcommands that finish on their own), names no network address (``://``), and every
      file it reads exists at that moment (bundled examples, or files an earlier command of
      the block wrote); it must exit 0.
      A file it reads under ``examples/`` must exist: a typo there fails. Commands that read
      placeholders (``build.log``) or stdin are checked but not run.
    * ``make TARGET``: the target is defined in the Makefile (not run: it builds a venv).
    * ``python``/``.venv/bin/python SCRIPT``: the script exists in the repository.
    * ``pip``, ``uv``, ``git``, ``cd``, ``export``, ``source``: allowed, not run.
    * anything else: the program must be on ``PATH``.

``toml``
    Parsed with :mod:`tomllib`; juggler options in it (top-level keys, or
    ``[tool.juggler]``) must load with the config loader, so an unknown key fails.

``yaml``, ``yml``
    Parsed with ``yaml.safe_load``. A GitHub workflow (or jobs to paste into one) whose step
    ``uses:`` this repository's action may only pass ``with:`` inputs ``action.yml`` declares.

``json``
    Parsed with :mod:`json`.

``text``
    Output shown to the reader (terminal captures, trees); nothing to run.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import yaml
from markdown_it import MarkdownIt

import juggler
from juggler.cli import app
from juggler.triage._config import load_config

REPO = Path(__file__).resolve().parent.parent
SRC = Path(juggler.__file__).resolve().parent.parent
SHELLS = {"sh", "bash", "shell", "console"}
ALLOWED_PROGRAMS = {"pip", "uv", "git", "cd", "export", "source", "."}
# Subcommands that finish on their own offline; others (a server) are parsed, never run.
RUNNABLE = {"triage", "kb", "demo"}
# Parameters of juggler commands that name a file the command reads.
INPUT_PARAMS = {"logs", "baseline", "config_file", "source", "run_json", "triage_file", "log_file"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def _pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def _blocks() -> list[Block]:
    blocks = []
    for page in _pages():
        tokens = MarkdownIt().parse(page.read_text(encoding="utf-8"))
        for token in tokens:
            if token.type == "fence" and token.map is not None:
                lang = token.info.strip().split(" ")[0].lower()
                blocks.append(Block(page, token.map[0] + 1, lang, token.content))
    return blocks


BLOCKS = _blocks()


def _env(folder: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUGGLER_", "GITHUB_", "XDG_")) and k != "CI"
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p)
    env["XDG_CONFIG_HOME"] = str(folder / ".config")
    env["XDG_DATA_HOME"] = str(folder / ".data")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def test_the_docs_have_code_blocks() -> None:
    assert any(b.lang == "python" for b in BLOCKS)
    assert any(b.lang in SHELLS for b in BLOCKS)


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.id)
def test_code_block(block: Block, tmp_path: Path) -> None:
    """Run or check one block by the rule for its language (see the module docstring)."""
    if block.lang == "python":
        _run_python(block, tmp_path)
    elif block.lang in SHELLS:
        _run_shell(block, tmp_path)
    elif block.lang == "toml":
        _check_toml(block, tmp_path)
    elif block.lang in {"yaml", "yml"}:
        _check_yaml(block)
    elif block.lang == "json":
        json.loads(block.code)
    else:
        assert block.lang == "text", f"{block.id}: tag the block (python, sh, toml, ..., text)"


# ---------------------------------------------------------------------------------- python


def _run_python(block: Block, tmp_path: Path) -> None:
    if block.code.lstrip().startswith(">>>"):
        parser = doctest.DocTestParser()
        test = parser.get_doctest(block.code, {}, block.id, str(block.page), block.line)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        result = runner.run(test)
        assert result.failed == 0, f"{block.id}: doctest failed"
        return
    (tmp_path / "examples").symlink_to(REPO / "examples", target_is_directory=True)
    (tmp_path / "example.py").write_text(block.code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, f"{block.id} failed:\n{done.stderr}"


# ----------------------------------------------------------------------------------- shell


def _commands(code: str, *, prompts: bool) -> list[str]:
    """The block's command lines as written (continuations joined, blanks and comments gone).

    With ``prompts`` (a ``console`` block) only lines starting with ``$ `` are commands; the
    others are their output.
    """
    joined = re.sub(r"\\\n\s*", " ", code)
    commands = []
    for raw in joined.splitlines():
        line = raw.strip()
        if prompts:
            if not line.startswith("$ "):
                continue
            line = line[2:].strip()
        if line and not line.startswith("#"):
            commands.append(line)
    return commands


def _tokens(line: str, where: str) -> list[str]:
    """Shell words, with redirections and pipes as words of their own; comments dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError as exc:
        raise AssertionError(f"{where}: cannot parse: {exc}") from None


def _juggler_argv(tokens: list[str]) -> list[str] | None:
    """The arguments of the juggler call in ``tokens`` (after env prefixes), before any
    redirection or pipe; ``None`` when the command is not juggler."""
    while tokens and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", tokens[0]):
        tokens = tokens[1:]
    if not tokens or Path(tokens[0]).name != "juggler":
        return None
    argv = []
    for token in tokens[1:]:
        if token and set(token) <= set("<>|&;"):
            break
        argv.append(token)
    return argv


def _parse_juggler(argv: list[str], where: str) -> tuple[click.Command, dict[str, object]]:
    """Resolve the subcommand and parse its options as click would; fail on unknown ones."""
    command: click.Command = app
    ctx = app.make_context("juggler", list(argv), resilient_parsing=False)
    params: dict[str, object] = dict(ctx.params)
    rest = _remaining(ctx)
    while isinstance(command, click.Group) and rest:
        name, *tail = rest
        sub = command.get_command(ctx, name)
        assert sub is not None, f"{where}: juggler has no subcommand {name!r}"
        command = sub
        try:
            ctx = sub.make_context(name, list(tail), parent=ctx)
        except click.UsageError as exc:
            raise AssertionError(f"{where}: {exc.format_message()}") from None
        params.update(ctx.params)
        rest = _remaining(ctx) if isinstance(sub, click.Group) else []
    return command, params


def _remaining(ctx: click.Context) -> list[str]:
    # Click 8 keeps a group's subcommand name apart from its arguments; click 9 will not.
    return [*(getattr(ctx, "_protected_args", None) or []), *ctx.args]


def _inputs(params: dict[str, object]) -> list[str]:
    files: list[str] = []
    for name in INPUT_PARAMS:
        value = params.get(name)
        if isinstance(value, str):
            files.append(value)
        elif isinstance(value, list | tuple):
            files.extend(v for v in value if isinstance(v, str))
    return files


def _make_targets() -> set[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:", text, flags=re.MULTILINE))


def _check_other(tokens: list[str], where: str) -> None:
    program = tokens[0]
    if program == "make":
        targets = [t for t in tokens[1:] if not t.startswith("-") and "=" not in t]
        missing = set(targets) - _make_targets()
        assert not missing, f"{where}: Makefile has no target {sorted(missing)}"
    elif Path(program).name.startswith("python"):
        script = next((t for t in tokens[1:] if t.endswith(".py")), None)
        if script is not None:
            assert (REPO / script).is_file(), f"{where}: no script {script}"
    elif program not in ALLOWED_PROGRAMS:
        assert shutil.which(program), f"{where}: unknown program {program!r}"


def _run_shell(block: Block, tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(REPO / "examples", target_is_directory=True)
    env = _env(tmp_path)
    for line in _commands(block.code, prompts=block.lang == "console"):
        where = f"{block.id}: {line}"
        inner = re.match(r'eval "\$\((.*)\)"', line)
        tokens = _tokens(inner.group(1) if inner else line, where)
        argv = _juggler_argv(tokens)
        if argv is None:
            _check_other(tokens, where)
            continue
        if inner:  # completion scripts: the generating command must work
            done = subprocess.run(
                ["bash", "-c", inner.group(1)], cwd=tmp_path, env=env, capture_output=True,
                text=True, timeout=60, check=False,
            )  # fmt: skip
            assert done.returncode == 0, f"{where}\n{done.stderr}"
            assert done.stdout.strip(), where
            continue
        _command, params = _parse_juggler(argv, where)
        inputs = _inputs(params)
        for path in inputs:
            if path.startswith("examples/"):
                assert (REPO / path).exists(), f"{where}: {path} is not a bundled example"
        if argv[0] not in RUNNABLE or "://" in line:
            continue  # long-running (serve) or networked (--cluster, --llm-url): parsed only
        if not inputs and argv[:1] == ["triage"]:
            continue  # nothing to read
        if any(p == "-" or not (tmp_path / p).exists() for p in inputs):
            continue  # a placeholder (build.log) or stdin: checked, not run
        done = subprocess.run(
            ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{where} exited {done.returncode}:\n{done.stderr}"


# ---------------------------------------------------------------------------- data blocks


def _check_toml(block: Block, tmp_path: Path) -> None:
    data = tomllib.loads(block.code)
    if "project" in data or "tool" in data:
        if "juggler" not in data.get("tool", {}):
            return
        path = tmp_path / "pyproject.toml"
    else:
        path = tmp_path / "juggler.toml"
    path.write_text(block.code, encoding="utf-8")
    load_config(environ={}, config_file=path)


def _check_yaml(block: Block) -> None:
    data = yaml.safe_load(block.code)
    if not isinstance(data, dict):
        return
    # A whole workflow, or just the jobs to paste under its ``jobs:``.
    jobs = data.get("jobs", data)
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    declared = set(action.get("inputs", {}))
    for job in jobs.values() if isinstance(jobs, dict) else ():
        if not isinstance(job, dict):
            continue
        for step in job.get("steps", []):
            uses = str(step.get("uses", ""))
            if re.search(r"(^|/)juggler(@|$)", uses):
                unknown = set(step.get("with", {})) - declared
                assert not unknown, f"{block.id}: action.yml declares no input {unknown}"
