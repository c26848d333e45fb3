"""The command line: help, version, and Ctrl-C/SIGTERM on a real process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from click.testing import CliRunner

from juggler import __version__
from juggler.cli import app


def test_help_lists_the_commands() -> None:
    """``juggler --help`` works and names the demo."""
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output


def test_version() -> None:
    """``juggler --version`` prints the package version."""
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_demo_runs_all_three_placements_and_reports_them() -> None:
    """The demo pipeline places stages on the loop, in processes and in threads."""
    result = subprocess.run(
        [sys.executable, "-m", "juggler", "demo", "--items", "40", "--cpu-ms", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    import json

    report = json.loads(result.stdout)
    assert report["results"] == 40
    assert [s["placement"] for s in report["stages"]] == ["aio", "cpu", "io"]


def _wait_for_workers(proc: subprocess.Popen[str], count: int, timeout_s: float) -> list[int]:
    """Poll until ``proc`` has ``count`` busy worker processes; returns all descendant pids."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        children = parent.children(recursive=True)
        busy = [c for c in children if _cpu_busy(c)]
        if len(busy) >= count:
            return [c.pid for c in children]
        time.sleep(0.05)
    raise AssertionError(f"no {count} busy workers within {timeout_s} s")


def _cpu_busy(proc: psutil.Process) -> bool:
    try:
        return proc.cpu_times().user > 0.05
    except psutil.NoSuchProcess:
        return False


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.mark.crash
@pytest.mark.timeout(60)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_exits_130_quickly_and_leaves_no_process(sig: signal.Signals) -> None:
    """Ctrl-C (to the process group, as a terminal sends it) or SIGTERM: exit 130 within 2 s."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "juggler", "demo", "--items", "5000", "--cpu-ms", "50"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        descendants = _wait_for_workers(proc, 2, timeout_s=20)
        sent = time.monotonic()
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        code = proc.wait(timeout=10)
        took = time.monotonic() - sent
        stderr = proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
    assert code == 130, stderr
    assert took <= 2.0
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 2.0
    while _alive(descendants) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive(descendants) == []
