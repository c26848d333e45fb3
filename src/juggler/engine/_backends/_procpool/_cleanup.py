"""Stop multiprocessing's helper processes when the last pool of this process closes (R17).

The first pool starts two long-lived helpers: the forkserver (which forks the workers) and
the resource tracker. Left alone they outlive the run, and even the interpreter for a moment
(they exit when they notice their parent is gone), so a user's CI sees processes linger
after ``juggler triage`` has exited. A pool *holds* the helpers from its start to its close;
when the last holder lets go, and this process has no other live ``multiprocessing`` child
that could need them, both are stopped and reaped here. The next pool starts them afresh.

A long-lived runtime keeps its pool, and so its forkserver, alive for its whole life: the
helpers stop only when no pool is left. Helpers that were already running when the first
pool started belong to someone else (an application, a test session) and are left alone.
"""

from __future__ import annotations

import multiprocessing
import threading

_lock = threading.Lock()
_holders = 0
#: Which helpers the pools started (not running when the first pool started), so stop.
_owned = {"forkserver": False, "tracker": False}


def hold() -> None:
    """A pool starts: the helpers must stay until it has closed."""
    global _holders
    with _lock:
        if _holders == 0:
            server, tracker = _pids()
            _owned["forkserver"] = server is None
            _owned["tracker"] = tracker is None
        _holders += 1


def let_go() -> bool:
    """A pool has closed and reaped its workers; True when no pool holds the helpers now.

    The caller then stops them with :func:`stop_if_unheld`, off the event loop (it waits
    for two processes to exit).
    """
    global _holders
    with _lock:
        _holders = max(0, _holders - 1)
        return _holders == 0


def stop_if_unheld() -> None:
    """Stop and reap the forkserver and resource tracker, unless a pool holds them again.

    Blocking (it waits for both to exit): run it in a thread.
    """
    with _lock:  # a pool starting meanwhile waits here, then starts them afresh
        # Another library's processes (started in this process) may still need them.
        if _holders > 0 or multiprocessing.active_children():
            return
        _stop_helpers()


def _pids() -> tuple[int | None, int | None]:
    from multiprocessing import forkserver, resource_tracker

    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    return server, getattr(resource_tracker._resource_tracker, "_pid", None)


def _stop_helpers() -> None:
    from multiprocessing import forkserver, resource_tracker

    server, tracker = _pids()
    if server is not None and _owned["forkserver"]:
        # Closing its "alive" pipe asks it to exit; _stop reaps it and removes its socket.
        forkserver._forkserver._stop()  # type: ignore[attr-defined]
    if tracker is not None and _owned["tracker"]:
        resource_tracker._resource_tracker._stop()  # type: ignore[attr-defined]
