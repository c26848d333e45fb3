"""Bad output paths fail before the run in one line; deliveries and bugs have exit codes."""

from __future__ import annotations

import json
import socket
import textwrap
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from juggler.cli import app

from ._run import EXAMPLES, README_PATH, juggler_cli, one_line_error, python_code

if TYPE_CHECKING:
    from pathlib import Path

LOG = str(EXAMPLES / "npm-jest.log")


def test_unwritable_out_dir_is_refused_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    trace = tmp_path / "run.json"
    done = juggler_cli(
        "triage", LOG, "--no-kb", "--quiet", "--out-dir", "a-file/memo", "--trace", str(trace),
        home=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    line = one_line_error(done)
    assert line.startswith("juggler: --out-dir a-file/memo: ")
    assert "Not a directory" in line
    assert done.stdout == ""  # no summary: the triage never ran
    assert not trace.exists()


def test_trace_into_a_missing_folder_is_refused_before_the_run(tmp_path: Path) -> None:
    done = juggler_cli("triage", LOG, "--no-kb", "--trace", "nowhere/run.html", home=tmp_path)
    assert done.returncode == 2
    assert (
        one_line_error(done) == "juggler: --trace nowhere/run.html: folder nowhere does not exist"
    )
    assert done.stdout == ""


def test_demo_trace_into_a_missing_folder_is_refused_too(tmp_path: Path) -> None:
    done = juggler_cli("demo", "--items", "2", "--trace", "nowhere/run.json", home=tmp_path)
    assert done.returncode == 2
    assert "folder nowhere does not exist" in one_line_error(done)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("garbage", "not a juggler knowledge base"),
        ("under-a-file", "cannot be created, "),
    ],
)
def test_unopenable_kb_is_refused_before_the_run(tmp_path: Path, setup: str, reason: str) -> None:
    if setup == "garbage":
        (tmp_path / "kb.sqlite3").write_bytes(b"this is no database" * 100)
        kb = "kb.sqlite3"
    else:
        (tmp_path / "plain").write_text("x")
        kb = "plain/kb.sqlite3"
    done = juggler_cli("triage", LOG, "--kb", kb, "--quiet", home=tmp_path)
    assert done.returncode == 2
    line = one_line_error(done)
    assert line.startswith(f"juggler: --kb {kb}: {reason}")
    assert "internal error" not in line


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens here any more: connections are refused


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_failed_delivery_exits_4_and_a_refused_input_still_counts(tmp_path: Path) -> None:
    hook = f"http://127.0.0.1:{_closed_port()}/hook"
    done = juggler_cli(
        "triage", LOG, str(tmp_path / "missing.log"), "--no-kb", "--quiet", "--out-dir", "memo",
        home=tmp_path, JUGGLER_WEBHOOK_URLS=hook, JUGGLER_WEBHOOK_ATTEMPTS="1",
        JUGGLER_WEBHOOK_TIMEOUT_S="1",
    )  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert "not delivered" in done.stderr
    assert (tmp_path / "memo" / "memo.md").is_file()  # the other channels still delivered


@pytest.mark.timeout(60)
def test_an_internal_error_exits_5_in_one_line(tmp_path: Path) -> None:
    # A bug stands in as a run_triage that raises something no caller expects.
    code = textwrap.dedent(
        """
        import sys
        import juggler.triage._cli as triage_cli
        from juggler.cli import main

        def broken(*args, **kwargs):
            raise ZeroDivisionError("a bug")

        triage_cli.run_triage = broken
        sys.argv = ["juggler", "triage", "x.log", "--no-kb"]
        main()
        """
    )
    done = python_code(code, home=tmp_path, timeout=60)
    assert done.returncode == 5
    assert one_line_error(done).startswith("juggler: internal error: ZeroDivisionError: a bug")


def test_a_sigterm_after_the_run_still_exits_130(tmp_path: Path) -> None:
    # The run is over (its event loop gone) and the memo is being written when SIGTERM
    # lands: the CLI ends as on Ctrl-C, never as a bare death by signal (-15).
    code = textwrap.dedent(
        """
        import asyncio, os, signal, sys, time
        import juggler
        import juggler.triage._cli as triage_cli
        from juggler.cli import main

        def finished_then_terminated(*args, **kwargs):
            juggler.run(asyncio.sleep(0))
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)

        triage_cli.run_triage = finished_then_terminated
        sys.argv = ["juggler", "triage", "x.log", "--no-kb"]
        main()
        """
    )
    done = python_code(code, home=tmp_path, timeout=60)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr


def test_help_and_readme_document_every_exit_code() -> None:
    codes = {
        "0": "ok",
        "1": "partial",
        "2": "usage",
        "3": "every input",
        "4": "delivery",
        "5": "internal",
        "130": "interrupted",
    }
    for args in (["--help"], ["triage", "--help"]):
        text = CliRunner().invoke(app, args, terminal_width=100).output
        for code, word in codes.items():
            assert any(
                line.strip().startswith(code + " ") and word in line for line in text.splitlines()
            ), (args, code)
    readme = README_PATH.read_text(encoding="utf-8")
    for code, word in codes.items():
        assert f"{code} {word}" in readme, code


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_github_summary_is_written_without_an_out_dir(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    done = juggler_cli(
        "triage", LOG, "--no-kb", "--quiet",
        home=tmp_path, GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "jest" in summary.read_text(encoding="utf-8").lower()
    assert "::error" in done.stdout  # the annotations
    assert not (tmp_path / "triage-out").exists()  # and no memo folder nobody asked for


@pytest.mark.slow
@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["GITHUB_ACTIONS=true", "JUGGLER_GITHUB=on"])
def test_json_stdout_stays_json_with_github_annotations_on(tmp_path: Path, where: str) -> None:
    # Workflow commands are read from stderr as well; on stdout they would break the JSON.
    name, value = where.split("=")
    done = juggler_cli(
        "triage", LOG, "--no-kb", "--quiet", "--json",
        home=tmp_path, GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"), **{name: value},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["findings"]
    assert "::error" in done.stderr


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_json_output_is_unchanged_by_the_checks(tmp_path: Path) -> None:
    done = juggler_cli("triage", LOG, "--no-kb", "--quiet", "--json", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["findings"]


def test_a_signal_during_interpreter_teardown_keeps_the_exit_code(tmp_path: Path) -> None:
    # Python resets signal handlers to the defaults before it tears its modules down: a
    # Ctrl-C landing then (after the run, the memo and every exit hook) used to kill the
    # process by signal (-2) instead of letting it exit with the code it had chosen.
    code = textwrap.dedent(
        """
        import os, signal, sys
        from juggler.cli import main

        class SignalledInTeardown:
            def __del__(self):
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGTERM)

        teardown = SignalledInTeardown()
        sys.argv = ["juggler", "--version"]
        main()
        """
    )
    done = python_code(code, home=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "juggler" in done.stdout
