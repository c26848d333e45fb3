"""Fixtures every test gets: a leak check after each test (RELIABILITY.md R13)."""

from __future__ import annotations

import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import threading
import time
from typing import TYPE_CHECKING

import psutil
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

_GRACE_S = 3.0


def _singleton_pids() -> set[int]:
    """The forkserver and resource tracker: kept for the interpreter's lifetime by design.

    Matched by pid, not by command line: workers forked by the forkserver inherit its
    command line, and a leaked worker must not pass for the server.
    """
    pids = set()
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    tracker = getattr(multiprocessing.resource_tracker, "_resource_tracker", None)
    for pid in (getattr(server, "_forkserver_pid", None), getattr(tracker, "_pid", None)):
        if pid:
            pids.add(pid)
    return pids


def _live_children() -> list[psutil.Process]:
    singletons = _singleton_pids()
    alive = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                child.wait(timeout=0)  # reap; a zombie holds nothing but its pid
                continue
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            continue
        if child.pid not in singletons:
            alive.append(child)
    return alive


def _open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


@pytest.fixture(scope="session", autouse=True)
def _multiprocessing_singletons() -> None:
    """Start the forkserver and resource tracker up front so their fds are in every baseline."""
    multiprocessing.forkserver.ensure_running()
    multiprocessing.resource_tracker.ensure_running()


@pytest.fixture(autouse=True)
def leak_check() -> Iterator[None]:
    """Fail the test if it leaves child processes, threads or file descriptors behind."""
    threads_before = _threads()
    fds_before = _open_fds()
    yield
    deadline = time.monotonic() + _GRACE_S
    while True:
        children = _live_children()
        new_threads = {t for t in _threads() - threads_before if t.is_alive()}
        new_fds = _open_fds() - fds_before
        if not children and not new_threads and not new_fds:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)  # waiting for the OS to finish reaping, not for ordering
    problems = []
    if children:
        problems.append(f"child processes left: {[c.pid for c in children]}")
        for child in children:
            child.kill()
    if new_threads:
        problems.append(f"threads left: {sorted(t.name for t in new_threads)}")
    if new_fds:
        described = []
        for fd in sorted(new_fds):
            try:
                described.append(f"{fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
            except OSError:
                continue
        if described:
            problems.append(f"file descriptors left: {described}")
    if problems:
        pytest.fail("; ".join(problems))
