"""Issue 16: a small log's triage pays only for what it uses.

Start-up is most of a small log's wall time, so a ``--no-kb`` triage with no delivery must
not import the knowledge base's store and matcher (numpy, SQLite's store, YAML) nor the
HTTP client. Measured, not timed: which modules the process loaded.
"""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING

from tests.cli._run import EXAMPLES, juggler_cli, python_code

if TYPE_CHECKING:
    from pathlib import Path

HEAVY = ("numpy", "httpx", "yaml", "rich.progress", "juggler.triage.kb._store")


def _loaded_after(args: list[str], home: Path) -> set[str]:
    """The HEAVY modules in ``sys.modules`` after ``juggler ARGS`` ran in a fresh process."""
    code = textwrap.dedent(
        f"""
        import json, sys
        from juggler.cli import main
        sys.argv = ["juggler", *{args!r}]
        try:
            main()
        finally:
            loaded = [m for m in {HEAVY!r} if m in sys.modules]
            print(json.dumps(loaded), file=sys.__stderr__)
        """
    )
    done = python_code(code, home=home, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_a_no_kb_triage_imports_no_store_no_numpy_no_http(tmp_path: Path) -> None:
    loaded = _loaded_after(
        ["triage", str(EXAMPLES / "pytest-gha.log"), "--no-kb", "--json"], tmp_path
    )
    assert loaded == set()


def test_a_triage_with_the_kb_still_loads_it(tmp_path: Path) -> None:
    # The same probe sees the store when a run does use it: the first test is not vacuous.
    loaded = _loaded_after(
        ["triage", str(EXAMPLES / "pytest-gha.log"), "--kb", str(tmp_path / "kb.sqlite3")],
        tmp_path,
    )
    assert {"numpy", "juggler.triage.kb._store"} <= loaded


def test_the_lazily_mounted_kb_command_is_listed_and_runs(tmp_path: Path) -> None:
    assert "kb " in juggler_cli("--help", home=tmp_path).stdout
    done = juggler_cli("kb", "--kb", str(tmp_path / "kb.sqlite3"), "list", home=tmp_path)
    assert done.returncode == 0, done.stderr
