"""What a ``cpu`` stage needs, and the one-sentence errors when a script does not give it.

Scripts run in subprocesses, because what matters is how the main module was started
(a file, ``python -``, ``python -c``) and whether its top level is guarded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import juggler
from juggler.engine._backends._procpool._protocol import check_importable

from . import _decorated_stages

SRC = str(Path(juggler.__file__).resolve().parent.parent)
README = Path(__file__).resolve().parents[2] / "README.md"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    return env


def _python(
    args: list[str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )


def _readme_engine_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The engine in one screen", 1)[1]
    return section.split("```python\n", 1)[1].split("\n```", 1)[0] + "\n"


def test_module_level_decorators_bare_and_with_options_run() -> None:
    report = juggler.Pipeline(_decorated_stages.double, _decorated_stages.plus_one).run([1, 2])
    assert report.results == [3, 5]
    assert [s.placement for s in report.stages] == ["cpu", "cpu"]


def test_lambda_and_nested_functions_still_fail_at_declaration() -> None:
    with pytest.raises(juggler.ConfigError, match="lambda or local function"):
        juggler.cpu(lambda x: x)

    with pytest.raises(juggler.ConfigError, match="lambda or local function"):

        @juggler.cpu
        def nested(x: int) -> int:
            return x


def test_a_name_that_no_longer_leads_to_the_function_fails_when_the_run_starts() -> None:
    stage = juggler.cpu(_decorated_stages.double.fn)  # fine: the module name resolves
    assert check_importable(stage).qualname == "double"
    orphan = juggler.cpu(_orphan)
    with pytest.raises(juggler.ConfigError, match="not reachable by its name"):
        juggler.Pipeline(orphan).run([1])


def _orphan(x: int) -> int:
    return x


_orphan.__qualname__ = "renamed_away"  # the module has no attribute of that name


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_readme_engine_example_runs_as_a_script(tmp_path: Path) -> None:
    (tmp_path / "engine_example.py").write_text(_readme_engine_example(), encoding="utf-8")
    done = _python(["engine_example.py"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "parse cpu 50" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_readme_engine_example_runs_as_an_imported_module(tmp_path: Path) -> None:
    (tmp_path / "engine_example.py").write_text(_readme_engine_example(), encoding="utf-8")
    driver = textwrap.dedent(
        """
        import juggler
        import engine_example as ex

        if __name__ == "__main__":
            ex.main()
            report = juggler.Pipeline(ex.parse).run([b"abc"])
            print("direct", report.results[0]["size"])
        """
    )
    (tmp_path / "driver.py").write_text(driver, encoding="utf-8")
    done = _python(["driver.py"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "parse cpu 50" in done.stdout
    assert "direct 3" in done.stdout


_UNGUARDED = """
import juggler

@juggler.cpu
def parse(page: bytes) -> int:
    return len(page)

print(juggler.Pipeline(parse).run([b"ab"]).results)
"""


def _assert_one_clear_error(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("juggler.engine._errors.ConfigError: "), done.stderr
    for phrase in phrases:
        assert phrase in last, last
    # No worker ever started, so no worker traceback and no broken pool.
    assert done.stderr.count("Traceback") == 1, done.stderr
    assert "forkserver" not in done.stderr
    assert "PoolClosed" not in done.stderr


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_unguarded_script_gets_one_sentence_naming_the_guard(tmp_path: Path) -> None:
    (tmp_path / "unguarded.py").write_text(_UNGUARDED, encoding="utf-8")
    done = _python(["unguarded.py"], tmp_path)
    _assert_one_clear_error(done, "unguarded.py line 8", 'if __name__ == "__main__":')


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_unguarded_script_with_imported_functions_gets_the_same_sentence(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def size(b):\n    return len(b)\n", encoding="utf-8")
    script = "import juggler, helpers\njuggler.Pipeline(juggler.cpu(helpers.size)).run([b'a'])\n"
    (tmp_path / "unguarded.py").write_text(script, encoding="utf-8")
    done = _python(["unguarded.py"], tmp_path)
    _assert_one_clear_error(done, "unguarded.py line 2", 'if __name__ == "__main__":')


@pytest.mark.timeout(60)
def test_functions_typed_on_stdin_are_refused_with_what_to_do(tmp_path: Path) -> None:
    done = _python(["-"], tmp_path, stdin=_UNGUARDED)
    _assert_one_clear_error(done, "interactive session", "move it into a .py module")


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_stdin_script_using_module_functions_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def size(b):\n    return len(b)\n", encoding="utf-8")
    script = "import juggler, helpers\njuggler.Pipeline(juggler.cpu(helpers.size)).run([b'a'])\n"
    done = _python(["-"], tmp_path, stdin=script)
    _assert_one_clear_error(done, "'<stdin>' cannot be read back", "save the code to a file")


@pytest.mark.timeout(60)
def test_interactive_session_functions_are_refused(tmp_path: Path) -> None:
    code = "import juggler\ndef f(x):\n    return x\njuggler.cpu(f)\n"
    done = _python(["-c", code], tmp_path)
    _assert_one_clear_error(done, "interactive session", "move it into a .py module")


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_interactive_session_with_module_functions_runs(tmp_path: Path) -> None:
    # What a notebook does: the functions live in a module next to it.
    (tmp_path / "helpers.py").write_text("def size(b):\n    return len(b)\n", encoding="utf-8")
    code = (
        "import juggler, helpers\n"
        "print(juggler.Pipeline(juggler.cpu(helpers.size)).run([b'ab']).results)"
    )
    done = _python(["-c", code], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[2]"
