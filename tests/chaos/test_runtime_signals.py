"""A shared ``Runtime`` stopped by Ctrl-C or by SIGKILL of its process leaves no process.

For the local pool and for a Dask ``LocalCluster`` the runtime started (its scheduler lives
in our process, its workers are our children).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

SCRIPT = Path(__file__).with_name("_runtime_script.py")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(90)


def _start(backend: str) -> tuple[subprocess.Popen[str], list[int]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), backend],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, like a terminal's job
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY"), line
    descendants = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    assert len(descendants) >= 2
    return proc, descendants


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def _wait_all_gone(pids: list[int], within_s: float) -> list[int]:
    deadline = time.monotonic() + within_s
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _alive(pids)


def _finish(proc: subprocess.Popen[str], descendants: list[int]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    for pid in _alive(descendants):
        os.kill(pid, signal.SIGKILL)
    assert proc.stdout is not None
    proc.stdout.close()


@pytest.mark.parametrize("backend", ["local", "dask"])
def test_ctrl_c_stops_the_runtime_and_leaves_no_process(backend: str) -> None:
    proc, descendants = _start(backend)
    try:
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(20) == 130
        assert _wait_all_gone(descendants, 5.0) == []
    finally:
        _finish(proc, descendants)


@pytest.mark.parametrize("backend", ["local", "dask"])
def test_sigkilled_parent_leaves_no_worker(backend: str) -> None:
    proc, descendants = _start(backend)
    try:
        os.kill(proc.pid, signal.SIGKILL)  # the parent alone: no chance to clean up
        proc.wait(5)
        assert _wait_all_gone(descendants, 5.0) == []
    finally:
        _finish(proc, descendants)
