"""Functions the runtime tests run in worker processes (importable by reference)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def double(x: int) -> int:
    return 2 * x


def pid_of(x: int) -> tuple[int, int]:
    return x, os.getpid()


def spin(x: int) -> int:
    """About 2 ms of CPU, so runs overlap long enough to share workers."""
    deadline = time.thread_time() + 0.002
    while time.thread_time() < deadline:
        pass
    return x


def spin_long(x: int) -> int:
    """About 30 ms of CPU: a cpu stage then hands over at most 3 items per call."""
    deadline = time.thread_time() + 0.03
    while time.thread_time() < deadline:
        pass
    return x


def behave(item: tuple[str, object]) -> object:
    """``("ok", x)`` -> 2x; ``("die", _)`` exits the worker; ``("hang", s)`` sleeps ``s``;
    ``("mark", dir)`` writes its pid to ``dir/<pid>`` and sleeps until killed."""
    kind, arg = item
    if kind == "ok":
        deadline = time.thread_time() + 0.002
        while time.thread_time() < deadline:
            pass
        return 2 * int(arg)  # type: ignore[call-overload]
    if kind == "die":
        os._exit(3)
    if kind == "hang":
        time.sleep(float(arg))  # type: ignore[arg-type]
        return "woke"
    if kind == "mark_once":
        # Killed once from outside, the retry finds "done" and survives.
        if Path(str(arg), "done").exists():
            return "survived"
        Path(str(arg), str(os.getpid())).write_text("running")
        time.sleep(60)
        return "woke"
    if kind == "mark":
        Path(str(arg), str(os.getpid())).write_text("running")
        time.sleep(60)
        return "woke"
    raise ValueError(kind)
